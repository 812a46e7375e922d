import { type JitterTargetRule, QuantileTargetRule } from './jitter-target.js';
import { SequenceUnwrapper, TimestampUnwrapper } from './sequence.js';

/** What the jitter buffer needs from a packet ({@link RtpPacket} satisfies it). */
export interface JitterBufferPacket {
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly marker: boolean;
  /** The frame's bytes; the buffer keeps this reference until the frame is played. */
  readonly payload: Uint8Array;
}

/** What {@link JitterBuffer.pull} returns for one 20 ms playout slot. */
export type JitterBufferOutput =
  | {
      kind: 'frame';
      payload: Uint8Array;
      /**
       * Extended (unwrapped) RTP timestamp and sequence number of the frame; they start from
       * the stream's first packet and restart after an SSRC change or a resynchronisation.
       */
      timestamp: number;
      sequenceNumber: number;
      ssrc: number;
      /** Time the frame spent in the buffer, ms. */
      bufferDelayMs: number;
    }
  | {
      kind: 'conceal';
      /** True if the buffer inserted this frame on purpose to grow its delay (no frame is missing). */
      inserted: boolean;
      /** Consecutive concealed slots including this one (PLC fades out as this grows). */
      consecutive: number;
    }
  | { kind: 'silence' };

/** The W3C webrtc-stats figures (RTCInboundRtpStreamStats) and a few of our own. */
export interface JitterBufferStats {
  packetsReceived: number;
  /** Packets dropped: late, duplicate, overflow, flushed on SSRC change, or removed to shrink delay. */
  packetsDiscarded: number;
  /** Packets that arrived after their playout slot had passed. */
  packetsLate: number;
  packetsDuplicated: number;
  /** Frames removed to shrink the delay (NetEq "accelerate", W3C removedSamplesForAcceleration / frame). */
  framesRemoved: number;
  /** Frames inserted to grow the delay (W3C insertedSamplesForDeceleration / frame). */
  framesInserted: number;
  /** Sum over emitted samples of the time each spent in the buffer, seconds (W3C jitterBufferDelay). */
  jitterBufferDelay: number;
  /** Sum over emitted samples of the target delay at emission, seconds (W3C jitterBufferTargetDelay). */
  jitterBufferTargetDelay: number;
  /** Samples emitted from received frames (W3C jitterBufferEmittedCount). */
  jitterBufferEmittedCount: number;
  /** Concealed samples (W3C concealedSamples), inserted ones included. */
  concealedSamples: number;
  /** Concealed samples after 5 consecutive concealed frames (W3C silentConcealedSamples, approximated). */
  silentConcealedSamples: number;
  /** Runs of concealment (W3C concealmentEvents). */
  concealmentEvents: number;
  insertedSamplesForDeceleration: number;
  removedSamplesForAcceleration: number;
  /** Current target buffer delay, ms. */
  targetDelayMs: number;
  /** Frames currently held. */
  bufferedFrames: number;
  /** Number of SSRC changes and resynchronisations. */
  resyncs: number;
}

/** Options of {@link JitterBuffer}. */
export interface JitterBufferOptions {
  /** Media clock rate; 8000 by default. */
  clockRate?: number;
  /** Frame duration; 20 ms by default (the buffer hands out one frame per pull). */
  frameMs?: number;
  /** Frames held at most (the bound a remote peer cannot exceed), rounded up to a power of two; 128 (2.56 s) by default. */
  capacity?: number;
  /** Delay before the first frame plays, until the target rule has data; 40 ms by default. */
  initialDelayMs?: number;
  /** Never aim below / above these buffer delays (ms above the fastest packet). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** A fixed-delay buffer: play at the first packet's transit + this, never adapt. */
  fixedDelayMs?: number;
  /** The target-delay rule; a {@link QuantileTargetRule} by default. */
  targetRule?: JitterTargetRule;
  /**
   * Asked before a frame is removed to shrink the delay: false keeps an audible frame, and
   * the removal waits for a quieter one (a pause between words), unless the excess reaches
   * 100 ms. Removing a frame of speech is audible as a click or a clipped syllable; removing
   * one of silence is not (the same reason NetEq accelerates in low-energy frames). Absent:
   * any frame may go.
   */
  canRemove?: (packet: JitterBufferPacket) => boolean;
}

