/**
 * Property tests for the SIP message layer (parser, serializer, typed accessors, stream
 * framer), with messages generated from the RFC 3261 §25 grammar (see arbitraries.ts) and
 * mutations of the RFC 4475/5118 torture messages and the benchmark corpus.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  NameAddr,
  SipParseError,
  SipStreamFramer,
  canonicalHeaderName,
  parseMessage,
  serializeMessage,
  uriEquals,
  type FramerEvent,
  type SipMessage,
} from '../../../src/sip/index.js';
import { corpusBuffers } from '../../../bench/sip-corpus.js';
import { foldedWireArb, messageSpecArb, toMessage, type MessageSpec } from './arbitraries.js';

/**
 * Fixed seed and run counts keep the file deterministic and under a few seconds. To fuzz
 * longer locally: `SIP_FUZZ_SEED=7 SIP_FUZZ_SCALE=50 npx vitest run test/sip/message/properties.test.ts`.
 */
const SEED = Number(process.env['SIP_FUZZ_SEED'] ?? 42);
const SCALE = Number(process.env['SIP_FUZZ_SCALE'] ?? 1);
const runs = (n: number): number => Math.max(1, Math.round(n * SCALE));
/** Per-test timeout, stretched with SIP_FUZZ_SCALE. */
const TIMEOUT = 20_000 * Math.max(1, SCALE);
/** Cut points are drawn in [0, CUT_SCALE] and scaled to the stream length. */
const CUT_SCALE = 1 << 20;
const cutsArb = (maxLength: number): fc.Arbitrary<number[]> => fc.array(fc.integer({ min: 0, max: CUT_SCALE }), { maxLength });
/** Distinct, sorted byte offsets in [0, length] for scaled cut points. */
const scaleCuts = (cuts: number[], length: number): number[] => [...new Set(cuts.map((c) => Math.floor((c * length) / CUT_SCALE)))].sort((a, b) => a - b);

// ---- helpers ----

const NO_LIMITS = { maxMessageBytes: 1 << 30, maxHeaders: 1 << 30, maxLineLength: 1 << 30 };

const serialize = (m: SipMessage): Buffer => serializeMessage(m);

function headersWithoutContentLength(m: SipMessage): [string, string][] {
  return m.headers.filter(([n]) => canonicalHeaderName(n) !== 'Content-Length');
}

function addressView(a: NameAddr): { displayName: string | undefined; uri: string; tag: string | undefined } {
  return { displayName: a.displayName, uri: String(a.uri), tag: a.tag };
}

/** The equality of property 1: start line, headers (but Content-Length), body, typed views. */
function expectSameMessage(actual: SipMessage, expected: SipMessage): void {
  expect(actual.isRequest).toBe(expected.isRequest);
  if (actual.isRequest && expected.isRequest) {
    expect(actual.method).toBe(expected.method);
    expect(actual.uriString).toBe(expected.uriString);
    expect(uriEquals(actual.uri, expected.uri)).toBe(true);
  } else if (!actual.isRequest && !expected.isRequest) {
    expect(actual.status).toBe(expected.status);
    expect(actual.reason).toBe(expected.reason);
  }
  expect(headersWithoutContentLength(actual)).toEqual(headersWithoutContentLength(expected));
  expect(actual.body.toString('hex')).toBe(expected.body.toString('hex'));
  expect(actual.via.map(String)).toEqual(expected.via.map(String));
  expect(String(actual.topVia)).toBe(String(expected.topVia));
  expect(addressView(actual.from)).toEqual(addressView(expected.from));
  expect(addressView(actual.to)).toEqual(addressView(expected.to));
  expect(actual.callId).toBe(expected.callId);
  expect(actual.cseq).toEqual(expected.cseq);
  expect(actual.maxForwards).toBe(expected.maxForwards);
  expect(actual.contacts.map(String)).toEqual(expected.contacts.map(String));
  expect(actual.contentLength).toBe(expected.body.length);
  expect(actual.routes.map(String)).toEqual(expected.routes.map(String));
  expect(actual.recordRoutes.map(String)).toEqual(expected.recordRoutes.map(String));
  for (const name of ['authorization', 'proxyAuthorization', 'wwwAuthenticate', 'proxyAuthenticate'] as const) {
    expect(actual[name].map(String)).toEqual(expected[name].map(String));
  }
  expect(actual.allow).toEqual(expected.allow);
  expect(actual.supported).toEqual(expected.supported);
  expect(actual.expires).toBe(expected.expires);
  expect([actual.event?.type, actual.event?.id]).toEqual([expected.event?.type, expected.event?.id]);
  expect([actual.subscriptionState?.state, actual.subscriptionState?.expires]).toEqual([expected.subscriptionState?.state, expected.subscriptionState?.expires]);
  expect([actual.sessionExpires?.seconds, actual.sessionExpires?.refresher]).toEqual([expected.sessionExpires?.seconds, expected.sessionExpires?.refresher]);
  expect(actual.reasons.map((r) => [r.protocol, r.cause, r.text])).toEqual(expected.reasons.map((r) => [r.protocol, r.cause, r.text]));
  expect(actual.rack).toEqual(expected.rack);
  expect(actual.rseq).toBe(expected.rseq);
  expect(String(actual.contentType)).toBe(String(expected.contentType));
}

