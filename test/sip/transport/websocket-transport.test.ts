/** SIP over WebSocket (RFC 7118) through SipTransportSet: handshake, frames, limits, on real sockets. */
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createResponse, parseMessage, type SipRequest, type SipResponse } from '../../../src/sip/message/index.js';
import {
  serializeWebSocketFrame,
  TransportError,
  WebSocketFrameParser,
  WebSocketOpcode as Opcode,
  webSocketClosePayload,
  type WebSocketEvent,
} from '../../../src/sip/transport/index.js';
import { connectWebSocket } from '../../../src/sip/transport/websocket-transport.js';
import { closeSets, openSet, request, requestText, selfSignedCertificate, waitFor } from './helpers.js';

let cert: { key: string; cert: string };
beforeAll(() => {
  cert = selfSignedCertificate();
});
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await closeSets();
});

const MASK = Buffer.from([9, 8, 7, 6]);

/** A raw WebSocket client on top of our handshake: writes frames as told, records frames received. */
async function rawWs(port: number): Promise<{ socket: Socket; events: WebSocketEvent[]; closed: () => boolean; send: (opcode: number, payload: Buffer | string, masked?: boolean) => void }> {
  const { socket, head } = await connectWebSocket('ws', '127.0.0.1', port, '/', undefined, 2000);
  sockets.push(socket);
  const parser = new WebSocketFrameParser({ role: 'client' });
  const events: WebSocketEvent[] = [];
  let isClosed = false;
  socket.on('data', (d: Buffer) => events.push(...parser.push(d)));
  socket.on('close', () => {
    isClosed = true;
  });
  socket.on('error', () => undefined);
  if (head.length > 0) events.push(...parser.push(head));
  return {
    socket,
    events,
    closed: () => isClosed,
    send: (opcode, payload, masked = true) => socket.write(serializeWebSocketFrame({ fin: true, opcode, payload: Buffer.from(payload), mask: masked ? MASK : undefined })),
  };
}

