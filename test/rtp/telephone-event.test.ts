import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  TelephoneEventParseError,
  TelephoneEventReceiver,
  digitToEvent,
  eventToDigit,
  parseTelephoneEvent,
  planTelephoneEvent,
  writeTelephoneEvent,
} from '../../src/rtp/index.js';
import type { PlannedTelephoneEventPacket, TelephoneEventReport } from '../../src/rtp/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

function payloadOf(p: PlannedTelephoneEventPacket): Uint8Array {
  const b = new Uint8Array(4);
  writeTelephoneEvent(p.payload, b);
  return b;
}

function feed(rx: TelephoneEventReceiver, packets: PlannedTelephoneEventPacket[], t0 = 0): TelephoneEventReport[] {
  const out: TelephoneEventReport[] = [];
  for (const p of packets) out.push(...rx.onPacket(payloadOf(p), p.timestamp, p.marker, t0 + p.sendOffset / 8));
  return out;
}

describe('RFC 4733 payload', () => {
  it('parses and writes the 4-byte payload (byte vector: digit 5, E, volume 10, duration 800)', () => {
    expect(parseTelephoneEvent(hex('05 8a 03 20'))).toEqual({ event: 5, end: true, volume: 10, duration: 800 });
    const b = new Uint8Array(4);
    writeTelephoneEvent({ event: 11, end: false, volume: 63, duration: 0xffff }, b);
    expect(Buffer.from(b).toString('hex')).toBe('0b3fffff');
    expect(() => parseTelephoneEvent(hex('05 8a 03'))).toThrow(TelephoneEventParseError);
  });

  it('maps digits', () => {
    expect([...'0123456789*#ABCD'].map(digitToEvent)).toEqual([...Array(16).keys()]);
    expect(digitToEvent('a')).toBe(12);
    expect(eventToDigit(11)).toBe('#');
    expect(eventToDigit(16)).toBeUndefined();
    expect(() => digitToEvent('x')).toThrow(RangeError);
  });

  it('property: payload round-trips; parse throws only TelephoneEventParseError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.boolean(), fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 0xffff }), (event, end, volume, duration) => {
        const b = new Uint8Array(4);
        writeTelephoneEvent({ event, end, volume, duration }, b);
        expect(parseTelephoneEvent(b)).toEqual({ event, end, volume, duration });
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), (b) => {
        try {
          parseTelephoneEvent(b);
        } catch (e) {
          if (!(e instanceof TelephoneEventParseError)) throw e;
        }
      }),
    );
  });
});

describe('planTelephoneEvent (sender, RFC 4733 §2.5.1)', () => {
  it('plans a 100 ms digit: marker first, growing durations, three end packets', () => {
    const p = planTelephoneEvent({ event: 5, durationMs: 100, timestamp: 1000 });
    expect(p.map((x) => [x.sendOffset, x.marker, x.payload.end, x.payload.duration])).toEqual([
      [0, true, false, 160],
      [160, false, false, 320],
      [320, false, false, 480],
      [480, false, false, 640],
      [640, false, true, 800],
      [800, false, true, 800],
      [960, false, true, 800],
    ]);
    expect(new Set(p.map((x) => x.timestamp))).toEqual(new Set([1000]));
  });

  it('splits a 10 s event into segments of at most 0xFFFF, ending only the last', () => {
    const p = planTelephoneEvent({ event: 1, durationMs: 10000, timestamp: 0xffff0000 });
    const segs = [...new Set(p.map((x) => x.timestamp))];
    expect(segs).toEqual([0xffff0000, (0xffff0000 + 0xffff) >>> 0]);
    const first = p.filter((x) => x.timestamp === segs[0]);
    expect(Math.max(...first.map((x) => x.payload.duration))).toBe(0xffff);
    expect(first.some((x) => x.payload.end)).toBe(false);
    const last = p.filter((x) => x.timestamp === segs[1]);
    expect(last.filter((x) => x.payload.end).map((x) => x.payload.duration)).toEqual([80000 - 0xffff, 80000 - 0xffff, 80000 - 0xffff]);
    expect(p.filter((x) => x.marker)).toHaveLength(1);
    // Send offsets never go backwards.
    for (let i = 1; i < p.length; i++) expect(p[i]!.sendOffset).toBeGreaterThanOrEqual(p[i - 1]!.sendOffset);
  });
});

