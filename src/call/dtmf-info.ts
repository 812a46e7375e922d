/**
 * DTMF in SIP INFO requests, as phones and gateways send it when RTP events are not used:
 * `application/dtmf-relay` (Cisco's format, `Signal=5\r\nDuration=160`) and
 * `application/dtmf` (the bare digit). Neither is standardised by the IETF, so the reader is
 * lenient (any line order, case, spaces) and the writer sends the common Cisco form.
 *
 * @example
 * ```ts
 * parseDtmfInfo('application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n'); // { digit: '5', durationMs: 160 }
 * formatDtmfInfo('#', 250); // 'Signal=#\r\nDuration=250\r\n'
 * ```
 */
import { eventToDigit } from '../rtp/index.js';

/** The body types we accept for INFO DTMF. */
export const DTMF_INFO_TYPES: readonly string[] = ['application/dtmf-relay', 'application/dtmf'];

const DIGITS = '0123456789*#ABCD';

/** Signal=10 … 15 is how some gateways write `*`, `#`, A–D (the RFC 4733 event numbers). */
function normaliseSignal(value: string): string | undefined {
  const v = value.trim().toUpperCase();
  if (v.length === 1 && DIGITS.includes(v)) return v;
  if (/^1[0-5]$/.test(v)) return eventToDigit(Number(v));
  return undefined;
}

/**
 * Reads a digit from an INFO body; undefined when the body is not DTMF we understand.
 *
 * @example
 * ```ts
 * parseDtmfInfo('application/dtmf', '7'); // { digit: '7' }
 * ```
 */
export function parseDtmfInfo(contentType: string, body: string): { digit: string; durationMs?: number } | undefined {
  const type = contentType.trim().toLowerCase();
  if (body.length > 1024) return undefined;
  if (type === 'application/dtmf') {
    const digit = normaliseSignal(body);
    return digit === undefined ? undefined : { digit };
  }
  if (type !== 'application/dtmf-relay') return undefined;
  let digit: string | undefined;
  let durationMs: number | undefined;
  for (const line of body.split(/\r?\n/)) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1);
    if (key === 'signal') digit = normaliseSignal(value);
    else if (key === 'duration') {
      const d = Number(value.trim());
      if (Number.isInteger(d) && d > 0 && d < 60_000) durationMs = d;
    }
  }
  if (digit === undefined) return undefined;
  return durationMs === undefined ? { digit } : { digit, durationMs };
}

/**
 * The `application/dtmf-relay` body for a digit.
 *
 * @example
 * ```ts
 * formatDtmfInfo('5'); // 'Signal=5\r\nDuration=100\r\n'
 * ```
 */
export function formatDtmfInfo(digit: string, durationMs = 100): string {
  return `Signal=${digit}\r\nDuration=${Math.round(durationMs)}\r\n`;
}
