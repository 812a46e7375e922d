/**
 * The SIP trace hook (`SipTransportSetOptions.trace`): every message sent and received, as
 * bytes, with its remote endpoint, on UDP, TCP, TLS and WS; malformed ones too; not keep-alives.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createResponse, serializeMessage, SipStreamFramer, type SipRequest } from '../../../src/sip/message/index.js';
import { StreamTraceBuffer } from '../../../src/sip/transport/stream-trace.js';
import { UserAgent } from '../../../src/sip/ua/session-index.js';
import type { Endpoint, SipTrace, TransportProtocol } from '../../../src/sip/transport/index.js';
import { closeSets, openSet, request, requestText, selfSignedCertificate, waitFor } from './helpers.js';

interface Traced {
  direction: 'in' | 'out';
  protocol: TransportProtocol;
  remote: Endpoint;
  text: string;
}

/** A trace hook that records copies of what it is given. */
function recorder(): { trace: SipTrace; lines: Traced[] } {
  const lines: Traced[] = [];
  const trace: SipTrace = (direction, protocol, remote, bytes) => {
    lines.push({ direction, protocol, remote: { protocol: remote.protocol, address: remote.address, port: remote.port }, text: Buffer.from(bytes).toString('latin1') });
  };
  return { trace, lines };
}

let cert: { key: string; cert: string };
beforeAll(() => {
  cert = selfSignedCertificate();
});

const closers: Array<() => void> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) c();
  await closeSets();
});

async function rawUdp(): Promise<{ socket: UdpSocket; port: number; got: Buffer[] }> {
  const socket = createSocket('udp4');
  closers.push(() => socket.close());
  const got: Buffer[] = [];
  socket.on('message', (d) => got.push(d));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { socket, port: socket.address().port, got };
}

async function rawTcp(port: number): Promise<{ socket: Socket; text: () => string }> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
  socket.on('error', () => undefined);
  closers.push(() => socket.destroy());
  let text = '';
  socket.on('data', (d: Buffer) => {
    text += d.toString('latin1');
  });
  return { socket, text: () => text };
}

