import { answerDirection, type SdpDirection } from '../ua/sdp-direction.js';
import { SdpNegotiationError, SdpParseError } from './errors.js';
import {
  type RtpMap,
  STATIC_PAYLOAD_TYPES,
  connectionOf,
  formatParameters,
  hasRtcpMux,
  mediaDirection,
  ptime,
  rtcpAttribute,
  rtpMaps,
} from './media-attributes.js';
import { parseSdp } from './sdp-parser.js';
import { serializeSdp } from './sdp-serializer.js';
import type { SdpAttribute, SdpConnection, SdpMedia, SessionDescription } from './session-description.js';

/**
 * A codec we are willing to use, in preference order. `payloadType` is what our own offers
 * use (default: the RFC 3551 static one, else a free dynamic one from 96); in answers the
 * offer's payload type is always used.
 *
 * @example
 * ```ts
 * const codecs: CodecPreference[] = [{ encoding: 'PCMA', clockRate: 8000 }, { encoding: 'PCMU', clockRate: 8000 }];
 * ```
 */
export interface CodecPreference {
  encoding: string;
  clockRate: number;
  payloadType?: number;
}

/**
 * The outcome of one completed offer/answer exchange: what to send, where, and in which
 * direction.
 *
 * @example
 * ```ts
 * const { codec, remote, telephoneEvent } = negotiator.receiveAnswer(body);
 * rtp.connect(remote.address, remote.port); // send codec.payloadType, DTMF as telephoneEvent?.payloadType
 * ```
 */
export interface NegotiatedMedia {
  /** The audio codec, with the payload type to send with (the peer's numbering). */
  codec: RtpMap;
  /** RFC 4733 events, when both sides agreed on them (the peer's payload type). */
  telephoneEvent?: { payloadType: number; clockRate: number };
  /** Where to send: the stream's connection address and port; RTCP from a=rtcp, else port + 1 (port itself with rtcp-mux). */
  remote: { address: string; port: number; rtcpPort?: number };
  /** The direction our side of the exchange declared. */
  localDirection: SdpDirection;
  /** The direction the peer's side declared. */
  remoteDirection: SdpDirection;
  /** The peer holds us: its direction is sendonly or inactive, or its address is 0.0.0.0 (RFC 2543 hold). */
  remoteHold: boolean;
  /** RTCP shares the RTP port (RFC 5761): both sides said a=rtcp-mux. */
  rtcpMux: boolean;
  /** The peer's a=ptime, else 20. */
  ptime: number;
  /** Index of the audio stream among the m= lines. */
  mediaIndex: number;
}

/**
 * Configuration of an {@link SdpNegotiator}.
 *
 * @example
 * ```ts
 * const options: SdpNegotiatorOptions = { address: '192.0.2.10', port: 40000, codecs: [{ encoding: 'PCMU', clockRate: 8000 }] };
 * ```
 */
export interface SdpNegotiatorOptions {
  /** Our media address, written in c= and o=. */
  address: string;
  /** Our RTP port. */
  port: number;
  /** Our RTCP port when it is not port + 1 (then announced with a=rtcp, RFC 3605). */
  rtcpPort?: number;
  /** Codecs in preference order; default PCMU then PCMA. */
  codecs?: CodecPreference[];
  /** RFC 4733 telephone-event (events 0-16) at this payload type in our offers; default 101; false for none. */
  telephoneEvent?: { payloadType: number } | false;
  /** Our a=ptime; default 20. */
  ptime?: number;
  /** s= value; default '-'. */
  sessionName?: string;
  /** o= username; default '-'. */
  username?: string;
  /** Offer a=rtcp-mux and accept it when offered (RFC 5761); default false. */
  rtcpMux?: boolean;
  /** Randomness for the o= session id; default Math.random. */
  random?: () => number;
}

interface PendingOffer {
  sd: SessionDescription;
  mediaIndex: number;
  direction: SdpDirection;
  codecs: RtpMap[];
  rtcpMux: boolean;
}

