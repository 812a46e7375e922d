import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DigestServer,
  ManualClock,
  createResponse,
  parseMessage,
  parseUri,
  passwordLookup,
  type SipRequest,
  type SipResponse,
  type SipUri,
} from '../../../src/sip/index.js';
import { LocationService, Registrar, SipEndpoint, directDestination, sendAuthenticated, sendOnce, type SipEndpointOptions } from '../../../src/sip/ua/index.js';

const endpoints: SipEndpoint[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await Promise.all(endpoints.splice(0).map((e) => e.close()));
});

async function endpoint(options: Partial<SipEndpointOptions> = {}): Promise<SipEndpoint> {
  const e = await SipEndpoint.listen({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }], ...options });
  endpoints.push(e);
  return e;
}

const portOf = (e: SipEndpoint) => e.transports.endpoint('udp')!.port;

/** Sends raw bytes from a plain UDP socket and resolves with the first response. */
async function rawExchange(port: number, text: (localPort: number) => string): Promise<SipResponse> {
  const s = createSocket('udp4');
  sockets.push(s);
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const local = s.address().port;
  const got = new Promise<SipResponse>((resolve) => s.once('message', (d) => resolve(parseMessage(d, { validate: false }) as SipResponse)));
  s.send(Buffer.from(text(local).replace(/\n/g, '\r\n')), port, '127.0.0.1');
  return got;
}

const rawRequest = (method: string, port: number, extra = '') => (local: number) =>
  `${method} sip:bob@127.0.0.1:${port} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK${method}${local}
Max-Forwards: 70
From: <sip:alice@127.0.0.1>;tag=a1
To: <sip:bob@127.0.0.1>
Call-ID: raw-${method}-${local}
CSeq: 7 ${method}
${extra}Content-Length: 0

`;

