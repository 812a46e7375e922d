/**
 * Typed header accessors, the header list API, limits, and response building.
 */
import { describe, expect, it } from 'vitest';
import {
  AuthHeader,
  NameAddr,
  SipParseError,
  SipRequest,
  SipResponse,
  SipUri,
  Via,
  canonicalHeaderName,
  createResponse,
  parseAuthHeader,
  parseMessage,
  reasonPhrase,
  serializeMessage,
  type SipMessage,
} from '../../../src/sip/index.js';

function wire(lines: string[], body = ''): Buffer {
  return Buffer.from([...lines, `Content-Length: ${Buffer.byteLength(body)}`].join('\r\n') + '\r\n\r\n' + body, 'utf8');
}

const base = [
  'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9;rport',
  'From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl',
  'To: <sip:bob@biloxi.example.com>',
  'Call-ID: 3848276298220188511@atlanta.example.com',
  'Max-Forwards: 70',
];

function request(method: string, extra: string[] = [], body = ''): SipRequest {
  const m = parseMessage(wire([`${method} sip:bob@biloxi.example.com SIP/2.0`, ...base, `CSeq: 1 ${method}`, ...extra], body));
  if (!m.isRequest) throw new Error('not a request');
  return m;
}

function thrown(f: () => unknown): SipParseError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SipParseError);
    return e as SipParseError;
  }
  throw new Error('expected a SipParseError');
}

describe('compact forms and header names', () => {
  it('every RFC 3261 and extension compact form maps to its header', () => {
    const m = parseMessage(
      wire([
        'NOTIFY sip:bob@192.0.2.4 SIP/2.0',
        'v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1',
        'f: <sip:a@example.com>;tag=1',
        't: <sip:b@example.com>;tag=2',
        'i: abc@example.com',
        'CSeq: 5 NOTIFY',
        'm: <sip:a@192.0.2.1>',
        'k: timer, 100rel',
        'o: dialog;id=7',
        'u: dialog, refer',
        'r: <sip:c@example.com>',
        'b: <sip:a@example.com>',
        'x: 1800;refresher=uac',
        's: hello',
        'e: gzip',
        'c: application/dialog-info+xml',
      ]),
    );
    expect(m.topVia!.branch).toBe('z9hG4bK1');
    expect(m.from.tag).toBe('1');
    expect(m.to.tag).toBe('2');
    expect(m.callId).toBe('abc@example.com');
    expect(String(m.contacts[0]!.uri)).toBe('sip:a@192.0.2.1');
    expect(m.supported).toEqual(['timer', '100rel']);
    expect(m.event).toMatchObject({ type: 'dialog', id: '7' });
    expect(m.list('Allow-Events')).toEqual(['dialog', 'refer']);
    expect(String(m.referTo!.uri)).toBe('sip:c@example.com');
    expect(String(m.referredBy!.uri)).toBe('sip:a@example.com');
    expect(m.sessionExpires).toMatchObject({ seconds: 1800, refresher: 'uac' });
    expect(m.get('Subject')).toBe('hello');
    expect(m.get('Content-Encoding')).toBe('gzip');
    expect(m.contentType!.essence).toBe('application/dialog-info+xml');
    expect(m.contentLength).toBe(0);
    expect(m.has('l')).toBe(true);
  });

  it('names are case-insensitive and canonicalised on request', () => {
    const m = request('OPTIONS', ['X-Custom-Thing: one', 'x-custom-thing: two']);
    expect(m.getAll('X-CUSTOM-THING')).toEqual(['one', 'two']);
    expect(m.get('call-id')).toBe('3848276298220188511@atlanta.example.com');
    expect(canonicalHeaderName('v')).toBe('Via');
    expect(canonicalHeaderName('www-authenticate')).toBe('WWW-Authenticate');
    expect(canonicalHeaderName('X-Other')).toBe('X-Other');
  });

  it('keeps header order and unknown headers byte for byte', () => {
    const raw = wire(['OPTIONS sip:x@example.com SIP/2.0', 'X-B: 2', ...base, 'CSeq: 1 OPTIONS', 'X-A:   spaced\tvalue  ;;,,  ', 'X-Utf8: héllo wörld']);
    const m = parseMessage(raw);
    expect(m.headers.map(([n]) => n)).toEqual(['X-B', 'Via', 'From', 'To', 'Call-ID', 'Max-Forwards', 'CSeq', 'X-A', 'X-Utf8', 'Content-Length']);
    expect(m.get('X-A')).toBe('spaced\tvalue  ;;,,');
    expect(m.get('X-Utf8')).toBe('héllo wörld');
    const out = serializeMessage(m);
    expect(out.toString('utf8')).toContain('X-Utf8: héllo wörld\r\n');
  });

  it('keeps bytes that are not UTF-8 exactly through parse and serialize', () => {
    const raw = Buffer.concat([
      Buffer.from(`OPTIONS sip:x@example.com SIP/2.0\r\n${base.join('\r\n')}\r\nCSeq: 1 OPTIONS\r\nX-Bin: `),
      Buffer.from([0xff, 0xfe, 0x80, 0x41]),
      Buffer.from('\r\nContent-Length: 0\r\n\r\n'),
    ]);
    const out = serializeMessage(parseMessage(raw));
    expect(Buffer.compare(out, raw)).toBe(0);
  });
});

