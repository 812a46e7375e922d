/**
 * RFC 4475 (SIP torture tests) and RFC 5118 (IPv6 torture tests), from the byte-exact
 * fixtures in test/fixtures/rfc4475 (see its README for provenance and quirks).
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  SipParseError,
  parseMessage,
  serializeMessage,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  type SipUri,
} from '../../../src/sip/index.js';

const root = join(__dirname, '../../fixtures/rfc4475');
const load = (path: string): Buffer => readFileSync(join(root, path));

function req(m: SipMessage): SipRequest {
  if (!m.isRequest) throw new Error('expected a request');
  return m;
}
function res(m: SipMessage): SipResponse {
  if (m.isRequest) throw new Error('expected a response');
  return m;
}
function sip(u: unknown): SipUri {
  const uri = u as SipUri;
  expect(uri.kind).toBe('sip');
  return uri;
}

/** Parses and checks that the canonical serialization parses back to the same message. */
function parseValid(path: string): SipMessage {
  const m = parseMessage(load(path));
  const again = parseMessage(serializeMessage(m));
  expect(again.headers).toEqual(withLength(m));
  expect(Buffer.compare(again.body, m.body)).toBe(0);
  return m;
}

/** The headers of `m` as its serialization writes them (Content-Length set to the body length). */
function withLength(m: SipMessage): [string, string][] {
  const h = m.headers.map(([n, v]): [string, string] => (/^(content-length|l)$/i.test(n) ? [n, String(m.body.length)] : [n, v]));
  if (!h.some(([n]) => /^(content-length|l)$/i.test(n))) h.push(['Content-Length', String(m.body.length)]);
  return h;
}

function rejects(path: string | Buffer, reason: RegExp, status = 400): SipParseError {
  const bytes = typeof path === 'string' ? load(path) : path;
  let err: unknown;
  try {
    parseMessage(bytes);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SipParseError);
  const e = err as SipParseError;
  expect(e.message).toMatch(reason);
  expect(e.status).toBe(status);
  // The message must be usable as a reason phrase.
  expect(e.message).not.toMatch(/[\r\n]/);
  return e;
}

describe('fixtures', () => {
  it('are the published bytes', () => {
    const sums = readFileSync(join(root, 'SHA256SUMS'), 'latin1').trim().split('\n');
    expect(sums.length).toBe(62);
    for (const line of sums) {
      const [hash, file] = line.split(/\s+\*?/);
      const actual = createHash('sha256').update(load(file!)).digest('hex');
      expect(actual, file).toBe(hash);
    }
  });
});