const EMPTY = 0;
const QUEUED = 1;
const DONE = 2; // played
const MISSED = 3; // its slot was concealed

/**
 * An adaptive playout buffer for 20 ms audio frames. Pure: times are arguments, so it runs
 * the same in a test, in the bench's simulated network and behind a real socket.
 *
 * Model: a frame with media time `m` (RTP timestamp / clock rate, ms) plays at `m + offset`.
 * `offset` only changes by whole frames — one inserted concealment frame (+20 ms) or one
 * removed frame (−20 ms) — or freely at the start of a talkspurt, which is where changing
 * it is inaudible. A talkspurt start is recognised by its timestamp jumping ahead of the
 * sequence number after DTX silence (RFC 3551 §4.1 — the packet also carries the marker
 * bit, but the jump is what says how much silence there was, and it survives the loss of
 * the marker packet). The target offset
 * comes from a {@link JitterTargetRule} (default {@link QuantileTargetRule}); the buffer keeps
 * `offset` in the band [target, target + 1 frame + 5 ms]:
 *
 * - **underrun** (the due frame is missing and nothing later is queued) while `offset` <
 *   target + 10 ms: conceal; if the awaited packet then arrives after its slot, the network
 *   stalled (it was not DTX silence), so the playout point is held back one frame
 *   retroactively — the concealment already played counts as an inserted frame and the packet
 *   plays instead of being late. Deciding on arrival means silence gaps cost nothing. This is
 *   also how the buffer follows a sender whose clock is slow: the target creeps up and
 *   underruns add a frame when needed.
 * - **loss** (the due frame is missing but later ones are queued): conceal and move on.
 * - **nothing queued** beyond that (a stall, or DTX silence): conceal and let media time run,
 *   still waiting for the same sequence number — it either starts a talkspurt (later
 *   timestamp: re-anchor) or turns out late (older timestamp: dropped on arrival).
 * - **too much delay** (`offset` more than a frame + 5 ms above the target for 1 s, or for
 *   0.2 s when 100 ms above): remove one queued frame, if the next is queued too so the
 *   removal cannot cause an underrun. This follows a fast sender clock and releases the
 *   delay after a spike, gradually.
 * - **below target** while frames are flowing: by more than a frame (a level shift), insert
 *   at once (fast attack); by less for half a second, insert.
 *
 * Packets are indexed by extended sequence number in a fixed ring (`capacity` frames), so
 * reordering, duplicates (same sequence already queued or played), late packets (sequence
 * before the playout point), sequence and timestamp wrap (both unwrapped) and SSRC changes
 * (flush and re-anchor, keeping what the rule learned about the network) are O(1). A packet
 * too far ahead of the playout point is dropped; three in a row mean the sender jumped, and
 * the buffer resynchronises to them.
 *
 * `push` allocates nothing (the packet object is kept until played); `pull` returns one small
 * result object per frame. Pull once per frame of real time — pace against a start time
 * rather than trusting `setInterval` — though a consumer that runs slow or fast is corrected
 * like clock drift (frames removed or inserted), because the buffer measures its delay.
 *
 * @example
 * ```ts
 * const jb = new JitterBuffer();
 * socket.on('message', (msg) => jb.push(RtpPacket.parse(msg), performance.now()));
 * setInterval(() => {
 *   const out = jb.pull(performance.now());
 *   if (out.kind === 'frame') play(decode(out.payload));
 *   else if (out.kind === 'conceal') play(plc.conceal());
 * }, 20);
 * ```
 */
export class JitterBuffer {
  private readonly rate: number;
  private readonly frameMs: number;
  private readonly frameTs: number;
  private readonly cap: number;
  private readonly mask: number;
  private readonly initialDelayMs: number;
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly fixedDelayMs: number | undefined;
  private readonly canRemove: ((packet: JitterBufferPacket) => boolean) | undefined;
  private readonly rule: JitterTargetRule;

