import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SdpNegotiationError, SdpNegotiator, SdpParseError, parseSdp, rtpMaps, serializeSdp } from '../../../src/sip/sdp/index.js';
import type { CodecPreference, SdpConnection, SdpMedia, SessionDescription } from '../../../src/sip/sdp/index.js';
import { asteriskOffer, baresipOffer, crlf, polycomHold, rfc4317Offer, rfc8866Example } from './fixtures.js';

// ---- generators of valid descriptions -------------------------------------------------------

const tokenChars = (exclude: string): fc.Arbitrary<string> =>
  fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)).filter((c) => !exclude.includes(c));
const token = (exclude = ''): fc.Arbitrary<string> => fc.string({ unit: tokenChars(exclude), minLength: 1, maxLength: 8 });
/** Free text: anything but CR, LF, NUL, not ending in a blank (a parser trims it). */
const textUnit = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  fc.constantFrom(' ', '\t', ':', '/', '=', 'é', '€', '😀', '\u2028', '\ufeff'),
);
const text = fc
  .string({ unit: textUnit, maxLength: 16 })
  .filter((s) => !/[\r\n\0]/.test(s) && !/[ \t]$/.test(s));
const bigUint = fc.bigInt({ min: 0n, max: 2n ** 64n });

const connection: fc.Arbitrary<SdpConnection> = fc.oneof(
  fc.record(
    { netType: token(), addrType: fc.constantFrom('IP4', 'ip4'), address: token('/'), ttl: fc.integer({ min: 0, max: 255 }), count: fc.integer({ min: 1, max: 255 }) },
    { requiredKeys: ['netType', 'addrType', 'address'] },
  ).map((c) => (c.count !== undefined && c.ttl === undefined ? { ...c, ttl: 1 } : c)),
  fc.record(
    { netType: token(), addrType: fc.constant('IP6'), address: token('/'), count: fc.integer({ min: 1, max: 255 }) },
    { requiredKeys: ['netType', 'addrType', 'address'] },
  ),
  fc.record({ netType: token(), addrType: token().filter((t) => !['IP4', 'IP6'].includes(t.toUpperCase())), address: token() }),
);
const bandwidth = fc.record({ type: token(':'), value: fc.maxSafeNat() });
const attribute = fc.record({ name: token(':'), value: text }, { requiredKeys: ['name'] });
const otherLine = fc.record({ type: fc.constantFrom('x', 'y', 'w', 'q', 'X', 'V'), value: text });

const media: fc.Arbitrary<SdpMedia> = fc.record(
  {
    type: token(),
    port: fc.integer({ min: 0, max: 65535 }),
    portCount: fc.integer({ min: 1, max: 8 }),
    protocol: token(),
    formats: fc.array(token(), { minLength: 1, maxLength: 4 }),
    information: text,
    connections: fc.array(connection, { maxLength: 2 }),
    bandwidths: fc.array(bandwidth, { maxLength: 2 }),
    key: text,
    attributes: fc.array(attribute, { maxLength: 4 }),
    otherLines: fc.array(otherLine, { minLength: 1, maxLength: 2 }),
  },
  { requiredKeys: ['type', 'port', 'protocol', 'formats', 'connections', 'bandwidths', 'attributes'] },
);

const description: fc.Arbitrary<SessionDescription> = fc.record(
  {
    version: fc.nat(),
    origin: fc.record({ username: token(), sessionId: token(), sessionVersion: bigUint, netType: token(), addrType: token(), address: token() }),
    sessionName: text,
    information: text,
    uri: text,
    emails: fc.array(text, { maxLength: 2 }),
    phones: fc.array(text, { maxLength: 2 }),
    connection,
    bandwidths: fc.array(bandwidth, { maxLength: 2 }),
    timings: fc.array(fc.record({ start: bigUint, stop: bigUint, repeats: fc.array(text, { maxLength: 2 }) }), { maxLength: 2 }),
    zone: text,
    key: text,
    attributes: fc.array(attribute, { maxLength: 4 }),
    media: fc.array(media, { maxLength: 4 }),
    otherLines: fc.array(otherLine, { minLength: 1, maxLength: 2 }),
  },
  {
    requiredKeys: ['version', 'origin', 'sessionName', 'emails', 'phones', 'bandwidths', 'timings', 'attributes', 'media'],
  },
);

// ---- mutation of real bodies ----------------------------------------------------------------

