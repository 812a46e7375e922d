import type { JitterBufferOutput, JitterBufferStats } from './jitter-buffer.js';
import type { VoipMetrics } from './rtcp.js';
import type { ReceptionStatistics } from './rtcp-stats.js';

/**
 * Collects the RFC 3611 §4.7 VoIP metrics of a received stream and builds the XR block:
 * loss and discard rates, burst/gap density and duration (§4.7.2, with the Gmin threshold),
 * round-trip and end-system delay, receiver configuration and jitter-buffer sizes.
 *
 * Burst/gap (§4.7.2): a *burst* is the longest run that starts and ends with a lost or
 * discarded frame and contains no Gmin consecutive received frames; a lost frame more than
 * Gmin frames from any other is an isolated loss inside a *gap*. The collector walks the
 * playout order (what the listener actually got) in O(1) state per frame: a loss is first
 * booked to the gap, and promoted into a burst if another loss follows within Gmin frames.
 *
 * Levels (signal, noise, RERL) and the E-model figures (R, MOS) need the audio itself and are
 * reported as unavailable (127), as §4.7.5–4.7.6 allow.
 *
 * @example
 * ```ts
 * const xr = new VoipMetricsCollector();
 * const out = jb.pull(now); xr.onPlayout(out);
 * const metrics = xr.report({ ssrc: remoteSsrc, reception, jitterBuffer: jb.stats });
 * sendRtcp([{ type: 'xr', ssrc: mySsrc, blocks: [{ blockType: 7, metrics }] }]);
 * ```
 */
export class VoipMetricsCollector {
  private readonly gmin: number;
  private readonly frameMs: number;
  private run = 0;
  private sawLoss = false;
  private burstOpen = false;
  private burstLen = 0;
  private burstLoss = 0;
  private bursts = 0;
  private burstPackets = 0;
  private burstLosses = 0;
  private gapPackets = 0;
  private gapLosses = 0;
  private maxTargetMs = 0;

  constructor(options: { gmin?: number; frameMs?: number } = {}) {
    this.gmin = options.gmin ?? 16;
    this.frameMs = options.frameMs ?? 20;
  }

  /** Feeds one playout slot: a frame counts as received, a (non-inserted) concealment as lost or discarded. */
  onPlayout(out: JitterBufferOutput): void {
    if (out.kind === 'frame') this.onReceived();
    else if (out.kind === 'conceal' && !out.inserted) this.onLost();
  }

  /** One frame received and played. */
  onReceived(): void {
    this.run++;
    if (this.burstOpen) {
      if (this.run >= this.gmin) {
        // Gmin received in a row: the burst ended at the last loss; these frames are gap.
        this.bursts++;
        this.burstPackets += this.burstLen;
        this.burstLosses += this.burstLoss;
        this.burstOpen = false;
        this.gapPackets += this.run;
      }
    } else {
      this.gapPackets++;
    }
  }

  /** One frame lost or discarded. */
  onLost(): void {
    if (this.burstOpen) {
      this.burstLen += this.run + 1;
      this.burstLoss++;
    } else if (this.sawLoss && this.run < this.gmin) {
      // The previous loss was booked as an isolated gap loss: promote it (and the frames
      // since) into a new burst with this one.
      this.gapLosses--;
      this.gapPackets -= this.run + 1;
      this.burstOpen = true;
      this.burstLen = this.run + 2;
      this.burstLoss = 2;
    } else {
      this.gapPackets++;
      this.gapLosses++;
    }
    this.sawLoss = true;
    this.run = 0;
  }

  /** Builds the block for the next report. */
  report(input: {
    ssrc: number;
    reception?: ReceptionStatistics;
    jitterBuffer?: Readonly<JitterBufferStats>;
    /** Round-trip time in seconds, if known (RTCP). */
    roundTripTime?: number;
    /** The buffer's capacity in frames (JB abs max); 128 by default. */
    capacityFrames?: number;
  }): VoipMetrics {
    const jb = input.jitterBuffer;
    const expected = input.reception ? Math.max(1, input.reception.expected) : 1;
    const lost = input.reception ? Math.max(0, input.reception.cumulativeLost) : 0;
    const rate = (n: number, d: number): number => (d > 0 ? Math.min(255, Math.floor((n * 256) / d)) : 0);
    const burstPackets = this.burstPackets + (this.burstOpen ? this.burstLen : 0);
    const burstLosses = this.burstLosses + (this.burstOpen ? this.burstLoss : 0);
    const bursts = this.bursts + (this.burstOpen ? 1 : 0);
    const gaps = this.gapPackets > 0 ? bursts + 1 : 0;
    const target = jb?.targetDelayMs ?? 0;
    if (target > this.maxTargetMs) this.maxTargetMs = target;
    const meanBufferMs = jb && jb.jitterBufferEmittedCount > 0 ? (jb.jitterBufferDelay / jb.jitterBufferEmittedCount) * 1000 : target;
    const u16 = (v: number): number => Math.max(0, Math.min(0xffff, Math.round(v)));
    return {
      ssrc: input.ssrc,
      lossRate: rate(lost, expected),
      discardRate: rate(jb?.packetsLate ?? 0, expected),
      burstDensity: rate(burstLosses, burstPackets),
      gapDensity: rate(this.gapLosses, this.gapPackets),
      burstDuration: bursts > 0 ? u16((burstPackets * this.frameMs) / bursts) : 0,
      gapDuration: gaps > 0 ? u16((this.gapPackets * this.frameMs) / gaps) : 0,
      roundTripDelay: input.roundTripTime !== undefined ? u16(input.roundTripTime * 1000) : 0,
      // §4.7.3 end system delay: buffering plus one frame to packetise and one to decode.
      endSystemDelay: u16(meanBufferMs + 2 * this.frameMs),
      signalLevel: 127,
      noiseLevel: 127,
      rerl: 127,
      gmin: this.gmin,
      rFactor: 127,
      extRFactor: 127,
      mosLq: 127,
      mosCq: 127,
      // §4.7.6 RX config: PLC unspecified (00), JBA adaptive (11), JB rate 0.
      rxConfig: 0x30,
      jbNominal: u16(target),
      jbMaximum: u16(this.maxTargetMs),
      jbAbsMax: u16((input.capacityFrames ?? 128) * this.frameMs),
    };
  }
}