  private readonly slotState: Uint8Array;
  private readonly slotSeq: Float64Array;
  private readonly slotTs: Float64Array;
  private readonly slotArrival: Float64Array;
  private readonly slotPacket: (JitterBufferPacket | undefined)[];
  private queued = 0;

  private ssrc = -1;
  private readonly seqs = new SequenceUnwrapper();
  private readonly tss = new TimestampUnwrapper();
  private tsOrigin = 0;
  private firstTransit = Number.NaN;
  private lowestSeq = Infinity;

  private playing = false;
  private playSeq = 0;
  private playTs = 0;
  private offset = 0;
  private consecutiveConceal = 0;
  private farAhead = 0;
  private excessSinceMs = Number.NaN;
  private lastNowMs = 0;
  private stallMayHold = false;
  private consecutiveLate = 0;
  private deficitSinceMs = Number.NaN;

  private readonly s: JitterBufferStats = {
    packetsReceived: 0,
    packetsDiscarded: 0,
    packetsLate: 0,
    packetsDuplicated: 0,
    framesRemoved: 0,
    framesInserted: 0,
    jitterBufferDelay: 0,
    jitterBufferTargetDelay: 0,
    jitterBufferEmittedCount: 0,
    concealedSamples: 0,
    silentConcealedSamples: 0,
    concealmentEvents: 0,
    insertedSamplesForDeceleration: 0,
    removedSamplesForAcceleration: 0,
    targetDelayMs: 0,
    bufferedFrames: 0,
    resyncs: 0,
  };

  constructor(options: JitterBufferOptions = {}) {
    this.rate = options.clockRate ?? 8000;
    this.frameMs = options.frameMs ?? 20;
    this.frameTs = Math.round((this.frameMs * this.rate) / 1000);
    let cap = 1;
    while (cap < (options.capacity ?? 128)) cap <<= 1;
    this.cap = cap;
    this.mask = cap - 1;
    this.initialDelayMs = options.initialDelayMs ?? 40;
    this.minDelayMs = options.minDelayMs ?? 0;
    this.maxDelayMs = options.maxDelayMs ?? 1000;
    this.fixedDelayMs = options.fixedDelayMs;
    this.canRemove = options.canRemove;
    this.rule = options.targetRule ?? new QuantileTargetRule();
    this.slotState = new Uint8Array(cap);
    this.slotSeq = new Float64Array(cap).fill(-1);
    this.slotTs = new Float64Array(cap);
    this.slotArrival = new Float64Array(cap);
    this.slotPacket = new Array<JitterBufferPacket | undefined>(cap).fill(undefined);
  }

  /** Media time (ms) of an extended timestamp, relative to the stream's first timestamp. */
  private mediaMs(extTs: number): number {
    return ((extTs - this.tsOrigin) * 1000) / this.rate;
  }