describe('list headers', () => {
  it('splits at commas outside quotes and angle brackets, across lines', () => {
    const m = request('INVITE', [
      'Route: <sip:p1.example.com;lr>, "Proxy, the second" <sip:p2.example.com;lr>',
      'Route: <sip:p3.example.com;lr>;x="a,b"',
      'Contact: "Bob, Jr." <sip:bob@192.0.2.4>;q=0.7, <sip:bob@192.0.2.5>;q=0.3',
    ]);
    expect(m.routes.map((r) => (r.uri as SipUri).host)).toEqual(['p1.example.com', 'p2.example.com', 'p3.example.com']);
    expect(m.routes[1]!.displayName).toBe('Proxy, the second');
    expect(m.contacts.map((c) => [c.displayName, c.params.get('q')])).toEqual([
      ['Bob, Jr.', '0.7'],
      [undefined, '0.3'],
    ]);
  });

  it('Via values spread over lines and commas keep their order', () => {
    const m = parseMessage(
      wire([
        'SIP/2.0 200 OK',
        'Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com:5070;branch=z9hG4bK2',
        'Via: SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bK3;received=2001:db8::9;rport=5061',
        'From: <sip:a@example.com>;tag=1',
        'To: <sip:b@example.com>;tag=2',
        'Call-ID: x',
        'CSeq: 1 INVITE',
      ]),
    );
    expect(m.via.map((v) => v.sentBy)).toEqual(['a.example.com', 'b.example.com:5070', '[2001:db8::1]:5061']);
    expect(m.via[2]!.rport).toBe(5061);
    expect(m.via[2]!.received).toBe('2001:db8::9');
    expect(m.topVia!.branch).toBe('z9hG4bK1');
  });

  it('Contact: * is a wildcard', () => {
    const m = request('REGISTER', ['Contact: *', 'Expires: 0']);
    expect(m.contactWildcard).toBe(true);
    expect(m.contacts).toEqual([]);
    expect(m.expires).toBe(0);
    expect(thrown(() => request('REGISTER', ['Contact: *, <sip:a@b.example.com>'])).message).toMatch(/\* must be the only Contact/);
  });

  it('token lists: Allow, Supported, Require, Unsupported', () => {
    const m = request('OPTIONS', ['Allow: INVITE, ACK,CANCEL ,BYE', 'Supported:', 'Require: 100rel', 'Unsupported: foo, bar']);
    expect(m.allow).toEqual(['INVITE', 'ACK', 'CANCEL', 'BYE']);
    expect(m.supported).toEqual([]);
    expect(m.require).toEqual(['100rel']);
    expect(m.unsupported).toEqual(['foo', 'bar']);
    expect(thrown(() => request('OPTIONS', ['Allow: INVITE,,BYE']).allow).message).toMatch(/Allow/);
  });
});