/** A SipParseError's message must work as a reason phrase; anything else is a parser bug. */
function checkParseError(e: unknown): void {
  if (!(e instanceof SipParseError)) throw e;
  expect(e.message.length).toBeGreaterThan(0);
  expect(e.message).not.toMatch(/[\x00-\x1f\x7f]/);
  expect(e.message).not.toMatch(/^Internal parser error/);
  expect([400, 505]).toContain(e.status);
}

const ACCESSORS = [
  'via',
  'topVia',
  'from',
  'to',
  'callId',
  'cseq',
  'contacts',
  'contactWildcard',
  'routes',
  'recordRoutes',
  'maxForwards',
  'contentLength',
  'contentType',
  'expires',
  'minExpires',
  'wwwAuthenticate',
  'proxyAuthenticate',
  'authorization',
  'proxyAuthorization',
  'allow',
  'supported',
  'require',
  'proxyRequire',
  'unsupported',
  'event',
  'subscriptionState',
  'replaces',
  'rack',
  'rseq',
  'sessionExpires',
  'minSE',
  'reasons',
  'referTo',
  'referredBy',
  'pAssertedIdentity',
  'headers',
] as const;

/** Reads a typed value all the way down (addresses' URIs included) and prints it. */
function touch(v: unknown): void {
  if (Array.isArray(v)) {
    for (const x of v) touch(x);
    return;
  }
  if (v instanceof NameAddr) {
    void String(v.uri);
    void v.tag;
  }
  void String(v);
}

/** Reads every typed accessor; each may throw SipParseError (and only that). */
function readEverything(m: SipMessage): void {
  for (const name of ACCESSORS) {
    try {
      touch(m[name]);
    } catch (e) {
      checkParseError(e);
    }
  }
  if (m.isRequest) {
    try {
      touch(m.uri);
    } catch (e) {
      checkParseError(e);
    }
  }
  for (let i = 0; i < m.headerCount; i++) void m.valueAt(i);
  try {
    void serialize(m);
  } catch (e) {
    checkParseError(e);
  }
}

/**
 * What must hold of any message the parser accepted: the headers validation checked read
 * without error (when validated), the top Via is the first Via, Content-Length matches the
 * body, and serialization is a fixed point (serialize ∘ parse ∘ serialize = serialize).
 */
function checkAccepted(m: SipMessage, validated: boolean): void {
  if (validated) {
    for (const name of ['via', 'topVia', 'callId', 'cseq', 'maxForwards', 'expires', 'contacts'] as const) touch(m[name]);
    // From/To are checked structurally; their URIs are parsed (and may fail) on first use.
    for (const a of [m.from, m.to]) void [a.tag, a.displayName, String(a.params)];
  }
  let via: string[] | undefined;
  try {
    via = m.via.map(String);
  } catch (e) {
    checkParseError(e);
  }
  if (via !== undefined && via.length > 0) expect(String(m.topVia)).toBe(via[0]);
  expect(m.contentLength).toBe(m.body.length);
  const once = serialize(m);
  // Serializing may add a few bytes (CRLF for LF, `: ` after names, Content-Length): lift the
  // limits for the re-parse so only the round trip itself is checked.
  const twice = serialize(parseMessage(once, { validate: false, limits: NO_LIMITS }));
  expect(twice.toString('latin1')).toBe(once.toString('latin1'));
}