  /** Accepts one received packet; `arrivalMs` is the local receive time. */
  push(packet: JitterBufferPacket, arrivalMs: number): void {
    const s = this.s;
    s.packetsReceived++;
    if (packet.ssrc !== this.ssrc) {
      if (this.ssrc !== -1) {
        s.packetsDiscarded += this.queued;
        s.resyncs++;
        this.rule.rebase();
      }
      this.restart(packet.ssrc);
    }
    let seq = this.seqs.unwrap(packet.sequenceNumber);
    let ts = this.tss.unwrap(packet.timestamp);
    if (Number.isNaN(this.firstTransit)) {
      this.tsOrigin = ts;
    }
    // Bound what a peer can make us hold: packets further than `capacity` from the playout
    // point (or from what is queued) are dropped; three in a row are a sender jump.
    const ref = this.playing ? this.playSeq : this.queued > 0 ? this.lowestSeq : seq;
    if (seq - ref >= this.cap || seq - ref <= -32768) {
      if (++this.farAhead < 3) {
        s.packetsDiscarded++;
        return;
      }
      s.packetsDiscarded += this.queued;
      s.resyncs++;
      this.rule.rebase();
      this.restart(packet.ssrc);
      seq = this.seqs.unwrap(packet.sequenceNumber);
      ts = this.tss.unwrap(packet.timestamp);
      this.tsOrigin = ts;
    }
    this.farAhead = 0;
    const transit = arrivalMs - this.mediaMs(ts);
    if (Number.isNaN(this.firstTransit)) this.firstTransit = transit;
    this.rule.onPacket(transit, arrivalMs);

    const i = seq & this.mask;
    if (this.slotSeq[i] === seq) {
      const st = this.slotState[i]!;
      if (st === QUEUED || st === DONE) {
        s.packetsDuplicated++;
        s.packetsDiscarded++;
        return;
      }
      if (st === MISSED) {
        s.packetsLate++;
        s.packetsDiscarded++;
        return;
      }
    }
    if (this.playing && seq >= this.playSeq && ts < this.playTs && this.queued === 0 && this.fixedDelayMs === undefined) {
      // The packet the buffer ran dry waiting for arrives after its slot: the network stalled
      // (it was not DTX silence). Hold the playout point back, retroactively — the
      // concealment already played counts as inserted frames and this packet plays instead of
      // being late — by as much as the target allows (a level shift the rule has seen, or
      // packets late for half a second in a row: the delay really is higher now), else by
      // one frame if the buffer was below its band when it ran dry.
      const behind = Math.ceil((this.playTs - ts) / this.frameTs);
      const wanted = transit <= this.target(arrivalMs) || this.consecutiveLate >= 25;
      const k = wanted ? behind : this.stallMayHold ? 1 : 0;
      if (k > 0) {
        this.stallMayHold = false;
        this.consecutiveLate = 0;
        this.playTs -= k * this.frameTs;
        this.offset += k * this.frameMs;
        s.framesInserted += k;
        s.insertedSamplesForDeceleration += k * this.frameTs;
      }
    }
    if (this.playing && (seq < this.playSeq || ts < this.playTs)) {
      // Its playout time has passed (or its ring slot is gone): late. If it is the sequence
      // number the buffer was waiting for, stop waiting for it.
      s.packetsLate++;
      this.consecutiveLate++;
      s.packetsDiscarded++;
      if (seq >= this.playSeq) {
        for (let k = this.playSeq; k <= seq; k++) {
          const j = k & this.mask;
          if (this.slotState[j] === QUEUED) this.queued--;
          this.slotState[j] = MISSED;
          this.slotSeq[j] = k;
          this.slotPacket[j] = undefined;
        }
        this.playSeq = seq + 1;
      }
      return;
    }
    if (this.slotState[i] === QUEUED) {
      // An older frame still occupies the ring slot: can only happen before playout starts.
      this.queued--;
      s.packetsDiscarded++;
    }
    this.consecutiveLate = 0;
    this.slotState[i] = QUEUED;
    this.slotSeq[i] = seq;
    this.slotTs[i] = ts;
    this.slotArrival[i] = arrivalMs;
    this.slotPacket[i] = packet;
    this.queued++;
    if (seq < this.lowestSeq) this.lowestSeq = seq;
  }

  private restart(ssrc: number): void {
    this.ssrc = ssrc;
    this.seqs.reset();
    this.tss.reset();
    this.slotState.fill(EMPTY);
    this.slotSeq.fill(-1);
    this.slotPacket.fill(undefined);
    this.queued = 0;
    this.playing = false;
    this.firstTransit = Number.NaN;
    this.lowestSeq = Infinity;
    this.farAhead = 0;
    this.excessSinceMs = Number.NaN;
  }

  /** The offset the buffer aims for now (ms, in transit terms), and the delay it implies. */
  private target(nowMs: number): number {
    if (this.fixedDelayMs !== undefined) {
      this.s.targetDelayMs = this.fixedDelayMs;
      return this.firstTransit + this.fixedDelayMs;
    }
    if (this.rule.warmingUp) {
      this.s.targetDelayMs = this.initialDelayMs;
      return this.firstTransit + this.initialDelayMs;
    }
    const delay = Math.min(this.maxDelayMs, Math.max(this.minDelayMs, this.rule.targetDelay()));
    this.s.targetDelayMs = delay;
    return this.rule.baseline(nowMs) + delay;
  }

