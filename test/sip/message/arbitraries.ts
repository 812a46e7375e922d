/**
 * fast-check generators for the SIP message layer, built from the RFC 3261 §25 grammar:
 * URIs (sip, sips, tel, absolute), header values (Via, From/To, Call-ID, CSeq, Contact…) and
 * whole requests and responses. Generators produce plain specs (start line, header lines,
 * body) so a counterexample prints readably; {@link toMessage} turns a spec into a
 * `SipRequest`/`SipResponse`. Every generated message is valid: `parseMessage` with
 * validation on must accept its serialization.
 */
import fc from 'fast-check';
import { Params, SipRequest, SipResponse, SipUri, TelUri, AbsoluteUri, type SipMessage } from '../../../src/sip/index.js';

// ---- character sets (§25.1) ----

const ALPHA = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGIT = '0123456789';
const ALNUM = ALPHA + DIGIT;
const TOKEN_CHARS = ALNUM + "-.!%*_+`'~";
const WORD_CHARS = TOKEN_CHARS + '()<>:\\"/[]?{}';
const HEX = '0123456789abcdefABCDEF';
/** Printable ASCII, SP included. */
const PRINTABLE = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
/** A few non-ASCII characters of 2, 3 and 4 UTF-8 bytes. */
const NON_ASCII = ['é', 'ü', 'ß', 'Ω', 'ж', '€', '日', '本', '☎', '😀', '𝄞'];

const chars = (set: string): fc.Arbitrary<string> => fc.constantFrom(...set.split(''));
const str = (set: string, minLength: number, maxLength: number): fc.Arbitrary<string> => fc.string({ unit: chars(set), minLength, maxLength });

export const tokenArb = str(TOKEN_CHARS, 1, 12);
const alnumArb = (min: number, max: number): fc.Arbitrary<string> => str(ALNUM, min, max);
export const wordArb = str(WORD_CHARS, 1, 16);

/** Any text character: mostly printable ASCII, sometimes non-ASCII (never a lone surrogate). */
export const textCharArb: fc.Arbitrary<string> = fc.oneof({ weight: 6, arbitrary: chars(PRINTABLE) }, { weight: 1, arbitrary: fc.constantFrom(...NON_ASCII) });
/** Text that may appear in a header value: printable, UTF-8, no leading/trailing whitespace. */
export const headerTextArb = (minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: textCharArb, minLength, maxLength }).map((s) => s.trim());
/** Any character at all for URI components (they are %-escaped): controls and UTF-8 included. */
const uriComponentCharArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: chars(PRINTABLE) },
  { weight: 1, arbitrary: fc.constantFrom(...NON_ASCII) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)) },
);
const uriComponentArb = (minLength: number, maxLength: number): fc.Arbitrary<string> => fc.string({ unit: uriComponentCharArb, minLength, maxLength });

/** A header name (or any ASCII word) in random case. */
export const randomCase = (s: string): fc.Arbitrary<string> => fc.mixedCase(fc.constant(s));

// ---- hosts ----

const label = fc
  .tuple(alnumArb(1, 1), str(ALNUM + '-', 0, 8), alnumArb(0, 1))
  .map(([a, b, c]) => (c === '' ? a + b.replace(/-+$/, '') : a + b + c));
export const hostnameArb: fc.Arbitrary<string> = fc
  .array(label, { minLength: 1, maxLength: 4 })
  .map((ls) => ls.join('.'))
  .filter((h) => !/^[0-9.]+$/.test(h)) // all-digit names read as (bad) IPv4 addresses
  .chain((h) => fc.mixedCase(fc.constant(h)));
export const ipv4Arb = fc.ipV4();
export const ipv6Arb = fc.oneof(fc.ipV6(), fc.constantFrom('::1', '2001:db8::10', '2001:DB8::9:AB', '::ffff:192.0.2.1', '2001:db8:0:0:0:0:0:1'));
/** A host as held by SipUri/Via (IPv6 without brackets). */
export const hostArb: fc.Arbitrary<string> = fc.oneof({ weight: 3, arbitrary: hostnameArb }, { weight: 2, arbitrary: ipv4Arb }, { weight: 1, arbitrary: ipv6Arb });
export const portArb = fc.integer({ min: 0, max: 65535 });
const hostport = (host: string, port: number | null): string => (host.includes(':') ? `[${host}]` : host) + (port === null ? '' : `:${port}`);