/** Sends a raw HTTP request and returns the status line. */
function httpStatus(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/', headers, agent: false });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

const wsListen = (extra: object = {}) => openSet({ listen: [{ protocol: 'ws', address: '127.0.0.1', port: 0 }], ...extra });

describe('WebSocket transport', () => {
  it('our client and our server exchange SIP over WS; the response goes back on the connection', async () => {
    const srv = await wsListen();
    const cli = await openSet({ listen: [] });
    const dest = srv.set.endpoints()[0]!;
    expect(dest.protocol).toBe('ws');
    const req = request('ws', 'df7jal23ls0d.invalid', 0, { body: 'héllo' });
    await cli.set.send(req, dest);
    await cli.set.send(request('ws', 'df7jal23ls0d.invalid'), dest);
    await waitFor(() => srv.inbox.length === 2);
    expect(cli.set.connections()).toHaveLength(1);
    const inbound = srv.inbox[0]!;
    expect(inbound.source.protocol).toBe('ws');
    expect(inbound.connectionId).toBeDefined();
    const got = inbound.message as SipRequest;
    expect(got.body.toString('utf8')).toBe('héllo');
    expect(got.topVia?.received).toBe('127.0.0.1'); // RFC 7118 §5.3: sent-by is a made-up .invalid name
    await srv.set.send(createResponse(got, 200), { ...inbound.source, connectionId: inbound.connectionId! });
    await waitFor(() => cli.inbox.length === 1);
    expect((cli.inbox[0]!.message as SipResponse).status).toBe(200);
  });

  it('works over WSS with a certificate from options', async () => {
    const srv = await openSet({ listen: [{ protocol: 'wss', address: '127.0.0.1', port: 0, tls: cert }] });
    const cli = await openSet({ listen: [], tlsClient: { ca: cert.cert } });
    await cli.set.send(request('wss', 'x.invalid'), srv.set.endpoints()[0]!);
    await waitFor(() => srv.inbox.length === 1);
    expect(srv.inbox[0]!.source.protocol).toBe('wss');
  });

  it('refuses a handshake without the sip subprotocol (400) and plain HTTP (426)', async () => {
    const srv = await wsListen();
    const port = srv.set.endpoints()[0]!.port;
    await expect(connectWebSocket('ws', '127.0.0.1', port, '/', undefined, 2000, { subprotocol: null })).rejects.toThrow(/400/);
    await expect(connectWebSocket('ws', '127.0.0.1', port, '/', undefined, 2000, { subprotocol: 'chat' })).rejects.toThrow(/400/);
    expect(await httpStatus(port, {})).toBe(426);
    expect(
      await httpStatus(port, { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'short', 'Sec-WebSocket-Protocol': 'sip' }),
    ).toBe(400);
    expect(srv.set.connections()).toHaveLength(0);
    // A SIP client that cannot connect gets a TransportError.
    const cli = await openSet({ listen: [] });
    await expect(cli.set.send(request('ws'), { protocol: 'ws', address: '127.0.0.1', port }).then(() => 'ok')).resolves.toBe('ok');
    await closeSets();
    const cli2 = await openSet({ listen: [] });
    await expect(cli2.set.send(request('ws'), { protocol: 'ws', address: '127.0.0.1', port })).rejects.toBeInstanceOf(TransportError);
  });

  it('answers ping with pong, echoes a close, and accepts binary frames', async () => {
    const srv = await wsListen();
    const c = await rawWs(srv.set.endpoints()[0]!.port);
    c.send(Opcode.ping, 'are you there');
    await waitFor(() => c.events.length === 1);
    expect(c.events[0]).toEqual({ type: 'pong', data: Buffer.from('are you there') });
    c.send(Opcode.binary, requestText({ via: 'SIP/2.0/WS a.invalid;branch=z9hG4bK-bin' }));
    await waitFor(() => srv.inbox.length === 1);
    // A message split over three frames.
    const text = Buffer.from(requestText({ via: 'SIP/2.0/WS a.invalid;branch=z9hG4bK-frag' }));
    c.socket.write(serializeWebSocketFrame({ fin: false, opcode: Opcode.text, payload: text.subarray(0, 10), mask: MASK }));
    c.socket.write(serializeWebSocketFrame({ fin: false, opcode: Opcode.continuation, payload: text.subarray(10, 100), mask: MASK }));
    c.socket.write(serializeWebSocketFrame({ fin: true, opcode: Opcode.continuation, payload: text.subarray(100), mask: MASK }));
    await waitFor(() => srv.inbox.length === 2);
    expect((srv.inbox[1]!.message as SipRequest).topVia?.branch).toBe('z9hG4bK-frag');
    c.send(Opcode.close, webSocketClosePayload(1000, 'done'));
    await waitFor(() => c.closed());
    expect(c.events.at(-1)).toEqual({ type: 'close', code: 1000, reason: '' });
    await waitFor(() => srv.set.connections().length === 0);
  });

  it('closes with 1002 on an unmasked client frame (RFC 6455 §5.1)', async () => {
    const srv = await wsListen();
    const c = await rawWs(srv.set.endpoints()[0]!.port);
    c.send(Opcode.text, requestText({ via: 'SIP/2.0/WS a.invalid;branch=z9hG4bK-um' }), false);
    await waitFor(() => c.closed());
    expect(c.events).toEqual([{ type: 'close', code: 1002, reason: '' }]);
    expect(srv.inbox).toHaveLength(0);
    expect(srv.set.stats.protocolErrors).toBe(1);
  });

  it('closes with 1009 on a message over the limit, and answers a malformed request 400', async () => {
    const srv = await wsListen({ limits: { maxMessageBytes: 2000 } });
    const c = await rawWs(srv.set.endpoints()[0]!.port);
    c.send(Opcode.text, requestText({ via: 'SIP/2.0/WS a.invalid;branch=z9hG4bK-bad' }).replace('CSeq: 1 OPTIONS', 'CSeq: 1 INFO'));
    await waitFor(() => c.events.length === 1);
    const ev = c.events[0]!;
    expect(ev.type).toBe('message');
    const res = parseMessage(ev.type === 'message' ? ev.data : Buffer.alloc(0)) as SipResponse;
    expect(res.status).toBe(400);
    expect(res.reason).toMatch(/CSeq/);
    c.send(Opcode.text, 'x'.repeat(3000));
    await waitFor(() => c.closed());
    expect(c.events.at(-1)).toEqual({ type: 'close', code: 1009, reason: '' });
  });

  it('drops a connection that never completes its handshake', async () => {
    const srv = await wsListen({ limits: { connectTimeoutMs: 200 } });
    const { connect } = await import('node:net');
    const s = connect({ host: '127.0.0.1', port: srv.set.endpoints()[0]!.port });
    sockets.push(s);
    s.on('error', () => undefined);
    let closed = false;
    s.on('close', () => {
      closed = true;
    });
    s.write('GET / HTTP/1.1\r\nHost: x\r\n'); // and nothing more
    const start = Date.now();
    await waitFor(() => closed, 1800, 'handshake timeout');
    expect(Date.now() - start).toBeLessThan(1800);
    expect(srv.set.connections()).toHaveLength(0);
  });

  it('keep-alive uses ping frames; the connection cap refuses further upgrades', async () => {
    const srv = await wsListen({ limits: { maxConnections: 1 } });
    const cli = await openSet({ listen: [], limits: { pongTimeoutMs: 100 } });
    await cli.set.send(request('ws'), srv.set.endpoints()[0]!);
    const id = cli.set.connections()[0]!.id;
    cli.set.keepAlive(id, 20);
    await new Promise((r) => setTimeout(r, 200));
    expect(srv.set.stats.pings).toBeGreaterThanOrEqual(3);
    expect(cli.set.connection(id)?.isOpen).toBe(true);
    const other = await openSet({ listen: [] });
    await expect(other.set.send(request('ws'), srv.set.endpoints()[0]!)).rejects.toBeInstanceOf(TransportError);
    expect(srv.set.stats.refused).toBe(1);
  });
});