describe('RFC 4475 §3.1.1 valid messages', () => {
  it('3.1.1.1 wsinv: a short tortuous INVITE', () => {
    const m = req(parseValid('valid/wsinv.dat'));
    expect(m.method).toBe('INVITE');
    expect(sip(m.uri).host).toBe('chair-dnrc.example.com');
    expect(sip(m.uri).params.has('unknownparam')).toBe(true);
    expect(m.to.tag).toBe('1918181833n');
    expect(String(m.to.uri)).toBe('sip:vivekg@chair-dnrc.example.com');
    expect(m.from.displayName).toBe('J Rosenberg \\"');
    expect(m.from.tag).toBe('98asjd8');
    expect(m.maxForwards).toBe(68);
    expect(m.callId).toBe('wsinv.ndaksdj@192.0.2.1');
    expect(m.contentLength).toBe(150);
    expect(m.cseq).toEqual({ seq: 9, method: 'INVITE' });
    expect(m.via.map((v) => [v.transport, v.host, v.branch])).toEqual([
      ['UDP', '192.0.2.2', '390skdjuw'],
      ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
      ['UDP', '192.168.255.111', 'z9hG4bK30239'],
    ]);
    expect(m.via[0]!.hasRfc3261Branch).toBe(false);
    expect(m.get('Subject')).toBe('');
    expect(m.get('s')).toBe('');
    // Unknown headers: folded value joined with one SP, and kept byte for byte on the wire.
    expect(m.get('NewFangledHeader')).toBe('newfangled value continued newfangled value');
    expect(m.get('UnknownHeaderWithUnusualValue')).toBe(';;,,;;,;');
    expect(serializeMessage(m).toString('latin1')).toContain('NewFangledHeader: newfangled value\r\n continued newfangled value\r\n');
    expect(m.contentType?.essence).toBe('application/sdp');
    expect(m.routes.map(String)).toEqual(['<sip:services.example.com;lr;unknownwith=value;unknown-no-value>']);
    const contact = m.contacts[0]!;
    expect(contact.displayName).toBe('Quoted string ""');
    expect(contact.params.get('newparam')).toBe('newvalue');
    expect(contact.params.get('secondparam')).toBe(null);
    expect(contact.params.get('q')).toBe('0.33');
    expect(m.body.length).toBe(150);
  });

  it('3.1.1.2 intmeth: wide range of valid characters', () => {
    const m = req(parseValid('valid/intmeth.dat'));
    expect(m.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    expect(m.cseq).toEqual({ seq: 139122385, method: m.method });
    const uri = sip(m.uri);
    expect(uri.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(uri.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    expect(uri.host).toBe('example.com');
    expect(m.via[0]!.branch).toBe("z9hG4bK-.!%66*_+`'~");
    expect(m.to.displayName).toBe('BEL:\x07 NUL:\x00 DEL:\x7f');
    expect(sip(m.to.uri).user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(m.from.displayName).toBe("token1~` token2'+_ token3*%!.-");
    expect(m.from.params.get("fromParam''~+*_!.-%")).toBe('работающий');
    expect(m.from.tag).toBe("_token~1'+`*%!-.");
    expect(m.callId).toBe('intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
    expect(m.maxForwards).toBe(255);
    expect(m.get("extensionHeader-!.%*+_`'~")).toBe('\uFEFF大停電');
  });

  it('3.1.1.3 esc01: % escaping, decoded once', () => {
    const m = req(parseValid('valid/esc01.dat'));
    expect(sip(m.uri).user).toBe('sips:user@example.com');
    expect(sip(m.uri).host).toBe('example.net');
    expect(sip(m.to.uri).user).toBe('user');
    expect(sip(m.from.uri).user).toBe('I have spaces');
    const c = sip(m.contacts[0]!.uri);
    expect(c.user).toBe('caller');
    expect(c.params.has('lr')).toBe(true);
    expect(c.params.get('name')).toBe('value%41');
    expect(m.callId).toBe('esc01.239409asdfakjkn23onasd0-3234');
    expect(m.contentType?.essence).toBe('application/sdp');
  });

  it('3.1.1.4 escnull: escaped NULs stay in the user part', () => {
    const m = req(parseValid('valid/escnull.dat'));
    expect(sip(m.to.uri).user).toBe('null-\x00-null');
    expect(sip(m.from.uri).user).toBe('null-\x00-null');
    expect(m.contacts.map((c) => sip(c.uri).user)).toEqual(['\x00', '\x00\x00']);
    expect(m.contacts[0]!.uri.equals(m.contacts[1]!.uri)).toBe(false);
  });

  it('3.1.1.5 esc02: % where it is not an escape', () => {
    const m = req(parseValid('valid/esc02.dat'));
    expect(m.method).toBe('RE%47IST%45R');
    expect(m.method).not.toBe('REGISTER');
    expect(m.to.displayName).toBe('%Z%45');
    expect(m.via[0]!.branch).toBe('z9hG4bK209%fzsnel234');
    // `C%6Fntact` is an unknown header, not Contact.
    expect(m.contacts.map((c) => sip(c.uri).user)).toEqual(['alias1', 'alias3']);
    expect(m.get('C%6Fntact')).toBe('<sip:alias2@host2.example.com>');
  });

  it('3.1.1.6 lwsdisp: no LWS between display name and <', () => {
    const m = parseValid('valid/lwsdisp.dat');
    expect(m.from.displayName).toBe('caller');
    expect(m.from.tag).toBe('323');
    expect(String(m.from.uri)).toBe('sip:caller@example.com');
  });

  it('3.1.1.7 longreq: long values', () => {
    const m = req(parseValid('valid/longreq.dat'));
    expect(m.to.displayName).toMatch(/^I have a user name of (extreme){10} proportion$/);
    expect(sip(m.to.uri).port).toBe(6000);
    expect(sip(m.to.uri).params.get('unknownparam1')).toMatch(/^verylong(long)+value$/);
    expect(m.from.tag).toMatch(/^1298(298){40,}2?424$/);
    expect(sip(m.from.uri).user!.length).toBeGreaterThan(100);
    expect(m.callId).toMatch(/^longreq\.one(really){20}longcallid$/);
    expect(m.via.length).toBe(34);
    expect(m.via[0]!.host).toBe('sip33.example.com');
    expect(m.via[33]!.host).toBe('host.example.com');
    expect(m.via[33]!.received).toBe('192.0.2.5');
    expect(m.via[33]!.branch).toMatch(/^verylong(long)+branchvalue$/);
    expect(m.get('Unknown-LongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLong-Name')).toMatch(/^unknown-(long)+-value;/);
    expect(m.contentLength).toBe(m.body.length);
  });

  it('3.1.1.8 dblreq: extra octets after the body are discarded', () => {
    const m = req(parseValid('valid/dblreq.dat'));
    expect(m.method).toBe('REGISTER');
    expect(m.body.length).toBe(0);
    expect(serializeMessage(m).toString('latin1')).not.toContain('INVITE');
  });

  it('3.1.1.9 semiuri: ; in the Request-URI user part', () => {
    const m = req(parseValid('valid/semiuri.dat'));
    const u = sip(m.uri);
    expect(u.user).toBe('user;par=u@example.net');
    expect(u.host).toBe('example.com');
    expect(u.params.size).toBe(0);
    expect(m.list('Accept')).toEqual([
      'application/sdp',
      'application/pkcs7-mime',
      'multipart/mixed',
      'multipart/signed',
      'message/sip',
      'message/sipfrag',
    ]);
  });

  it('3.1.1.10 transports: unknown transport tokens', () => {
    const m = parseValid('valid/transports.dat');
    expect(m.via.map((v) => v.transport)).toEqual(['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
  });

  it('3.1.1.11 mpart01: binary multipart body framed by Content-Length', () => {
    const bytes = load('valid/mpart01.dat');
    const m = parseValid('valid/mpart01.dat');
    expect(m.contentType?.essence).toBe('multipart/mixed');
    expect(m.contentType?.params.get('boundary')).toBe('7a9cbec02ceef655');
    expect(m.body.length).toBe(m.contentLength);
    expect(m.body.includes(0)).toBe(true);
    // The body is the exact tail of the datagram.
    expect(Buffer.compare(m.body, bytes.subarray(bytes.length - m.body.length))).toBe(0);
  });

  it('3.1.1.12 unreason: UTF-8 reason phrase', () => {
    const m = res(parseValid('valid/unreason.dat'));
    expect(m.status).toBe(200);
    expect(m.reason).toBe('= 2**3 * 5**2 но сто девяносто девять - простое');
    expect(serializeMessage(m).subarray(0, 80).toString('utf8')).toContain('но сто');
  });

  it('3.1.1.13 noreason: empty reason phrase', () => {
    const m = res(parseValid('valid/noreason.dat'));
    expect(m.status).toBe(100);
    expect(m.reason).toBe('');
    expect(m.to.tag).toBe('902jndnke3');
  });
});

describe('RFC 4475 §3.1.2 invalid messages', () => {
  it('3.1.2.1 badinv01: extraneous separators', () => {
    rejects('invalid/badinv01.dat', /Via.*empty element/i);
  });
  it('3.1.2.2 clerr: Content-Length larger than the datagram', () => {
    const e = rejects('invalid/clerr.dat', /Content-Length is larger/);
    // The header section was read, so a 400 can still be built from it.
    expect(e.partial?.callId).toBe('clerr.0ha0isndaksdjweiafasdk3');
  });
  it('3.1.2.3 ncl: negative Content-Length', () => {
    rejects('invalid/ncl.dat', /Invalid Content-Length/);
  });
  it('3.1.2.4 scalar02: overlarge scalars in a request', () => {
    const e = rejects('invalid/scalar02.dat', /CSeq.*out of range/);
    expect(e.partial).toBeDefined();
  });
  it('3.1.2.5 scalarlg: overlarge scalars in a response', () => {
    rejects('invalid/scalarlg.dat', /CSeq.*out of range/);
  });
  it('3.1.2.6 quotbal: unterminated quoted string', () => {
    rejects('invalid/quotbal.dat', /To.*Unterminated/);
  });
  it('3.1.2.7 ltgtruri: <> around the Request-URI', () => {
    rejects('invalid/ltgtruri.dat', /Request-URI/);
  });
  it('3.1.2.8 lwsruri: LWS inside the Request-URI', () => {
    rejects('invalid/lwsruri.dat', /request line/i);
  });
  it('3.1.2.9 lwsstart: several SP between start-line elements', () => {
    rejects('invalid/lwsstart.dat', /Multiple spaces/);
  });
  it('3.1.2.10 trws: SP after the SIP version', () => {
    rejects('invalid/trws.dat', /request line/i);
  });
  it('3.1.2.11 escruri: escaped headers in the Request-URI', () => {
    rejects('invalid/escruri.dat', /Request-URI must not contain headers/);
  });
  it('3.1.2.12 baddate: non-GMT Date is kept, not interpreted', () => {
    // RFC 4475 allows ignoring Date when it does not matter; we flag nothing and keep it as sent.
    const m = parseMessage(load('invalid/baddate.dat'));
    expect(m.get('Date')).toBe('Fri, 01 Jan 2010 16:00:00 EST');
  });
  it('3.1.2.13 regbadct: addr-spec with ? outside <>', () => {
    rejects('invalid/regbadct.dat', /Contact.*enclosed in <>/);
  });
  it('3.1.2.14 badaspec: spaces inside <>', () => {
    rejects('invalid/badaspec.dat', /To.*addr-spec/);
  });
  it('3.1.2.15 baddn: unquoted display name with non-token characters', () => {
    rejects('invalid/baddn.dat', /must be quoted/);
  });
  it('3.1.2.16 badvers: unknown protocol version', () => {
    rejects('invalid/badvers.dat', /Version Not Supported/, 505);
  });
  it('3.1.2.17 mismatch01: method and CSeq method differ', () => {
    rejects('invalid/mismatch01.dat', /CSeq method does not match/);
  });
  it('3.1.2.18 mismatch02: unknown method and CSeq method differ', () => {
    rejects('invalid/mismatch02.dat', /CSeq method does not match/);
  });
  it('3.1.2.19 bigcode: overlarge status code', () => {
    rejects('invalid/bigcode.dat', /status code/);
  });
});

describe('RFC 4475 §3.2–3.4', () => {
  it('3.2.1 badbranch: branch is only the magic cookie', () => {
    const m = parseValid('transaction/badbranch.dat');
    expect(m.topVia!.branch).toBe('z9hG4bK');
    expect(m.topVia!.hasRfc3261Branch).toBe(false); // fall back to RFC 2543 matching
  });
  it('3.3.1 insuf: missing Call-ID, From and To', () => {
    rejects('semantic/insuf.dat', /Missing (From|To|Call-ID) header/);
  });
  it('3.3.2 unkscm: unknown Request-URI scheme parses as an absolute URI', () => {
    const m = req(parseValid('semantic/unkscm.dat'));
    expect(m.uri.kind).toBe('absolute');
    expect(m.uri.scheme).toBe('nobodyknowsthisscheme');
  });
  it('3.3.3 novelsc: atypical scheme', () => {
    const m = req(parseValid('semantic/novelsc.dat'));
    expect(m.uri.scheme).toBe('soap.beep');
  });
  it('3.3.4 unksm2: unknown schemes in To, From and Contact', () => {
    const m = parseValid('semantic/unksm2.dat');
    expect(String(m.to.uri)).toBe('isbn:2983792873');
    expect(m.from.uri.scheme).toBe('http');
    expect(m.from.tag).toBe('3234233');
    expect(m.contacts[0]!.uri.scheme).toBe('name');
  });
  it('3.3.5 bext01: Require and Proxy-Require option tags', () => {
    const m = parseValid('semantic/bext01.dat');
    expect(m.require).toEqual(['nothingSupportsThis', 'nothingSupportsThisEither']);
    expect(m.proxyRequire).toEqual(['noProxiesSupportThis', 'norDoAnyProxiesSupportThis']);
  });
  it('3.3.6 invut: unknown Content-Type', () => {
    const m = parseValid('semantic/invut.dat');
    expect(m.contentType?.essence).toBe('application/unknownformat');
  });
  it('3.3.7 regaut01: unknown Authorization scheme is kept as sent', () => {
    const m = parseValid('semantic/regaut01.dat');
    expect(m.authorization[0]!.scheme).toBe('NoOneKnowsThisScheme');
    expect(m.authorization[0]!.isDigest).toBe(false);
    expect(serializeMessage(m).toString('latin1')).toContain(`Authorization: ${m.get('Authorization')}\r\n`);
  });
  it('3.3.8 multi01: multiple values in single-value headers', () => {
    rejects('semantic/multi01.dat', /appears more than once/);
  });
  it('3.3.9 mcl01: multiple Content-Length values', () => {
    rejects('semantic/mcl01.dat', /Multiple Content-Length/);
  });
  it('3.3.10 bcast: broadcast Via sent-by parses', () => {
    const m = parseValid('semantic/bcast.dat');
    expect(m.via[1]!.host).toBe('255.255.255.255');
  });
  it('3.3.11 zeromf: Max-Forwards 0', () => {
    expect(parseValid('semantic/zeromf.dat').maxForwards).toBe(0);
  });
  it('3.3.12 cparam01: bare Contact parameters belong to the header', () => {
    const c = parseValid('semantic/cparam01.dat').contacts[0]!;
    expect(c.params.has('unknownparam')).toBe(true);
    expect(sip(c.uri).params.size).toBe(0);
    expect(sip(c.uri).user).toBe('+19725552222');
  });
  it('3.3.13 cparam02: a URI parameter inside <>', () => {
    const c = parseValid('semantic/cparam02.dat').contacts[0]!;
    expect(c.params.size).toBe(0);
    expect(sip(c.uri).params.has('unknownparam')).toBe(true);
  });
  it('3.3.14 regescrt: escaped header in a Contact URI', () => {
    const c = parseValid('semantic/regescrt.dat').contacts[0]!;
    expect(sip(c.uri).headers.get('Route')).toBe('<sip:sip.example.com>');
    expect(String(c.uri)).toBe('sip:user@example.com?Route=%3Csip:sip.example.com%3E');
  });
  it('3.3.15 sdp01: Accept without application/sdp', () => {
    const m = parseValid('semantic/sdp01.dat');
    expect(m.list('Accept')).toEqual(['text/nobodyKnowsThis']);
    expect(m.contentType?.essence).toBe('application/sdp');
  });
  it('3.4.1 inv2543: RFC 2543 syntax, body is the rest of the datagram', () => {
    const bytes = load('compat/inv2543.dat');
    const m = parseValid('compat/inv2543.dat');
    expect(m.has('Content-Length')).toBe(false);
    expect(m.contentLength).toBe(m.body.length);
    expect(m.body.toString('latin1')).toMatch(/^v=0\r\n[\s\S]*m=audio 49217 RTP\/AVP 0\r\n$/);
    expect(m.body.length).toBe(bytes.length - bytes.indexOf('\r\n\r\n') - 4);
    expect(m.topVia!.branch).toBeUndefined();
    expect(m.from.tag).toBeUndefined();
    expect(m.maxForwards).toBeUndefined();
    expect(sip(m.recordRoutes[0]!.uri).params.get('maddr')).toBe('ss1.example.com');
  });
  it('test.dat (unreferenced): no SIP version, a header without colon', () => {
    rejects('unreferenced/test.dat', /SIP version/);
  });
});

/** RFC 5118's files have LF line ends; convert to CRLF and fix the declared length. */
function ipv6(name: string): Buffer {
  let text = load(`rfc5118/${name}.dat`).toString('latin1').replace(/\n/g, '\r\n');
  const split = text.indexOf('\r\n\r\n');
  if (split < 0) text += '\r\n';
  else {
    const body = text.slice(split + 4);
    text = text.slice(0, split + 4).replace(/Content-Length: *\d+/i, `Content-Length: ${body.length}`) + body;
  }
  return Buffer.from(text, 'latin1');
}

describe('RFC 5118 IPv6 messages', () => {
  it('4.1 ipv6-good', () => {
    const m = req(parseMessage(ipv6('ipv6-good')));
    expect(sip(m.uri).host).toBe('2001:db8::10');
    expect(sip(m.uri).hostKind).toBe('ipv6');
    expect(m.topVia!.host).toBe('2001:db8::9:1');
    expect(sip(m.contacts[0]!.uri).host).toBe('2001:db8::1');
    expect(m.contacts[0]!.displayName).toBe('Caller');
  });
  it('4.2 ipv6-bad: IPv6 address without brackets', () => {
    rejects(ipv6('ipv6-bad'), /Request-URI/);
  });
  it('4.3 port-ambiguous', () => {
    const u = sip(req(parseMessage(ipv6('port-ambiguous'))).uri);
    expect(u.host).toBe('2001:db8::10:5070');
    expect(u.port).toBeUndefined();
  });
  it('4.4 port-unambiguous', () => {
    const u = sip(req(parseMessage(ipv6('port-unambiguous'))).uri);
    expect(u.host).toBe('2001:db8::10');
    expect(u.port).toBe(5070);
  });
  it('4.5 received with and without brackets', () => {
    expect(parseMessage(ipv6('via-received-param-with-delim')).topVia!.received).toBe('2001:db8::9:255');
    expect(parseMessage(ipv6('via-received-param-no-delim')).topVia!.received).toBe('2001:db8::9:255');
  });
  it('4.6 and 4.8: IPv6 in SDP bodies', () => {
    expect(parseMessage(ipv6('ipv6-in-sdp')).body.toString()).toContain('c=IN IP6 2001:db8::20');
    expect(parseMessage(ipv6('mult-ip-in-sdp')).body.toString()).toContain('IN IP6');
  });
  it('4.7 mult-ip-in-header', () => {
    const m = parseMessage(ipv6('mult-ip-in-header'));
    expect(m.via.map((v) => [v.host, v.port ?? null])).toEqual([
      ['2001:db8::9:1', 6050],
      ['192.0.2.1', null],
      ['2001:db8::9:255', null],
    ]);
    expect(m.via[2]!.received).toBe('192.0.2.200');
    expect(m.via[2]!.transport).toBe('TCP');
  });
  it('4.9 ipv4-mapped-ipv6', () => {
    const m = parseMessage(ipv6('ipv4-mapped-ipv6'));
    expect(m.topVia!.host).toBe('::ffff:192.0.2.10');
    expect(m.topVia!.port).toBe(19823);
    expect(m.via[1]!.host).toBe('::ffff:192.0.2.2');
    expect(sip(m.contacts[0]!.uri).host).toBe('::ffff:192.0.2.2');
  });
  it('4.10 the three-colon ABNF bug form is tolerated, the correct form accepted', () => {
    expect(sip(req(parseMessage(ipv6('ipv6-bug-abnf-3-colons'))).uri).host).toBe('2001:db8:::192.0.2.1');
    expect(sip(req(parseMessage(ipv6('ipv6-correct-abnf-2-colons'))).uri).host).toBe('2001:db8::192.0.2.1');
  });
});

describe('every fixture', () => {
  const dirs = ['valid', 'invalid', 'semantic', 'transaction', 'compat', 'unreferenced', 'rfc5118'];
  for (const d of dirs) {
    for (const f of readdirSync(join(root, d))) {
      it(`${d}/${f} never throws anything but SipParseError, with or without validation`, () => {
        const bytes = load(`${d}/${f}`);
        for (const validate of [true, false]) {
          try {
            parseMessage(bytes, { validate });
          } catch (e) {
            expect(e).toBeInstanceOf(SipParseError);
          }
        }
      });
    }
  }
});