// ---- URIs ----

/** Distinct parameter names (case-insensitively), so lookups by name are unambiguous. */
const paramListArb = (valueArb: fc.Arbitrary<string | null>, maxLength: number): fc.Arbitrary<[string, string | null][]> =>
  fc.uniqueArray(fc.tuple(fc.oneof({ weight: 3, arbitrary: tokenArb }, { weight: 1, arbitrary: uriComponentArb(1, 8) }), valueArb), {
    maxLength,
    selector: ([n]) => n.toLowerCase(),
  });

const uriParamValueArb: fc.Arbitrary<string | null> = fc.oneof(
  fc.constant(null),
  tokenArb,
  uriComponentArb(1, 10), // never empty: `;name=` is malformed
);

export interface SipUriOptions {
  /** Allow URI headers (`?a=b`). Default true. */
  headers?: boolean;
  /** Allow parameters. Default true. */
  params?: boolean;
}

/** SipUri values covering user, password, every host kind, ports, parameters and headers. */
export const sipUriArb = (options: SipUriOptions = {}): fc.Arbitrary<SipUri> =>
  fc
    .record({
      scheme: fc.constantFrom('sip' as const, 'sips' as const),
      user: fc.option(fc.oneof(tokenArb, uriComponentArb(1, 12), fc.constantFrom('+1-212-555-1212', 'alice;day=tuesday', 'a?b/c'))),
      password: fc.option(uriComponentArb(0, 8), { freq: 4 }),
      host: hostArb,
      port: fc.option(portArb),
      params: options.params === false ? fc.constant([]) : paramListArb(uriParamValueArb, 4),
      headers: options.headers === false ? fc.constant([]) : paramListArb(uriComponentArb(0, 10), 3),
    })
    .map((r) => {
      const params = new Params(false);
      for (const [n, v] of r.params) params.setRaw(n, v);
      const headers = new Params(false);
      for (const [n, v] of r.headers) headers.setRaw(n, v ?? '');
      return new SipUri({
        scheme: r.scheme,
        user: r.user ?? undefined,
        password: r.user === null ? undefined : (r.password ?? undefined),
        host: r.host,
        port: r.port ?? undefined,
        params,
        headers,
      });
    });

const telVisual = fc.constantFrom('-', '.', '(', ')');
export const telUriArb: fc.Arbitrary<TelUri> = fc
  .record({
    global: fc.boolean(),
    parts: fc.array(fc.tuple(str(DIGIT, 1, 4), fc.option(telVisual)), { minLength: 1, maxLength: 5 }),
    local: str(HEX + '*#', 0, 3),
    params: paramListArb(fc.oneof(fc.constant(null), tokenArb, uriComponentArb(1, 8)), 3),
  })
  .map((r) => {
    let n = r.global ? '+' : '';
    for (const [d, sep] of r.parts) n += d + (sep ?? '');
    if (!r.global) n += r.local;
    const params = new Params(false);
    for (const [k, v] of r.params) params.setRaw(k, v);
    return new TelUri(n, params);
  });

const URIC_NO_PERCENT = ALNUM + ";/?:@&=+$,-_.!~*'()";
export const absoluteUriArb: fc.Arbitrary<AbsoluteUri> = fc
  .record({
    scheme: fc.tuple(chars(ALPHA), str(ALNUM + '+-.', 0, 6)).map(([a, b]) => a + b).filter((s) => !/^(sips?|tel)$/i.test(s)),
    rest: fc.array(fc.oneof({ weight: 6, arbitrary: chars(URIC_NO_PERCENT) }, { weight: 1, arbitrary: fc.tuple(chars(HEX), chars(HEX)).map(([a, b]) => `%${a}${b}`) }), {
      minLength: 1,
      maxLength: 20,
    }),
  })
  .map((r) => new AbsoluteUri(r.scheme, r.rest.join('')));

// ---- header values ----

export const METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'SUBSCRIBE', 'NOTIFY', 'REFER', 'INFO', 'PRACK', 'UPDATE', 'MESSAGE', 'PUBLISH'];
export const methodArb: fc.Arbitrary<string> = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...METHODS) }, { weight: 1, arbitrary: tokenArb });