describe('addresses', () => {
  it('display names: quoted with escapes, token words, absent', () => {
    const m = request('OPTIONS', ['P-Asserted-Identity: "Alice \\"A\\" Liddell" <sip:alice@example.com>, <tel:+15551234567>']);
    expect(m.pAssertedIdentity.map((a) => a.displayName)).toEqual(['Alice "A" Liddell', undefined]);
    expect(m.pAssertedIdentity[1]!.uri.kind).toBe('tel');
    expect(m.from.displayName).toBe('Alice');
    expect(m.to.displayName).toBeUndefined();
    expect(m.to.tag).toBeUndefined();
  });

  it('NameAddr round-trips through toString', () => {
    const a = new NameAddr(new SipUri({ user: 'bob', host: 'example.com', params: { transport: 'tcp' } }), 'Bob "B"', { tag: 'abc' });
    expect(a.toString()).toBe('"Bob \\"B\\"" <sip:bob@example.com;transport=tcp>;tag=abc');
    const m = request('OPTIONS');
    m.set('To', a);
    expect(m.to.displayName).toBe('Bob "B"');
    expect(m.to.tag).toBe('abc');
    expect((m.to.uri as SipUri).transport).toBe('tcp');
  });

  it('a malformed URI in From is reported when the URI is read', () => {
    const m = request('OPTIONS');
    m.set('From', '<sip:alice@exa mple.com>;tag=1');
    expect(thrown(() => m.from).message).toMatch(/From/);
    m.set('From', '<sip:alice@bad_host:99999>;tag=1');
    expect(m.from.tag).toBe('1');
    expect(thrown(() => m.from.uri).message).toMatch(/port/);
  });
});

describe('scalar headers', () => {
  it('CSeq, Max-Forwards, Expires, Min-Expires, RSeq, RAck', () => {
    const m = request('PRACK', ['Expires: 3600', 'Min-Expires: 60', 'RSeq: 988789', 'RAck: 776656 1 INVITE']);
    expect(m.cseq).toEqual({ seq: 1, method: 'PRACK' });
    expect(m.maxForwards).toBe(70);
    expect(m.expires).toBe(3600);
    expect(m.minExpires).toBe(60);
    expect(m.rseq).toBe(988789);
    expect(m.rack).toEqual({ rseq: 776656, cseq: 1, method: 'INVITE' });
  });

  it('out-of-range and malformed scalars are SipParseErrors', () => {
    const m = request('OPTIONS');
    m.set('Max-Forwards', '256');
    expect(thrown(() => m.maxForwards).message).toMatch(/Max-Forwards.*out of range/);
    m.set('Max-Forwards', '7O');
    expect(thrown(() => m.maxForwards).message).toMatch(/Invalid Max-Forwards/);
    expect(thrown(() => request('OPTIONS', ['Expires: 4294967296'])).message).toMatch(/Expires.*out of range/);
    expect(thrown(() => request('OPTIONS', ['Expires: -1'])).message).toMatch(/Expires/);
    expect(thrown(() => request('REGISTER', ['Contact: <sip:a@b.example.com>;expires=99999999999'])).message).toMatch(/Invalid Contact header: expires parameter out of range/);
  });

  it('a request without a Via is rejected', () => {
    const m = wire(['OPTIONS sip:x@example.com SIP/2.0', ...base.slice(1), 'CSeq: 1 OPTIONS']);
    expect(thrown(() => parseMessage(m)).message).toBe('Missing Via header');
  });
});

