/**
 * "Nothing a peer sends can throw out of the stack or grow memory without bound": random and
 * mutated bytes over UDP, TCP and WebSocket into a transport set wired to a TransactionLayer.
 * Afterwards the set still answers a valid request, holds no more than its limits, and no
 * error escaped (an uncaught exception fails the test run).
 */
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createResponse, type SipResponse } from '../../../src/sip/message/index.js';
import { TransactionLayer } from '../../../src/sip/transaction/index.js';
import { serializeWebSocketFrame, WebSocketOpcode } from '../../../src/sip/transport/index.js';
import type { Endpoint } from '../../../src/sip/transport/types.js';
import { connectWebSocket } from '../../../src/sip/transport/websocket-transport.js';
import { closeSets, openSet, request, requestText, waitFor } from './helpers.js';

const layers: TransactionLayer[] = [];
afterEach(async () => {
  for (const l of layers.splice(0)) l.close();
  await closeSets();
});

/** Valid requests, cut and mutated, plus plain noise. */
const junk = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 600 }),
  fc.tuple(fc.nat(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 })).map(([cut, flips]) => {
    const b = Buffer.from(requestText({ via: `SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK-j${cut}`, body: 'v=0\r\n' }));
    for (const [i, v] of flips) b[i % b.length] = v;
    return new Uint8Array(b.subarray(0, Math.max(1, b.length - (cut % 40))));
  }),
  fc.constantFrom(new Uint8Array(Buffer.from('\r\n\r\n')), new Uint8Array(Buffer.from('Content-Length: 99999999\r\n\r\n'))),
);

async function serverUnderTest(limits: object = {}) {
  const srv = await openSet({
    listen: [
      { protocol: 'udp', address: '127.0.0.1', port: 0 },
      { protocol: 'tcp', address: '127.0.0.1', port: 0 },
      { protocol: 'ws', address: '127.0.0.1', port: 0 },
    ],
    limits: { maxMessageBytes: 8192, ...limits },
  });
  const layer = new TransactionLayer({ transport: srv.set, tryingDelay: null, user: { onRequest: (tx) => tx.respond(createResponse(tx.request, 200)) } });
  layers.push(layer);
  srv.set.onMessage = (m) => layer.receive(m);
  return srv;
}

/** Errors that mean a bug (a receive path threw, onMessage threw, the parser failed internally), not a bad peer. */
function bugs(errors: string[]): string[] {
  return errors.filter((e) => /: receive|onMessage|Internal|udp receive/.test(e));
}

async function stillAnswers(srvEnd: Endpoint): Promise<void> {
  const cli = await openSet({ listen: srvEnd.protocol === 'udp' ? [{ protocol: 'udp', address: '127.0.0.1', port: 0 }] : [] });
  const layer = new TransactionLayer({ transport: cli.set, user: { onRequest: () => undefined } });
  layers.push(layer);
  cli.set.onMessage = (m) => layer.receive(m);
  const res = await new Promise<SipResponse>((resolve, reject) => {
    layer.sendRequest(request(srvEnd.protocol, '127.0.0.1', cli.set.endpoints()[0]?.port ?? 5060), srvEnd, { onFinal: resolve, onTransportError: reject, onTimeout: () => reject(new Error('timeout')) });
  });
  expect(res.status).toBe(200);
}

describe('garbage from peers', () => {
  it('UDP: random and mutated datagrams', async () => {
    const srv = await serverUnderTest();
    const udp = srv.set.endpoint('udp')!;
    const s = createSocket('udp4');
    try {
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      const samples = fc.sample(junk, { numRuns: 300, seed: 42 });
      for (const d of samples) s.send(d, udp.port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      s.close();
    }
    expect(srv.set.stats.malformed + srv.set.stats.received).toBeGreaterThan(0);
    expect(bugs(srv.errors)).toEqual([]);
    await stillAnswers(udp);
  });

  it('TCP: random streams in random chunks; every connection ends or stays bounded', async () => {
    const srv = await serverUnderTest({ idleTimeoutMs: 1000 });
    const tcp = srv.set.endpoint('tcp')!;
    const sockets: Socket[] = [];
    try {
      const runs = fc.sample(fc.array(junk, { minLength: 1, maxLength: 8 }), { numRuns: 30, seed: 7 });
      await Promise.all(
        runs.map(
          (chunks) =>
            new Promise<void>((resolve) => {
              const s = connect({ host: '127.0.0.1', port: tcp.port }, async () => {
                for (const c of chunks) {
                  if (s.destroyed) break;
                  s.write(c);
                  await new Promise((r) => setImmediate(r));
                }
                resolve();
              });
              s.on('error', () => resolve());
              s.on('data', () => undefined);
              sockets.push(s);
            }),
        ),
      );
      await new Promise((r) => setTimeout(r, 100));
      for (const c of srv.set.connections()) expect(srv.set.connection(c.id)!.buffered).toBeLessThanOrEqual(8192);
    } finally {
      for (const s of sockets) s.destroy();
    }
    await waitFor(() => srv.set.connections().length === 0);
    expect(bugs(srv.errors)).toEqual([]);
    await stillAnswers(tcp);
  });

  it('WebSocket: random frames and random payloads', async () => {
    const srv = await serverUnderTest();
    const ws = srv.set.endpoint('ws')!;
    const frames = fc.sample(
      fc.oneof(
        junk.map((payload) => serializeWebSocketFrame({ fin: true, opcode: WebSocketOpcode.text, payload, mask: Buffer.from([1, 2, 3, 4]) })),
        junk.map((payload) => serializeWebSocketFrame({ fin: true, opcode: WebSocketOpcode.binary, payload, mask: Buffer.from([4, 3, 2, 1]) })),
        junk,
      ),
      { numRuns: 40, seed: 3 },
    );
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < frames.length; i += 4) {
        const { socket } = await connectWebSocket('ws', '127.0.0.1', ws.port, '/', undefined, 2000);
        socket.on('error', () => undefined);
        sockets.push(socket);
        for (const f of frames.slice(i, i + 4)) socket.write(f);
      }
      await new Promise((r) => setTimeout(r, 150));
    } finally {
      for (const s of sockets) s.destroy();
    }
    await waitFor(() => srv.set.connections().length === 0);
    expect(srv.set.stats.protocolErrors + srv.set.stats.malformed).toBeGreaterThan(0);
    expect(bugs(srv.errors)).toEqual([]);
    await stillAnswers(ws);
  });
});