/** A Via value: sent-protocol, sent-by, branch, and maybe received, rport and others. */
export const viaValueArb: fc.Arbitrary<string> = fc
  .record({
    transport: fc.oneof(fc.constantFrom('UDP', 'TCP', 'TLS', 'SCTP', 'WS', 'WSS', 'udp', 'tcp'), tokenArb),
    host: hostArb,
    port: fc.option(portArb),
    branch: fc.oneof(tokenArb.map((t) => 'z9hG4bK' + t), tokenArb),
    received: fc.option(fc.oneof(ipv4Arb, ipv6Arb, ipv6Arb.map((a) => `[${a}]`))),
    rport: fc.oneof(fc.constant('absent' as const), fc.constant('flag' as const), portArb),
    extra: fc.array(fc.tuple(tokenArb.filter((t) => !/^(branch|received|rport)$/i.test(t)), fc.option(tokenArb)), { maxLength: 2 }),
    spaced: fc.boolean(),
  })
  .map((r) => {
    const sep = r.spaced ? ' ; ' : ';';
    let v = r.spaced ? `SIP / 2.0 / ${r.transport} ${hostport(r.host, r.port)}` : `SIP/2.0/${r.transport} ${hostport(r.host, r.port)}`;
    v += `${sep}branch=${r.branch}`;
    if (r.received !== null) v += `${sep}received=${r.received}`;
    if (r.rport === 'flag') v += `${sep}rport`;
    else if (r.rport !== 'absent') v += `${sep}rport=${r.rport}`;
    for (const [n, x] of r.extra) v += x === null ? `${sep}${n}` : `${sep}${n}=${x}`;
    return v;
  });

