/**
 * Property: whatever a peer sends, in whatever order, interleaved with timers, TU responses
 * and transport failures, the layer never throws, never holds more server transactions than
 * its limit, and forgets everything once the transactions have been answered and their
 * timers have run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createResponse, parseMessage, type SipMessage } from '../../../src/sip/message/index.js';
import type { ClientTransaction, ServerTransaction } from '../../../src/sip/transaction/index.js';
import type { Endpoint } from '../../../src/sip/transport/types.js';
import { PEER, flush, inbound, outgoing, request, responseTo, setup } from './harness.js';

const MAX = 4;
const TCP: Endpoint = { protocol: 'tcp', address: '192.0.2.4', port: 5060 };

const branch = fc.constantFrom('z9hG4bKa', 'z9hG4bKb', 'z9hG4bKc', 'z9hG4bK', 'old2543', null);
const peerRequest = fc.record({
  kind: fc.constant('request' as const),
  method: fc.constantFrom('INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS'),
  branch,
  toTag: fc.constantFrom(undefined, 't1', 'srv'),
  seq: fc.integer({ min: 1, max: 3 }),
  tcp: fc.boolean(),
});
const command = fc.oneof(
  { weight: 4, arbitrary: peerRequest },
  fc.record({
    kind: fc.constant('response' as const),
    client: fc.nat(),
    status: fc.constantFrom(100, 180, 200, 404, 486, 503),
    strayBranch: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('send' as const), method: fc.constantFrom('INVITE', 'OPTIONS', 'BYE'), tcp: fc.boolean() }),
  fc.record({ kind: fc.constant('respond' as const), server: fc.nat(), status: fc.constantFrom(100, 180, 200, 487, 500) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 40_000 })) }),
  fc.record({ kind: fc.constant('fail' as const), n: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('garbage' as const), variant: fc.integer({ min: 0, max: 4 }) }),
);

const GARBAGE = [
  'OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\nCSeq: x OPTIONS\r\n\r\n',
  'INVITE sip:a@b SIP/2.0\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n',
  'ACK sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nTo: <<\r\nCSeq: 1 ACK\r\n\r\n',
  'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\nCSeq: 1\r\n\r\n',
  'SIP/2.0 180 Ringing\r\nVia: ;;\r\n\r\n',
];

describe('transaction layer properties', () => {
  it('random traffic never throws, stays within maxTransactions, and drains to empty', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 60 }), async (commands) => {
        const { layer, user, clock, transport } = setup({ maxTransactions: MAX });
        const servers: ServerTransaction[] = [];
        const clients: ClientTransaction[] = [];
        user.onRequestHook = (tx) => servers.push(tx);
        user.onCancel = (tx) => {
          tx.respond(createResponse(tx.request, 487, undefined, { toTag: 'srv' }));
        };
        for (const c of commands) {
          switch (c.kind) {
            case 'request': {
              const opts: Parameters<typeof request>[1] = { branch: c.branch, seq: c.seq, transport: c.tcp ? 'TCP' : 'UDP' };
              if (c.toTag !== undefined) opts.toTag = c.toTag;
              layer.receive(inbound(request(c.method, opts), c.tcp ? TCP : PEER, c.tcp ? 'c1' : undefined));
              break;
            }
            case 'response': {
              const tx = clients[c.client % Math.max(1, clients.length)];
              const req = tx === undefined || c.strayBranch ? outgoing('OPTIONS', { branch: 'z9hG4bKstray' }) : tx.request;
              layer.receive(inbound(responseTo(req, c.status)));
              break;
            }
            case 'send':
              clients.push(layer.sendRequest(outgoing(c.method), c.tcp ? TCP : PEER));
              break;
            case 'respond': {
              const tx = servers[c.server % Math.max(1, servers.length)];
              if (tx !== undefined) tx.respond(createResponse(tx.request, c.status, undefined, { toTag: 'srv' }));
              break;
            }
            case 'advance':
              clock.advance(c.ms);
              break;
            case 'fail':
              transport.failNext = c.n;
              break;
            case 'garbage': {
              const m: SipMessage = parseMessage(Buffer.from(GARBAGE[c.variant]!, 'latin1'), { validate: false });
              layer.receive(inbound(m));
              break;
            }
          }
          await flush();
          expect(layer.serverTransactionCount).toBeLessThanOrEqual(MAX);
          expect(servers.filter((s) => !s.isTerminated).length).toBeLessThanOrEqual(MAX);
        }
        // Answer everything still waiting, let every timer run: nothing is left.
        transport.failNext = 0;
        for (const tx of servers) tx.respond(createResponse(tx.request, 500, undefined, { toTag: 'srv' }));
        for (const tx of clients) if (!tx.isTerminated) layer.receive(inbound(responseTo(tx.request, 500)));
        await flush();
        clock.advance(200_000);
        await flush();
        expect(layer.serverTransactionCount).toBe(0);
        expect(layer.clientTransactionCount).toBe(0);
        expect(clock.pending).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