  /**
   * Returns what to play for the slot starting at `nowMs`: call it once per frame interval
   * (every 20 ms) on the playout clock.
   */
  pull(nowMs: number): JitterBufferOutput {
    if (!this.playing) {
      if (this.queued === 0) return { kind: 'silence' };
      // Find the earliest queued frame and start when its play time comes.
      let seq = this.lowestSeq;
      for (let k = 0; k < this.cap && !(this.slotSeq[seq & this.mask] === seq && this.slotState[seq & this.mask] === QUEUED); k++) seq++;
      this.lowestSeq = seq;
      this.playSeq = seq;
      const i = seq & this.mask;
      const ts = this.slotTs[i]!;
      const start = this.mediaMs(ts) + this.target(nowMs);
      if (nowMs < start) return { kind: 'silence' };
      this.playing = true;
      this.playTs = ts;
    }
    // The offset is measured, not just booked: if the caller pulls slower or faster than real
    // time (a drifting setInterval), the real delay moves and the band rules correct it.
    this.offset = nowMs - this.mediaMs(this.playTs);
    this.lastNowMs = nowMs;
    const adaptive = this.fixedDelayMs === undefined;
    const target = this.target(nowMs);
    for (;;) {
      const i = this.playSeq & this.mask;
      const present = this.slotSeq[i] === this.playSeq && this.slotState[i] === QUEUED;
      if (present) {
        const ts = this.slotTs[i]!;
        if (ts > this.playTs) {
          // A timestamp jump: silence (DTX) before a new talkspurt. Re-anchor freely here.
          const due = this.mediaMs(ts) + (adaptive ? target : this.offset);
          if (nowMs < due && ts - this.playTs < this.rate * 60) {
            this.playTs += this.frameTs;
            if (this.playTs > ts) this.playTs = ts;
            return { kind: 'silence' };
          }
          this.playTs = ts;
          if (adaptive) this.offset = nowMs - this.mediaMs(ts);
        } else if (ts < this.playTs) {
          this.playTs = ts; // sender timestamp irregularity: follow it
        }
        if (adaptive && this.shouldRemove(nowMs, target) && (this.canRemove === undefined || this.offset - target >= 100 || this.canRemove(this.slotPacket[i]!))) {
          this.release(i, DONE);
          this.s.packetsDiscarded++;
          this.s.framesRemoved++;
          this.s.removedSamplesForAcceleration += this.frameTs;
          this.offset -= this.frameMs;
          this.excessSinceMs = nowMs;
          this.advance();
          continue;
        }
        if (this.offset >= target) this.deficitSinceMs = Number.NaN;
        else if (Number.isNaN(this.deficitSinceMs)) this.deficitSinceMs = nowMs;
        if (adaptive && this.consecutiveConceal === 0 && (this.offset < target - this.frameMs || nowMs - this.deficitSinceMs >= 500)) {
          // Below target: far below (a level shift) → insert now; slightly below for half a
          // second → insert, so the offset settles in its band instead of hovering just
          // under the target where packets at the target's edge are late.
          this.deficitSinceMs = Number.NaN;
          return this.insert();
        }
        const packet = this.slotPacket[i]!;
        const arrival = this.slotArrival[i]!;
        this.release(i, DONE);
        this.advance();
        this.consecutiveConceal = 0;
        this.stallMayHold = false;
        const delay = nowMs - arrival;
        const s = this.s;
        s.jitterBufferDelay += (delay / 1000) * this.frameTs;
        s.jitterBufferTargetDelay += (s.targetDelayMs / 1000) * this.frameTs;
        s.jitterBufferEmittedCount += this.frameTs;
        return { kind: 'frame', payload: packet.payload, timestamp: ts, sequenceNumber: this.playSeq - 1, ssrc: packet.ssrc, bufferDelayMs: delay };
      }
      // The due frame is missing.
      if (this.queued === 0 && this.consecutiveConceal === 0) {
        // Underrun: a stall or the start of a silence. Whether to hold the playout point is
        // decided when the awaited packet shows up (push): late → it was a stall.
        this.stallMayHold = adaptive && this.offset < target + 10;
      }
      if (this.queued === 0) {
        if (this.consecutiveConceal >= 500) {
          // 10 s with nothing queued: stop the clock and re-anchor on the next packet.
          this.playing = false;
          return { kind: 'silence' };
        }
        // Nothing queued: either a stall or silence (DTX). Let media time run on but keep
        // waiting for the same sequence number: if it comes with a later timestamp it starts
        // a talkspurt; if it comes with an older one, push() counts it late.
        this.playTs += this.frameTs;
        return this.conceal(false);
      }
      // Frames are queued beyond the missing one: it is lost (or reordered past its time).
      // Find the next queued frame; if earlier concealment already covered the media time
      // up to it (time ran on while nothing was queued), skip straight to it.
      let next = this.playSeq + 1;
      for (let k = 0; k < this.cap && !(this.slotSeq[next & this.mask] === next && this.slotState[next & this.mask] === QUEUED); k++) next++;
      const missing = next - this.playSeq;
      const gapFrames = Math.round((this.slotTs[next & this.mask]! - this.playTs) / this.frameTs);
      if (gapFrames <= 0) {
        this.skipTo(next);
        continue;
      }
      this.skipTo(this.playSeq + Math.min(missing, Math.max(1, missing - (gapFrames - 1))));
      this.playTs += this.frameTs;
      return this.conceal(false);
    }
  }

