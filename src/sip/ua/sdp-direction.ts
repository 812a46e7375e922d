/**
 * SDP direction rewriting for hold and unhold (RFC 3264 §8.4, RFC 6337 §5.3) on an opaque SDP
 * string, for the UA's sessions, which treat bodies as opaque: these helpers touch only the
 * `a=sendrecv` / `a=sendonly` / `a=recvonly` / `a=inactive` lines. Full offer/answer (codecs,
 * addresses, hold) is `src/sip/sdp`'s `SdpNegotiator`, which shares {@link SdpDirection} and
 * {@link answerDirection} with this file.
 *
 * @example
 * ```ts
 * const held = setSdpDirection(offer, 'sendonly');   // every direction line, or one added per m= section
 * sdpDirection(held);                                  // 'sendonly'
 * answerDirection('sendonly');                         // 'recvonly'
 * ```
 */

/**
 * An SDP media direction attribute (RFC 8866 §6.7).
 *
 * @example
 * ```ts
 * const held: SdpDirection = 'sendonly';
 * ```
 */
export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

const DIRECTIONS: readonly string[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

/**
 * True when `name` is one of the four direction attributes.
 *
 * @example
 * ```ts
 * isSdpDirection('sendonly'); // true
 * isSdpDirection('rtcp-mux'); // false
 * ```
 */
export function isSdpDirection(name: string): name is SdpDirection {
  return DIRECTIONS.includes(name);
}

/**
 * The direction of the first media section (or of the session when it sets one before any
 * `m=` line and the media section does not); `sendrecv` when none is written (RFC 8866 §6.7).
 *
 * @example
 * ```ts
 * sdpDirection('v=0\r\nm=audio 4000 RTP/AVP 0\r\na=inactive\r\n'); // 'inactive'
 * ```
 */
export function sdpDirection(sdp: string): SdpDirection {
  let session: SdpDirection | undefined;
  let inMedia = false;
  for (const raw of sdp.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.startsWith('m=')) {
      if (inMedia) break;
      inMedia = true;
      continue;
    }
    if (line.startsWith('a=') && isSdpDirection(line.slice(2))) {
      if (inMedia) return line.slice(2) as SdpDirection;
      session = line.slice(2) as SdpDirection;
    }
  }
  return session ?? 'sendrecv';
}

/**
 * `sdp` with every direction attribute set to `direction`; a media section without one gets
 * one after its `m=` line. Other lines are kept byte for byte; the `o=` version is
 * incremented (RFC 3264 §8: a changed description has a higher version).
 *
 * @example
 * ```ts
 * const hold = setSdpDirection(currentOffer, 'sendonly'); // RFC 3264 §8.4 hold
 * const resume = setSdpDirection(currentOffer, 'sendrecv');
 * ```
 */
export function setSdpDirection(sdp: string, direction: SdpDirection): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(/\r?\n/);
  const trailing = lines.length > 0 && lines[lines.length - 1] === '';
  if (trailing) lines.pop();
  const out: string[] = [];
  let mediaHasDirection = true;
  let mediaIndex = -1;
  const closeMedia = (): void => {
    if (!mediaHasDirection && mediaIndex >= 0) out.splice(mediaIndex + 1, 0, `a=${direction}`);
  };
  for (const line of lines) {
    if (line.startsWith('m=')) {
      closeMedia();
      out.push(line);
      mediaIndex = out.length - 1;
      mediaHasDirection = false;
      continue;
    }
    if (line.startsWith('a=') && isSdpDirection(line.slice(2))) {
      if (mediaIndex >= 0) {
        mediaHasDirection = true;
        out.push(`a=${direction}`);
      }
      // A session-level direction is dropped: the media sections say it.
      continue;
    }
    if (line.startsWith('o=')) {
      const parts = line.split(' ');
      const version = parts[2];
      if (parts.length >= 6 && version !== undefined && /^\d+$/.test(version)) parts[2] = (BigInt(version) + 1n).toString();
      out.push(parts.join(' '));
      continue;
    }
    out.push(line);
  }
  closeMedia();
  return out.join(eol) + (trailing ? eol : '');
}

/**
 * The direction an answerer takes for an offered one (RFC 3264 §6.1): sendonly ↔ recvonly,
 * inactive and sendrecv unchanged.
 *
 * @example
 * ```ts
 * answerDirection('sendonly'); // 'recvonly' — the held party only receives
 * ```
 */
export function answerDirection(offered: SdpDirection): SdpDirection {
  return offered === 'sendonly' ? 'recvonly' : offered === 'recvonly' ? 'sendonly' : offered;
}