const seeds = [rfc4317Offer, rfc8866Example, baresipOffer, asteriskOffer, polycomHold].map(crlf);
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ unit: 'binary', maxLength: 8 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom('\n', '\r', ' ', '=', ':', '/', '0', 'm=', 'a=', 'v=0\n', '\0', '\ufeff') }),
  fc.record({ kind: fc.constant('swap-lines' as const), at: fc.nat(), with: fc.nat() }),
);
function mutate(body: string, steps: { kind: 'delete' | 'insert' | 'swap-lines'; at: number; length?: number; text?: string; with?: number }[]): string {
  let s = body;
  for (const m of steps) {
    if (m.kind === 'swap-lines') {
      const lines = s.split('\n');
      const i = m.at % lines.length;
      const j = (m.with ?? 0) % lines.length;
      [lines[i], lines[j]] = [lines[j] as string, lines[i] as string];
      s = lines.join('\n');
    } else {
      const at = m.at % (s.length + 1);
      s = m.kind === 'delete' ? s.slice(0, at) + s.slice(at + (m.length ?? 1)) : s.slice(0, at) + (m.text ?? '') + s.slice(at);
    }
  }
  return s;
}

function onlyParseErrors(input: string | Uint8Array): void {
  try {
    parseSdp(input);
  } catch (e) {
    if (!(e instanceof SdpParseError)) throw e;
  }
}

describe('SDP properties', () => {
  it('parse(serialize(x)) equals x for generated valid descriptions', () => {
    fc.assert(
      fc.property(description, (sd) => {
        const text1 = serializeSdp(sd);
        const back = parseSdp(text1);
        expect(back).toEqual(sd);
        expect(serializeSdp(back)).toBe(text1);
      }),
      { numRuns: 400 },
    );
  });

  it('serialized descriptions use CRLF only, one line per field', () => {
    fc.assert(
      fc.property(description, (sd) => {
        const out = serializeSdp(sd);
        expect(out.endsWith('\r\n')).toBe(true);
        expect(out.split('\r\n').slice(0, -1).every((l) => /^[a-zA-Z]=/.test(l) && !l.includes('\n') && !l.includes('\r'))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('parseSdp throws nothing but SdpParseError on arbitrary strings and bytes', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => onlyParseErrors(s)), { numRuns: 500 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => onlyParseErrors(b)), { numRuns: 300 });
    fc.assert(fc.property(fc.array(fc.stringMatching(/^[a-z]=[ -~]{0,20}$/), { maxLength: 12 }), (lines) => onlyParseErrors(['v=0', ...lines].join('\r\n'))), {
      numRuns: 500,
    });
  });

  it('parseSdp throws nothing but SdpParseError on mutated real bodies, and what it accepts serializes or refuses cleanly', () => {
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 4 }), (seed, steps) => {
        const body = mutate(seed, steps);
        onlyParseErrors(body);
        onlyParseErrors(new TextEncoder().encode(body));
      }),
      { numRuns: 1000 },
    );
  });
});

// ---- offer/answer properties ----------------------------------------------------------------

const knownCodecs: { encoding: string; clockRate: number; static?: number }[] = [
  { encoding: 'PCMU', clockRate: 8000, static: 0 },
  { encoding: 'PCMA', clockRate: 8000, static: 8 },
  { encoding: 'G729', clockRate: 8000, static: 18 },
  { encoding: 'G722', clockRate: 8000, static: 9 },
  { encoding: 'opus', clockRate: 48000 },
  { encoding: 'telephone-event', clockRate: 8000 },
];
const offeredStream = fc.record({
  type: fc.constantFrom('audio', 'audio', 'audio', 'video', 'application'),
  port: fc.oneof(fc.constant(0), fc.integer({ min: 1024, max: 65000 })),
  protocol: fc.constantFrom('RTP/AVP', 'RTP/AVP', 'RTP/AVPF', 'RTP/SAVP', 'udp'),
  codecs: fc.uniqueArray(fc.constantFrom(...knownCodecs), { minLength: 1, maxLength: 5 }),
  dynamic: fc.boolean(),
  direction: fc.constantFrom('sendrecv', 'sendonly', 'recvonly', 'inactive', undefined),
});
const offer = fc.record({ streams: fc.array(offeredStream, { minLength: 1, maxLength: 4 }), oldHold: fc.boolean() }).map(({ streams, oldHold }) => {
  const lines = ['v=0', 'o=peer 1 1 IN IP4 198.51.100.1', 's=-', `c=IN IP4 ${oldHold ? '0.0.0.0' : '198.51.100.1'}`, 't=0 0'];
  for (const s of streams) {
    let next = 96;
    const pts = s.codecs.map((c) => (c.static !== undefined && !s.dynamic ? c.static : next++));
    lines.push(`m=${s.type} ${s.port} ${s.protocol} ${pts.join(' ')}`);
    s.codecs.forEach((c, i) => lines.push(`a=rtpmap:${pts[i]} ${c.encoding}/${c.clockRate}`));
    if (s.direction !== undefined) lines.push(`a=${s.direction}`);
  }
  return lines.join('\r\n') + '\r\n';
});
const preferences: fc.Arbitrary<CodecPreference[]> = fc.uniqueArray(
  fc.constantFrom<CodecPreference>({ encoding: 'PCMU', clockRate: 8000 }, { encoding: 'PCMA', clockRate: 8000 }),
  { minLength: 1, maxLength: 2, selector: (c) => c.encoding },
);