const DEFAULT_CODECS: readonly CodecPreference[] = [
  { encoding: 'PCMU', clockRate: 8000 },
  { encoding: 'PCMA', clockRate: 8000 },
];
const ACCEPTED_PROTOCOLS: ReadonlySet<string> = new Set(['RTP/AVP', 'RTP/AVPF']);
const TELEPHONE_EVENT = 'telephone-event';

/**
 * One side of one SDP session (RFC 3264 offer/answer for a single audio stream): it keeps the
 * `o=` line, our direction and the last completed exchange.
 *
 * - Offers list our codecs in preference order, telephone-event with `a=fmtp:<pt> 0-16`,
 *   `a=ptime`, `a=rtcp` when RTCP is not on port + 1, and an explicit direction attribute.
 *   A re-offer keeps the m= lines of the previous exchange (rejected ones stay port 0) and the
 *   payload type numbers already agreed.
 * - Answers have the offer's m= lines in the same order; the first acceptable audio stream
 *   (RTP/AVP or RTP/AVPF, a port, a connection, a codec in common) is accepted with one codec
 *   (our preference among the offered, at the offer's payload type) and telephone-event if
 *   offered; every other stream is rejected with port 0.
 * - Directions answer RFC 3264 §6.1 combined with {@link SdpNegotiator.hold}:
 *
 * ```
 *  offer (from peer)         answer, hold=false   answer, hold=true
 *  sendrecv                  sendrecv             sendonly
 *  sendonly or c=0.0.0.0     recvonly             inactive
 *  recvonly                  sendonly             inactive
 *  inactive                  inactive             inactive
 *
 *  our offer: hold=false → sendrecv; hold=true → sendonly (inactive when the peer holds us)
 * ```
 * - The o= session id never changes; the version grows by exactly one each time the SDP we
 *   send differs from the previous SDP we sent, and stays when the same SDP is sent again
 *   (RFC 3264 §8).
 *
 * @example
 * ```ts
 * const sdp = new SdpNegotiator({ address: '192.0.2.10', port: 40000 });
 * const offer = sdp.createOffer();                    // INVITE body
 * const media = sdp.receiveAnswer(response.body);     // 200 OK body
 * sdp.hold = true;
 * const reOffer = sdp.createOffer();                  // re-INVITE body: a=sendonly, version + 1
 * ```
 */
export class SdpNegotiator {
  /** Set before {@link createOffer} (or before answering) to hold the peer: we offer sendonly and answer without receiving. */
  hold = false;
  private address: string;
  private port: number;
  private rtcpPort: number | undefined;
  private readonly codecs: readonly CodecPreference[];
  private readonly telephoneEvent: { payloadType: number } | false;
  private readonly ptimeMs: number;
  private readonly sessionName: string;
  private readonly username: string;
  private readonly rtcpMux: boolean;
  private readonly id: string;
  private version: bigint;
  private lastSent: string | undefined;
  private exchange: { media: SdpMedia[]; negotiated: NegotiatedMedia } | undefined;
  private pending: PendingOffer | undefined;
  /** Payload types the peer uses, by codec key ("pcmu/8000"), kept for re-offers (RFC 3264 §8.3.2). */
  private readonly peerPayloadTypes = new Map<string, number>();