describe('authentication headers', () => {
  it('parses challenges with every digest parameter', () => {
    const m = parseMessage(
      wire([
        'SIP/2.0 401 Unauthorized',
        base[0]!,
        base[1]!,
        `${base[2]};tag=x`,
        base[3]!,
        'CSeq: 1 REGISTER',
        'WWW-Authenticate: Digest realm="atlanta.example.com", domain="sip:ss1.example.com", qop="auth,auth-int", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=SHA-256',
        'WWW-Authenticate: Digest realm="atlanta.example.com", qop="auth", nonce="f84f1cec41e6cbe5aea9c8e88d359", algorithm=MD5',
      ]),
    );
    const [sha, md5] = m.wwwAuthenticate;
    expect(sha!.isDigest).toBe(true);
    expect(sha!.realm).toBe('atlanta.example.com');
    expect(sha!.qop).toEqual(['auth', 'auth-int']);
    expect(sha!.algorithm).toBe('SHA-256');
    expect(sha!.opaque).toBe('');
    expect(sha!.stale).toBe(false);
    expect(sha!.params.get('domain')).toBe('sip:ss1.example.com');
    expect(md5!.algorithm).toBe('MD5');
  });

  it('parses credentials and serializes them as received', () => {
    const v =
      'Digest username="bob", realm="biloxi.example.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="sip:bob@biloxi.example.com", qop=auth, nc=0000000a, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"';
    const a = parseAuthHeader(v);
    expect(a.username).toBe('bob');
    expect(a.nc).toBe(10);
    expect(a.qop).toEqual(['auth']);
    expect(a.cnonce).toBe('0a4f113b');
    expect(a.toString()).toBe(v);
    expect(new AuthHeader('Bearer', undefined, 'abc.def-ghi').toString()).toBe('Bearer abc.def-ghi');
    expect(parseAuthHeader('Bearer eyJhbGciOi.eyJzdWIi.SflKxw').token68).toBe('eyJhbGciOi.eyJzdWIi.SflKxw');
    expect(parseAuthHeader('Basic YWxpY2U6d29uZGVybGFuZA==').token68).toBe('YWxpY2U6d29uZGVybGFuZA==');
    expect(parseAuthHeader('Basic a/b+c==  ').token68).toBe('a/b+c==');
    expect(parseAuthHeader('Other realm=x').params.get('realm')).toBe('x');
    expect(thrown(() => parseAuthHeader('Digest realm="x", nonce="unterminated')).message).toMatch(/Unterminated/);
    expect(thrown(() => parseAuthHeader('Digest realm')).message).toMatch(/no value/);
  });
});

describe('event and dialog extension headers', () => {
  it('Subscription-State, Replaces, Reason', () => {
    const m = request('NOTIFY', [
      'Event: presence.winfo;id=1',
      'Subscription-State: terminated;reason=timeout;retry-after=30',
      'Replaces: 425928@bobster.example.org;to-tag=7743;from-tag=6472;early-only',
      'Reason: SIP;cause=200;text="Call completed elsewhere", Q.850;cause=16',
    ]);
    expect(m.event).toMatchObject({ type: 'presence.winfo', id: '1' });
    expect(m.subscriptionState).toMatchObject({ state: 'terminated', reason: 'timeout', retryAfter: 30, expires: undefined });
    expect(m.replaces).toMatchObject({ callId: '425928@bobster.example.org', toTag: '7743', fromTag: '6472', earlyOnly: true });
    expect(m.reasons.map((r) => [r.protocol, r.cause, r.text])).toEqual([
      ['SIP', 200, 'Call completed elsewhere'],
      ['Q.850', 16, undefined],
    ]);
    expect(thrown(() => request('INVITE', ['Replaces: abc;to-tag=1']).replaces).message).toMatch(/from-tag/);
  });
});

