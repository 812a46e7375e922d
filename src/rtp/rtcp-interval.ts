/**
 * The RTCP transmission interval (RFC 3550 §6.3 and the §A.7 reference code), with timer
 * reconsideration (§6.3.3, §6.3.6) and the average-size estimate (§6.3.3). Pure: the caller
 * supplies the time and a random source, so a test can step it.
 *
 * @example
 * ```ts
 * const t = rtcpInterval({ members: 2, senders: 2, rtcpBandwidth: 400, weSent: true, avgRtcpSize: 100, initial: false }, Math.random);
 * // t is about 5 s × [0.5, 1.5) / 1.21828
 * ```
 */

/** Inputs of {@link rtcpInterval}, named as in §A.7. */
export interface RtcpIntervalInput {
  /** Estimated session members including ourselves. */
  members: number;
  /** Members that sent RTP recently, including ourselves if `weSent`. */
  senders: number;
  /** RTCP bandwidth in octets per second (5% of the session bandwidth, §6.2). */
  rtcpBandwidth: number;
  /** Whether we sent RTP since the second-previous report. */
  weSent: boolean;
  /** Average compound RTCP size in octets, including UDP/IP overhead (§6.2). */
  avgRtcpSize: number;
  /** True before our first RTCP packet (halves the minimum, §6.2). */
  initial: boolean;
  /** Minimum interval in seconds (5 s by default; §6.2 allows a reduced minimum). */
  minInterval?: number;
}

/** RFC 3550 §A.7 constants. */
export const RTCP_MIN_TIME = 5;
export const RTCP_SENDER_BW_FRACTION = 0.25;
export const RTCP_RCVR_BW_FRACTION = 0.75;
/** e - 3/2: compensates for the timer reconsideration algorithm converging below the target. */
export const COMPENSATION = Math.E - 1.5;

/** §A.7 `rtcp_interval()`: returns the randomised interval in seconds. */
export function rtcpInterval(input: RtcpIntervalInput, random: () => number): number {
  const minTime = input.initial ? (input.minInterval ?? RTCP_MIN_TIME) / 2 : input.minInterval ?? RTCP_MIN_TIME;
  let n = input.members;
  let bw = input.rtcpBandwidth;
  // §6.2: when senders are at most a quarter of members, they share 25% of the RTCP
  // bandwidth and receivers the rest.
  if (input.senders <= input.members * RTCP_SENDER_BW_FRACTION) {
    if (input.weSent) {
      bw *= RTCP_SENDER_BW_FRACTION;
      n = input.senders;
    } else {
      bw *= RTCP_RCVR_BW_FRACTION;
      n -= input.senders;
    }
  }
  let t = bw > 0 ? (input.avgRtcpSize * n) / bw : minTime;
  if (t < minTime) t = minTime;
  // §6.3.1: randomise to [0.5, 1.5) × t to avoid synchronisation, then compensate.
  t = t * (random() + 0.5);
  return t / COMPENSATION;
}

/** §6.3.3: avg_rtcp_size = 1/16 × packet_size + 15/16 × avg_rtcp_size. */
export function updateAvgRtcpSize(avg: number, packetSize: number): number {
  return packetSize / 16 + (avg * 15) / 16;
}

/**
 * The §6.3 sender/receiver RTCP timer with reconsideration: call {@link RtcpScheduler.onExpire}
 * when the timer fires; it says whether to send now and when to fire next.
 */
export class RtcpScheduler {
  /** Time of the last transmission (tp), seconds on the caller's clock. */
  tp: number;
  /** Next scheduled transmission (tn). */
  tn: number;
  /** Average compound size (octets incl. 28 bytes UDP/IPv4 overhead). */
  avgRtcpSize: number;
  /** True until our first RTCP packet is sent. */
  initial = true;
  /** Member count at the last reconsideration (pmembers, §6.3.4). */
  pmembers = 1;

  constructor(
    nowSeconds: number,
    private readonly rtcpBandwidth: number,
    private readonly random: () => number,
    initialAvgSize = 100,
    private readonly minInterval = RTCP_MIN_TIME,
  ) {
    this.tp = nowSeconds;
    this.avgRtcpSize = initialAvgSize;
    this.tn = nowSeconds + this.interval(2, 1, false);
  }

  private interval(members: number, senders: number, weSent: boolean): number {
    return rtcpInterval(
      { members, senders, weSent, rtcpBandwidth: this.rtcpBandwidth, avgRtcpSize: this.avgRtcpSize, initial: this.initial, minInterval: this.minInterval },
      this.random,
    );
  }

  /**
   * §6.3.6 "expiration of transmission timer": recomputes T; if tp + T is still in the future
   * the timer is rescheduled without sending (reconsideration), else send now.
   */
  onExpire(nowSeconds: number, members: number, senders: number, weSent: boolean): { send: boolean; next: number } {
    const t = this.interval(members, senders, weSent);
    const candidate = this.tp + t;
    if (candidate <= nowSeconds) {
      this.tp = nowSeconds;
      this.initial = false;
      this.tn = nowSeconds + this.interval(members, senders, weSent);
      this.pmembers = members;
      return { send: true, next: this.tn };
    }
    this.tn = candidate;
    this.pmembers = members;
    return { send: false, next: this.tn };
  }

  /** Records the size of a compound RTCP packet we sent or received (octets incl. headers). */
  onPacketSize(size: number): void {
    this.avgRtcpSize = updateAvgRtcpSize(this.avgRtcpSize, size);
  }
}