  constructor(options: SdpNegotiatorOptions) {
    checkLocal(options.address, options.port, options.rtcpPort);
    this.address = options.address;
    this.port = options.port;
    this.rtcpPort = options.rtcpPort;
    this.codecs = options.codecs ?? DEFAULT_CODECS;
    if (this.codecs.length === 0) throw new RangeError('SdpNegotiator: codecs is empty');
    this.telephoneEvent = options.telephoneEvent ?? { payloadType: 101 };
    if (this.telephoneEvent !== false) checkPayloadType(this.telephoneEvent.payloadType);
    for (const c of this.codecs) if (c.payloadType !== undefined) checkPayloadType(c.payloadType);
    this.ptimeMs = options.ptime ?? 20;
    if (!(this.ptimeMs > 0)) throw new RangeError(`SdpNegotiator: ptime must be positive, got ${this.ptimeMs}`);
    this.sessionName = options.sessionName ?? '-';
    this.username = options.username ?? '-';
    this.rtcpMux = options.rtcpMux ?? false;
    const r = (options.random ?? Math.random)();
    const fraction = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1 - Number.EPSILON) : 0;
    this.id = String(Math.floor(fraction * 2 ** 48));
    this.version = BigInt(this.id);
  }

  /**
   * The media of the last completed exchange; undefined before the first one.
   *
   * @example
   * ```ts
   * if (negotiator.media?.remoteHold) stopSending();
   * ```
   */
  get media(): NegotiatedMedia | undefined {
    return this.exchange?.negotiated;
  }

  /** The o= session id (fixed for the session). */
  /** True while an offer of ours waits for its answer. */
  get hasPendingOffer(): boolean {
    return this.pending !== undefined;
  }

  get sessionId(): string {
    return this.id;
  }

  /** The o= version of the last SDP we sent (or of the first one, before any). */
  get sessionVersion(): bigint {
    return this.version;
  }

  /** The last SDP text we sent (offer or answer). */
  get localDescription(): string | undefined {
    return this.lastSent;
  }

  /**
   * Our media moved: the next SDP we send uses this address and port (and a different version).
   *
   * @example
   * ```ts
   * negotiator.setLocal('192.0.2.11', 41000); // then createOffer() for the re-INVITE
   * ```
   */
  setLocal(address: string, port: number, rtcpPort?: number): void {
    checkLocal(address, port, rtcpPort);
    this.address = address;
    this.port = port;
    this.rtcpPort = rtcpPort;
  }

  /**
   * An offer: the initial one, or a re-offer keeping the previous exchange's m= lines. It
   * becomes the pending offer that {@link receiveAnswer} completes (a new call replaces it).
   *
   * @example
   * ```ts
   * const body = negotiator.createOffer(); // Content-Type: application/sdp
   * ```
   */
  createOffer(): string {
    const previous = this.exchange;
    const direction: SdpDirection = this.hold ? (previous?.negotiated.remoteHold === true ? 'inactive' : 'sendonly') : 'sendrecv';
    const codecs = this.offerCodecs();
    const audio = this.audioSection(codecs, this.offerTelephoneEvent(codecs), direction, this.rtcpMux);
    const mediaIndex = previous?.negotiated.mediaIndex ?? 0;
    const media = previous === undefined ? [audio] : previous.media.map((m, i) => (i === mediaIndex ? audio : m));
    const sd = this.session(media);
    const text = this.send(sd);
    this.pending = { sd, mediaIndex, direction, codecs, rtcpMux: this.rtcpMux };
    return text;
  }

  /**
   * Complete our pending offer with the peer's answer.
   *
   * @throws SdpNegotiationError 500 with no offer pending, 400 when the body is not SDP, 488 when
   *   the answer has a different number of m= lines, rejects the audio stream, picks no codec
   *   we offered or has no connection address. The pending offer is gone either way.
   *
   * @example
   * ```ts
   * const media = negotiator.receiveAnswer(response.body); // media.codec.payloadType to send with
   * ```
   */
  receiveAnswer(sdp: string | Uint8Array): NegotiatedMedia {
    const pending = this.pending;
    if (pending === undefined) throw new SdpNegotiationError('an SDP answer arrived but no offer is pending', 500);
    this.pending = undefined;
    const sd = parse(sdp);
    if (sd.media.length !== pending.sd.media.length) {
      throw new SdpNegotiationError(`the answer has ${sd.media.length} m= lines, the offer ${pending.sd.media.length} (RFC 3264 §6)`);
    }
    const m = sd.media[pending.mediaIndex] as SdpMedia;
    if (m.port === 0) throw new SdpNegotiationError('the peer rejected the audio stream (port 0)');
    const maps = [...rtpMaps(m).values()];
    const chosen = maps.find((r) => pending.codecs.some((c) => sameCodec(c, r)));
    if (chosen === undefined) throw new SdpNegotiationError('the answer has no codec we offered');
    const connection = connectionOf(sd, m);
    if (connection === undefined) throw new SdpNegotiationError('the answer has no c= line for the audio stream');
    const remoteDirection = mediaDirection(sd, m);
    const oldHold = isHoldAddress(connection);
    // Our inactive offer forces an inactive answer; that says nothing new about the peer.
    const forced = pending.direction === 'inactive' && remoteDirection === 'inactive' && !oldHold;
    const remoteHold = forced ? (this.exchange?.negotiated.remoteHold ?? false) : isHoldDirection(remoteDirection) || oldHold;
    const negotiated = this.negotiated(connection, m, chosen, maps, pending.mediaIndex, pending.direction, remoteDirection, remoteHold, pending.rtcpMux);
    this.learnPayloadTypes(maps);
    this.exchange = { media: pending.sd.media, negotiated };
    return negotiated;
  }

  /**
   * Answer the peer's offer (or re-offer). A pending offer of ours is dropped once the answer
   * is made (the SIP layer settles glare, RFC 3261 §14.2, before the body gets here).
   *
   * @throws SdpNegotiationError 488 when no audio stream can be accepted, 400 when the body is
   *   not SDP. The negotiator's state (a pending offer included) is unchanged then.
   *
   * @example
   * ```ts
   * const { answer, media } = negotiator.receiveOffer(invite.body); // 200 OK body; media.remoteHold
   * ```
   */
  receiveOffer(sdp: string | Uint8Array): { answer: string; media: NegotiatedMedia } {
    const sd = parse(sdp);
    let accepted: { index: number; codec: RtpMap; maps: RtpMap[]; connection: SdpConnection } | undefined;
    sd.media.forEach((m, index) => {
      if (accepted !== undefined || m.port === 0 || m.type.toLowerCase() !== 'audio') return;
      if (!ACCEPTED_PROTOCOLS.has(m.protocol.toUpperCase())) return;
      const connection = connectionOf(sd, m);
      if (connection === undefined) return;
      const maps = [...rtpMaps(m).values()];
      for (const pref of this.codecs) {
        const codec = maps.find((r) => sameCodec(pref, r));
        if (codec !== undefined) {
          accepted = { index, codec, maps, connection };
          return;
        }
      }
    });
    if (accepted === undefined) {
      throw new SdpNegotiationError(
        sd.media.length === 0 ? 'the offer has no media stream' : 'no acceptable audio stream in the offer (need RTP/AVP or RTP/AVPF with PCMU or PCMA)',
      );
    }
    const { index, codec, maps, connection } = accepted;
    const offered = sd.media[index] as SdpMedia;
    const offeredDirection = mediaDirection(sd, offered);
    const oldHold = isHoldAddress(connection);
    const effective: SdpDirection = oldHold ? (offeredDirection === 'sendrecv' ? 'sendonly' : offeredDirection === 'recvonly' ? 'inactive' : offeredDirection) : offeredDirection;
    const direction = answerDirectionHolding(effective, this.hold);
    const event = this.telephoneEvent === false ? undefined : maps.find((r) => isTelephoneEvent(r) && r.clockRate === codec.clockRate);
    const mux = this.rtcpMux && hasRtcpMux(offered);
    const audio = this.audioSection([codec], event === undefined ? undefined : { map: event, fmtp: formatParameters(offered, event.payloadType) }, direction, mux);
    const media = sd.media.map((m, i) => (i === index ? audio : rejected(m)));
    const answer = this.send(this.session(media));
    const remoteHold = isHoldDirection(offeredDirection) || oldHold;
    const negotiated = this.negotiated(connection, offered, codec, maps, index, direction, offeredDirection, remoteHold, mux);
    this.learnPayloadTypes(maps);
    this.exchange = { media, negotiated };
    this.pending = undefined;
    return { answer, media: negotiated };
  }

  private negotiated(
    connection: SdpConnection,
    m: SdpMedia,
    codec: RtpMap,
    maps: RtpMap[],
    mediaIndex: number,
    localDirection: SdpDirection,
    remoteDirection: SdpDirection,
    remoteHold: boolean,
    offeredMux: boolean,
  ): NegotiatedMedia {
    const rtcpMux = offeredMux && hasRtcpMux(m);
    const rtcp = rtcpAttribute(m);
    const result: NegotiatedMedia = {
      codec: { ...codec },
      remote: { address: connection.address, port: m.port, rtcpPort: rtcpMux ? m.port : (rtcp?.port ?? m.port + 1) },
      localDirection,
      remoteDirection,
      remoteHold,
      rtcpMux,
      ptime: ptime(m) ?? 20,
      mediaIndex,
    };
    const event = this.telephoneEvent === false ? undefined : maps.find((r) => isTelephoneEvent(r) && r.clockRate === codec.clockRate);
    if (event !== undefined) result.telephoneEvent = { payloadType: event.payloadType, clockRate: event.clockRate };
    return result;
  }

  /** Our codecs with the payload types for an offer: the peer's numbering, else ours, else static, else dynamic. */
  private offerCodecs(): RtpMap[] {
    const used = new Set<number>();
    const eventPt = this.offerEventPayloadType();
    if (eventPt !== undefined) used.add(eventPt);
    const out: RtpMap[] = this.codecs.map((pref) => {
      const wanted = this.peerPayloadTypes.get(codecKey(pref)) ?? pref.payloadType ?? staticPayloadType(pref);
      const payloadType = wanted === undefined || used.has(wanted) ? -1 : wanted;
      if (payloadType >= 0) used.add(payloadType);
      return { payloadType, encoding: pref.encoding, clockRate: pref.clockRate };
    });
    let next = 96;
    for (const map of out) {
      if (map.payloadType >= 0) continue;
      while (used.has(next)) next++;
      if (next > 127) throw new RangeError('SdpNegotiator: more codecs than dynamic payload types');
      map.payloadType = next;
      used.add(next);
    }
    return out;
  }

  private offerEventPayloadType(): number | undefined {
    if (this.telephoneEvent === false) return undefined;
    return this.peerPayloadTypes.get(`${TELEPHONE_EVENT}/8000`) ?? this.telephoneEvent.payloadType;
  }

  private offerTelephoneEvent(codecs: RtpMap[]): { map: RtpMap; fmtp: string } | undefined {
    const pt = this.offerEventPayloadType();
    if (pt === undefined || !codecs.some((c) => c.clockRate === 8000)) return undefined;
    return { map: { payloadType: pt, encoding: TELEPHONE_EVENT, clockRate: 8000 }, fmtp: '0-16' };
  }

  private audioSection(codecs: RtpMap[], event: { map: RtpMap; fmtp: string | undefined } | undefined, direction: SdpDirection, mux: boolean): SdpMedia {
    const all = event === undefined ? codecs : [...codecs, event.map];
    const attributes: SdpAttribute[] = all.map((c) => ({
      name: 'rtpmap',
      value: `${c.payloadType} ${c.encoding}/${c.clockRate}${c.channels === undefined ? '' : `/${c.channels}`}`,
    }));
    if (event?.fmtp !== undefined) attributes.push({ name: 'fmtp', value: event.fmtp === '' ? `${event.map.payloadType}` : `${event.map.payloadType} ${event.fmtp}` });
    attributes.push({ name: 'ptime', value: String(this.ptimeMs) });
    if (this.rtcpPort !== undefined && this.rtcpPort !== this.port + 1 && !mux) attributes.push({ name: 'rtcp', value: String(this.rtcpPort) });
    if (mux) attributes.push({ name: 'rtcp-mux' });
    attributes.push({ name: direction });
    return {
      type: 'audio',
      port: this.port,
      protocol: 'RTP/AVP',
      formats: all.map((c) => String(c.payloadType)),
      connections: [],
      bandwidths: [],
      attributes,
    };
  }

  private session(media: SdpMedia[]): SessionDescription {
    const addrType = this.address.includes(':') ? 'IP6' : 'IP4';
    return {
      version: 0,
      origin: { username: this.username, sessionId: this.id, sessionVersion: this.version, netType: 'IN', addrType, address: this.address },
      sessionName: this.sessionName,
      emails: [],
      phones: [],
      connection: { netType: 'IN', addrType, address: this.address },
      bandwidths: [],
      timings: [{ start: 0n, stop: 0n, repeats: [] }],
      attributes: [],
      media,
    };
  }

  /** Serialize `sd`, stepping the o= version by one when the text differs from what we last sent (RFC 3264 §8). */
  private send(sd: SessionDescription): string {
    sd.origin.sessionVersion = this.version;
    let text = serializeSdp(sd);
    if (this.lastSent !== undefined && text !== this.lastSent) {
      this.version += 1n;
      sd.origin.sessionVersion = this.version;
      text = serializeSdp(sd);
    }
    this.lastSent = text;
    return text;
  }

  private learnPayloadTypes(maps: RtpMap[]): void {
    for (const r of maps) {
      if (isTelephoneEvent(r) || this.codecs.some((c) => sameCodec(c, r))) this.peerPayloadTypes.set(codecKey(r), r.payloadType);
    }
  }
}