describe('building and editing messages', () => {
  it('builds a request in code and serializes it with a Content-Length', () => {
    const req = new SipRequest('MESSAGE', 'sip:bob@example.com', [
      ['Via', new Via({ transport: 'udp', host: '192.0.2.1', port: 5060, params: { branch: 'z9hG4bK1', rport: null } })],
      ['From', '<sip:alice@example.com>;tag=1'],
      ['To', '<sip:bob@example.com>'],
      ['Call-ID', 'm1@192.0.2.1'],
      ['CSeq', '1 MESSAGE'],
      ['Max-Forwards', 70],
      ['Content-Type', 'text/plain;charset=utf-8'],
    ], 'héllo');
    const text = serializeMessage(req).toString('utf8');
    expect(text).toBe(
      'MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport\r\nFrom: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: m1@192.0.2.1\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\nContent-Type: text/plain;charset=utf-8\r\nContent-Length: 6\r\n\r\nhéllo',
    );
    const back = parseMessage(serializeMessage(req));
    expect(back.body.toString('utf8')).toBe('héllo');
    expect(back.topVia!.rport).toBe(null);
  });

  it('set, append, prepend, remove and removeFirstValue keep caches consistent', () => {
    const m = request('INVITE', ['Record-Route: <sip:p1.example.com;lr>']);
    expect(m.topVia!.branch).toBe('z9hG4bK74bf9');
    m.prepend('Via', 'SIP/2.0/UDP proxy.example.com;branch=z9hG4bKproxy');
    expect(m.topVia!.host).toBe('proxy.example.com');
    expect(m.via.length).toBe(2);
    expect(m.removeFirstValue('Via')).toBe(true);
    expect(m.topVia!.branch).toBe('z9hG4bK74bf9');
    m.set('Via', 'SIP/2.0/TCP a.example.com;branch=z9hG4bKa, SIP/2.0/TCP b.example.com;branch=z9hG4bKb');
    expect(m.removeFirstValue('Via')).toBe(true);
    expect(m.via.map((v) => v.host)).toEqual(['b.example.com']);
    m.append('Record-Route', '<sip:p2.example.com;lr>');
    expect(m.recordRoutes.length).toBe(2);
    expect(m.remove('record-route')).toBe(2);
    expect(m.recordRoutes).toEqual([]);
    m.set('Max-Forwards', 69);
    expect(m.maxForwards).toBe(69);
    expect(() => m.set('X-Bad', 'a\r\nInjected: yes')).toThrow(TypeError);
    expect(() => m.set('Bad Name', 'x')).toThrow(TypeError);
  });

  it('the Request-URI can be replaced by text or by a URI object', () => {
    const m = request('INVITE');
    m.uri = 'sip:carol@chicago.example.com;transport=tcp';
    expect((m.uri as SipUri).host).toBe('chicago.example.com');
    m.uri = new SipUri({ user: 'dave', host: '192.0.2.9', port: 5080 });
    expect(serializeMessage(m).toString('latin1')).toMatch(/^INVITE sip:dave@192\.0\.2\.9:5080 SIP\/2\.0\r\n/);
  });
});

describe('createResponse (RFC 3261 §8.2.6)', () => {
  const random = (n: number): Uint8Array => new Uint8Array(n).fill(0xab);

  it('copies Via, From, To, Call-ID and CSeq, and adds a To tag', () => {
    const inv = request('INVITE', ['Record-Route: <sip:p1.example.com;lr>', 'Contact: <sip:alice@192.0.2.1>'], 'v=0\r\n');
    const trying = createResponse(inv, 100);
    expect(trying.reason).toBe('Trying');
    expect(trying.to.tag).toBeUndefined();
    expect(trying.has('Record-Route')).toBe(false);
    const ringing = createResponse(inv, 180, undefined, { random });
    expect(ringing.to.tag).toBe('abababababababab');
    expect(ringing.recordRoutes.length).toBe(1);
    expect(ringing.via[0]!.branch).toBe('z9hG4bK74bf9');
    expect(ringing.callId).toBe(inv.callId);
    expect(ringing.cseq).toEqual(inv.cseq);
    expect(ringing.from.tag).toBe('9fxced76sl');
    expect(ringing.has('Contact')).toBe(false);
    const ok = createResponse(inv, 200, 'OK', { toTag: ringing.to.tag!, headers: [['Contact', '<sip:bob@192.0.2.4>']], body: 'v=0\r\n' });
    expect(ok.to.tag).toBe(ringing.to.tag);
    const back = parseMessage(serializeMessage(ok)) as SipResponse;
    expect(back.status).toBe(200);
    expect(back.contentLength).toBe(5);
    expect(String(back.contacts[0]!.uri)).toBe('sip:bob@192.0.2.4');
    const busy = createResponse(inv, 486, undefined, { random });
    expect(busy.reason).toBe('Busy Here');
    expect(busy.has('Record-Route')).toBe(false);
  });

  it('keeps an existing To tag and answers a partially parsed request', () => {
    const bye = request('BYE');
    bye.set('To', '<sip:bob@biloxi.example.com>;tag=existing');
    expect(createResponse(bye, 200).to.tag).toBe('existing');
    expect(reasonPhrase(599)).toBe('Server Internal Error'); // class default for an unknown code
    expect(reasonPhrase(487)).toBe('Request Terminated');
  });

  it('a 400 can be built from the partial message of a validation error', () => {
    const bad = wire(['INVITE sip:bob@biloxi.example.com SIP/2.0', ...base, 'CSeq: 1 BYE']);
    const err = thrown(() => parseMessage(bad));
    const partial = err.partial as SipMessage;
    expect(partial.isRequest).toBe(true);
    const res = createResponse(partial as SipRequest, 400, err.message, { random });
    expect(serializeMessage(res).toString('latin1')).toMatch(/^SIP\/2\.0 400 CSeq method does not match the request method\r\n/);
  });
});