describe('SipEndpoint', () => {
  it('answers OPTIONS with Allow, Accept and Supported (§11.2)', async () => {
    const server = await endpoint({ registrar: new Registrar({ location: new LocationService({ clock: new ManualClock() }) }), onMessage: () => undefined });
    const client = await endpoint();
    const target = parseUri(`sip:bob@127.0.0.1:${portOf(server)}`) as SipUri;
    const outcome = await sendOnce(client.layer, client.createRequest('OPTIONS', target), directDestination(target));
    expect(outcome.kind).toBe('response');
    const res = (outcome as { response: SipResponse }).response;
    expect(res.status).toBe(200);
    expect(res.allow).toEqual(['OPTIONS', 'REGISTER', 'MESSAGE']);
    expect(res.get('Accept')).toBe('text/plain');
    expect(res.supported).toEqual(['path']);
    expect(res.get('Server')).toBe('Switchboard');
  });

  it('answers an OPTIONS with Max-Forwards 0; a MESSAGE with Max-Forwards 0 gets 483', async () => {
    const server = await endpoint({ onMessage: () => undefined });
    const port = portOf(server);
    expect((await rawExchange(port, (l) => rawRequest('OPTIONS', port)(l).replace('Max-Forwards: 70', 'Max-Forwards: 0'))).status).toBe(200);
    expect((await rawExchange(port, (l) => rawRequest('MESSAGE', port)(l).replace('Max-Forwards: 70', 'Max-Forwards: 0'))).status).toBe(483);
  });

  it('sends and receives MESSAGE both ways (RFC 3428)', async () => {
    const inboxA: string[] = [];
    const inboxB: string[] = [];
    const a = await endpoint({ identity: 'sip:alice@127.0.0.1', onMessage: (req) => inboxA.push(`${req.from.uri}: ${req.body.toString()}`) });
    const b = await endpoint({ identity: 'sip:bob@127.0.0.1', onMessage: (req) => inboxB.push(`${req.from.uri}: ${req.body.toString()}`) });
    const toB = await a.sendMessage(`sip:bob@127.0.0.1:${portOf(b)}`, 'hello bob');
    expect(toB.kind === 'response' && toB.response.status).toBe(200);
    const toA = await b.sendMessage(`sip:alice@127.0.0.1:${portOf(a)}`, 'hi alice ✓', 'text/plain;charset=utf-8');
    expect(toA.kind === 'response' && toA.response.status).toBe(200);
    expect(inboxB).toEqual(['sip:alice@127.0.0.1: hello bob']);
    expect(inboxA).toEqual(['sip:bob@127.0.0.1: hi alice ✓']);
  });

  it('request() sends any out-of-dialog request to a given destination, with or without a body', async () => {
    const seen: string[] = [];
    const b = await endpoint({
      fallback: {
        methods: ['NOTIFY'],
        onRequest: (tx) => {
          seen.push(`${tx.request.method} ${tx.request.uriString} ${tx.request.get('Content-Type') ?? '-'} ${tx.request.body.toString()}`);
          tx.respond(createResponse(tx.request, 200));
        },
      },
    });
    const a = await endpoint();
    // The Request-URI names a host that does not exist: the destination decides where it goes (a device behind NAT).
    const options = await a.request('OPTIONS', 'sip:1001@192.0.2.77:5060;ob', { destination: { protocol: 'udp', address: '127.0.0.1', port: portOf(b) }, authenticate: false });
    expect(options.kind === 'response' && options.response.status).toBe(200);
    expect(options.request.uriString).toBe('sip:1001@192.0.2.77:5060;ob');
    const notify = await a.request('NOTIFY', `sip:bob@127.0.0.1:${portOf(b)}`, { body: 'Messages-Waiting: yes', contentType: 'application/simple-message-summary', headers: [['Event', 'message-summary']] });
    expect(notify.kind === 'response' && notify.response.status).toBe(200);
    expect(seen).toEqual([`NOTIFY sip:bob@127.0.0.1:${portOf(b)} application/simple-message-summary Messages-Waiting: yes`]);
    expect(() => a.request('INVITE', 'sip:bob@127.0.0.1')).toThrow(TypeError);
    expect(() => a.request('INFO', 'sip:bob@127.0.0.1', { body: 'x' })).toThrow(TypeError);
    expect(() => a.request('OPTIONS', 'tel:+15551234')).toThrow(TypeError);
  });

  it('request() times out against a silent destination (Timer F on a manual clock)', async () => {
    const clock = new ManualClock();
    const a = await endpoint({ transaction: { clock } });
    const silent = createSocket('udp4');
    sockets.push(silent);
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    const outcome = a.request('OPTIONS', 'sip:dead@127.0.0.1', { destination: { protocol: 'udp', address: '127.0.0.1', port: silent.address().port } });
    await new Promise((r) => setTimeout(r, 10));
    clock.advance(32_000);
    expect((await outcome).kind).toBe('timeout');
  });

  it('415 with Accept for a MESSAGE content type it does not take', async () => {
    const got: SipRequest[] = [];
    const b = await endpoint({ onMessage: (r) => got.push(r), messageContentTypes: ['text/plain'] });
    const a = await endpoint();
    const outcome = await a.sendMessage(`sip:bob@127.0.0.1:${portOf(b)}`, '<x/>', 'application/xml');
    const res = (outcome as { response: SipResponse }).response;
    expect(res.status).toBe(415);
    expect(res.get('Accept')).toBe('text/plain');
    expect(got).toEqual([]);
  });

  it('sendMessage answers a digest challenge once, through the fallback of a challenging peer', async () => {
    const auth = new DigestServer({ realm: 'r', algorithms: ['SHA-256'], lookup: passwordLookup((u) => (u === 'alice' ? 'pw' : undefined)) });
    const delivered: string[] = [];
    const b = await endpoint({
      fallback: {
        methods: ['MESSAGE'],
        onRequest: (tx) => {
          void auth.verify(tx.request).then((r) => {
            if (r.ok) {
              delivered.push(tx.request.body.toString());
              tx.respond(createResponse(tx.request, 202));
            } else tx.respond(auth.challengeResponse(tx.request));
          });
        },
      },
    });
    const good = await endpoint({ credentials: { username: 'alice', password: 'pw' } });
    const outcome = await good.sendMessage(`sip:bob@127.0.0.1:${portOf(b)}`, 'secret');
    expect(outcome.kind === 'response' && [outcome.response.status, outcome.request.cseq.seq]).toEqual([202, 2]);
    expect(delivered).toEqual(['secret']);
    // Wrong password: one retry, then the 401 is the outcome (no loop).
    const bad = await endpoint({ credentials: { username: 'alice', password: 'nope' } });
    const refused = await bad.sendMessage(`sip:bob@127.0.0.1:${portOf(b)}`, 'x');
    expect(refused.kind === 'response' && [refused.response.status, refused.request.cseq.seq]).toEqual([401, 2]);
  });

  it('a malformed request over UDP gets 400 with the parse error as reason', async () => {
    const server = await endpoint();
    const port = portOf(server);
    const res = await rawExchange(port, (l) => rawRequest('OPTIONS', port)(l).replace('CSeq: 7 OPTIONS', 'CSeq: seven OPTIONS'));
    expect(res.status).toBe(400);
    expect(res.reason).toMatch(/CSeq/);
  });

  it('a malformed request whose Via cannot be read is dropped', async () => {
    const server = await endpoint();
    const port = portOf(server);
    const s = createSocket('udp4');
    sockets.push(s);
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const answers: Buffer[] = [];
    s.on('message', (d) => answers.push(d));
    s.send(Buffer.from('OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\nVia: garbage here\r\nCSeq: 1 OPTIONS\r\n\r\n'), port, '127.0.0.1');
    const until = Date.now() + 1000;
    while (server.transports.stats.dropped === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    expect(server.transports.stats.dropped).toBe(1);
    expect(answers).toEqual([]);
  });

  it('a full transaction table gets 503 with Retry-After', async () => {
    const server = await endpoint({
      transaction: { maxTransactions: 1, retryAfter: 7 },
      fallback: { methods: ['SUBSCRIBE'], onRequest: () => undefined }, // never answers: the transaction stays
    });
    const port = portOf(server);
    const s = createSocket('udp4');
    sockets.push(s);
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    s.send(Buffer.from(rawRequest('SUBSCRIBE', port, 'Event: presence\n')(1).replace(/\n/g, '\r\n')), port, '127.0.0.1');
    const until = Date.now() + 1000;
    while (server.layer.serverTransactionCount === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    const res = await rawExchange(port, rawRequest('OPTIONS', port));
    expect(res.status).toBe(503);
    expect(res.get('Retry-After')).toBe('7');
    expect(server.layer.serverTransactionCount).toBe(1);
  });

  it('unknown methods get 501, known ones without a handler 405 with Allow', async () => {
    const server = await endpoint();
    const port = portOf(server);
    expect((await rawExchange(port, rawRequest('FOO', port))).status).toBe(501);
    const res = await rawExchange(port, rawRequest('SUBSCRIBE', port, 'Event: presence\n'));
    expect(res.status).toBe(405);
    expect(res.allow).toEqual(['OPTIONS']);
  });

  it('unsupported Require gets 420 with Unsupported', async () => {
    const server = await endpoint();
    const port = portOf(server);
    const res = await rawExchange(port, rawRequest('OPTIONS', port, 'Require: foo\n'));
    expect([res.status, res.unsupported]).toEqual([420, ['foo']]);
  });

  it('482 for a request carrying our own Via', async () => {
    const server = await endpoint();
    const port = portOf(server);
    const res = await rawExchange(port, rawRequest('OPTIONS', port, `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bKmine\n`));
    expect(res.status).toBe(482);
  });

  it('routes other methods to the fallback, and setFallback chains a layer user', async () => {
    const seen: string[] = [];
    const server = await endpoint();
    // What a DialogManager does when built: take layer.user.
    server.layer.user = { onRequest: (tx) => (seen.push(tx.request.method), tx.respond(createResponse(tx.request, 486))) };
    server.setFallback({ methods: ['INVITE', 'BYE'], ...server.layer.user });
    const port = portOf(server);
    expect((await rawExchange(port, rawRequest('BYE', port))).status).toBe(486);
    expect((await rawExchange(port, rawRequest('OPTIONS', port))).allow).toEqual(['OPTIONS', 'INVITE', 'BYE', 'ACK', 'CANCEL']);
    expect(seen).toEqual(['BYE']);
  });

  it('a handler that throws gets the request answered 500, reported to onError', async () => {
    const errors: string[] = [];
    const server = await endpoint({
      onMessage: () => {
        throw new Error('boom');
      },
      onError: (e, ctx) => errors.push(`${ctx}: ${(e as Error).message}`),
    });
    const port = portOf(server);
    const res = await rawExchange(port, rawRequest('MESSAGE', port));
    expect(res.status).toBe(500);
    expect(errors).toEqual(['handling MESSAGE: boom']);
  });

  it('close() while the registrar awaits its credential store: the late answer goes nowhere, nothing throws', async () => {
    let release: (() => void) | undefined;
    const auth = new DigestServer({
      realm: 'r',
      algorithms: ['MD5'],
      lookup: (u, realm) => new Promise((resolve) => (release = () => resolve(passwordLookup(() => 'pw')(u, realm) as never))),
    });
    const location = new LocationService({ clock: new ManualClock() });
    const server = await SipEndpoint.listen({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }], registrar: new Registrar({ location, auth }) });
    const client = await endpoint({ credentials: { username: 'alice', password: 'pw' } });
    const port = portOf(server);
    const target = parseUri(`sip:127.0.0.1:${port}`) as SipUri;
    const register = client.createRequest('REGISTER', target, 'udp', 'sip:alice@127.0.0.1');
    register.set('To', '<sip:alice@127.0.0.1>');
    register.set('Contact', `<sip:alice@127.0.0.1:${portOf(client)}>`);
    void sendAuthenticated(client.layer, register, directDestination(target), { digest: client.digest! });
    const until = Date.now() + 2000;
    while (release === undefined && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect(release).toBeDefined();
    await server.close();
    release!();
    await new Promise((r) => setTimeout(r, 20));
    expect(location.size).toBe(1); // the registrar finished its work; the 200 had nowhere to go
  });

  it('hands REGISTER to the registrar', async () => {
    const location = new LocationService({ clock: new ManualClock() });
    const server = await endpoint({ registrar: new Registrar({ location }) });
    const port = portOf(server);
    const res = await rawExchange(port, (l) => rawRequest('REGISTER', port, `Contact: <sip:alice@127.0.0.1:${l}>\nExpires: 60\n`)(l).replace(/bob/g, 'alice'));
    expect(res.status).toBe(200);
    expect(location.lookup('sip:alice@127.0.0.1').map((b) => b.source?.address)).toEqual(['127.0.0.1']);
  });
});