describe('SIP trace', () => {
  it('UDP: a request and its response are traced out and in on both sides, with the right bytes and remote', async () => {
    const ta = recorder();
    const tb = recorder();
    const a = await openSet({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }], trace: ta.trace });
    const b = await openSet({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }], trace: tb.trace });
    const aEnd = a.set.endpoint('udp')!;
    const bEnd = b.set.endpoint('udp')!;
    const req = request('udp', '127.0.0.1', aEnd.port);
    await a.set.send(req, bEnd);
    await waitFor(() => b.inbox.length === 1);
    // The request as sent, rport added by the transport (RFC 3581), is what both sides trace.
    const reqText = serializeMessage(req).toString('latin1');
    expect(reqText).toContain(';rport');
    expect(ta.lines).toEqual([{ direction: 'out', protocol: 'udp', remote: { protocol: 'udp', address: '127.0.0.1', port: bEnd.port }, text: reqText }]);
    expect(tb.lines).toEqual([{ direction: 'in', protocol: 'udp', remote: { protocol: 'udp', address: '127.0.0.1', port: aEnd.port }, text: reqText }]);

    const res = createResponse(b.inbox[0]!.message as SipRequest, 200);
    await b.set.send(res, b.inbox[0]!.source);
    await waitFor(() => a.inbox.length === 1);
    const resText = serializeMessage(res).toString('latin1');
    expect(tb.lines[1]).toEqual({ direction: 'out', protocol: 'udp', remote: { protocol: 'udp', address: '127.0.0.1', port: aEnd.port }, text: resText });
    expect(ta.lines[1]).toEqual({ direction: 'in', protocol: 'udp', remote: { protocol: 'udp', address: '127.0.0.1', port: bEnd.port }, text: resText });
    expect(resText.startsWith('SIP/2.0 200 OK\r\n')).toBe(true);

    // A retransmission is traced again.
    await a.set.send(req, bEnd);
    await waitFor(() => b.inbox.length === 2);
    expect(ta.lines.filter((l) => l.direction === 'out')).toHaveLength(2);
    expect(tb.lines.filter((l) => l.direction === 'in')).toHaveLength(2);
  });

  it('UDP: a malformed datagram is traced as received, then its 400 as sent; CRLF keep-alives are not traced', async () => {
    const t = recorder();
    const srv = await openSet({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }], trace: t.trace });
    const port = srv.set.endpoint('udp')!.port;
    const peer = await rawUdp();
    const remote = { protocol: 'udp', address: '127.0.0.1', port: peer.port };
    // A CSeq whose method does not match the request: parses, fails validation, answered 400.
    const bad = requestText({ via: `SIP/2.0/UDP 127.0.0.1:${peer.port};rport;branch=z9hG4bK-bad1` }).replace('CSeq: 1 OPTIONS', 'CSeq: 1 INVITE');
    peer.socket.send(Buffer.from('\r\n\r\n', 'latin1'), port, '127.0.0.1');
    peer.socket.send(Buffer.from(bad, 'latin1'), port, '127.0.0.1');
    // Garbage that is not SIP at all: dropped, but traced.
    peer.socket.send(Buffer.from('\x00\x01hello\xff', 'latin1'), port, '127.0.0.1');
    await waitFor(() => peer.got.length === 1 && t.lines.length === 3);
    expect(srv.inbox).toHaveLength(0);
    expect(t.lines[0]).toEqual({ direction: 'in', protocol: 'udp', remote, text: bad });
    expect(t.lines[1]!.direction).toBe('out');
    expect(t.lines[1]!.remote).toEqual(remote);
    expect(t.lines[1]!.text).toBe(peer.got[0]!.toString('latin1'));
    expect(t.lines[1]!.text.startsWith('SIP/2.0 400 ')).toBe(true);
    expect(t.lines[2]).toEqual({ direction: 'in', protocol: 'udp', remote, text: '\x00\x01hello\xff' });
  });

  it('TCP: messages split across reads and packed in one read are traced one by one, keep-alives skipped, responses traced out', async () => {
    const t = recorder();
    const srv = await openSet({ listen: [{ protocol: 'tcp', address: '127.0.0.1', port: 0 }], trace: t.trace });
    const port = srv.set.endpoint('tcp')!.port;
    const c = await rawTcp(port);
    const remote = { protocol: 'tcp', address: '127.0.0.1', port: c.socket.localPort! };
    const m1 = requestText({ via: 'SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK-t1', body: 'v=0\r\n' });
    const m2 = requestText({ via: 'SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK-t2' });
    const m3 = requestText({ via: 'SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK-t3', body: 'hello\r\n\r\nworld' });
    // m1 in two reads; then a ping, m2 and m3 in one read.
    const wire1 = Buffer.from(m1, 'latin1');
    c.socket.write(wire1.subarray(0, 30));
    await new Promise((r) => setTimeout(r, 30));
    c.socket.write(wire1.subarray(30));
    await waitFor(() => srv.inbox.length === 1);
    c.socket.write(Buffer.from(`\r\n\r\n${m2}${m3}`, 'latin1'));
    await waitFor(() => srv.inbox.length === 3 && c.text().startsWith('\r\n'));
    expect(t.lines).toEqual([
      { direction: 'in', protocol: 'tcp', remote, text: m1 },
      { direction: 'in', protocol: 'tcp', remote, text: m2 },
      { direction: 'in', protocol: 'tcp', remote, text: m3 },
    ]);

    // The response goes back on the connection and is traced as sent.
    const inbound = srv.inbox[2]!;
    const res = createResponse(inbound.message as SipRequest, 180);
    await srv.set.send(res, { ...inbound.source, connectionId: inbound.connectionId! });
    await waitFor(() => c.text().includes('180 Ringing'));
    expect(t.lines[3]).toEqual({ direction: 'out', protocol: 'tcp', remote, text: serializeMessage(res).toString('latin1') });
    expect(c.text()).toBe(`\r\n${t.lines[3]!.text}`);
  });

  it('TCP: a message failing validation and a fatal framing error are both traced', async () => {
    const t = recorder();
    const srv = await openSet({ listen: [{ protocol: 'tcp', address: '127.0.0.1', port: 0 }], trace: t.trace });
    const c = await rawTcp(srv.set.endpoint('tcp')!.port);
    const bad = requestText({ via: 'SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK-v1', body: 'abc' }).replace('CSeq: 1 OPTIONS', 'CSeq: 1 BYE');
    const good = requestText({ via: 'SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK-v2' });
    const unframeable = 'OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK-v3\r\nContent-Length: -4\r\n\r\nrest';
    c.socket.write(Buffer.from(bad + good + unframeable, 'latin1'));
    await waitFor(() => srv.inbox.length === 1 && t.lines.length === 5);
    // Each traced as received, then (both have a readable Via) its 400 traced as sent.
    expect(t.lines.map((l) => `${l.direction} ${l.text.split('\r\n')[0]}`)).toEqual([
      'in OPTIONS sip:bob@127.0.0.1 SIP/2.0',
      'out SIP/2.0 400 CSeq method does not match the request method',
      'in OPTIONS sip:bob@127.0.0.1 SIP/2.0',
      'in OPTIONS sip:bob@127.0.0.1 SIP/2.0',
      'out SIP/2.0 400 Invalid Content-Length',
    ]);
    expect(t.lines.filter((l) => l.direction === 'in').map((l) => l.text)).toEqual([bad, good, unframeable]);
  });

  it('TCP between two sets, and TLS: the client traces out and in on the connection it opened', async () => {
    for (const protocol of ['tcp', 'tls'] as const) {
      const ts = recorder();
      const tc = recorder();
      const srv = await openSet({ listen: [{ protocol, address: '127.0.0.1', port: 0, tls: cert }], trace: ts.trace });
      const cli = await openSet({ listen: [], tlsClient: { ca: cert.cert }, trace: tc.trace });
      const sEnd = srv.set.endpoint(protocol)!;
      const req = request(protocol, '127.0.0.1', 5060);
      await cli.set.send(req, sEnd);
      await waitFor(() => srv.inbox.length === 1);
      const inbound = srv.inbox[0]!;
      await srv.set.send(createResponse(inbound.message as SipRequest, 200), { ...inbound.source, connectionId: inbound.connectionId! });
      await waitFor(() => cli.inbox.length === 1);
      const reqText = serializeMessage(req).toString('latin1');
      const local = cli.set.connections()[0]!.local;
      expect(tc.lines.map((l) => [l.direction, l.protocol, l.remote.port, l.text.slice(0, 12)])).toEqual([
        ['out', protocol, sEnd.port, 'OPTIONS sip:'],
        ['in', protocol, sEnd.port, 'SIP/2.0 200 '],
      ]);
      expect(tc.lines[0]!.text).toBe(reqText);
      expect(ts.lines[0]).toEqual({ direction: 'in', protocol, remote: { protocol, address: '127.0.0.1', port: local.port }, text: reqText });
      expect(ts.lines[1]!.text).toBe(tc.lines[1]!.text);
    }
  });

  it('WS: the SIP message is traced, not the WebSocket frame', async () => {
    const ts = recorder();
    const tc = recorder();
    const srv = await openSet({ listen: [{ protocol: 'ws', address: '127.0.0.1', port: 0 }], trace: ts.trace });
    const cli = await openSet({ listen: [], trace: tc.trace });
    const req = request('ws', 'client.invalid', 5060);
    await cli.set.send(req, srv.set.endpoint('ws')!);
    await waitFor(() => srv.inbox.length === 1);
    const reqText = serializeMessage(req).toString('latin1');
    expect(tc.lines).toEqual([{ direction: 'out', protocol: 'ws', remote: srv.set.endpoint('ws')!, text: reqText }]);
    expect(ts.lines).toHaveLength(1);
    expect(ts.lines[0]!.text).toBe(reqText);
    expect(ts.lines[0]!.direction).toBe('in');
  });

  it('a trace hook that throws is reported through onError and does not stop the message', async () => {
    const b = await openSet({
      listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }],
      trace: () => {
        throw new Error('trace broke');
      },
    });
    const a = await openSet({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }] });
    await a.set.send(request('udp', '127.0.0.1', a.set.endpoint('udp')!.port), b.set.endpoint('udp')!);
    await waitFor(() => b.inbox.length === 1);
    expect(b.errors).toEqual(['sip trace: trace broke']);
  });

  it('passes through UserAgentOptions.transport: a MESSAGE and its 200 are traced by both agents', async () => {
    const ta = recorder();
    const tb = recorder();
    const alice = await UserAgent.start({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }], aor: 'sip:alice@127.0.0.1', transport: { trace: ta.trace }, stopTimeoutMs: 100 });
    closers.push(() => void alice.stop());
    const bob = await UserAgent.start({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }], aor: 'sip:bob@127.0.0.1', transport: { trace: tb.trace }, stopTimeoutMs: 100 });
    closers.push(() => void bob.stop());
    const res = await alice.message(`sip:bob@127.0.0.1:${bob.port}`, 'hello');
    expect(res.status).toBe(200);
    expect(ta.lines.map((l) => `${l.direction} ${l.remote.port} ${l.text.split('\r\n')[0]}`)).toEqual([
      `out ${bob.port} MESSAGE sip:bob@127.0.0.1:${bob.port} SIP/2.0`,
      `in ${bob.port} SIP/2.0 200 OK`,
    ]);
    expect(tb.lines.map((l) => l.direction)).toEqual(['in', 'out']);
    expect(tb.lines[0]!.text).toBe(ta.lines[0]!.text);
    expect(tb.lines[1]!.text).toBe(ta.lines[1]!.text);
  });
});