describe('limits', () => {
  it('message size, header count and line length end parsing with a SipParseError', () => {
    const many = Array.from({ length: 300 }, (_, i) => `X-H${i}: v`);
    expect(thrown(() => request('OPTIONS', many)).message).toBe('Too many header lines');
    expect(thrown(() => request('OPTIONS', [`X-Long: ${'a'.repeat(9000)}`])).message).toBe('Header line too long');
    expect(thrown(() => parseMessage(wire(['OPTIONS sip:x@example.com SIP/2.0', ...base, 'CSeq: 1 OPTIONS'], 'x'.repeat(70000)))).message).toBe('Message too large');
    const custom = { limits: { maxHeaders: 5 } };
    expect(thrown(() => parseMessage(wire(['OPTIONS sip:x@example.com SIP/2.0', ...base, 'CSeq: 1 OPTIONS']), custom)).message).toBe('Too many header lines');
  });

  it('start-line errors name the problem', () => {
    expect(thrown(() => parseMessage(Buffer.from('\r\n\r\n'))).message).toBe('Empty message');
    expect(thrown(() => parseMessage(Buffer.from('SIP/2.0 20 OK\r\n\r\n'))).message).toBe('Invalid status code');
    expect(thrown(() => parseMessage(Buffer.from('SIP/2.0 200OK\r\n\r\n'))).message).toBe('Invalid status code');
    expect(thrown(() => parseMessage(Buffer.from('INV(ITE sip:x@y SIP/2.0\r\n\r\n'))).message).toBe('Invalid request method');
    expect(thrown(() => parseMessage(Buffer.from('INVITE sip:x@y HTTP/1.1\r\n\r\n'))).message).toBe('Invalid SIP version');
    expect(thrown(() => parseMessage(Buffer.from('INVITE sip:x@y SIP/2.0\r\nVia SIP/2.0/UDP x\r\n\r\n'))).message).toBe('Header line without a colon');
    expect(thrown(() => parseMessage(Buffer.from('INVITE sip:x@y SIP/2.0\r\n folded: x\r\n\r\n'))).message).toBe('Continuation line before the first header');
    expect(thrown(() => parseMessage(Buffer.from('INVITE sip:x@y SIP/2.0\r\nVia: x'))).message).toBe('Incomplete header section');
    expect(thrown(() => parseMessage(Buffer.from('SIP/2.0 799 Weird\r\nVia: SIP/2.0/UDP x;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\n\r\n'))).message).toBe('Status code out of range');
  });

  it('tolerates LF-only line ends and leading CRLFs', () => {
    const text = ['\r\n\r\nOPTIONS sip:x@example.com SIP/2.0', ...base, 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\n');
    const m = parseMessage(Buffer.from(text));
    expect(m.callId).toBe('3848276298220188511@atlanta.example.com');
  });
});
