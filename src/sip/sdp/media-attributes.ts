import { isSdpDirection, type SdpDirection } from '../ua/sdp-direction.js';
import { isDigits } from './sdp-parser.js';
import type { SdpAttribute, SdpConnection, SdpMedia, SessionDescription } from './session-description.js';

/**
 * Typed readers for the attributes a telephone stack needs (RFC 8866 §6, RFC 3605, RFC 5761,
 * RFC 4568). They never throw: a malformed attribute reads as absent.
 *
 * @example
 * ```ts
 * const m = parseSdp(body).media[0]!;
 * rtpMaps(m).get(0);  // { payloadType: 0, encoding: 'PCMU', clockRate: 8000 }
 * ptime(m);           // 20
 * ```
 */

/**
 * One `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]` (RFC 8866 §6.6).
 *
 * @example
 * ```ts
 * const pcmu: RtpMap = { payloadType: 0, encoding: 'PCMU', clockRate: 8000 };
 * ```
 */
export interface RtpMap {
  payloadType: number;
  encoding: string;
  clockRate: number;
  channels?: number;
}

/**
 * The static audio/video payload types of RFC 3551 §6 (Tables 4 and 5), used for formats that
 * have no `a=rtpmap`.
 *
 * @example
 * ```ts
 * STATIC_PAYLOAD_TYPES.get(8); // { payloadType: 8, encoding: 'PCMA', clockRate: 8000 }
 * ```
 */
export const STATIC_PAYLOAD_TYPES: ReadonlyMap<number, Readonly<RtpMap>> = new Map(
  (
    [
      [0, 'PCMU', 8000],
      [3, 'GSM', 8000],
      [4, 'G723', 8000],
      [5, 'DVI4', 8000],
      [6, 'DVI4', 16000],
      [7, 'LPC', 8000],
      [8, 'PCMA', 8000],
      [9, 'G722', 8000],
      [10, 'L16', 44100, 2],
      [11, 'L16', 44100],
      [12, 'QCELP', 8000],
      [13, 'CN', 8000],
      [14, 'MPA', 90000],
      [15, 'G728', 8000],
      [16, 'DVI4', 11025],
      [17, 'DVI4', 22050],
      [18, 'G729', 8000],
      [25, 'CelB', 90000],
      [26, 'JPEG', 90000],
      [28, 'nv', 90000],
      [31, 'H261', 90000],
      [32, 'MPV', 90000],
      [33, 'MP2T', 90000],
      [34, 'H263', 90000],
    ] as const
  ).map(([pt, encoding, clockRate, channels]: readonly [number, string, number, number?]) => {
    const map: RtpMap = { payloadType: pt, encoding, clockRate };
    if (channels !== undefined) map.channels = channels;
    return [pt, Object.freeze(map)] as const;
  }),
);

/**
 * The payload types of a media section's format list with their encodings: each
 * `a=rtpmap`, else the RFC 3551 static assignment; formats that are neither (or not numbers)
 * are left out. Map order is the `m=` line's order (the sender's preference).
 *
 * @example
 * ```ts
 * // m=audio 4000 RTP/AVP 96 8 101 / a=rtpmap:96 PCMU/8000 / a=rtpmap:101 telephone-event/8000
 * [...rtpMaps(m).values()].map((r) => `${r.payloadType} ${r.encoding}`); // ['96 PCMU', '8 PCMA', '101 telephone-event']
 * ```
 */
export function rtpMaps(media: SdpMedia): Map<number, RtpMap> {
  const declared = new Map<number, RtpMap>();
  for (const a of media.attributes) {
    if (a.name !== 'rtpmap' || a.value === undefined) continue;
    const map = parseRtpMap(a.value);
    if (map !== undefined && !declared.has(map.payloadType)) declared.set(map.payloadType, map);
  }
  const out = new Map<number, RtpMap>();
  for (const format of media.formats) {
    const pt = payloadType(format);
    if (pt === undefined || out.has(pt)) continue;
    const map = declared.get(pt) ?? STATIC_PAYLOAD_TYPES.get(pt);
    if (map !== undefined) out.set(pt, { ...map });
  }
  return out;
}

function parseRtpMap(value: string): RtpMap | undefined {
  const space = value.indexOf(' ');
  if (space < 0) return undefined;
  const pt = payloadType(value.slice(0, space));
  const parts = value.slice(space + 1).trim().split('/');
  const [encoding, rate, channels] = parts;
  if (pt === undefined || encoding === undefined || encoding === '' || rate === undefined || !isDigits(rate) || parts.length > 3) return undefined;
  const map: RtpMap = { payloadType: pt, encoding, clockRate: Number(rate) };
  if (channels !== undefined) {
    if (!isDigits(channels) || Number(channels) < 1) return undefined;
    map.channels = Number(channels);
  }
  return map.clockRate > 0 ? map : undefined;
}

function payloadType(text: string): number | undefined {
  if (!isDigits(text) || text.length > 3) return undefined;
  const n = Number(text);
  return n <= 127 ? n : undefined;
}

/**
 * The `a=fmtp` parameters of one payload type (RFC 8866 §6.15), without the payload type.
 *
 * @example
 * ```ts
 * formatParameters(m, 101); // '0-16' for a=fmtp:101 0-16
 * ```
 */
