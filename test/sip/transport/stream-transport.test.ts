/** SIP over TCP and TLS through SipTransportSet, on real sockets on 127.0.0.1. */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createResponse, parseMessage, SipStreamFramer, type SipMessage, type SipRequest, type SipResponse } from '../../../src/sip/message/index.js';
import { TransportError } from '../../../src/sip/transport/index.js';
import type { TransportProtocol } from '../../../src/sip/transport/types.js';
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

/** A raw client socket (TCP or TLS) that frames what it receives. */
async function rawClient(protocol: 'tcp' | 'tls', port: number): Promise<{ socket: Socket; messages: SipMessage[]; bytes: () => string; closed: () => boolean }> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = protocol === 'tls' ? tlsConnect({ host: '127.0.0.1', port, ca: cert.cert }, () => resolve(s)) : connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
  socket.on('error', () => undefined);
  sockets.push(socket);
  const framer = new SipStreamFramer();
  const messages: SipMessage[] = [];
  let text = '';
  let isClosed = false;
  socket.on('data', (d: Buffer) => {
    text += d.toString('latin1');
    for (const ev of framer.push(d)) if (ev.type === 'message') messages.push(ev.message);
  });
  socket.on('close', () => {
    isClosed = true;
  });
  return { socket, messages, bytes: () => text, closed: () => isClosed };
}

