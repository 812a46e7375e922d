import { TelephoneEventParseError } from './errors.js';
import { timestampDiff } from './sequence.js';

/**
 * RFC 4733 telephone-events (DTMF over RTP): the payload codec, a sender that plans the
 * packets of one digit, and a receiver that turns a stream of event packets into digits.
 *
 * ```
 * RFC 4733 §2.3 payload format:
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     event     |E|R| volume    |          duration             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * Sender rules (§2.5.1): every packet of an event carries the event's start timestamp; the
 * first has the marker bit; the duration grows with each update; the end is sent three times
 * with the E bit and the final duration (§2.5.1.4); an event longer than the 16-bit duration
 * field is split into segments, each a new timestamp (start + elapsed) without marker, and
 * only the last segment ends with E (§2.5.1.3).
 *
 * Receiver rules (§2.5.2): packets with the same timestamp are updates of one event; repeated
 * end packets are duplicates; a lost first packet is tolerated (an update starts the event);
 * a lost end is tolerated (the event ends when a new event starts or after a timeout); the
 * segments of a long event are joined whether or not the sender set E on the inner ones.
 *
 * @example
 * ```ts
 * const packets = planTelephoneEvent({ event: digitToEvent('5'), durationMs: 100, timestamp: ts });
 * // send packets[i] at i × 20 ms: marker on [0], E bit on the last three
 * const rx = new TelephoneEventReceiver();
 * const digit = rx.onPacket(payload, rtpTimestamp, marker, nowMs); // { kind: 'end', digit: '5', … }
 * ```
 */
export interface TelephoneEventPayload {
  /** Event code (0-9, 10 = '*', 11 = '#', 12-15 = A-D, 16 = flash). */
  event: number;
  /** E bit: this packet reports the end of the event. */
  end: boolean;
  /** Power level of the tone, 0..63 meaning 0..-63 dBm0. */
  volume: number;
  /** Duration so far in timestamp units (samples). */
  duration: number;
}

/** Parses the 4-byte payload. Throws {@link TelephoneEventParseError}. */
export function parseTelephoneEvent(payload: Uint8Array): TelephoneEventPayload {
  if (payload.length < 4) throw new TelephoneEventParseError(`telephone-event payload of ${payload.length} bytes, expected 4`);
  return {
    event: payload[0]!,
    end: (payload[1]! & 0x80) !== 0,
    volume: payload[1]! & 0x3f,
    duration: (payload[2]! << 8) | payload[3]!,
  };
}

/** Writes the 4-byte payload at `out[offset]`; returns 4. */
export function writeTelephoneEvent(p: TelephoneEventPayload, out: Uint8Array, offset = 0): number {
  out[offset] = p.event & 0xff;
  out[offset + 1] = (p.end ? 0x80 : 0) | (p.volume & 0x3f);
  out[offset + 2] = (p.duration >>> 8) & 0xff;
  out[offset + 3] = p.duration & 0xff;
  return 4;
}

const DIGITS = '0123456789*#ABCD';

/** Maps a DTMF character (0-9 * # A-D, case-insensitive) to its event code; throws RangeError otherwise. */
export function digitToEvent(digit: string): number {
  const i = DIGITS.indexOf(digit.toUpperCase());
  if (digit.length !== 1 || i < 0) throw new RangeError(`'${digit}' is not a DTMF digit`);
  return i;
}

/** Maps an event code to its DTMF character, or undefined for non-DTMF events (16 = flash…). */
export function eventToDigit(event: number): string | undefined {
  return event >= 0 && event < 16 ? DIGITS[event] : undefined;
}

/** One packet of a planned event. */
export interface PlannedTelephoneEventPacket {
  /** When to send it, in timestamp units after the event start. */
  sendOffset: number;
  /** RTP timestamp of the packet (the start of its segment). */
  timestamp: number;
  marker: boolean;
  payload: TelephoneEventPayload;
}

/** Options for {@link planTelephoneEvent}. */
export interface PlanTelephoneEventOptions {
  event: number;
  /** Total duration of the tone. */
  durationMs: number;
  /** RTP timestamp of the event start (the media timestamp at which the tone begins). */
  timestamp: number;
  /** Clock rate of the telephone-event payload type; 8000 by default. */
  clockRate?: number;
  /** Interval between updates; 20 ms by default (one per audio frame). */
  packetIntervalMs?: number;
  /** Volume 0..63 (-dBm0); 10 by default. */
  volume?: number;
  /** Longest segment in timestamp units; 0xFFFF by default (§2.5.1.3). */
  maxSegmentDuration?: number;
}

/**
 * Plans every packet of one event: updates at the packet interval, marker on the first, three
 * end packets, and segments for events longer than the duration field. The caller assigns
 * consecutive sequence numbers when sending.
 */
export function planTelephoneEvent(options: PlanTelephoneEventOptions): PlannedTelephoneEventPacket[] {
  const rate = options.clockRate ?? 8000;
  const step = Math.max(1, Math.round(((options.packetIntervalMs ?? 20) * rate) / 1000));
  const total = Math.max(step, Math.round((options.durationMs * rate) / 1000));
  const maxSeg = Math.min(0xffff, options.maxSegmentDuration ?? 0xffff);
  const volume = options.volume ?? 10;
  const out: PlannedTelephoneEventPacket[] = [];
  let segStart = 0;
  let first = true;
  while (segStart < total) {
    const segLen = Math.min(maxSeg, total - segStart);
    const last = segStart + segLen >= total;
    const ts = (options.timestamp + segStart) >>> 0;
    for (let d = step; ; d += step) {
      const dur = Math.min(d, segLen);
      const final = dur === segLen;
      if (final && last) break; // the end packets below carry the final duration
      out.push({ sendOffset: segStart + dur - step, timestamp: ts, marker: first, payload: { event: options.event, end: false, volume, duration: dur } });
      first = false;
      if (final) break;
    }
    if (last) {
      const endOffset = out.length > 0 ? Math.max(out[out.length - 1]!.sendOffset + step, segStart + segLen - step) : 0;
      for (let k = 0; k < 3; k++) {
        out.push({ sendOffset: endOffset + k * step, timestamp: ts, marker: first && k === 0, payload: { event: options.event, end: true, volume, duration: segLen } });
      }
      first = false;
    }
    segStart += segLen;
  }
  return out;
}

