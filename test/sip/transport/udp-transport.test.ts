/** SIP over UDP through SipTransportSet, on real sockets (127.0.0.1, and ::1 when available). */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { createResponse, parseMessage, type SipRequest, type SipResponse } from '../../../src/sip/message/index.js';
import { TransportError, SipTransportSet } from '../../../src/sip/transport/index.js';
import { closeSets, openSet, request, requestText, waitFor } from './helpers.js';

let raw: Socket | undefined;
afterEach(async () => {
  await closeSets();
  raw?.close();
  raw = undefined;
});

/** A plain UDP socket that records datagrams. */
async function rawSocket(type: 'udp4' | 'udp6' = 'udp4'): Promise<{ socket: Socket; port: number; got: Buffer[] }> {
  const socket = createSocket(type);
  raw = socket;
  const got: Buffer[] = [];
  socket.on('message', (d) => got.push(d));
  await new Promise<void>((r) => socket.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', () => r()));
  return { socket, port: socket.address().port, got };
}

const ipv6Available = await (async () => {
  const s = createSocket('udp6');
  try {
    return await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false));
      s.bind(0, '::1', () => resolve(true));
    });
  } finally {
    s.close();
  }
})();

describe('UDP', () => {
  it('sends and receives between two transport sets, answering on the Via (rport)', async () => {
    const a = await openSet({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }] });
    const b = await openSet({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }] });
    const aEnd = a.set.endpoints()[0]!;
    const bEnd = b.set.endpoint('udp')!;
    expect(aEnd.port).toBeGreaterThan(0);
    const req = request('udp', '127.0.0.1', aEnd.port, { viaParams: ';rport' });
    await a.set.send(req, bEnd);
    await waitFor(() => b.inbox.length === 1);
    const inbound = b.inbox[0]!;
    expect(inbound.source).toEqual({ protocol: 'udp', address: '127.0.0.1', port: aEnd.port });
    expect(inbound.local).toEqual(bEnd);
    expect(inbound.connectionId).toBeUndefined();
    const got = inbound.message as SipRequest;
    expect(got.method).toBe('OPTIONS');
    // RFC 3581: the empty rport is filled in and received added.
    expect(got.topVia?.rport).toBe(aEnd.port);
    expect(got.topVia?.received).toBe('127.0.0.1');
    await b.set.send(createResponse(got, 200), inbound.source);
    await waitFor(() => a.inbox.length === 1);
    const res = a.inbox[0]!.message as SipResponse;
    expect(res.status).toBe(200);
    expect(res.callId).toBe(req.callId);
    expect(a.set.stats.sent).toBe(1);
    expect(b.set.stats.received).toBe(1);
    expect(a.set.isReliable('udp')).toBe(false);
    expect(a.set.isReliable('tcp')).toBe(true);
  });

  it('asks for rport on requests it sends (RFC 3581 §3) unless told not to', async () => {
    const a = await openSet({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }] });
    const b = await openSet({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }], rport: false });
    const req = request('udp', '127.0.0.1', 5999);
    await a.set.send(req, b.set.endpoints()[0]!);
    expect(req.topVia?.rport).toBeNull(); // updated in place: a CANCEL or ACK built from it copies it
    await waitFor(() => b.inbox.length === 1);
    expect((b.inbox[0]!.message as SipRequest).topVia?.rport).toBe(a.set.endpoints()[0]!.port);
    // Responses go to the source port, not the sent-by port 5999.
    await b.set.send(createResponse(b.inbox[0]!.message as SipRequest, 200), { protocol: 'udp', address: '127.0.0.1', port: (b.inbox[0]!.message as SipRequest).topVia!.rport! });
    await waitFor(() => a.inbox.length === 1);
    const plain = request('udp', '127.0.0.1', a.set.endpoints()[0]!.port);
    await b.set.send(plain, a.set.endpoints()[0]!);
    await waitFor(() => a.inbox.length === 2);
    expect((a.inbox[1]!.message as SipRequest).topVia?.rport).toBeUndefined();
  });

  it('adds received when the Via names another host', async () => {
    const b = await openSet({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }] });
    const r = await rawSocket();
    r.socket.send(requestText({ via: 'SIP/2.0/UDP client.invalid:5070;branch=z9hG4bK-x1' }), b.set.endpoints()[0]!.port, '127.0.0.1');
    await waitFor(() => b.inbox.length === 1);
    const via = (b.inbox[0]!.message as SipRequest).topVia!;
    expect(via.received).toBe('127.0.0.1');
    expect(via.rport).toBeUndefined();
  });

  it('answers a malformed request 400 with the parse error as reason, to the source (rport)', async () => {
    const b = await openSet({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }] });
    const r = await rawSocket();
    const bad = requestText({ via: 'SIP/2.0/UDP 127.0.0.1:1;rport;branch=z9hG4bK-bad1' }).replace('CSeq: 1 OPTIONS', 'CSeq: 1 INVITE');
    r.socket.send(bad, b.set.endpoints()[0]!.port, '127.0.0.1');
    await waitFor(() => r.got.length === 1);
    const res = parseMessage(r.got[0]!) as SipResponse;
    expect(res.status).toBe(400);
    expect(res.reason).toMatch(/CSeq/);
    expect(res.topVia?.branch).toBe('z9hG4bK-bad1');
    expect(res.topVia?.rport).toBe(r.port);
    expect(b.inbox).toHaveLength(0);
    expect(b.set.stats).toMatchObject({ malformed: 1, rejected: 1, dropped: 0 });
  });

  it('drops a datagram whose Via cannot be read, and garbage, without an answer', async () => {
    const b = await openSet({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }] });
    const r = await rawSocket();
    const port = b.set.endpoints()[0]!.port;
    r.socket.send(requestText({ via: 'SIP/2.0/UDP ;;;garbage' }), port, '127.0.0.1');
    r.socket.send(Buffer.from([0xff, 0x00, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a, 0x41]), port, '127.0.0.1');
    r.socket.send('SIP/2.0 200 OK\r\nVia: nonsense\r\n\r\n', port, '127.0.0.1');
    await waitFor(() => b.set.stats.dropped === 3);
    // A valid request afterwards still works: the socket survived.
    r.socket.send(requestText({ via: `SIP/2.0/UDP 127.0.0.1:${r.port};branch=z9hG4bK-ok` }), port, '127.0.0.1');
    await waitFor(() => b.inbox.length === 1);
    expect(r.got).toHaveLength(0);
    expect(b.set.stats).toMatchObject({ malformed: 3, rejected: 0, dropped: 3, received: 1 });
  });

  it('refuses a request too large for UDP with a TransportError (§18.1.1), threshold configurable', async () => {
    const a = await openSet({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }] });
    const big = request('udp', '127.0.0.1', 5060, { body: 'x'.repeat(1400) });
    const p = a.set.send(big, { protocol: 'udp', address: '127.0.0.1', port: 9 });
    await expect(p).rejects.toBeInstanceOf(TransportError);
    await expect(p).rejects.toThrow(/message too large for UDP/);
    const small = await openSet({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }], limits: { maxUdpRequestBytes: 200 } });
    await expect(small.set.send(request('udp'), { protocol: 'udp', address: '127.0.0.1', port: 9 })).rejects.toThrow(/message too large for UDP/);
    // Responses are not held to the request threshold.
    const r = await rawSocket();
    const res = createResponse(big, 200);
    await a.set.send(res, { protocol: 'udp', address: '127.0.0.1', port: r.port });
    await waitFor(() => r.got.length === 1);
  });

  it('rejects a send with no socket of the right family', async () => {
    const a = await openSet({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }] });
    await expect(a.set.send(request('udp'), { protocol: 'udp', address: '::1', port: 5060 })).rejects.toThrow(/No UDP IPv6 socket/);
  });

  it('refuses to listen on a port in use', async () => {
    const a = await openSet({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }] });
    const port = a.set.endpoints()[0]!.port;
    await expect(SipTransportSet.listen({ listen: [{ protocol: 'udp', address: '127.0.0.1', port }] })).rejects.toBeInstanceOf(TransportError);
  });

  it.skipIf(!ipv6Available)('works over IPv6 (::1) with bracketed Via and received', async () => {
    const a = await openSet({ listen: [{ protocol: 'udp', address: '::1', port: 0 }] });
    const b = await openSet({ listen: [{ protocol: 'udp', address: '::1', port: 0 }] });
    const aEnd = a.set.endpoints()[0]!;
    expect(aEnd.address).toBe('::1');
    const req = request('udp', '[::1]', aEnd.port, { viaParams: ';rport' });
    await a.set.send(req, b.set.endpoints()[0]!);
    await waitFor(() => b.inbox.length === 1);
    const inbound = b.inbox[0]!;
    expect(inbound.source).toEqual({ protocol: 'udp', address: '::1', port: aEnd.port });
    const got = inbound.message as SipRequest;
    expect(got.topVia?.rport).toBe(aEnd.port);
    await b.set.send(createResponse(got, 200), inbound.source);
    await waitFor(() => a.inbox.length === 1);
    expect((a.inbox[0]!.message as SipResponse).status).toBe(200);
  });
  if (!ipv6Available) it.skip('IPv6: ::1 is not available on this machine', () => undefined);
});
