import { ntpMiddle32, ntpMiddle32FromUnixMs } from './ntp-time.js';
import type { RtcpReportBlock, RtcpSenderReport } from './rtcp.js';

/**
 * Reception statistics for one source, as RFC 3550 Appendix A computes them:
 * §A.1 sequence validation (probation of MIN_SEQUENTIAL packets, MAX_DROPOUT/MAX_MISORDER,
 * restart on two sequential packets after a big jump), §A.3 expected/lost and fraction lost
 * per interval, §A.8 interarrival jitter, and LSR/DLSR bookkeeping for the report block the
 * receiver sends back (§6.4.1). Allocation-free per packet.
 *
 * @example
 * ```ts
 * const stats = new ReceptionStatistics(remoteSsrc, 8000);
 * stats.onPacket(pkt.sequenceNumber, pkt.timestamp, arrivalMs);
 * const block = stats.makeReportBlock(nowUnixMs); // for the next RR/SR
 * ```
 */
export class ReceptionStatistics {
  /** §A.1 constants. */
  static readonly MAX_DROPOUT = 3000;
  static readonly MAX_MISORDER = 100;
  static readonly MIN_SEQUENTIAL = 2;
  private static readonly RTP_SEQ_MOD = 1 << 16;

  private maxSeq = 0;
  private cycles = 0;
  private baseSeq = 0;
  private badSeq = ReceptionStatistics.RTP_SEQ_MOD + 1;
  private probation = ReceptionStatistics.MIN_SEQUENTIAL;
  /** Packets received and accepted as valid (after probation). */
  received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private transit = 0;
  private haveTransit = false;
  /** §A.8 jitter estimate in timestamp units, as a float (the report carries it truncated). */
  jitter = 0;
  private lsr = 0;
  private lsrArrivalMs = -1;
  private initialised = false;

  constructor(
    /** SSRC of the source these statistics describe. */
    readonly ssrc: number,
    /** Media clock rate (Hz) used to convert arrival times to timestamp units for jitter. */
    readonly clockRate: number,
  ) {}

  /**
   * Records a received packet. Returns false if §A.1 says it is not (yet) valid: still on
   * probation, or a jump the source has not confirmed. `arrivalMs` is the local arrival time.
   */
  onPacket(seq: number, rtpTimestamp: number, arrivalMs: number): boolean {
    if (!this.initialised) {
      this.initSeq(seq);
      this.maxSeq = seq - 1;
      this.initialised = true;
    }
    if (!this.updateSeq(seq)) return false;
    // §A.8: D(i-1,i) = (Rj - Ri) - (Sj - Si); J += (|D| - J) / 16, in timestamp units.
    const arrival = (arrivalMs * this.clockRate) / 1000;
    const transit = arrival - rtpTimestamp;
    if (this.haveTransit) {
      // Wrap the RTP timestamp difference into int32 so a timestamp wrap is not a jump.
      let d = transit - this.transit;
      d = d - Math.round(d / 0x1_0000_0000) * 0x1_0000_0000;
      if (d < 0) d = -d;
      this.jitter += (d - this.jitter) / 16;
    }
    this.transit = transit;
    this.haveTransit = true;
    return true;
  }

  private initSeq(seq: number): void {
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.badSeq = ReceptionStatistics.RTP_SEQ_MOD + 1;
    this.cycles = 0;
    this.received = 0;
    this.receivedPrior = 0;
    this.expectedPrior = 0;
  }

  // RFC 3550 §A.1 update_seq, transcribed.
  private updateSeq(seq: number): boolean {
    const MOD = ReceptionStatistics.RTP_SEQ_MOD;
    const udelta = (seq - this.maxSeq) & 0xffff;
    if (this.probation) {
      if (seq === ((this.maxSeq + 1) & 0xffff)) {
        this.probation--;
        this.maxSeq = seq;
        if (this.probation === 0) {
          this.initSeq(seq);
          this.received++;
          return true;
        }
      } else {
        this.probation = ReceptionStatistics.MIN_SEQUENTIAL - 1;
        this.maxSeq = seq;
      }
      return false;
    } else if (udelta < ReceptionStatistics.MAX_DROPOUT) {
      if (seq < this.maxSeq) this.cycles += MOD; // wrapped
      this.maxSeq = seq;
    } else if (udelta <= MOD - ReceptionStatistics.MAX_MISORDER) {
      if (seq === this.badSeq) {
        // Two sequential packets after a very large jump: assume the source restarted.
        this.initSeq(seq);
      } else {
        this.badSeq = (seq + 1) & (MOD - 1);
        return false;
      }
    }
    // else: duplicate or reordered packet
    this.received++;
    return true;
  }

  /** Extended highest sequence number received (§A.3 `cycles + max_seq`). */
  get extendedHighestSequence(): number {
    return this.cycles + this.maxSeq;
  }

  /** Packets expected so far (§A.3). */
  get expected(): number {
    return this.extendedHighestSequence - this.baseSeq + 1;
  }

  /** Cumulative packets lost, clamped to the 24-bit signed field (§A.3). */
  get cumulativeLost(): number {
    const lost = this.expected - this.received;
    return Math.max(-0x800000, Math.min(0x7fffff, lost));
  }

  /** Records an SR from this source (for LSR/DLSR, §6.4.1). */
  onSenderReport(sr: Pick<RtcpSenderReport, 'ntpSeconds' | 'ntpFraction'>, arrivalMs: number): void {
    this.lsr = ntpMiddle32(sr.ntpSeconds, sr.ntpFraction);
    this.lsrArrivalMs = arrivalMs;
  }

  /**
   * Builds the report block for the next RR/SR and starts a new interval for the fraction
   * lost (§A.3). `nowMs` is on the same clock as the arrival times given to onSenderReport.
   */
  makeReportBlock(nowMs: number): RtcpReportBlock {
    const expected = this.expected;
    const expectedInterval = expected - this.expectedPrior;
    this.expectedPrior = expected;
    const receivedInterval = this.received - this.receivedPrior;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    const fraction = expectedInterval === 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval * 256) / expectedInterval);
    const dlsr = this.lsrArrivalMs < 0 ? 0 : Math.max(0, Math.round(((nowMs - this.lsrArrivalMs) * 65536) / 1000));
    return {
      ssrc: this.ssrc,
      fractionLost: Math.min(255, fraction),
      cumulativeLost: this.cumulativeLost,
      highestSequence: this.extendedHighestSequence >>> 0,
      jitter: Math.floor(this.jitter) >>> 0,
      lastSenderReport: this.lsr,
      delaySinceLastSenderReport: dlsr >>> 0,
    };
  }
}

/**
 * Round-trip time from a report block about our own stream (RFC 3550 §6.4.1):
 * RTT = A - LSR - DLSR, all in 1/65536 s, where A is when the block arrived (as the middle
 * 32 bits of NTP). Returns seconds, or undefined if the peer has not yet seen an SR of ours
 * (LSR = 0) or the result is negative (clock steps).
 *
 * @example
 * ```ts
 * const rtt = roundTripTime(rr.reports[0]!, Date.now()); // e.g. 0.042
 * ```
 */
export function roundTripTime(block: Pick<RtcpReportBlock, 'lastSenderReport' | 'delaySinceLastSenderReport'>, arrivalUnixMs: number): number | undefined {
  if (block.lastSenderReport === 0) return undefined;
  const a = ntpMiddle32FromUnixMs(arrivalUnixMs);
  const rtt = (a - block.lastSenderReport - block.delaySinceLastSenderReport) | 0;
  if (rtt < 0) return undefined;
  return rtt / 65536;
}