/**
 * RFC 3264 §6.1 ({@link answerDirection}) plus our hold flag: holding, we only send what the
 * offer lets us receive; `offered` already accounts for c=0.0.0.0.
 */
function answerDirectionHolding(offered: SdpDirection, hold: boolean): SdpDirection {
  if (!hold) return answerDirection(offered);
  return offered === 'sendrecv' ? 'sendonly' : 'inactive';
}

/** A stream we decline: port 0, the offer's format list, nothing else (RFC 3264 §6). */
function rejected(m: SdpMedia): SdpMedia {
  return {
    type: m.type,
    port: 0,
    protocol: m.protocol,
    formats: m.formats.length > 0 ? [...m.formats] : ['0'],
    connections: [],
    bandwidths: [],
    attributes: [],
  };
}

function parse(sdp: string | Uint8Array): SessionDescription {
  try {
    return parseSdp(sdp);
  } catch (e) {
    if (e instanceof SdpParseError) throw new SdpNegotiationError(`the SDP body cannot be parsed: ${e.message}`, 400, { cause: e });
    throw e;
  }
}

function isHoldDirection(d: SdpDirection): boolean {
  return d === 'sendonly' || d === 'inactive';
}

function isHoldAddress(c: SdpConnection): boolean {
  return c.addrType.toUpperCase() === 'IP4' && c.address === '0.0.0.0';
}

