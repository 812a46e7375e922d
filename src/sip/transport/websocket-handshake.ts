/**
 * The WebSocket opening handshake (RFC 6455 §4) as SIP over WebSocket needs it (RFC 7118
 * §4): an HTTP/1.1 GET with `Upgrade: websocket`, a random 16-byte `Sec-WebSocket-Key`,
 * version 13, and `Sec-WebSocket-Protocol: sip`; the server answers 101 with
 * `Sec-WebSocket-Accept` (SHA-1 of key + GUID, base64) and the `sip` subprotocol. Pure
 * functions: the transport does the I/O.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The GUID of RFC 6455 §1.3. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The subprotocol of RFC 7118 §4.1. */
export const SIP_SUBPROTOCOL = 'sip';

/**
 * `Sec-WebSocket-Accept` for a key (§4.2.2 step 5.4).
 *
 * @example
 * ```ts
 * websocketAccept('dGhlIHNhbXBsZSBub25jZQ=='); // 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=' (RFC 6455 §1.3)
 * ```
 */
export function websocketAccept(key: string): string {
  return createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
}

/** A fresh `Sec-WebSocket-Key`: 16 random bytes, base64 (§4.1). */
export function websocketKey(random: (n: number) => Uint8Array = randomBytes): string {
  return Buffer.from(random(16)).toString('base64');
}

/** The outcome of checking an upgrade request. */
export type UpgradeCheck = { ok: true; key: string } | { ok: false; status: number; reason: string };

function tokens(v: string | string[] | undefined): string[] {
  const s = Array.isArray(v) ? v.join(',') : (v ?? '');
  return s
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t.length > 0);
}

/**
 * Checks a client's opening handshake (§4.2.1) and the `sip` subprotocol (RFC 7118 §4.1).
 * A request that is no WebSocket upgrade gets 426 (with `Upgrade: websocket`), a wrong
 * version 426 too (§4.4), and a malformed key or a missing `sip` subprotocol 400.
 *
 * @example
 * ```ts
 * const check = checkUpgradeRequest(req.method, req.headers);
 * if (!check.ok) socket.end(`HTTP/1.1 ${check.status} ${check.reason}\r\n\r\n`);
 * ```
 */
export function checkUpgradeRequest(method: string | undefined, headers: IncomingHttpHeaders): UpgradeCheck {
  if (method !== 'GET') return { ok: false, status: 400, reason: 'WebSocket upgrade must be a GET' };
  if (!tokens(headers.upgrade).includes('websocket') || !tokens(headers.connection).includes('upgrade')) {
    return { ok: false, status: 426, reason: 'Upgrade Required' };
  }
  if (headers['sec-websocket-version'] !== '13') return { ok: false, status: 426, reason: 'Unsupported WebSocket version' };
  const key = headers['sec-websocket-key'];
  if (typeof key !== 'string' || Buffer.from(key, 'base64').length !== 16 || key.trim().length !== 24) {
    return { ok: false, status: 400, reason: 'Invalid Sec-WebSocket-Key' };
  }
  if (!tokens(headers['sec-websocket-protocol']).includes(SIP_SUBPROTOCOL)) {
    return { ok: false, status: 400, reason: 'Sec-WebSocket-Protocol sip required (RFC 7118)' };
  }
  return { ok: true, key: key.trim() };
}

/** The 101 response to an accepted upgrade (§4.2.2). */
export function upgradeResponse(key: string): string {
  return (
    'HTTP/1.1 101 Switching Protocols\r\n' +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${websocketAccept(key)}\r\n` +
    `Sec-WebSocket-Protocol: ${SIP_SUBPROTOCOL}\r\n\r\n`
  );
}

/** A refusal of an upgrade, closing the connection. */
export function refusalResponse(status: number, reason: string): string {
  const body = `${reason}\n`;
  const upgrade = status === 426 ? 'Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' : '';
  return `HTTP/1.1 ${status} ${reason}\r\n${upgrade}Connection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}