export function formatParameters(media: SdpMedia, payloadType: number): string | undefined {
  const prefix = String(payloadType);
  for (const a of media.attributes) {
    if (a.name !== 'fmtp' || a.value === undefined || !a.value.startsWith(prefix)) continue;
    const rest = a.value.slice(prefix.length);
    if (rest === '') return '';
    if (rest[0] === ' ' || rest[0] === '\t') return rest.trim();
  }
  return undefined;
}

/**
 * `a=ptime` (RFC 8866 §6.4): milliseconds of media per packet, if given and valid.
 *
 * @example
 * ```ts
 * ptime(m); // 20 for a=ptime:20
 * ```
 */
export function ptime(media: SdpMedia): number | undefined {
  return milliseconds(attributeValue(media.attributes, 'ptime'));
}

/**
 * `a=maxptime` (RFC 8866 §6.5): the most milliseconds of media per packet, if given and valid.
 *
 * @example
 * ```ts
 * maxptime(m); // 150 for a=maxptime:150
 * ```
 */
export function maxptime(media: SdpMedia): number | undefined {
  return milliseconds(attributeValue(media.attributes, 'maxptime'));
}

function milliseconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  const dot = text.indexOf('.');
  const whole = dot < 0 ? text : text.slice(0, dot);
  const fraction = dot < 0 ? '0' : text.slice(dot + 1);
  if (!isDigits(whole) || !isDigits(fraction) || whole.length > 9) return undefined;
  const n = Number(text);
  return n > 0 ? n : undefined;
}

function attributeValue(list: SdpAttribute[], name: string): string | undefined {
  for (const a of list) if (a.name === name && a.value !== undefined) return a.value;
  return undefined;
}

function directionIn(list: SdpAttribute[]): SdpDirection | undefined {
  let found: SdpDirection | undefined;
  for (const a of list) if (a.value === undefined && isSdpDirection(a.name)) found = a.name;
  return found;
}

/**
 * The direction of a media section (RFC 8866 §6.7): its own direction attribute, else the
 * session-level one, else `sendrecv`. When a section repeats it, the last one counts.
 *
 * @example
 * ```ts
 * mediaDirection(sd, sd.media[0]!); // 'sendonly' — the peer puts us on hold
 * ```
 */
export function mediaDirection(sd: SessionDescription, media: SdpMedia): SdpDirection {
  return directionIn(media.attributes) ?? directionIn(sd.attributes) ?? 'sendrecv';
}

/**
 * `a=rtcp:<port> [IN IP4 <address>]` (RFC 3605): where the peer receives RTCP when not on
 * RTP port + 1.
 *
 * @example
 * ```ts
 * rtcpAttribute(m); // { port: 53020, address: '192.0.2.1' } for a=rtcp:53020 IN IP4 192.0.2.1
 * ```
 */
export function rtcpAttribute(media: SdpMedia): { port: number; address?: string } | undefined {
  const value = attributeValue(media.attributes, 'rtcp');
  if (value === undefined) return undefined;
  const f = value.trim().split(/[ \t]+/);
  const portText = f[0] ?? '';
  if (!isDigits(portText) || portText.length > 5 || Number(portText) > 65535) return undefined;
  const port = Number(portText);
  if (f.length === 4 && f[3] !== undefined) return { port, address: f[3] };
  return f.length === 1 ? { port } : undefined;
}

/**
 * Whether the media section carries `a=rtcp-mux` (RFC 5761 §5.1.1: RTCP on the RTP port).
 *
 * @example
 * ```ts
 * hasRtcpMux(m); // true
 * ```
 */
export function hasRtcpMux(media: SdpMedia): boolean {
  return media.attributes.some((a) => a.name === 'rtcp-mux');
}

/**
 * One `a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]` (RFC 4568 §9.1).
 *
 * @example
 * ```ts
 * const c: SdpCrypto = { tag: 1, suite: 'AES_CM_128_HMAC_SHA1_80', keyParams: 'inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32' };
 * ```
 */
export interface SdpCrypto {
  tag: number;
  suite: string;
  keyParams: string;
  sessionParams?: string;
}

/**
 * The media section's `a=crypto` lines (RFC 4568), in order; malformed ones are skipped.
 * Read for SDES-SRTP later; the negotiator does not use them.
 *
 * @example
 * ```ts
 * cryptoAttributes(m)[0]?.suite; // 'AES_CM_128_HMAC_SHA1_80'
 * ```
 */
export function cryptoAttributes(media: SdpMedia): SdpCrypto[] {
  const out: SdpCrypto[] = [];
  for (const a of media.attributes) {
    if (a.name !== 'crypto' || a.value === undefined) continue;
    const f = a.value.trim().split(/[ \t]+/);
    const [tag, suite, keyParams] = f;
    if (tag === undefined || !isDigits(tag) || tag.length > 9 || suite === undefined || keyParams === undefined) continue;
    const c: SdpCrypto = { tag: Number(tag), suite, keyParams };
    if (f.length > 3) c.sessionParams = f.slice(3).join(' ');
    out.push(c);
  }
  return out;
}

/**
 * The connection a media section uses (RFC 8866 §5.7): its first `c=`, else the session's.
 *
 * @example
 * ```ts
 * connectionOf(sd, sd.media[0]!)?.address; // '192.0.2.1'
 * ```
 */
export function connectionOf(sd: SessionDescription, media: SdpMedia): SdpConnection | undefined {
  return media.connections[0] ?? sd.connection;
}