  /** Marks the sequence numbers before `seq` as missed and moves the playout point to it. */
  private skipTo(seq: number): void {
    for (let k = this.playSeq; k < seq; k++) {
      const j = k & this.mask;
      this.slotState[j] = MISSED;
      this.slotSeq[j] = k;
      this.slotPacket[j] = undefined;
    }
    this.playSeq = seq;
    if (this.lowestSeq < seq) this.lowestSeq = seq;
  }

  private shouldRemove(nowMs: number, target: number): boolean {
    const excess = this.offset - target;
    // Remove only when the offset would stay above the target afterwards (5 ms hysteresis).
    if (excess < this.frameMs + 5) {
      this.excessSinceMs = Number.NaN;
      return false;
    }
    if (Number.isNaN(this.excessSinceMs)) this.excessSinceMs = nowMs;
    // Only remove when the next frame is queued too, so the removal cannot cause an underrun.
    const next = (this.playSeq + 1) & this.mask;
    if (!(this.slotSeq[next] === this.playSeq + 1 && this.slotState[next] === QUEUED)) return false;
    const hold = excess >= 100 ? 200 : 1000;
    return nowMs - this.excessSinceMs >= hold;
  }

  private insert(): JitterBufferOutput {
    this.offset += this.frameMs;
    this.s.framesInserted++;
    this.s.insertedSamplesForDeceleration += this.frameTs;
    return this.conceal(true);
  }

  private conceal(inserted: boolean): JitterBufferOutput {
    const s = this.s;
    if (this.consecutiveConceal === 0) s.concealmentEvents++;
    this.consecutiveConceal++;
    s.concealedSamples += this.frameTs;
    if (this.consecutiveConceal > 5) s.silentConcealedSamples += this.frameTs;
    return { kind: 'conceal', inserted, consecutive: this.consecutiveConceal };
  }

  private release(i: number, state: number): void {
    this.slotState[i] = state;
    this.slotPacket[i] = undefined;
    this.queued--;
  }

  private advance(): void {
    this.playSeq++;
    this.playTs += this.frameTs;
    if (this.queued === 0) {
      this.lowestSeq = Infinity;
    } else if (this.lowestSeq < this.playSeq) {
      this.lowestSeq = this.playSeq;
    }
  }

  /** Frames the ring holds at most. */
  get capacity(): number {
    return this.cap;
  }

  /** A snapshot of the statistics. */
  get stats(): Readonly<JitterBufferStats> {
    this.s.bufferedFrames = this.queued;
    return { ...this.s };
  }

  /** The current playout offset minus the target (ms); positive = more delay than needed. */
  get excessDelayMs(): number {
    return this.playing ? this.offset - this.target(this.lastNowMs) : 0;
  }
}
