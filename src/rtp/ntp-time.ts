/**
 * NTP timestamps as RTCP carries them (RFC 3550 §4): seconds since 1900-01-01 in the most
 * significant word, a binary fraction in the least; LSR/DLSR use the middle 32 bits
 * (16.16 fixed point seconds).
 *
 * @example
 * ```ts
 * const { seconds, fraction } = ntpFromUnixMs(Date.now());
 * const lsr = ntpMiddle32(seconds, fraction);
 * ```
 */

/** Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
export const NTP_UNIX_OFFSET_SECONDS = 2_208_988_800;

/** Converts Unix milliseconds to an NTP timestamp. */
export function ntpFromUnixMs(ms: number): { seconds: number; fraction: number } {
  const totalSeconds = ms / 1000 + NTP_UNIX_OFFSET_SECONDS;
  const seconds = Math.floor(totalSeconds);
  const fraction = Math.floor((totalSeconds - seconds) * 0x1_0000_0000) >>> 0;
  return { seconds: seconds >>> 0, fraction };
}

/** Converts an NTP timestamp to Unix milliseconds (ignoring the 2036 era wrap). */
export function unixMsFromNtp(seconds: number, fraction: number): number {
  return (seconds - NTP_UNIX_OFFSET_SECONDS) * 1000 + (fraction / 0x1_0000_0000) * 1000;
}

/** The middle 32 bits of an NTP timestamp (the LSR field, RFC 3550 §6.4.1). */
export function ntpMiddle32(seconds: number, fraction: number): number {
  return (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0;
}

/** Unix milliseconds to the middle 32 bits of the NTP timestamp. */
export function ntpMiddle32FromUnixMs(ms: number): number {
  const t = ntpFromUnixMs(ms);
  return ntpMiddle32(t.seconds, t.fraction);
}