/**
 * Parses bytes every way a server would (validated or not) and reads everything: parsing and
 * accessors may throw SipParseError only, and an accepted message must pass checkAccepted
 * (where any error, SipParseError included, is a bug).
 */
function parseEverything(bytes: Uint8Array): void {
  for (const validate of [true, false]) {
    let m: SipMessage | undefined;
    try {
      m = parseMessage(bytes, { validate });
    } catch (e) {
      checkParseError(e);
      const partial = (e as SipParseError).partial;
      if (partial !== undefined) readEverything(partial);
    }
    if (m !== undefined) {
      checkAccepted(m, validate);
      readEverything(m);
    }
  }
}

/** Pushes `bytes` through a framer in chunks cut at `cuts`; checks every event. */
function frameEverything(bytes: Uint8Array, cuts: number[], validate: boolean): void {
  const framer = new SipStreamFramer({ validate });
  const points = scaleCuts(cuts, bytes.length);
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    let events: FramerEvent[] = [];
    try {
      events = framer.push(bytes.subarray(prev, p));
    } catch (e) {
      checkParseError(e);
    }
    prev = p;
    for (const ev of events) {
      if (ev.type === 'error') {
        checkParseError(ev.error);
        if (ev.error.partial !== undefined) readEverything(ev.error.partial);
      } else if (ev.type === 'message') readEverything(ev.message);
    }
  }
}

// ---- inputs for the robustness properties ----

const fixturesDir = fileURLToPath(new URL('../../fixtures/rfc4475', import.meta.url));
function datFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...datFiles(p));
    else if (name.endsWith('.dat')) out.push(p);
  }
  return out;
}
const fixtures = datFiles(fixturesDir).map((p) => readFileSync(p));
const seeds: Buffer[] = [...fixtures, ...corpusBuffers];

/** Bytes a mutation may insert: the separators the grammar hinges on, and bytes it forbids. */
const NASTY = [0x0d, 0x0a, 0x20, 0x09, 0x22, 0x3c, 0x3e, 0x2c, 0x3b, 0x3a, 0x3d, 0x40, 0x25, 0x5c, 0x00, 0xff, 0x80];
const MAX_INPUT = 65536;

type Mutation =
  | { op: 'flip'; pos: number; bit: number }
  | { op: 'insert'; pos: number; byte: number; count: number }
  | { op: 'delete'; pos: number; len: number }
  | { op: 'truncate'; pos: number }
  | { op: 'duplicate'; pos: number; len: number; at: number; times: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('insert' as const), pos: fc.nat(), byte: fc.oneof(fc.constantFrom(...NASTY), fc.integer({ min: 0, max: 255 })), count: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ op: fc.constant('delete' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 24 }) }),
  fc.record({ op: fc.constant('truncate' as const), pos: fc.nat() }),
  fc.record({
    op: fc.constant('duplicate' as const),
    pos: fc.nat(),
    len: fc.integer({ min: 1, max: 400 }),
    at: fc.nat(),
    times: fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 2000 }) }),
  }),
);

function mutate(input: Buffer, mutations: Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of mutations) {
    const n = b.length;
    switch (m.op) {
      case 'flip':
        if (n > 0) b[m.pos % n] = b[m.pos % n]! ^ (1 << m.bit);
        break;
      case 'insert': {
        const p = m.pos % (n + 1);
        b = Buffer.concat([b.subarray(0, p), Buffer.alloc(m.count, m.byte), b.subarray(p)]);
        break;
      }
      case 'delete': {
        const p = m.pos % (n + 1);
        b = Buffer.concat([b.subarray(0, p), b.subarray(p + m.len)]);
        break;
      }
      case 'truncate':
        b = b.subarray(0, m.pos % (n + 1));
        break;
      case 'duplicate': {
        const p = m.pos % (n + 1);
        const range = b.subarray(p, p + m.len);
        const at = m.at % (n + 1);
        const copies = Buffer.alloc(Math.min(range.length * m.times, MAX_INPUT));
        for (let k = 0; k + range.length <= copies.length && range.length > 0; k += range.length) range.copy(copies, k);
        b = Buffer.concat([b.subarray(0, at), copies, b.subarray(at)]);
        break;
      }
    }
    if (b.length > MAX_INPUT) b = b.subarray(0, MAX_INPUT);
  }
  return b;
}

