/**
 * The user name in digest credentials: `username="..."` (a quoted-string, which in SIP may
 * carry UTF-8, RFC 3261 §25.1) or `username*=UTF-8''J%C3%A4s%C3%B8n` (RFC 7616 §3.4 and §4, with
 * the ext-value encoding of RFC 8187 §3.2). The two must not appear together.
 */
import type { AuthHeader } from '../message/index.js';

const EXT_VALUE = /^([A-Za-z0-9!#$%&+^_`{}~-]+)'([A-Za-z0-9-]*)'((?:[A-Za-z0-9!#$&+.^_`|~-]|%[0-9A-Fa-f]{2})*)$/;

/**
 * Decodes an RFC 8187 ext-value (`charset'language'value-chars`): UTF-8 or ISO-8859-1.
 * Returns `undefined` for anything else, including invalid UTF-8.
 *
 * @example
 * ```ts
 * decodeExtValue("UTF-8''J%C3%A4s%C3%B8n%20Doe"); // 'Jäsøn Doe'
 * ```
 */
export function decodeExtValue(v: string): string | undefined {
  const m = EXT_VALUE.exec(v);
  if (m === null) return undefined;
  const charset = m[1]!.toLowerCase();
  const chars = m[3]!;
  const bytes: number[] = [];
  for (let i = 0; i < chars.length; i++) {
    if (chars.charCodeAt(i) === 0x25) {
      bytes.push(parseInt(chars.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(chars.charCodeAt(i));
  }
  const buf = Uint8Array.from(bytes);
  if (charset === 'utf-8') {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buf);
    } catch {
      return undefined;
    }
  }
  if (charset === 'iso-8859-1') return Buffer.from(buf).toString('latin1');
  return undefined;
}

/** Encodes a user name as an RFC 8187 ext-value with charset UTF-8. */
export function encodeExtValue(v: string): string {
  let out = "UTF-8''";
  for (const b of Buffer.from(v, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9!#$&+.^_`|~-]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/**
 * The user name that credentials name, from `username` or `username*`; `undefined` when
 * neither is present, both are, or `username*` cannot be decoded.
 */
export function credentialsUsername(h: AuthHeader): string | undefined {
  const plain = h.params.get('username');
  const ext = h.params.get('username*');
  if (typeof plain === 'string' && ext === undefined) return plain;
  if (plain === undefined && typeof ext === 'string') return decodeExtValue(ext);
  return undefined;
}
