/**
 * Property: whatever a peer sends inside or outside dialogs — wrong tags, stale or huge CSeq,
 * malformed Session-Expires, RAck, Contact, Require — interleaved with real calls, answers,
 * in-dialog requests and time, the dialog managers never throw and never hold more dialogs
 * than their bound.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SipParseError, parseMessage, type SipMessage } from '../../../src/sip/message/index.js';
import { DialogError, type Dialog } from '../../../src/sip/dialog/index.js';
import type { ServerTransaction } from '../../../src/sip/transaction/index.js';
import { call, twoParties } from './harness.js';

const MAX = 3;

const garbageHeader = fc.constantFrom(
  '',
  'Session-Expires: abc\r\n',
  'Session-Expires: 10\r\n',
  'Session-Expires: 99999999999\r\n',
  'Session-Expires: 1800;refresher=uas\r\nMin-SE: x\r\n',
  'RAck: 1 2\r\n',
  'RAck: x y INVITE\r\n',
  'RAck: 1 1 INVITE\r\n',
  'Contact: <<\r\n',
  'Contact: <tel:+123>\r\n',
  'Contact: *\r\n',
  'Require: 100rel\r\n',
  'Require: foo, timer\r\n',
  'Supported: timer, 100rel\r\n',
  'Record-Route: <sip:p.test;lr>, garbage\r\n',
  'Allow: UPDATE\r\n',
  'Min-SE: 100000\r\n',
);

const peerMessage = fc.record({
  kind: fc.constant('inject' as const),
  method: fc.constantFrom('INVITE', 'UPDATE', 'BYE', 'PRACK', 'INFO', 'ACK', 'OPTIONS', 'NOTIFY', 'CANCEL'),
  toTag: fc.constantFrom('none', 'known', 'unknown'),
  fromTag: fc.constantFrom('known', 'unknown', 'none'),
  callId: fc.constantFrom('known', 'unknown'),
  seq: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(4294967295), fc.integer({ min: 0, max: 2 ** 31 })),
  branch: fc.constantFrom('z9hG4bKp1', 'z9hG4bKp2', 'z9hG4bKp3'),
  extra: fc.array(garbageHeader, { maxLength: 3 }),
  validate: fc.boolean(),
  toAlice: fc.boolean(),
});
const peerResponse = fc.record({
  kind: fc.constant('response' as const),
  status: fc.constantFrom(100, 180, 183, 200, 408, 422, 481, 491, 500),
  toTag: fc.constantFrom('none', 'known', 'unknown'),
  method: fc.constantFrom('INVITE', 'UPDATE', 'PRACK', 'BYE'),
  extra: fc.array(garbageHeader, { maxLength: 3 }),
  seq: fc.integer({ min: 0, max: 5 }),
});
const command = fc.oneof(
  { weight: 5, arbitrary: peerMessage },
  { weight: 2, arbitrary: peerResponse },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('call' as const), reliable: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('answer' as const), n: fc.nat(), status: fc.constantFrom(180, 183, 200, 486), reliable: fc.boolean() }) },
  fc.record({ kind: fc.constant('mangle' as const), header: garbageHeader, on: fc.boolean(), responses: fc.boolean() }),
  fc.record({ kind: fc.constant('request' as const), n: fc.nat(), method: fc.constantFrom('INFO', 'UPDATE', 'INVITE', 'BYE'), bob: fc.boolean() }),
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 40_000 })) }) },
);

describe('dialog manager properties', () => {
  it('random in-dialog traffic never throws out of the managers and never grows the tables past maxDialogs', () => {
    fc.assert(
      fc.property(fc.array(command, { minLength: 10, maxLength: 60, size: 'max' }), (commands) => {
        const { clock, net, alice, bob } = twoParties({ maxDialogs: MAX, maxEarlyDialogsPerInvite: 2 }, { maxDialogs: MAX });
        const pending: ServerTransaction[] = [];
        bob.answer = (tx) => pending.push(tx);
        const known = (): Dialog | undefined => [...bob.manager.dialogs()][0];
        for (const c of commands) {
          switch (c.kind) {
            case 'inject': {
              const d = known();
              const target = c.toAlice ? alice : bob;
              const tag = (which: string, real: string | undefined) => (which === 'none' ? '' : `;tag=${which === 'known' && real !== undefined ? real : 'zz'}`);
              const text =
                `${c.method} sip:bob@bob.test SIP/2.0\r\n` +
                `Via: SIP/2.0/UDP peer.test;branch=${c.branch}\r\n` +
                `From: <sip:alice@alice.test>${tag(c.fromTag, d?.id.remoteTag)}\r\n` +
                `To: <sip:bob@bob.test>${tag(c.toTag, d?.id.localTag)}\r\n` +
                `Call-ID: ${c.callId === 'known' && d !== undefined ? d.id.callId : 'unknown-call'}\r\n` +
                `CSeq: ${c.seq} ${c.method}\r\nMax-Forwards: 70\r\nContact: <sip:peer@peer.test>\r\n` +
                c.extra.join('') +
                '\r\n';
              let message: SipMessage;
              try {
                message = parseMessage(Buffer.from(text, 'latin1'), { validate: c.validate });
              } catch (e) {
                if (e instanceof SipParseError) break; // the transport drops what does not parse
                throw e;
              }
              target.layer.receive({ message, source: { protocol: 'udp', address: 'peer.test', port: 5060 }, local: { protocol: 'udp', address: target.address, port: 5060 } });
              break;
            }
            case 'response': {
              const out = [...alice.manager.dialogs()][0];
              const text =
                `SIP/2.0 ${c.status} X\r\nVia: SIP/2.0/UDP alice.test:5060;branch=z9hG4bKnone\r\n` +
                `From: <sip:alice@alice.test>;tag=${out?.id.localTag ?? 'a'}\r\n` +
                `To: <sip:bob@bob.test>${c.toTag === 'none' ? '' : `;tag=${c.toTag === 'known' ? (out?.id.remoteTag ?? 'b') : 'qq'}`}\r\n` +
                `Call-ID: ${out?.id.callId ?? 'c'}\r\nCSeq: ${c.seq} ${c.method}\r\n` +
                c.extra.join('') +
                '\r\n';
              let message: SipMessage;
              try {
                message = parseMessage(Buffer.from(text, 'latin1'), { validate: false });
              } catch (e) {
                if (e instanceof SipParseError) break;
                throw e;
              }
              alice.layer.receive({ message, source: { protocol: 'udp', address: 'bob.test', port: 5060 }, local: { protocol: 'udp', address: 'alice.test', port: 5060 } });
              break;
            }
            case 'call':
              call(alice, 'bob.test', c.reliable ? { require100rel: true } : {});
              clock.advance(10); // the INVITE reaches bob
              break;
            case 'answer': {
              const tx = pending[c.n % Math.max(1, pending.length)];
              if (tx !== undefined) bob.manager.respond(tx, c.status, { reliable: c.reliable });
              clock.advance(10);
              break;
            }
            case 'request': {
              const side = c.bob ? bob : alice;
              const ds = [...side.manager.dialogs()];
              const d = ds[c.n % Math.max(1, ds.length)];
              if (d === undefined) break;
              try {
                if (c.method === 'BYE') side.manager.bye(d);
                else side.manager.request(d, c.method);
              } catch (e) {
                if (!(e instanceof DialogError)) throw e; // refusing a request the UA should not send is fine
              }
              break;
            }
            case 'advance':
              clock.advance(c.ms);
              break;
            case 'mangle': {
              // garbage added to the real messages in flight (responses or requests)
              const line = c.header.replace(/\r\n$/, '').split('\r\n')[0] ?? '';
              const colon = line.indexOf(':');
              net.tamper =
                !c.on || colon < 0
                  ? undefined
                  : (m) => {
                      if (m.isRequest !== !c.responses) m.append(line.slice(0, colon), line.slice(colon + 1).trim());
                      return m;
                    };
              break;
            }
          }
          expect(alice.manager.size).toBeLessThanOrEqual(MAX);
          expect(bob.manager.size).toBeLessThanOrEqual(MAX);
        }
        clock.advance(4000 * 1000);
        expect(alice.manager.size).toBeLessThanOrEqual(MAX);
        expect(bob.manager.size).toBeLessThanOrEqual(MAX);
        // every dialog reported terminated is gone from the table
        for (const [d] of [...alice.terminated, ...bob.terminated]) expect(d.state).toBe('terminated');
        // and once everything is closed no timer is left behind
        alice.manager.close();
        bob.manager.close();
        alice.layer.close();
        bob.layer.close();
        expect(alice.manager.size + bob.manager.size).toBe(0);
        expect(clock.pending).toBe(0);
      }),
      { numRuns: 150 },
    );
  });
});