function isTelephoneEvent(r: RtpMap): boolean {
  return r.encoding.toLowerCase() === TELEPHONE_EVENT;
}

function sameCodec(a: { encoding: string; clockRate: number }, b: RtpMap): boolean {
  return a.clockRate === b.clockRate && a.encoding.toLowerCase() === b.encoding.toLowerCase() && (b.channels === undefined || b.channels === 1);
}

function codecKey(c: { encoding: string; clockRate: number }): string {
  return `${c.encoding.toLowerCase()}/${c.clockRate}`;
}

function staticPayloadType(c: CodecPreference): number | undefined {
  for (const [pt, map] of STATIC_PAYLOAD_TYPES) if (sameCodec(c, map) && map.channels === undefined) return pt;
  return undefined;
}

function checkPayloadType(pt: number): void {
  if (!Number.isInteger(pt) || pt < 0 || pt > 127) throw new RangeError(`SdpNegotiator: payload type must be 0-127, got ${pt}`);
}

function checkLocal(address: string, port: number, rtcpPort: number | undefined): void {
  if (address === '' || /[\s/]/.test(address)) throw new RangeError(`SdpNegotiator: bad media address ${JSON.stringify(address)}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`SdpNegotiator: port must be 1-65535, got ${port}`);
  if (rtcpPort !== undefined && (!Number.isInteger(rtcpPort) || rtcpPort < 1 || rtcpPort > 65535)) {
    throw new RangeError(`SdpNegotiator: rtcpPort must be 1-65535, got ${rtcpPort}`);
  }
}
