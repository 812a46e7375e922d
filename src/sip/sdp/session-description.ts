/**
 * The data model of an SDP session description (RFC 8866 §5): one interface per line type,
 * in the order the lines appear. Values are kept as written (no case folding, addresses not
 * resolved); numbers that can exceed 2^53 (`o=` version, `t=` times) are `bigint`.
 *
 * ```
 * Session description                 Media description (per m=)
 *   v=  version                          m=  media port[/count] proto fmt ...
 *   o=  origin                           i=* information
 *   s=  session name                     c=* connection(s)
 *   i=* information                      b=* bandwidth(s)
 *   u=* URI                              k=* key (obsolete)
 *   e=* email(s)                         a=* attribute(s)
 *   p=* phone(s)
 *   c=* connection                     (* = optional)
 *   b=* bandwidth(s)
 *   t=  timing, r=* repeats (one or more t=)
 *   z=* time zones
 *   k=* key (obsolete)
 *   a=* attribute(s)
 * ```
 *
 * @example
 * ```ts
 * const sd: SessionDescription = parseSdp(body);
 * sd.media[0]?.formats; // ['0', '8', '101']
 * ```
 */

/**
 * The `o=` line (RFC 8866 §5.2): `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>`.
 *
 * @example
 * ```ts
 * const o: SdpOrigin = { username: '-', sessionId: '3724394400', sessionVersion: 3724394401n, netType: 'IN', addrType: 'IP4', address: '192.0.2.10' };
 * ```
 */
export interface SdpOrigin {
  username: string;
  sessionId: string;
  sessionVersion: bigint;
  netType: string;
  addrType: string;
  address: string;
}

/**
 * A `c=` line (RFC 8866 §5.7): `c=<nettype> <addrtype> <address>[/<ttl>][/<count>]`. `ttl` is
 * only written for IP4 (multicast), `count` after it for IP4 and alone for IP6.
 *
 * @example
 * ```ts
 * const c: SdpConnection = { netType: 'IN', addrType: 'IP4', address: '192.0.2.10' };
 * ```
 */
export interface SdpConnection {
  netType: string;
  addrType: string;
  address: string;
  ttl?: number;
  count?: number;
}

/**
 * A `b=<bwtype>:<bandwidth>` line (RFC 8866 §5.8), e.g. `b=AS:64` (kilobits per second).
 *
 * @example
 * ```ts
 * const b: SdpBandwidth = { type: 'AS', value: 64 };
 * ```
 */
export interface SdpBandwidth {
  type: string;
  value: number;
}

/**
 * A `t=<start> <stop>` line with its `r=` repeat lines (kept as written) (RFC 8866 §5.9, §5.10).
 * `t=0 0` is a permanent session, what SIP uses.
 *
 * @example
 * ```ts
 * const t: SdpTiming = { start: 0n, stop: 0n, repeats: [] };
 * ```
 */
export interface SdpTiming {
  start: bigint;
  stop: bigint;
  repeats: string[];
}

/**
 * An `a=` line (RFC 8866 §5.13): `a=<name>` (a property attribute, `value` undefined) or
 * `a=<name>:<value>` (a value attribute; `value` may be `''`).
 *
 * @example
 * ```ts
 * const a: SdpAttribute[] = [{ name: 'rtpmap', value: '0 PCMU/8000' }, { name: 'sendrecv' }];
 * ```
 */
export interface SdpAttribute {
  name: string;
  value?: string;
}

/**
 * A line whose type letter RFC 8866 does not define (kept, in order, after the known lines of
 * its section, so a round trip loses nothing).
 *
 * @example
 * ```ts
 * const x: SdpOtherLine = { type: 'y', value: '0123456789' }; // y= of some vendors
 * ```
 */
export interface SdpOtherLine {
  type: string;
  value: string;
}

/**
 * One media description: the `m=` line and the lines up to the next `m=` (RFC 8866 §5.14).
 *
 * @example
 * ```ts
 * const m: SdpMedia = { type: 'audio', port: 49170, protocol: 'RTP/AVP', formats: ['0'], connections: [], bandwidths: [], attributes: [] };
 * ```
 */
export interface SdpMedia {
  type: string;
  port: number;
  portCount?: number;
  protocol: string;
  formats: string[];
  information?: string;
  connections: SdpConnection[];
  bandwidths: SdpBandwidth[];
  key?: string;
  attributes: SdpAttribute[];
  /** Lines of unknown types in this media section, in order (absent when none). */
  otherLines?: SdpOtherLine[];
}

/**
 * A whole SDP session description (RFC 8866 §5).
 *
 * @example
 * ```ts
 * const sd: SessionDescription = {
 *   version: 0,
 *   origin: { username: '-', sessionId: '1', sessionVersion: 1n, netType: 'IN', addrType: 'IP4', address: '192.0.2.10' },
 *   sessionName: '-', emails: [], phones: [], connection: { netType: 'IN', addrType: 'IP4', address: '192.0.2.10' },
 *   bandwidths: [], timings: [{ start: 0n, stop: 0n, repeats: [] }], attributes: [],
 *   media: [{ type: 'audio', port: 4000, protocol: 'RTP/AVP', formats: ['0'], connections: [], bandwidths: [], attributes: [] }],
 * };
 * ```
 */
export interface SessionDescription {
  version: number;
  origin: SdpOrigin;
  sessionName: string;
  information?: string;
  uri?: string;
  emails: string[];
  phones: string[];
  connection?: SdpConnection;
  bandwidths: SdpBandwidth[];
  timings: SdpTiming[];
  zone?: string;
  key?: string;
  attributes: SdpAttribute[];
  media: SdpMedia[];
  /** Session-level lines of unknown types, in order (absent when none). */
  otherLines?: SdpOtherLine[];
}