describe('StreamTraceBuffer', () => {
  it('cuts any chunking of a stream of messages and keep-alives into exactly the messages (property)', () => {
    const message = fc.record({
      keepAlive: fc.constantFrom('', '\r\n', '\r\n\r\n'),
      body: fc.string({ maxLength: 40 }).map((b) => b.replace(/[^\x20-\x7e\r\n]/g, 'x')),
      brokenCSeq: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }), (msgs, cuts) => {
        const texts = msgs.map((m, i) => {
          const t = requestText({ via: `SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK-p${i}`, body: m.body });
          return m.brokenCSeq ? t.replace('CSeq: 1 OPTIONS', 'CSeq: 1 BYE') : t;
        });
        const wire = Buffer.from(msgs.map((m, i) => m.keepAlive + texts[i]!).join(''), 'latin1');
        const framer = new SipStreamFramer();
        const shadow = new StreamTraceBuffer();
        const traced: string[] = [];
        let pos = 0;
        let k = 0;
        while (pos < wire.length) {
          const n = cuts[k++ % cuts.length]!;
          const chunk = Buffer.from(wire.subarray(pos, pos + n));
          pos += n;
          shadow.append(chunk);
          for (const ev of framer.push(chunk)) {
            const bytes = shadow.take(ev);
            if (bytes !== undefined) traced.push(bytes.toString('latin1'));
          }
          shadow.settle(framer.buffered);
        }
        expect(traced).toEqual(texts);
      }),
      { numRuns: 300 },
    );
  });

  it('on arbitrary bytes never throws, and traces only pieces of the input, in order (property)', () => {
    const piece = fc.oneof(
      fc.uint8Array({ maxLength: 60 }),
      fc.constantFrom('\r\n', '\r\n\r\n', 'Content-Length: 3\r\n', 'Content-Length: -1\r\n', 'OPTIONS sip:a SIP/2.0\r\n', 'SIP/2.0 200 OK\r\n').map((t) => Buffer.from(t, 'latin1')),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 10 }), (pieces, cuts) => {
        const wire = Buffer.concat(pieces.map((p) => Buffer.from(p)));
        const framer = new SipStreamFramer({ limits: { maxMessageBytes: 200 } });
        const shadow = new StreamTraceBuffer();
        let pos = 0;
        let k = 0;
        let searchFrom = 0;
        while (pos < wire.length && !framer.failed) {
          const chunk = Buffer.from(wire.subarray(pos, pos + cuts[k++ % cuts.length]!));
          pos += chunk.length;
          shadow.append(chunk);
          for (const ev of framer.push(chunk)) {
            const bytes = shadow.take(ev);
            if (bytes === undefined) continue;
            const at = wire.indexOf(bytes, searchFrom);
            expect(at).toBeGreaterThanOrEqual(searchFrom);
            searchFrom = at + bytes.length;
          }
          shadow.settle(framer.buffered);
        }
      }),
      { numRuns: 500 },
    );
  });
});
