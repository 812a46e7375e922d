/**
 * The media half of a call: one {@link RtpSession} and what runs on it every 20 ms while the
 * call terminates media (play, record, listen for digits), or nothing at all while it is
 * bridged (the session then relays packets itself, see {@link RtpSession.forwardTo}).
 *
 * Per tick:
 * ```
 *   send:    player frame (or silence) ──► G.711 encode ──► RTP        (when our direction sends)
 *   receive: RTP ──► jitter buffer ──► G.711 decode ──► PLC ──► sinks (recorder, VAD, app)
 *                                                          └──► in-band DTMF detector
 * ```
 * Silence is sent while nothing plays (RFC 3264 sendrecv means we send): it keeps NAT
 * bindings open and the peer's media timeout quiet. Buffers are allocated once per call.
 *
 * @example
 * ```ts
 * const media = new CallMedia(rtpSession, ticker, { onInbandDigit: (d) => console.log(d) });
 * media.apply(negotiated);
 * await media.play(new PcmSource(prompt));
 * ```
 */
import { DtmfDetector, PacketLossConcealer, aLawDecodeSample, aLawToMuLaw, decodeALaw, decodeMuLaw, encodeALaw, encodeMuLaw, muLawDecodeSample, muLawToALaw } from '../codecs/index.js';
import type { RtpSession } from '../rtp/index.js';
import type { NegotiatedMedia, SdpDirection } from '../sip/index.js';
import type { FrameSource } from './audio-source.js';
import type { MediaTicker } from './media-ticker.js';

/** A consumer of received audio: one frame of 8 kHz PCM (a view reused after the call returns). */
export type MediaSink = (pcm: Int16Array, nowMs: number) => void;

/** The two codecs a call speaks. */
export type G711 = 'PCMU' | 'PCMA';

/** Byte maps between the laws, for relaying across legs that differ (built once). */
export const MU_TO_A: Uint8Array = (() => {
  const all = new Uint8Array(256).map((_, i) => i);
  const out = new Uint8Array(256);
  muLawToALaw(all, out);
  return out;
})();
export const A_TO_MU: Uint8Array = (() => {
  const all = new Uint8Array(256).map((_, i) => i);
  const out = new Uint8Array(256);
  aLawToMuLaw(all, out);
  return out;
})();

/**
 * True when a G.711 frame is quiet (mean magnitude below about −42 dBov, sampling every
 * fourth byte): the jitter buffer may drop it to shrink its delay without clipping speech.
 * Payload type 8 is A-law; anything else is taken as µ-law.
 *
 * @example
 * ```ts
 * await RtpSession.open({ jitterBuffer: { canRemove: quietG711Frame } });
 * ```
 */
export function quietG711Frame(packet: { payload: Uint8Array; payloadType?: number }): boolean {
  const p = packet.payload;
  if (p.length === 0) return true;
  const aLaw = packet.payloadType === 8;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < p.length; i += 4) {
    const v = aLaw ? aLawDecodeSample(p[i]!) : muLawDecodeSample(p[i]!);
    sum += v < 0 ? -v : v;
    n++;
  }
  return sum / n < 260;
}

/**
 * The G.711 law of a negotiated codec (undefined for anything else).
 *
 * @example
 * ```ts
 * g711Of({ payloadType: 8, encoding: 'PCMA', clockRate: 8000 }); // 'PCMA'
 * ```
 */
export function g711Of(codec: { encoding: string }): G711 | undefined {
  const e = codec.encoding.toUpperCase();
  return e === 'PCMU' || e === 'PCMA' ? e : undefined;
}

function sends(direction: SdpDirection): boolean {
  return direction === 'sendrecv' || direction === 'sendonly';
}

/** Options of {@link CallMedia}. */
export interface CallMediaOptions {
  /** Called for each in-band digit while detection is on. */
  onInbandDigit?: (digit: string) => void;
  /** Called for errors nobody awaits (a sink that threw). */
  onError?: (error: unknown) => void;
}

export class CallMedia {
  /** The negotiated law. */
  codec: G711 = 'PCMU';
  /** The last applied negotiation. */
  negotiated: NegotiatedMedia | undefined;
  /** True while the session relays (a bridge): ticks do nothing. */
  relaying = false;
  /** Whether we send to the peer (set by {@link apply}): our direction sends and its address is not a hold one. */
  sending = false;
  private source: FrameSource | undefined;
  private settle: ((finished: boolean) => void) | undefined;
  private readonly sinks = new Set<MediaSink>();
  private detector: DtmfDetector | undefined;
  private readonly plc = new PacketLossConcealer();
  private readonly pcmOut = new Int16Array(160);
  private readonly encoded = new Uint8Array(160);
  private pcmIn = new Int16Array(160);
  private readonly heard = new Int16Array(160);
  private readonly silence = new Int16Array(160);
  private readonly stopTick: () => void;
  private closed = false;