const mutatedArb = fc
  .tuple(fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 8 }))
  .map(([i, ms]) => ({ seed: i, mutations: ms, bytes: mutate(seeds[i]!, ms) }));

/** Fully random bytes up to 64 KB, from a seeded xorshift (fast to generate, shrinks by length). */
const randomBytesArb = fc.record({ length: fc.integer({ min: 0, max: MAX_INPUT }), seed: fc.integer({ min: 1, max: 0x7fffffff }) }).map(({ length, seed }) => {
  const out = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
});

/** A valid start line, then header lines of known names with values of SIP-significant junk. */
const KNOWN = [
  'Via', 'v', 'From', 'f', 'To', 't', 'Call-ID', 'i', 'CSeq', 'Contact', 'm', 'Content-Length', 'l', 'Content-Type', 'c', 'Max-Forwards', 'Route',
  'Record-Route', 'Expires', 'Min-Expires', 'WWW-Authenticate', 'Proxy-Authenticate', 'Authorization', 'Proxy-Authorization', 'Allow', 'Supported',
  'k', 'Require', 'Proxy-Require', 'Unsupported', 'Event', 'o', 'Subscription-State', 'Replaces', 'RSeq', 'RAck', 'Session-Expires', 'x', 'Min-SE',
  'Reason', 'Refer-To', 'r', 'Referred-By', 'b', 'P-Asserted-Identity', 'X-Other',
];
const junkChar = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...'aZ09-.!%*_+`\'~()<>:\\"/[]?{}@;=,& \t'.split('')) },
  { weight: 2, arbitrary: fc.constantFrom('sip:', 'sips:', 'tel:', 'SIP/2.0/UDP ', ';tag=', ';branch=z9hG4bK', '<sip:a@b>', '[::1]', '192.0.2.1', 'Digest ', 'realm="x"') },
  { weight: 1, arbitrary: fc.constantFrom('\r\n ', '\r\n', '\n', '\x00', '\xff', '\x80', '%', '%4', '%zz', '"', '\\') },
);
const grammarSoupArb = fc
  .record({
    start: fc.constantFrom('INVITE sip:bob@example.com SIP/2.0', 'REGISTER sips:[2001:db8::1]:5061 SIP/2.0', 'SIP/2.0 200 OK', 'SIP/2.0 180 Ringing', 'OPTIONS tel:+1-201-555-0123 SIP/2.0'),
    lines: fc.array(fc.tuple(fc.constantFrom(...KNOWN), fc.string({ unit: junkChar, maxLength: 30 })), { maxLength: 14 }),
    body: fc.option(fc.uint8Array({ maxLength: 40 })),
  })
  .map(({ start, lines, body }) => Buffer.concat([Buffer.from(start + '\r\n' + lines.map(([n, v]) => `${n}: ${v}\r\n`).join('') + '\r\n', 'latin1'), body ?? Buffer.alloc(0)]));

// ---- properties ----

