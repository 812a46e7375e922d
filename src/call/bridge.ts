/**
 * Two calls talking to each other through us: each call's RTP session relays the packets it
 * receives to the other's peer ({@link RtpSession.forwardTo}), rewriting only what keeps each
 * outgoing stream continuous (SSRC, sequence numbers, timestamps) and the payload type each
 * leg negotiated; when one leg speaks µ-law and the other A-law, payloads go through a
 * 256-byte table. No decoding, no jitter buffer, no timers: a packet in, a packet out.
 *
 * RFC 4733 telephone-events are relayed too (digits still reach each call's `dtmf` event, so a
 * PBX can watch for feature codes). A leg whose peer holds it or does not accept media
 * (recvonly, inactive, `c=0.0.0.0`) receives nothing until it changes.
 *
 * ```
 *   peer A ──RTP──► [A's session] ──relay──► [B's session] ──RTP──► peer B
 *   peer A ◄──RTP── [A's session] ◄──relay── [B's session] ◄──RTP── peer B
 * ```
 *
 * @example
 * ```ts
 * const bridge = caller.bridge(agentCall);         // they talk
 * bridge.on('ended', () => console.log('one of them hung up'));
 * bridge.unbridge();                               // back to each call's own media
 * ```
 */
import { EventEmitter } from 'node:events';
import type { RtpForward } from '../rtp/index.js';
import type { Call } from './call.js';
import { A_TO_MU, MU_TO_A, type CallMedia } from './call-media.js';

/**
 * Options of {@link Call.bridge}.
 *
 * @example
 * ```ts
 * call.bridge(other, { hangupTogether: false });
 * ```
 */
export interface BridgeOptions {
  /** When one call ends, hang up the other (default true). */
  hangupTogether?: boolean;
}

/**
 * Events of a {@link Bridge}.
 *
 * @example
 * ```ts
 * bridge.on('ended', (call) => console.log(call.id, 'left'));
 * ```
 */
export interface BridgeEvents {
  /** The bridge ended: unbridge(), or `call` ended. */
  ended: [call: Call | undefined];
}

function forward(from: CallMedia, to: CallMedia): RtpForward | undefined {
  const n = to.negotiated;
  if (n === undefined || !to.sending) return undefined;
  const f: RtpForward = { target: to.session, payloadType: n.codec.payloadType };
  if (n.telephoneEvent !== undefined) f.telephoneEventPayloadType = n.telephoneEvent.payloadType;
  if (from.codec !== to.codec) f.transcode = from.codec === 'PCMU' ? MU_TO_A : A_TO_MU;
  return f;
}

/**
 * A media bridge between two answered calls (see the file comment). Made by {@link Call.bridge}.
 *
 * @example
 * ```ts
 * const bridge = a.bridge(b);
 * await Promise.race([a.ended, b.ended]);
 * ```
 */
export class Bridge extends EventEmitter<BridgeEvents> {
  private active = true;
  private readonly undo: (() => void)[] = [];

  /** @internal */
  constructor(
    readonly a: Call,
    readonly b: Call,
    private readonly mediaA: CallMedia,
    private readonly mediaB: CallMedia,
    options: BridgeOptions = {},
  ) {
    super();
    const together = options.hangupTogether ?? true;
    for (const m of [mediaA, mediaB]) {
      m.stopPlayback();
      m.relaying = true;
    }
    const update = (): void => this.apply();
    for (const [call, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const onEnded = (): void => {
        this.end(call);
        if (together) void other.hangup();
      };
      call.on('media-updated', update);
      call.once('ended', onEnded);
      this.undo.push(() => {
        call.off('media-updated', update);
        call.off('ended', onEnded);
      });
    }
    this.apply();
  }

  /** True until unbridged or one call ended. */
  get bridged(): boolean {
    return this.active;
  }

  /** Recomputes both directions after an offer/answer changed a leg (codec, address, hold). */
  private apply(): void {
    if (!this.active) return;
    const ab = forward(this.mediaA, this.mediaB);
    const ba = forward(this.mediaB, this.mediaA);
    this.mediaB.session.resetRelay();
    this.mediaA.session.resetRelay();
    this.mediaA.session.forwardTo(ab);
    this.mediaB.session.forwardTo(ba);
  }

  /** Stops relaying; both calls stay up and go back to their own media (silence, play, record). */
  unbridge(): void {
    this.end(undefined);
  }

  private end(call: Call | undefined): void {
    if (!this.active) return;
    this.active = false;
    for (const u of this.undo) u();
    for (const m of [this.mediaA, this.mediaB]) {
      m.session.forwardTo(undefined);
      m.session.resetRelay();
      m.relaying = false;
    }
    this.a.bridge_ = undefined;
    this.b.bridge_ = undefined;
    this.emit('ended', call);
  }
}