  constructor(
    readonly session: RtpSession,
    ticker: MediaTicker,
    private readonly options: CallMediaOptions = {},
  ) {
    this.stopTick = ticker.add((now) => this.tick(now));
  }

  /** Applies an offer/answer result: codec, payload types, where to send, whether we send. */
  apply(media: NegotiatedMedia): void {
    this.negotiated = media;
    this.codec = g711Of(media.codec) ?? 'PCMU';
    this.session.setPayloadTypes(media.codec.payloadType, media.telephoneEvent?.payloadType); // no telephone-event: the session keeps its own
    const held = media.remote.address === '0.0.0.0' || media.remote.port === 0;
    if (!held) {
      const target = this.session.sendTarget;
      // A new SDP address means a new latch; the same one keeps the latch (a hold re-INVITE).
      if (this.lastRemote === undefined || this.lastRemote.address !== media.remote.address || this.lastRemote.port !== media.remote.port || target === undefined) {
        this.session.setRemote({ address: media.remote.address, port: media.remote.port, ...(media.remote.rtcpPort !== undefined ? { rtcpPort: media.remote.rtcpPort } : {}) });
      }
      this.lastRemote = { address: media.remote.address, port: media.remote.port };
    }
    this.sending = sends(media.localDirection) && !held;
  }
  private lastRemote: { address: string; port: number } | undefined;

  /** Turns in-band DTMF detection on or off. */
  set inbandDtmf(on: boolean) {
    if (on && this.detector === undefined) {
      const report = this.options.onInbandDigit;
      this.detector = new DtmfDetector({ onDigit: (d) => report?.(d) });
    } else if (!on) this.detector = undefined;
  }

  get inbandDtmf(): boolean {
    return this.detector !== undefined;
  }

  /**
   * Plays a source; a playback already running is stopped (its promise resolves false).
   * Resolves true when the source ended, false when stopped.
   */
  play(source: FrameSource): Promise<boolean> {
    this.stopPlayback();
    this.source = source;
    return new Promise<boolean>((resolve) => (this.settle = resolve));
  }

  /** Stops the current playback, if any. */
  stopPlayback(): void {
    this.finish(false);
  }

  /** True while something plays. */
  get playing(): boolean {
    return this.source !== undefined;
  }

  /** Adds a consumer of received audio; returns its remover. */
  addSink(sink: MediaSink): () => void {
    this.sinks.add(sink);
    return () => void this.sinks.delete(sink);
  }

  private finish(finished: boolean): void {
    const source = this.source;
    const settle = this.settle;
    this.source = undefined;
    this.settle = undefined;
    source?.close();
    settle?.(finished);
  }

  /** One frame interval: send one frame, take one frame out of the jitter buffer. */
  tick(now: number): void {
    if (this.closed || this.relaying) return;
    if (this.sending && this.session.sendTarget !== undefined) {
      let pcm = this.silence;
      if (this.source !== undefined) {
        pcm = this.pcmOut;
        if (!this.source.read(pcm)) {
          this.finish(true);
          pcm = this.silence;
        }
      }
      if (this.codec === 'PCMU') encodeMuLaw(pcm, this.encoded);
      else encodeALaw(pcm, this.encoded);
      try {
        this.session.sendFrame(this.encoded);
      } catch (e) {
        this.options.onError?.(e);
      }
    } else if (this.source !== undefined) {
      // Not sending (held): the playback still advances, as a listener would expect of time.
      if (!this.source.read(this.pcmOut)) this.finish(true);
    }
    this.receive(now);
  }

  private receive(now: number): void {
    if (this.session.jitterBuffer === undefined) return;
    const out = this.session.readFrame(now);
    const heard = this.heard;
    if (out.kind === 'frame') {
      const n = out.payload.length;
      if (this.pcmIn.length !== n) this.pcmIn = new Int16Array(n);
      if (this.codec === 'PCMU') decodeMuLaw(out.payload, this.pcmIn);
      else decodeALaw(out.payload, this.pcmIn);
      if (n === heard.length) this.plc.receive(this.pcmIn, heard);
      else {
        // Another ptime than ours: pass the first 20 ms through without concealment.
        heard.fill(0);
        heard.set(this.pcmIn.subarray(0, Math.min(n, heard.length)));
      }
    } else if (out.kind === 'conceal') {
      this.plc.conceal(heard);
    } else {
      heard.fill(0);
    }
    this.detector?.process(heard);
    for (const sink of this.sinks) {
      try {
        sink(heard, now);
      } catch (e) {
        this.options.onError?.(e);
      }
    }
  }

  /** Stops ticking, ends playback, closes the RTP session. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopTick();
    this.finish(false);
    this.session.forwardTo(undefined);
    await this.session.close();
  }
}