describe('offer/answer properties', () => {
  it('an answer has the offer’s m= count; the chosen payload type is in the accepted stream; else 488', () => {
    const outcomes = { accepted: 0, rejected: 0 };
    fc.assert(
      fc.property(offer, preferences, fc.boolean(), (body, codecs, hold) => {
        const n = new SdpNegotiator({ address: '192.0.2.10', port: 40000, codecs, random: () => 0.1 });
        n.hold = hold;
        const offered = parseSdp(body);
        let result: ReturnType<SdpNegotiator['receiveOffer']>;
        try {
          result = n.receiveOffer(body);
        } catch (e) {
          expect(e).toBeInstanceOf(SdpNegotiationError);
          expect((e as SdpNegotiationError).status).toBe(488);
          outcomes.rejected++;
          return;
        }
        outcomes.accepted++;
        const answered = parseSdp(result.answer);
        expect(answered.media.length).toBe(offered.media.length);
        const k = result.media.mediaIndex;
        const stream = offered.media[k] as SdpMedia;
        expect(stream.type).toBe('audio');
        expect(stream.formats).toContain(String(result.media.codec.payloadType));
        expect(rtpMaps(stream).get(result.media.codec.payloadType)?.encoding.toUpperCase()).toBe(result.media.codec.encoding.toUpperCase());
        answered.media.forEach((m, i) => {
          expect(m.type).toBe(offered.media[i]?.type);
          expect(m.port === 0).toBe(i !== k);
          if (i !== k) expect(m.formats).toEqual(offered.media[i]?.formats);
        });
        if (result.media.telephoneEvent !== undefined) expect(stream.formats).toContain(String(result.media.telephoneEvent.payloadType));
      }),
      { numRuns: 500 },
    );
    expect(outcomes.accepted).toBeGreaterThan(50);
    expect(outcomes.rejected).toBeGreaterThan(50);
  });

  it('two negotiators agree on one codec and each other’s addresses', () => {
    fc.assert(
      fc.property(preferences, preferences, fc.boolean(), (mine, theirs, dtmf) => {
        const a = new SdpNegotiator({ address: '192.0.2.1', port: 4000, codecs: mine, telephoneEvent: dtmf ? { payloadType: 110 } : false });
        const b = new SdpNegotiator({ address: '192.0.2.2', port: 5000, codecs: theirs });
        const common = mine.some((m) => theirs.some((t) => t.encoding === m.encoding));
        const o = a.createOffer();
        if (!common) {
          expect(() => b.receiveOffer(o)).toThrow(SdpNegotiationError);
          return;
        }
        const { answer, media: bm } = b.receiveOffer(o);
        const am = a.receiveAnswer(answer);
        expect(am.codec.encoding).toBe(bm.codec.encoding);
        expect(am.remote).toEqual({ address: '192.0.2.2', port: 5000, rtcpPort: 5001 });
        expect(bm.remote).toEqual({ address: '192.0.2.1', port: 4000, rtcpPort: 4001 });
        expect(am.telephoneEvent?.payloadType).toBe(dtmf ? 110 : undefined);
      }),
      { numRuns: 200 },
    );
  });

  it('the o= version never goes back, steps by at most one, and changes exactly when the SDP does', () => {
    const step = fc.oneof(
      fc.constant({ op: 'offer' as const }),
      fc.record({ op: fc.constant('hold' as const), on: fc.boolean() }),
      fc.record({ op: fc.constant('move' as const), port: fc.constantFrom(40000, 40002) }),
      fc.record({ op: fc.constant('peer-offer' as const), body: offer }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), (steps) => {
        const n = new SdpNegotiator({ address: '192.0.2.10', port: 40000, random: () => 0.3 });
        const peer = new SdpNegotiator({ address: '192.0.2.20', port: 50000 });
        let last: string | undefined;
        const sent = (sdp: string): void => {
          if (last !== undefined) {
            const before = parseSdp(last).origin;
            const now = parseSdp(sdp).origin;
            expect(now.sessionId).toBe(before.sessionId);
            const withoutVersion = (s: string): string => s.replace(/^o=.*$/m, '');
            expect(now.sessionVersion - before.sessionVersion).toBe(withoutVersion(sdp) === withoutVersion(last) ? 0n : 1n);
          }
          last = sdp;
        };
        for (const s of steps) {
          if (s.op === 'hold') n.hold = s.on;
          else if (s.op === 'move') n.setLocal('192.0.2.10', s.port);
          else if (s.op === 'offer') {
            const o = n.createOffer();
            sent(o);
            try {
              n.receiveAnswer(peer.receiveOffer(o).answer);
            } catch (e) {
              expect(e).toBeInstanceOf(SdpNegotiationError);
            }
          } else {
            try {
              sent(n.receiveOffer(s.body).answer);
            } catch (e) {
              expect(e).toBeInstanceOf(SdpNegotiationError);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
