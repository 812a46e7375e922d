import { RtpParseError } from './errors.js';

/**
 * RTP header extensions in the RFC 8285 general mechanism: one-byte and two-byte element
 * headers inside the RFC 3550 §5.3.1 extension block.
 *
 * ```
 * RFC 3550 §5.3.1 extension block (follows the CSRC list when X=1):
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      defined by profile       |           length              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        header extension                       |
 * |                             ....                              |
 *
 * RFC 8285 §4.2 one-byte form (profile 0xBEDE), L = length - 1 (1..16 bytes):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |       0xBE    |    0xDE       |           length=3            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  ID   | L=0   |     data      |  ID   |  L=1  |   data...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * RFC 8285 §4.3 two-byte form (profile 0x100 + 4 "appbits"), length 0..255 bytes:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         0x100         |appbits|           length=3            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      ID       |     L=0       |     ID        |     L=1       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * Padding bytes (ID 0 in either form) are skipped. In the one-byte form ID 15 is reserved and
 * "processing SHALL stop" (RFC 8285 §4.2), so elements after it are ignored.
 *
 * @example
 * ```ts
 * const elements = parseHeaderExtension(packet.extensionProfile, packet.extensionData);
 * const audioLevel = elements.find((e) => e.id === 1)?.data;
 * ```
 */
export interface HeaderExtensionElement {
  /** Local identifier, 1..14 (one-byte form) or 1..255 (two-byte form). */
  id: number;
  /** Element data (a view into the packet when parsed). */
  data: Uint8Array;
}

/** Profile value of the one-byte form. */
export const ONE_BYTE_PROFILE = 0xbede;
/** Profile value of the two-byte form with appbits 0 (the upper 12 bits are 0x100). */
export const TWO_BYTE_PROFILE = 0x1000;

/** True if `profile` is the RFC 8285 one-byte or two-byte form. */
export function isRfc8285Profile(profile: number): boolean {
  return profile === ONE_BYTE_PROFILE || (profile & 0xfff0) === TWO_BYTE_PROFILE;
}

/**
 * Parses the elements of an extension block. `data` is the block body (after the 4-byte
 * profile/length word). Returns an empty list for a profile that is not RFC 8285 (the
 * block is then opaque). Throws {@link RtpParseError} `bad-extension` if an element overruns.
 */
export function parseHeaderExtension(profile: number, data: Uint8Array): HeaderExtensionElement[] {
  const out: HeaderExtensionElement[] = [];
  forEachHeaderExtension(profile, data, (id, start, end) => {
    out.push({ id, data: data.subarray(start, end) });
  });
  return out;
}

/**
 * Allocation-free walk over the elements of an extension block: calls `visit(id, start, end)`
 * with byte offsets into `data`. Used by {@link findHeaderExtension} on the hot path.
 */
export function forEachHeaderExtension(
  profile: number,
  data: Uint8Array,
  visit: (id: number, start: number, end: number) => void,
): void {
  const n = data.length;
  if (profile === ONE_BYTE_PROFILE) {
    let i = 0;
    while (i < n) {
      const b = data[i]!;
      if (b === 0) {
        i++; // padding
        continue;
      }
      const id = b >> 4;
      if (id === 15) return; // RFC 8285 §4.2: reserved, stop processing
      const len = (b & 0x0f) + 1;
      if (i + 1 + len > n) throw new RtpParseError('bad-extension', `one-byte extension element ${id} overruns the block`);
      visit(id, i + 1, i + 1 + len);
      i += 1 + len;
    }
  } else if ((profile & 0xfff0) === TWO_BYTE_PROFILE) {
    let i = 0;
    while (i < n) {
      const id = data[i]!;
      if (id === 0) {
        i++;
        continue;
      }
      if (i + 1 >= n) throw new RtpParseError('bad-extension', `two-byte extension element ${id} has no length byte`);
      const len = data[i + 1]!;
      if (i + 2 + len > n) throw new RtpParseError('bad-extension', `two-byte extension element ${id} overruns the block`);
      visit(id, i + 2, i + 2 + len);
      i += 2 + len;
    }
  }
}

/** Returns the data of element `id` as a view into `data`, or undefined. */
export function findHeaderExtension(profile: number, data: Uint8Array, id: number): Uint8Array | undefined {
  let found: Uint8Array | undefined;
  forEachHeaderExtension(profile, data, (eid, start, end) => {
    if (found === undefined && eid === id) found = data.subarray(start, end);
  });
  return found;
}

/**
 * Chooses the form for `elements`: one-byte if every ID is 1..14 and every length 1..16,
 * otherwise two-byte (RFC 8285 §4.1.2: the two-byte form is for what the one-byte cannot carry).
 */
export function headerExtensionProfileFor(elements: readonly HeaderExtensionElement[]): number {
  for (const e of elements) {
    if (e.id < 1 || e.id > 14 || e.data.length < 1 || e.data.length > 16) return TWO_BYTE_PROFILE;
  }
  return ONE_BYTE_PROFILE;
}

/** Size in bytes of the extension block body for `elements` in `profile`, padded to 32 bits. */
export function headerExtensionSize(profile: number, elements: readonly HeaderExtensionElement[]): number {
  const per = profile === ONE_BYTE_PROFILE ? 1 : 2;
  let n = 0;
  for (const e of elements) n += per + e.data.length;
  return (n + 3) & ~3;
}

/**
 * Writes the body of an extension block (elements then zero padding to 32 bits) at
 * `out[offset]` and returns the number of bytes written. Throws {@link RtpParseError}
 * `bad-extension` for an element the chosen form cannot carry.
 */
export function writeHeaderExtension(
  profile: number,
  elements: readonly HeaderExtensionElement[],
  out: Uint8Array,
  offset: number,
): number {
  let i = offset;
  const oneByte = profile === ONE_BYTE_PROFILE;
  for (const e of elements) {
    const len = e.data.length;
    if (oneByte) {
      if (e.id < 1 || e.id > 14 || len < 1 || len > 16) {
        throw new RtpParseError('bad-extension', `element ${e.id} (${len} bytes) does not fit the one-byte form`);
      }
      out[i++] = (e.id << 4) | (len - 1);
    } else {
      if (e.id < 1 || e.id > 255 || len > 255) {
        throw new RtpParseError('bad-extension', `element ${e.id} (${len} bytes) does not fit the two-byte form`);
      }
      out[i++] = e.id;
      out[i++] = len;
    }
    out.set(e.data, i);
    i += len;
  }
  while ((i - offset) & 3) out[i++] = 0;
  return i - offset;
}