describe('SIP message properties (RFC 3261 §7, §25)', () => {
  it('parse(serialize(m)) equals m for generated requests and responses', () => {
    fc.assert(
      fc.property(messageSpecArb, (spec: MessageSpec) => {
        const m = toMessage(spec);
        const parsed = parseMessage(serialize(m));
        expectSameMessage(parsed, m);
      }),
      { seed: SEED, numRuns: runs(400) },
    );
  }, TIMEOUT);

  it('serializing a parsed message is byte-identical (serialize ∘ parse ∘ serialize = serialize)', () => {
    fc.assert(
      fc.property(messageSpecArb, (spec: MessageSpec) => {
        const bytes = serialize(toMessage(spec));
        const again = serialize(parseMessage(bytes));
        expect(again.toString('latin1')).toBe(bytes.toString('latin1'));
      }),
      { seed: SEED, numRuns: runs(400) },
    );
  }, TIMEOUT);

  it('parse(serialize(m)) equals m, and serialize is stable, for hand-written messages with folded lines', () => {
    fc.assert(
      fc.property(foldedWireArb, ({ wire }) => {
        const m = parseMessage(wire);
        const bytes = serialize(m);
        const parsed = parseMessage(bytes);
        expectSameMessage(parsed, m);
        expect(serialize(parsed).toString('latin1')).toBe(bytes.toString('latin1'));
      }),
      { seed: SEED, numRuns: runs(300) },
    );
  }, TIMEOUT);

  it('ignores leading CRLFs (§7.5) and bytes after Content-Length in a datagram (§18.3)', () => {
    fc.assert(
      fc.property(messageSpecArb, fc.constantFrom('', '\r\n', '\r\n\r\n', '\n'), fc.uint8Array({ maxLength: 30 }), (spec, lead, junk) => {
        const m = toMessage(spec);
        const parsed = parseMessage(Buffer.concat([Buffer.from(lead), serialize(m), junk]));
        expectSameMessage(parsed, m);
      }),
      { seed: SEED, numRuns: runs(150) },
    );
  }, TIMEOUT);

  it('gives the same typed views whatever the header names: compact, long, any case', () => {
    fc.assert(
      fc.property(messageSpecArb, fc.boolean(), (spec, lower) => {
        const canonical: MessageSpec = { ...spec, headers: spec.headers.map(([n, v]) => [lower ? canonicalHeaderName(n).toLowerCase() : canonicalHeaderName(n), v]) };
        const a = parseMessage(serialize(toMessage(spec)));
        const b = parseMessage(serialize(toMessage(canonical)));
        expect(b.headers.map(([, v]) => v)).toEqual(a.headers.map(([, v]) => v));
        expect(b.headers.map(([n]) => canonicalHeaderName(n).toLowerCase())).toEqual(a.headers.map(([n]) => canonicalHeaderName(n).toLowerCase()));
        expect(b.via.map(String)).toEqual(a.via.map(String));
        expect(addressView(b.from)).toEqual(addressView(a.from));
        expect(addressView(b.to)).toEqual(addressView(a.to));
        expect([b.callId, b.cseq, b.maxForwards, b.contentLength]).toEqual([a.callId, a.cseq, a.maxForwards, a.contentLength]);
        expect(b.contacts.map(String)).toEqual(a.contacts.map(String));
        expect(b.supported).toEqual(a.supported);
        expect(String(b.contentType)).toBe(String(a.contentType));
        expect(b.event?.type).toBe(a.event?.type);
        expect(b.sessionExpires?.seconds).toBe(a.sessionExpires?.seconds);
        for (const [n] of spec.headers) expect(b.getAll(n)).toEqual(a.getAll(n));
      }),
      { seed: SEED, numRuns: runs(150) },
    );
  }, TIMEOUT);

  it('keeps typed views in step with header edits (a proxy adding and removing its Via, §16.6, §16.7)', () => {
    fc.assert(
      fc.property(messageSpecArb, fc.constantFrom('Via', 'v', 'VIA'), (spec, viaName) => {
        const m = parseMessage(serialize(toMessage(spec)));
        const before = m.via.map(String);
        void m.topVia; // fill the caches first
        const ours = 'SIP/2.0/TLS proxy.example.com:5061;branch=z9hG4bKproxy1';
        m.prepend(viaName, ours);
        expect(String(m.topVia)).toBe(ours);
        expect(m.via.map(String)).toEqual([ours, ...before]);
        const reparsed = parseMessage(serialize(m));
        expect(reparsed.via.map(String)).toEqual([ours, ...before]);
        expect(m.removeFirstValue(viaName)).toBe(true);
        expect(m.via.map(String)).toEqual(before);
        expect(String(m.topVia)).toBe(before[0]);
        // A set replaces every line of the header and the cached value.
        const seq = (m.cseq.seq + 1) % 0x1_0000_0000;
        m.set('CSeq', `${seq} ${m.cseq.method}`);
        expect(m.cseq.seq).toBe(seq);
        expect(parseMessage(serialize(m)).cseq.seq).toBe(seq);
        m.set('t', `<sip:changed@example.com>;tag=zz`);
        expect([m.to.tag, String(m.to.uri), m.count('To')]).toEqual(['zz', 'sip:changed@example.com', 1]);
        expect(parseMessage(serialize(m)).to.tag).toBe('zz');
      }),
      { seed: SEED, numRuns: runs(150) },
    );
  }, TIMEOUT);

  it('unfolds folded header values to single spaces (§7.3.1)', () => {
    const m = parseMessage(
      Buffer.from(
        'OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP a.example.com;branch=z9hG4bK1,\r\n SIP/2.0/TCP b.example.com;branch=z9hG4bK2\r\n' +
          'From:\r\n "Alice\r\n Liddell" <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: x@y\r\nCSeq: 1\r\n\tOPTIONS\r\nSubject: lunch  \r\n  at\r\n\tnoon\r\n\r\n',
      ),
    );
    expect(m.via.map((v) => v.host)).toEqual(['a.example.com', 'b.example.com']);
    expect(m.from.displayName).toBe('Alice Liddell');
    expect(m.cseq).toEqual({ seq: 1, method: 'OPTIONS' });
    expect(m.get('Subject')).toBe('lunch at noon');
    // The folds are kept on the wire.
    expect(serialize(m).toString('latin1')).toContain('Subject: lunch  \r\n  at\r\n\tnoon\r\n');
  });

  describe('minimal cases the properties found', () => {
    const base = (headers: string): Buffer =>
      Buffer.from(`OPTIONS sip:bob@example.com SIP/2.0\r\n${headers}From: <sip:alice@example.com>;tag=1\r\nCall-ID: a@b\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`);
    const via = 'Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n';

    it('accepts a quoted header parameter containing < after an addr-spec (To: sip:bob@example.com;x="<")', () => {
      // to-param = generic-param = token [ EQUAL gen-value ], gen-value may be a quoted-string (§25.1).
      const m = parseMessage(base(`${via}To: sip:bob@example.com;x="<"\r\n`));
      expect(String(m.to.uri)).toBe('sip:bob@example.com');
      expect(m.to.params.get('x')).toBe('<');
      expect(parseMessage(base(`${via}To: sip:bob@example.com;tag=9;x="a<b>c"\r\n`)).to.tag).toBe('9');
    });

    it('validation checks every Via value, not only the top one', () => {
      const bytes = base(`${via}Via: "SIP/2.0/UDP b.example.com;branch=z9hG4bK2\r\nTo: <sip:bob@example.com>\r\n`);
      let m: SipMessage | undefined;
      try {
        m = parseMessage(bytes);
      } catch (e) {
        checkParseError(e);
        expect((e as SipParseError).message).toMatch(/Via/);
      }
      // Either validation rejects the message, or every Via is readable.
      if (m !== undefined) expect(() => m.via).not.toThrow();
    });
  });

  it('the seed corpus itself parses and round-trips', () => {
    // The corpus must stay meaningful for the mutation properties below.
    expect(fixtures.length).toBeGreaterThanOrEqual(60);
    for (const b of corpusBuffers) {
      const m = parseMessage(b);
      expect(serialize(parseMessage(serialize(m))).equals(serialize(m))).toBe(true);
    }
  });

  describe('robustness: only SipParseError, with a usable reason phrase', () => {
    it('on fully random bytes up to 64 KB', () => {
      fc.assert(
        fc.property(randomBytesArb, cutsArb(6), (bytes, cuts) => {
          parseEverything(bytes);
          frameEverything(bytes, cuts, true);
        }),
        { seed: SEED, numRuns: runs(60) },
      );
    }, TIMEOUT);

    it('on mutated RFC 4475/5118 torture messages and corpus messages', () => {
      fc.assert(
        fc.property(mutatedArb, cutsArb(6), fc.boolean(), ({ bytes }, cuts, validate) => {
          parseEverything(bytes);
          frameEverything(bytes, cuts, validate);
        }),
        { seed: SEED, numRuns: runs(600) },
      );
    }, TIMEOUT);

    it('on unmodified torture messages (every fixture, every accessor)', () => {
      for (const b of seeds) {
        parseEverything(b);
        frameEverything(b, [], true);
        frameEverything(b, [1, 7, 50], false);
      }
    });

    it('with raised limits, on messages whose URIs are hundreds of KB long', () => {
      const limits = { maxMessageBytes: 4_000_000, maxLineLength: 4_000_000 };
      for (const n of [10_000, 200_000, 1_000_000]) {
        const user = 'a'.repeat(n) + '%41';
        const bytes = Buffer.from(
          `OPTIONS sip:${user}@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:${user}@example.com>;tag=1\r\n` +
            `To: <sip:bob@example.com>\r\nCall-ID: 1@h\r\nCSeq: 1 OPTIONS\r\nContact: <sip:${user}@example.com>\r\n\r\n`,
        );
        let m: SipMessage | undefined;
        try {
          m = parseMessage(bytes, { limits });
        } catch (e) {
          checkParseError(e);
        }
        if (m !== undefined) {
          readEverything(m);
          expect(m.isRequest && m.uri.kind === 'sip' && m.uri.user?.length).toBe(n + 1);
        }
        const framer = new SipStreamFramer({ limits });
        for (const ev of framer.push(bytes)) if (ev.type === 'error') checkParseError(ev.error);
      }
    });

    it('on valid start lines followed by headers full of grammar junk', () => {
      fc.assert(
        fc.property(grammarSoupArb, cutsArb(4), (bytes, cuts) => {
          parseEverything(bytes);
          frameEverything(bytes, cuts, false);
        }),
        { seed: SEED, numRuns: runs(1500) },
      );
    }, TIMEOUT);
  });

  describe('stream framing (RFC 3261 §18.3, RFC 5626 §4.4.1)', () => {
    type Piece = { kind: 'message'; bytes: Buffer } | { kind: 'ping' };

    const streamArb = fc.array(fc.tuple(messageSpecArb, fc.boolean()), { minLength: 1, maxLength: 4 });

    /**
     * Serializes messages, with a CRLFCRLF ping before each flagged one when `pings`.
     * `expected(points)` lists the events a framer must report when reads end at `points`:
     * each message as parsed on its own (then serialized), each ping as `ping`, except that a
     * ping whose read ends after its first CRLF is reported as a pong then a ping (a client
     * waiting for a pong must not wait for more bytes; the second CRLF completes the ping).
     */
    function buildStream(items: [MessageSpec, boolean][], pings: boolean): { stream: Buffer; starts: number[]; expected: (points: number[]) => string[] } {
      const pieces: Piece[] = [];
      for (const [spec, ping] of items) {
        if (pings && ping) pieces.push({ kind: 'ping' });
        pieces.push({ kind: 'message', bytes: serialize(toMessage(spec)) });
      }
      const buffers = pieces.map((p) => (p.kind === 'ping' ? Buffer.from('\r\n\r\n') : p.bytes));
      const starts: number[] = [];
      let at = 0;
      for (const b of buffers) {
        starts.push(at);
        at += b.length;
      }
      const parsed = pieces.map((p) => (p.kind === 'ping' ? 'ping' : serialize(parseMessage(p.bytes)).toString('latin1')));
      const expected = (points: number[]): string[] => {
        const cuts = new Set(points);
        return parsed.flatMap((e, i) => (e === 'ping' && cuts.has(starts[i]! + 2) ? ['pong', 'ping'] : [e]));
      };
      return { stream: Buffer.concat(buffers), starts, expected };
    }

    /**
     * Cut points: anywhere in the stream (scaled), and close to the start of a piece (a
     * message or a ping), where framing decisions are made.
     */
    const streamCutsArb = fc.record({ anywhere: cutsArb(10), nearStart: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 5 })), { maxLength: 4 }) });
    function cutPoints(c: { anywhere: number[]; nearStart: [number, number][] }, stream: Buffer, starts: number[]): number[] {
      const near = c.nearStart.map(([piece, offset]) => Math.min(stream.length, starts[piece % starts.length]! + offset));
      return [...new Set([...scaleCuts(c.anywhere, stream.length), ...near])].sort((a, b) => a - b);
    }

    /** Feeds `stream` to a framer in chunks ending at `points` (byte offsets); lists the events. */
    function frame(stream: Buffer, points: number[]): string[] {
      const framer = new SipStreamFramer();
      const got: string[] = [];
      let prev = 0;
      for (const p of [...points, stream.length]) {
        for (const ev of framer.push(stream.subarray(prev, p))) {
          if (ev.type === 'message') got.push(serialize(ev.message).toString('latin1'));
          else if (ev.type === 'error') got.push(`error: ${ev.error.message}`);
          else got.push(ev.type);
        }
        prev = p;
      }
      expect(framer.buffered).toBe(0);
      return got;
    }

    it('splits concatenated messages cut at random points into the same messages, in order', () => {
      fc.assert(
        fc.property(streamArb, streamCutsArb, (items, cuts) => {
          const { stream, starts, expected } = buildStream(items, false);
          const points = cutPoints(cuts, stream, starts);
          expect(frame(stream, points)).toEqual(expected(points));
        }),
        { seed: SEED, numRuns: runs(200) },
      );
    }, TIMEOUT);

    it('reports CRLFCRLF keep-alive pings where they were inserted, whatever the cut points', () => {
      fc.assert(
        fc.property(streamArb, streamCutsArb, (items, cuts) => {
          const { stream, starts, expected } = buildStream(items, true);
          const points = cutPoints(cuts, stream, starts);
          expect(frame(stream, points)).toEqual(expected(points));
        }),
        { seed: SEED, numRuns: runs(200) },
      );
    }, TIMEOUT);

    it('works when fed one byte at a time (messages only)', () => {
      fc.assert(
        fc.property(streamArb, (items) => {
          const { stream, expected } = buildStream(items, false);
          const points = Array.from({ length: stream.length }, (_, i) => i);
          expect(frame(stream, points)).toEqual(expected(points));
        }),
        { seed: SEED, numRuns: runs(40) },
      );
    }, TIMEOUT);

    it('works when fed one byte at a time (messages and pings)', () => {
      fc.assert(
        fc.property(streamArb, (items) => {
          const { stream, expected } = buildStream(items, true);
          const points = Array.from({ length: stream.length }, (_, i) => i);
          expect(frame(stream, points)).toEqual(expected(points));
        }),
        { seed: SEED, numRuns: runs(40) },
      );
    }, TIMEOUT);

    it('reports a ping split after its first CRLF as a pong, then the ping', () => {
      const framer = new SipStreamFramer();
      expect(framer.push(Buffer.from('\r\n')).map((e) => e.type)).toEqual(['pong']);
      expect(framer.push(Buffer.from('\r')).map((e) => e.type)).toEqual([]);
      expect(framer.push(Buffer.from('\n')).map((e) => e.type)).toEqual(['ping']);
      expect(framer.buffered).toBe(0);
    });

    it('reports a message that frames but fails validation as a non-fatal error, and goes on', () => {
      fc.assert(
        fc.property(messageSpecArb, messageSpecArb, cutsArb(6), (a, b, cuts) => {
          const good1 = serialize(toMessage(a));
          const good2 = serialize(toMessage(b));
          const noCallId = toMessage(a);
          noCallId.remove('Call-ID');
          const stream = Buffer.concat([good1, serialize(noCallId), good2]);
          const framer = new SipStreamFramer();
          const events: FramerEvent[] = [];
          let prev = 0;
          for (const p of [...scaleCuts(cuts, stream.length), stream.length]) {
            events.push(...framer.push(stream.subarray(prev, p)));
            prev = p;
          }
          expect(events.map((e) => (e.type === 'error' ? `error:${e.fatal}` : e.type))).toEqual(['message', 'error:false', 'message']);
          const err = events[1]!.type === 'error' ? events[1]!.error : undefined;
          checkParseError(err);
          expect(err?.message).toMatch(/Call-ID/);
          expect(err?.partial).toBeDefined();
          expect(framer.failed).toBe(false);
        }),
        { seed: SEED, numRuns: runs(60) },
      );
    }, TIMEOUT);

    it('stops for good on a framing error (bad Content-Length)', () => {
      const framer = new SipStreamFramer();
      const bad = Buffer.from('OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nContent-Length: 1x\r\n\r\n');
      const events = framer.push(bad);
      expect(events.map((e) => (e.type === 'error' ? `error:${e.fatal}` : e.type))).toEqual(['error:true']);
      checkParseError(events[0]!.type === 'error' ? events[0]!.error : undefined);
      expect(framer.failed).toBe(true);
      expect(framer.push(Buffer.from('\r\n\r\n'))).toEqual([]);
    });

    it('reports a lone CRLF between messages as a pong', () => {
      const a = serialize(toMessage(fc.sample(messageSpecArb, { seed: SEED, numRuns: runs(1) })[0]!));
      const framer = new SipStreamFramer();
      const types = [...framer.push(Buffer.concat([a, Buffer.from('\r\n'), a]))].map((e) => e.type);
      expect(types).toEqual(['message', 'pong', 'message']);
    });
  });
});