/** What {@link TelephoneEventReceiver} reports. */
export type TelephoneEventReport =
  | { kind: 'begin'; event: number; digit: string | undefined; timestamp: number }
  | {
      kind: 'end';
      event: number;
      digit: string | undefined;
      timestamp: number;
      /** Total duration in timestamp units (summed over segments). */
      duration: number;
      durationMs: number;
      /** True if no end packet arrived (ended by a new event or the timeout). */
      endLost: boolean;
    };

/** Options for {@link TelephoneEventReceiver}. */
export interface TelephoneEventReceiverOptions {
  clockRate?: number;
  /** End an event whose end packets were all lost after this much silence; 200 ms by default. */
  timeoutMs?: number;
}

/**
 * Turns telephone-event packets into begin/end reports, one per key press. State is bounded:
 * the current event plus a 16-entry ring of recently ended timestamps (to drop the repeated
 * end packets and late updates of an event already reported).
 */
export class TelephoneEventReceiver {
  private readonly rate: number;
  private readonly timeoutMs: number;
  private active = false;
  private event = 0;
  private timestamp = 0;
  private segmentTimestamp = 0;
  private priorSegments = 0;
  private duration = 0;
  private lastPacketMs = 0;
  private segmentEnded = false;
  private readonly ended = new Float64Array(16).fill(-1);
  private endedNext = 0;

  constructor(options: TelephoneEventReceiverOptions = {}) {
    this.rate = options.clockRate ?? 8000;
    this.timeoutMs = options.timeoutMs ?? 200;
  }

  /**
   * Handles one packet; returns up to two reports (the end of a previous event whose end was
   * lost, then the begin or end of this one). Throws {@link TelephoneEventParseError}.
   */
  onPacket(payload: Uint8Array, rtpTimestamp: number, _marker: boolean, nowMs: number): TelephoneEventReport[] {
    const p = parseTelephoneEvent(payload);
    const ts = rtpTimestamp >>> 0;
    const out: TelephoneEventReport[] = [];
    if (this.active && this.segmentEnded && ts === this.segmentTimestamp) return out; // repeated end of a full segment
    if (this.wasEnded(ts)) return out; // repeated end packet or stale update (§2.5.2.2)
    if (this.active) {
      if (ts === this.segmentTimestamp) {
        // Update of the current segment.
      } else if (p.event === this.event && timestampDiff(ts, this.segmentTimestamp) > 0 && timestampDiff(ts, this.segmentTimestamp) <= this.duration + this.rate) {
        // §2.5.1.3: the next segment of a long event (timestamp = previous start + duration).
        this.priorSegments += this.duration;
        this.rememberEnded(this.segmentTimestamp);
        this.segmentTimestamp = ts;
        this.duration = 0;
        this.segmentEnded = false;
      } else if (timestampDiff(ts, this.segmentTimestamp) < 0) {
        return out; // an old event's straggler
      } else {
        out.push(this.finish(!this.segmentEnded));
      }
    }
    if (!this.active) {
      // A begin, whether or not the marker packet arrived (§2.5.2.1: tolerate its loss).
      this.active = true;
      this.event = p.event;
      this.timestamp = ts;
      this.segmentTimestamp = ts;
      this.priorSegments = 0;
      this.duration = 0;
      this.segmentEnded = false;
      out.push({ kind: 'begin', event: p.event, digit: eventToDigit(p.event), timestamp: ts });
    }
    if (p.duration > this.duration) this.duration = p.duration;
    this.lastPacketMs = nowMs;
    if (p.end) {
      if (p.duration === 0xffff) {
        // A full-length segment that ends with E: senders differ on whether a long event's
        // inner segments carry E, so wait — a next segment continues the event, silence
        // (onTick) or another event ends it.
        this.segmentEnded = true;
      } else {
        out.push(this.finish(false));
      }
    }
    return out;
  }

  /** Ends an event whose end packets never came, after `timeoutMs` without packets. */
  onTick(nowMs: number): TelephoneEventReport | undefined {
    if (this.active && nowMs - this.lastPacketMs >= this.timeoutMs) return this.finish(!this.segmentEnded);
    return undefined;
  }

  private finish(endLost: boolean): TelephoneEventReport {
    this.active = false;
    this.rememberEnded(this.segmentTimestamp);
    const duration = this.priorSegments + this.duration;
    return {
      kind: 'end',
      event: this.event,
      digit: eventToDigit(this.event),
      timestamp: this.timestamp,
      duration,
      durationMs: (duration * 1000) / this.rate,
      endLost,
    };
  }

  private rememberEnded(ts: number): void {
    this.ended[this.endedNext] = ts;
    this.endedNext = (this.endedNext + 1) & 15;
  }

  private wasEnded(ts: number): boolean {
    for (let i = 0; i < 16; i++) if (this.ended[i] === ts) return true;
    return false;
  }
}