for (const protocol of ['tcp', 'tls'] as const) {
  const listen = (extra: object = {}) => openSet({ listen: [{ protocol, address: '127.0.0.1', port: 0, tls: cert }], tlsClient: { ca: cert.cert }, ...extra });
  const client = (extra: object = {}) => openSet({ listen: [], tlsClient: { ca: cert.cert }, ...extra });

  describe(protocol.toUpperCase(), () => {
    it('frames messages split across arbitrary chunk boundaries, and several per chunk', async () => {
      const srv = await listen();
      const port = srv.set.endpoints()[0]!.port;
      const c = await rawClient(protocol, port);
      const wire = Buffer.from(
        requestText({ via: `SIP/2.0/${protocol.toUpperCase()} 127.0.0.1:1;branch=z9hG4bK-s1`, body: 'v=0\r\n' }) +
          requestText({ via: `SIP/2.0/${protocol.toUpperCase()} 127.0.0.1:1;branch=z9hG4bK-s2` }) +
          requestText({ via: `SIP/2.0/${protocol.toUpperCase()} 127.0.0.1:1;branch=z9hG4bK-s3`, body: 'hello' }),
      );
      // Cut into pieces of 1..40 bytes, written with pauses so they arrive as separate reads.
      let i = 0;
      let n = 1;
      while (i < wire.length) {
        const len = Math.min(((n * 7) % 40) + 1, wire.length - i);
        c.socket.write(wire.subarray(i, i + len));
        i += len;
        n++;
        if (n % 8 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      await waitFor(() => srv.inbox.length === 3);
      expect(srv.inbox.map((m) => (m.message as SipRequest).topVia?.branch)).toEqual(['z9hG4bK-s1', 'z9hG4bK-s2', 'z9hG4bK-s3']);
      expect(srv.inbox[0]!.message.body.toString()).toBe('v=0\r\n');
      expect(srv.inbox[2]!.message.body.toString()).toBe('hello');
      const ids = new Set(srv.inbox.map((m) => m.connectionId));
      expect(ids.size).toBe(1);
      expect(srv.inbox[0]!.source.protocol).toBe(protocol);
      expect(srv.inbox[0]!.source.port).toBe(c.socket.localPort);
    });

    it('reuses one connection for two requests and answers on the connection a request came on', async () => {
      const srv = await listen();
      const cli = await client();
      const dest = srv.set.endpoints()[0]!;
      await cli.set.send(request(protocol), dest);
      await cli.set.send(request(protocol), dest);
      await waitFor(() => srv.inbox.length === 2);
      expect(cli.set.connections()).toHaveLength(1);
      expect(srv.set.connections()).toHaveLength(1);
      expect(cli.set.stats.opened).toBe(1);
      expect(srv.set.stats.accepted).toBe(1);
      const inbound = srv.inbox[1]!;
      expect(inbound.connectionId).toBe(srv.set.connections()[0]!.id);
      // The response goes back on that connection, by id, even though its port is ephemeral.
      await srv.set.send(createResponse(inbound.message as SipRequest, 200), { ...inbound.source, connectionId: inbound.connectionId! });
      await waitFor(() => cli.inbox.length === 1);
      const got = cli.inbox[0]!;
      expect((got.message as SipResponse).status).toBe(200);
      expect(got.connectionId).toBe(cli.set.connections()[0]!.id);
      // An in-dialog request from the server side reuses the same connection (no new one).
      await srv.set.send(request(protocol), { protocol, address: '192.0.2.1', port: 1, connectionId: inbound.connectionId! });
      await waitFor(() => cli.inbox.length === 2);
      expect(srv.set.connections()).toHaveLength(1);
      expect(cli.set.connections()).toHaveLength(1);
    });

    it('sends a response whose connection closed to the received address and sent-by port (§18.2.2)', async () => {
      const srv = await listen();
      const cli = await openSet({ listen: [{ protocol, address: '127.0.0.1', port: 0, tls: cert }], tlsClient: { ca: cert.cert } });
      const cliPort = cli.set.endpoints()[0]!.port;
      await cli.set.send(request(protocol, 'client.invalid', cliPort), srv.set.endpoints()[0]!);
      await waitFor(() => srv.inbox.length === 1);
      const inbound = srv.inbox[0]!;
      expect((inbound.message as SipRequest).topVia?.received).toBe('127.0.0.1');
      srv.set.connection(inbound.connectionId!)!.destroy();
      await waitFor(() => srv.set.connections().length === 0 && cli.set.connections().length === 0);
      await srv.set.send(createResponse(inbound.message as SipRequest, 200), { ...inbound.source, connectionId: inbound.connectionId! });
      await waitFor(() => cli.inbox.length === 1);
      expect((cli.inbox[0]!.message as SipResponse).status).toBe(200);
      expect(srv.set.connections()[0]!.remote.port).toBe(cliPort);
    });

    it('answers a CRLFCRLF ping with CRLF (RFC 5626 §4.4.1), and keep-alive pings get pongs', async () => {
      const srv = await listen();
      const c = await rawClient(protocol, srv.set.endpoints()[0]!.port);
      c.socket.write('\r\n\r\n');
      await waitFor(() => c.bytes() === '\r\n');
      expect(srv.set.stats.pings).toBe(1);
      // Our own client: pings get answered, so the connection stays up past the pong deadline.
      const cli = await client({ limits: { pongTimeoutMs: 100 } });
      await cli.set.send(request(protocol), srv.set.endpoints()[0]!);
      const id = cli.set.connections()[0]!.id;
      expect(cli.set.keepAlive(id, 30)).toBe(true);
      await new Promise((r) => setTimeout(r, 250));
      expect(cli.set.connection(id)?.isOpen).toBe(true);
      expect(srv.set.stats.pings).toBeGreaterThanOrEqual(3);
      expect(cli.set.keepAlive('nope', 30)).toBe(false);
      // Or for every connection it opens, by option.
      const auto = await client({ keepAliveIntervalMs: 20, limits: { pongTimeoutMs: 100 } });
      const before = srv.set.stats.pings;
      await auto.set.send(request(protocol), srv.set.endpoints()[0]!);
      await waitFor(() => srv.set.stats.pings >= before + 3);
      expect(auto.set.connections()).toHaveLength(1);
    });

    it('closes a client connection whose keep-alive pong does not come', async () => {
      // A server that reads and never answers.
      const { createServer } = await import('node:net');
      const { createServer: createTlsServer } = await import('node:tls');
      const silent = protocol === 'tls' ? createTlsServer({ key: cert.key, cert: cert.cert }, (s) => s.resume()) : createServer((s) => s.resume());
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
      try {
        const port = (silent.address() as { port: number }).port;
        const cli = await client({ limits: { pongTimeoutMs: 80 } });
        await cli.set.send(request(protocol), { protocol, address: '127.0.0.1', port });
        const id = cli.set.connections()[0]!.id;
        cli.set.keepAlive(id, 20);
        await waitFor(() => cli.set.connections().length === 0, 1000, 'keep-alive close');
        expect(cli.set.stats.timeouts).toBe(1);
        expect(cli.errors.some((e) => /no keep-alive pong/.test(e))).toBe(true);
      } finally {
        silent.close();
      }
    });

    it('closes idle connections', async () => {
      const srv = await listen({ limits: { idleTimeoutMs: 100 } });
      const c = await rawClient(protocol, srv.set.endpoints()[0]!.port);
      await waitFor(() => srv.set.connections().length === 1);
      await waitFor(() => c.closed(), 1500, 'idle close');
      await waitFor(() => srv.set.connections().length === 0);
      expect(srv.set.stats.timeouts).toBe(1);
      // Client side too.
      const srv2 = await listen();
      const cli = await client({ limits: { clientIdleTimeoutMs: 100 } });
      await cli.set.send(request(protocol), srv2.set.endpoints()[0]!);
      expect(cli.set.connections()).toHaveLength(1);
      await waitFor(() => cli.set.connections().length === 0, 1500, 'client idle close');
    });

    it('enforces the connection cap', async () => {
      const srv = await listen({ limits: { maxConnections: 2 } });
      const port = srv.set.endpoints()[0]!.port;
      const c1 = await rawClient(protocol, port);
      const c2 = await rawClient(protocol, port);
      await waitFor(() => srv.set.connections().length === 2);
      const c3 = await rawClient(protocol, port).catch(() => undefined);
      await waitFor(() => srv.set.stats.refused === 1, 1500, 'refusal');
      if (c3 !== undefined) await waitFor(() => c3.closed(), 1500, 'refused socket closed');
      expect(srv.set.connections()).toHaveLength(2);
      expect(c1.closed() || c2.closed()).toBe(false);
      // The client-side cap refuses to open more.
      const cli = await client({ limits: { maxConnections: 1 } });
      const first = await listen();
      const second = await listen();
      await cli.set.send(request(protocol), first.set.endpoints()[0]!);
      await expect(cli.set.send(request(protocol), second.set.endpoints()[0]!)).rejects.toThrow(/Too many connections/);
      expect(cli.set.stats.refused).toBe(1);
    });

    it('disconnects a peer that sends an endless header section', async () => {
      const srv = await listen({ limits: { maxMessageBytes: 4096 } });
      const c = await rawClient(protocol, srv.set.endpoints()[0]!.port);
      c.socket.write('OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n');
      const line = `X-Filler: ${'a'.repeat(200)}\r\n`;
      for (let i = 0; i < 40 && !c.closed(); i++) {
        c.socket.write(line);
        await new Promise((r) => setTimeout(r, 1));
      }
      await waitFor(() => c.closed(), 1500, 'disconnect');
      expect(srv.set.stats.protocolErrors).toBe(1);
      expect(srv.inbox).toHaveLength(0);
      await waitFor(() => srv.set.connections().length === 0);
    });

    it('closes the connection on a fatal framing error, after a 400 when the Via is readable', async () => {
      const srv = await listen();
      const c = await rawClient(protocol, srv.set.endpoints()[0]!.port);
      const bad = requestText({ via: `SIP/2.0/${protocol.toUpperCase()} 127.0.0.1:1;branch=z9hG4bK-cl` }).replace(/Content-Length: 0/, 'Content-Length: -5');
      c.socket.write(bad);
      await waitFor(() => c.closed(), 1500, 'close after framing error');
      expect(c.messages).toHaveLength(1);
      const res = c.messages[0] as SipResponse;
      expect(res.status).toBe(400);
      expect(res.topVia?.branch).toBe('z9hG4bK-cl');
      expect(srv.set.stats.protocolErrors).toBe(1);
    });

    it('answers 400 to a request that frames but does not validate, and keeps the connection', async () => {
      const srv = await listen();
      const c = await rawClient(protocol, srv.set.endpoints()[0]!.port);
      c.socket.write(requestText({ via: `SIP/2.0/${protocol.toUpperCase()} 127.0.0.1:1;branch=z9hG4bK-nv` }).replace('CSeq: 1 OPTIONS', 'CSeq: 1 BYE'));
      await waitFor(() => c.messages.length === 1);
      expect((c.messages[0] as SipResponse).status).toBe(400);
      expect((c.messages[0] as SipResponse).reason).toMatch(/CSeq/);
      expect(srv.set.stats).toMatchObject({ malformed: 1, rejected: 1 });
      c.socket.write(requestText({ via: `SIP/2.0/${protocol.toUpperCase()} 127.0.0.1:1;branch=z9hG4bK-ok2` }));
      await waitFor(() => srv.inbox.length === 1);
      expect(c.closed()).toBe(false);
    });

    it('destroys a connection whose write queue passes the cap', async () => {
      const srv = await listen({ limits: { maxWriteBufferBytes: 64 * 1024 } });
      const c = await rawClient(protocol, srv.set.endpoints()[0]!.port);
      c.socket.write(requestText({ via: `SIP/2.0/${protocol.toUpperCase()} 127.0.0.1:1;branch=z9hG4bK-w` }));
      await waitFor(() => srv.inbox.length === 1);
      c.socket.pause(); // stop reading: the server's writes pile up
      const inbound = srv.inbox[0]!;
      const res = createResponse(inbound.message as SipRequest, 200, undefined, { body: 'x'.repeat(60_000) });
      const dest = { ...inbound.source, connectionId: inbound.connectionId! };
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < 200 && srv.set.stats.overflows === 0; i++) {
        sends.push(srv.set.send(res, dest).catch((e: unknown) => e));
        await new Promise((r) => setImmediate(r));
      }
      expect(srv.set.stats.overflows).toBe(1);
      const results = await Promise.all(sends);
      expect(results.some((r) => r instanceof TransportError)).toBe(true);
      await waitFor(() => srv.set.connections().length === 0);
    });

    it('rejects with TransportError when the peer refuses the connection', async () => {
      const srv = await listen();
      const port = srv.set.endpoints()[0]!.port;
      await closeSets(); // the port is now closed
      const cli = await client();
      await expect(cli.set.send(request(protocol), { protocol, address: '127.0.0.1', port })).rejects.toBeInstanceOf(TransportError);
      expect(cli.set.connections()).toHaveLength(0);
    });
  });
}

describe('TLS specifics', () => {
  it('refuses a server whose certificate is not trusted', async () => {
    const srv = await openSet({ listen: [{ protocol: 'tls', address: '127.0.0.1', port: 0, tls: cert }] });
    const cli = await openSet({ listen: [] });
    await expect(cli.set.send(request('tls'), srv.set.endpoints()[0]!)).rejects.toThrow(/self.signed|certificate/i);
  });

  it('needs a certificate and key to listen', async () => {
    await expect(openSet({ listen: [{ protocol: 'tls' as TransportProtocol, address: '127.0.0.1', port: 0 }] })).rejects.toThrow(/needs tls/);
  });

  it('the transport set closes every socket: a client sees its connection end', async () => {
    const srv = await openSet({ listen: [{ protocol: 'tcp', address: '127.0.0.1', port: 0 }] });
    const c = await rawClient('tcp', srv.set.endpoints()[0]!.port);
    await waitFor(() => srv.set.connections().length === 1);
    await srv.set.close();
    await waitFor(() => c.closed());
    await expect(srv.set.send(request('tcp'), { protocol: 'tcp', address: '127.0.0.1', port: 1 })).rejects.toThrow(/closed/);
    expect(parseMessage).toBeTypeOf('function');
  });
});