/** A quoted-string: text with `"` and `\` escaped as quoted-pairs (§25.1). */
export const quotedArb: fc.Arbitrary<string> = fc
  .string({ unit: fc.oneof({ weight: 6, arbitrary: textCharArb }, { weight: 1, arbitrary: fc.constantFrom('"', '\\') }), maxLength: 16 })
  .map((s) => '"' + s.replace(/["\\]/g, (c) => '\\' + c) + '"');

/** display-name = *(token LWS) / quoted-string; '' for none. */
export const displayNameArb: fc.Arbitrary<string> = fc.oneof(
  fc.constant(''),
  quotedArb.map((q) => q + ' '),
  quotedArb, // `"x"<sip:…>` without a space is fine too
  fc.array(tokenArb, { minLength: 1, maxLength: 3 }).map((ws) => ws.join(' ') + ' '),
);

/** A URI usable in an address: sip/sips (params and headers), tel, sometimes absolute. */
export const addressUriArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: sipUriArb().map(String) },
  { weight: 2, arbitrary: telUriArb.map(String) },
  { weight: 1, arbitrary: absoluteUriArb.map(String).filter((s) => !s.includes(',') && !s.includes('>')) },
);
/** A URI that may be written without <> (no `;`, `?`, `,`, nothing after the host but a port). */
const bareUriArb: fc.Arbitrary<string> = fc
  .record({ scheme: fc.constantFrom('sip', 'sips'), user: fc.option(str(ALNUM + "-_.!~*'()&=+$", 1, 10)), host: hostArb, port: fc.option(portArb) })
  .map((r) => `${r.scheme}:${r.user === null ? '' : r.user + '@'}${hostport(r.host, r.port)}`);

const headerParamArb = (exclude: RegExp): fc.Arbitrary<string> =>
  fc.tuple(tokenArb.filter((t) => !exclude.test(t)), fc.option(fc.oneof(tokenArb, quotedArb))).map(([n, v]) => (v === null ? `;${n}` : `;${n}=${v}`));

/** From/To: name-addr or addr-spec, tag, maybe other parameters. */
export const addressValueArb = (withTag: 'always' | 'maybe'): fc.Arbitrary<string> =>
  fc
    .record({
      form: fc.oneof(
        fc.tuple(displayNameArb, addressUriArb).map(([d, u]) => `${d}<${u}>`),
        bareUriArb,
      ),
      tag: withTag === 'always' ? tokenArb.map((t) => t as string | null) : fc.option(tokenArb),
      params: fc.array(headerParamArb(/^tag$/i), { maxLength: 2 }),
    })
    .map((r) => r.form + (r.tag === null ? '' : `;tag=${r.tag}`) + r.params.join(''));

/** One Contact value. */
export const contactValueArb: fc.Arbitrary<string> = fc
  .record({
    display: displayNameArb,
    uri: addressUriArb,
    expires: fc.option(fc.nat({ max: 0xffffffff })),
    q: fc.option(fc.constantFrom('0', '0.5', '1', '1.0', '0.001')),
    instance: fc.option(fc.uuid().map((u) => `"<urn:uuid:${u}>"`)),
  })
  .map((r) => {
    let v = `${r.display}<${r.uri}>`;
    if (r.expires !== null) v += `;expires=${r.expires}`;
    if (r.q !== null) v += `;q=${r.q}`;
    if (r.instance !== null) v += `;+sip.instance=${r.instance}`;
    return v;
  });

export const callIdArb: fc.Arbitrary<string> = fc.tuple(wordArb, fc.option(wordArb)).map(([a, b]) => (b === null ? a : `${a}@${b}`));
export const cseqNumberArb = fc.nat({ max: 0xffffffff });

/** Extension header names, never a known header (`X-…`). */
export const extensionNameArb: fc.Arbitrary<string> = tokenArb.chain((t) => fc.mixedCase(fc.constant(`X-${t}`)));

/** Names for a header: long form or compact form, in random case. */
export const nameArb = (long: string, compact?: string): fc.Arbitrary<string> =>
  compact === undefined ? randomCase(long) : fc.oneof(randomCase(long), randomCase(compact));

/**
 * Spreads list values over header lines: each value starts a new line or joins the previous
 * line with a comma. Returns `[name, value]` lines.
 */
export const listLinesArb = (names: fc.Arbitrary<string>, valueArb: fc.Arbitrary<string>, minLength: number, maxLength: number): fc.Arbitrary<[string, string][]> =>
  fc
    .array(fc.record({ value: valueArb, newLine: fc.boolean(), name: names, sep: fc.constantFrom(', ', ',', ' , ', ',  ') }), { minLength, maxLength })
    .map((items) => {
      const lines: [string, string][] = [];
      for (const it of items) {
        const last = lines[lines.length - 1];
        if (last === undefined || it.newLine) lines.push([it.name, it.value]);
        else last[1] += it.sep + it.value;
      }
      return lines;
    });

/** Bodies: random bytes, and runs of CR, LF, NUL (framing traps). */
export const bodyArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.array(fc.constantFrom(0x0d, 0x0a, 0x00, 0x20, 0x41), { minLength: 1, maxLength: 40 }).map((a) => Uint8Array.from(a)),
  fc.constant(Uint8Array.from(Buffer.from('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n\r\n'))),
);

