/**
 * Big-endian (network byte order) integer access on byte arrays without a `DataView`:
 * creating a `DataView` per received datagram would allocate on the hot path, while these
 * inline to a few shifts.
 */

/** Reads a big-endian unsigned 32-bit integer at `b[i]`. */
export function readU32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

/** Reads a big-endian unsigned 16-bit integer at `b[i]`. */
export function readU16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

/** Writes the low 32 bits of `v` big-endian at `b[i]`. */
export function writeU32(b: Uint8Array, i: number, v: number): void {
  b[i] = (v >>> 24) & 0xff;
  b[i + 1] = (v >>> 16) & 0xff;
  b[i + 2] = (v >>> 8) & 0xff;
  b[i + 3] = v & 0xff;
}

/** Writes the low 16 bits of `v` big-endian at `b[i]`. */
export function writeU16(b: Uint8Array, i: number, v: number): void {
  b[i] = (v >>> 8) & 0xff;
  b[i + 1] = v & 0xff;
}