describe('TelephoneEventReceiver (RFC 4733 §2.5.2)', () => {
  it('reports one begin and one end per key press, deduplicating the end packets', () => {
    const rx = new TelephoneEventReceiver();
    const r = feed(rx, planTelephoneEvent({ event: digitToEvent('#'), durationMs: 120, timestamp: 5000 }));
    expect(r).toEqual([
      { kind: 'begin', event: 11, digit: '#', timestamp: 5000 },
      { kind: 'end', event: 11, digit: '#', timestamp: 5000, duration: 960, durationMs: 120, endLost: false },
    ]);
  });

  it('tolerates a lost start (first packets missing)', () => {
    const rx = new TelephoneEventReceiver();
    const r = feed(rx, planTelephoneEvent({ event: 7, durationMs: 100, timestamp: 100 }).slice(2));
    expect(r.map((x) => x.kind)).toEqual(['begin', 'end']);
    expect(r[1]).toMatchObject({ digit: '7', duration: 800, endLost: false });
  });

  it('tolerates a lost end: closes on the next event, or on the timeout', () => {
    const rx = new TelephoneEventReceiver({ timeoutMs: 200 });
    const one = planTelephoneEvent({ event: 1, durationMs: 100, timestamp: 0 }).filter((p) => !p.payload.end);
    const two = planTelephoneEvent({ event: 2, durationMs: 100, timestamp: 1600 }).filter((p) => !p.payload.end);
    const r = [...feed(rx, one), ...feed(rx, two, 200)];
    expect(r.map((x) => `${x.kind}:${x.digit}`)).toEqual(['begin:1', 'end:1', 'begin:2']);
    expect(r[1]).toMatchObject({ endLost: true, duration: 640 });
    expect(rx.onTick(300)).toBeUndefined();
    expect(rx.onTick(200 + 60 + 200)).toMatchObject({ kind: 'end', digit: '2', endLost: true, duration: 640 });
    expect(rx.onTick(1000)).toBeUndefined();
  });

  it('joins the segments of a long event into one duration and ignores stragglers', () => {
    const rx = new TelephoneEventReceiver();
    const plan = planTelephoneEvent({ event: 0, durationMs: 10000, timestamp: 0xffff0000 });
    const r = feed(rx, plan);
    expect(r.map((x) => x.kind)).toEqual(['begin', 'end']);
    expect(r[1]).toMatchObject({ duration: 80000, durationMs: 10000, endLost: false });
    // A retransmitted end packet and a stale update arriving later change nothing.
    expect(rx.onPacket(payloadOf(plan[plan.length - 1]!), plan[plan.length - 1]!.timestamp, false, 20000)).toEqual([]);
    expect(rx.onPacket(payloadOf(plan[3]!), plan[3]!.timestamp, false, 20001)).toEqual([]);
  });
});

describe('TelephoneEventReceiver with senders that set E on every segment', () => {
  it('still joins the segments of a long event into one key press', () => {
    const rx = new TelephoneEventReceiver();
    // Mark the end of the first (full) segment with E, three times, as some senders do.
    const plan = planTelephoneEvent({ event: 9, durationMs: 10000, timestamp: 1000 }).map((p) =>
      p.payload.duration === 0xffff ? { ...p, payload: { ...p.payload, end: true } } : p,
    );
    const first = plan.filter((p) => p.timestamp === 1000);
    const withRepeats = [...first, first[first.length - 1]!, first[first.length - 1]!, ...plan.filter((p) => p.timestamp !== 1000)];
    const r = feed(rx, withRepeats);
    expect(r.map((x) => x.kind)).toEqual(['begin', 'end']);
    expect(r[1]).toMatchObject({ digit: '9', duration: 80000, endLost: false });
  });

  it('ends a full-length segment on the timeout when no next segment comes', () => {
    const rx = new TelephoneEventReceiver({ timeoutMs: 200 });
    const plan = planTelephoneEvent({ event: 3, durationMs: 10000, timestamp: 0 })
      .filter((p) => p.timestamp === 0)
      .map((p) => (p.payload.duration === 0xffff ? { ...p, payload: { ...p.payload, end: true } } : p));
    const r = feed(rx, plan);
    expect(r.map((x) => x.kind)).toEqual(['begin']);
    expect(rx.onTick(0xffff / 8 + 300)).toMatchObject({ kind: 'end', digit: '3', duration: 0xffff, endLost: false });
  });
});