/** Other typed headers a message may carry, with valid values (RFC 3261 §20, RFC 3262, 3326, 4028, 6665). */
const quotedTokenArb = tokenArb.map((t) => `"${t}"`);
export const typedHeadersArb: fc.Arbitrary<[string, string][]> = fc
  .record({
    route: fc.option(listLinesArb(nameArb('Route'), sipUriArb({ headers: false }).map((u) => `<${String(u)};lr>`), 1, 3)),
    recordRoute: fc.option(listLinesArb(nameArb('Record-Route'), sipUriArb({ headers: false }).map((u) => `<${String(u)};lr>`), 1, 3)),
    auth: fc.option(
      fc.tuple(
        fc.constantFrom('Authorization', 'Proxy-Authorization', 'WWW-Authenticate', 'Proxy-Authenticate'),
        fc.record({ realm: quotedArb, nonce: quotedTokenArb, uri: sipUriArb({ headers: false }), response: fc.stringMatching(/^[0-9a-f]{32}$/), nc: fc.nat({ max: 0xffffffff }) }),
        fc.constantFrom(', ', ',', ' ,  '),
      ),
    ),
    allow: fc.option(fc.tuple(nameArb('Allow'), fc.array(methodArb, { minLength: 1, maxLength: 5 }))),
    supported: fc.option(fc.tuple(nameArb('Supported', 'k'), fc.array(tokenArb, { maxLength: 4 }))),
    expires: fc.option(fc.tuple(nameArb('Expires'), fc.nat({ max: 0xffffffff }))),
    event: fc.option(fc.tuple(nameArb('Event', 'o'), tokenArb, fc.option(tokenArb))),
    subscriptionState: fc.option(fc.tuple(fc.constantFrom('active', 'pending', 'terminated'), fc.nat({ max: 100000 }))),
    sessionExpires: fc.option(fc.tuple(nameArb('Session-Expires', 'x'), fc.nat({ max: 100000 }), fc.constantFrom('', ';refresher=uac', ';refresher=uas'))),
    reason: fc.option(fc.tuple(fc.constantFrom('SIP', 'Q.850'), fc.integer({ min: 1, max: 699 }), quotedArb)),
    rack: fc.option(fc.tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), methodArb)),
    contentType: fc.option(fc.tuple(nameArb('Content-Type', 'c'), fc.constantFrom('application/sdp', 'multipart/mixed;boundary=unique-boundary-1', 'text/plain; charset=utf-8', 'application/dialog-info+xml'))),
  })
  .map((r) => {
    const out: [string, string][] = [];
    if (r.route !== null) out.push(...r.route);
    if (r.recordRoute !== null) out.push(...r.recordRoute);
    if (r.auth !== null) {
      const [name, a, sep] = r.auth;
      const nc = r.auth[1].nc.toString(16).padStart(8, '0');
      out.push([name, ['Digest username="alice"', `realm=${a.realm}`, `nonce=${a.nonce}`, `uri="${String(a.uri)}"`, `response="${a.response}"`, 'algorithm=MD5', 'qop=auth', `nc=${nc}`, 'cnonce="0a4f113b"'].join(sep)]);
    }
    if (r.allow !== null) out.push([r.allow[0], r.allow[1].join(', ')]);
    if (r.supported !== null) out.push([r.supported[0], r.supported[1].join(',')]);
    if (r.expires !== null) out.push([r.expires[0], String(r.expires[1])]);
    if (r.event !== null) out.push([r.event[0], r.event[1] + (r.event[2] === null ? '' : `;id=${r.event[2]}`)]);
    if (r.subscriptionState !== null) out.push(['Subscription-State', `${r.subscriptionState[0]};expires=${r.subscriptionState[1]}`]);
    if (r.sessionExpires !== null) out.push([r.sessionExpires[0], `${r.sessionExpires[1]}${r.sessionExpires[2]}`]);
    if (r.reason !== null) out.push(['Reason', `${r.reason[0]};cause=${r.reason[1]};text=${r.reason[2]}`]);
    if (r.rack !== null) out.push(['RAck', `${r.rack[0]} ${r.rack[1]} ${r.rack[2]}`], ['RSeq', String(r.rack[0])]);
    if (r.contentType !== null) out.push(r.contentType);
    return out;
  });

// ---- whole messages ----

export type MessageSpec =
  | { kind: 'request'; method: string; uri: string; headers: [string, string][]; body: Uint8Array | null }
  | { kind: 'response'; status: number; reason: string; headers: [string, string][]; body: Uint8Array | null };

/** Reason phrases: empty, standard, or any printable text incl. UTF-8 and tabs. */
export const reasonArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', 'OK', 'Trying', 'Ringing', 'Not Found', 'Früh', 'Пожалуйста', '☎ ok'),
  fc.string({ unit: fc.oneof({ weight: 10, arbitrary: textCharArb }, { weight: 1, arbitrary: fc.constant('\t') }), maxLength: 30 }),
);

/** The header lines every message carries, plus optional ones, in a random order. */
function headerLinesArb(method: fc.Arbitrary<string>, isRequest: boolean): fc.Arbitrary<{ method: string; lines: [string, string][]; body: Uint8Array | null }> {
  return fc
    .record({
      method,
      via: listLinesArb(nameArb('Via', 'v'), viaValueArb, 1, 3),
      from: fc.tuple(nameArb('From', 'f'), addressValueArb('always')),
      to: fc.tuple(nameArb('To', 't'), addressValueArb(isRequest ? 'maybe' : 'always')),
      callId: fc.tuple(nameArb('Call-ID', 'i'), callIdArb),
      cseq: fc.tuple(nameArb('CSeq'), cseqNumberArb, fc.constantFrom(' ', '  ', '\t')),
      maxForwards: fc.option(fc.tuple(nameArb('Max-Forwards'), fc.nat({ max: 255 }))),
      contacts: fc.option(listLinesArb(nameArb('Contact', 'm'), contactValueArb, 1, 3)),
      extensions: fc.array(fc.tuple(extensionNameArb, headerTextArb(0, 40)), { maxLength: 4 }),
      typed: typedHeadersArb,
      body: fc.option(bodyArb),
      contentLength: fc.option(nameArb('Content-Length', 'l')),
      order: fc.array(fc.nat(), { minLength: 48, maxLength: 48 }),
    })
    .map((r) => {
      const lines: [string, string][] = [...r.via, r.from, r.to, r.callId, [r.cseq[0], `${r.cseq[1]}${r.cseq[2]}${r.method}`]];
      if (r.maxForwards !== null) lines.push([r.maxForwards[0], String(r.maxForwards[1])]);
      if (r.contacts !== null) lines.push(...r.contacts);
      lines.push(...r.extensions, ...r.typed);
      if (r.contentLength !== null) lines.push([r.contentLength, String(r.body?.length ?? 0)]);
      // A stable sort on random keys: shrinks towards the order above.
      const keyed = lines.map((l, i) => ({ l, k: r.order[i % r.order.length]! }));
      keyed.sort((a, b) => a.k - b.k);
      return { method: r.method, lines: keyed.map((x) => x.l), body: r.body };
    });
}

/** A valid request. The Request-URI never has headers (§19.1.1). */
export const requestSpecArb: fc.Arbitrary<MessageSpec> = fc
  .record({
    uri: fc.oneof({ weight: 6, arbitrary: sipUriArb({ headers: false }).map(String) }, { weight: 2, arbitrary: telUriArb.map(String) }, { weight: 1, arbitrary: absoluteUriArb.map(String) }),
    h: headerLinesArb(methodArb, true),
  })
  .map(({ uri, h }) => ({ kind: 'request' as const, method: h.method, uri, headers: h.lines, body: h.body }));

/** A valid response, status 100–699. */
export const responseSpecArb: fc.Arbitrary<MessageSpec> = fc
  .record({ status: fc.integer({ min: 100, max: 699 }), reason: reasonArb, h: headerLinesArb(methodArb, false) })
  .map(({ status, reason, h }) => ({ kind: 'response' as const, status, reason, headers: h.lines, body: h.body }));

export const messageSpecArb: fc.Arbitrary<MessageSpec> = fc.oneof(requestSpecArb, responseSpecArb);

/** Builds the message a spec describes. */
export function toMessage(spec: MessageSpec): SipMessage {
  const body = spec.body ?? undefined;
  return spec.kind === 'request' ? new SipRequest(spec.method, spec.uri, spec.headers, body) : new SipResponse(spec.status, spec.reason, spec.headers, body);
}

/**
 * The wire form of a spec written by hand instead of by the serializer, with line folding
 * (§7.3.1): some spaces inside header values become `CRLF SP`/`CRLF HTAB` continuations, and
 * some values start on a continuation line right after the colon.
 */
export const foldedWireArb: fc.Arbitrary<{ spec: MessageSpec; wire: Buffer }> = fc
  .record({
    spec: messageSpecArb,
    folds: fc.array(fc.constantFrom(null, '\r\n ', '\r\n\t', ' \r\n  '), { minLength: 1, maxLength: 16 }),
    afterColon: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
  })
  .map(({ spec, folds, afterColon }) => {
    let k = 0;
    const lines = spec.headers.map(([name, value], i) => {
      const v = value.replace(/ /g, () => folds[k++ % folds.length] ?? ' ');
      return afterColon[i % afterColon.length] === true && v.length > 0 ? `${name}:\r\n ${v}` : `${name}: ${v}`;
    });
    const start = spec.kind === 'request' ? `${spec.method} ${spec.uri} SIP/2.0` : `SIP/2.0 ${spec.status} ${spec.reason}`;
    const body = spec.body ?? new Uint8Array(0);
    if (!spec.headers.some(([n]) => /^(content-length|l)$/i.test(n))) lines.push(`Content-Length: ${body.length}`);
    const head = Buffer.from(`${start}\r\n${lines.join('\r\n')}\r\n\r\n`, 'utf8');
    return { spec, wire: Buffer.concat([head, body]) };
  });
