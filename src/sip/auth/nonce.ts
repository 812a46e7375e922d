/**
 * Self-validating server nonces (RFC 7616 §3.3 and §5.4 suggest "time-stamp H(time-stamp ":"
 * ETag ":" secret-data)"): the nonce carries when it was issued and an HMAC over that time
 * and the realm, keyed with the server secret. The server keeps no table of what it issued;
 * a restart with the same secret still accepts its nonces, and a nonce that was altered or
 * made up fails the HMAC.
 *
 * ```
 * nonce = base64url( issued-ms (6 bytes) | seq (2 bytes) | random (8 bytes) | HMAC-SHA-256(secret, issued | seq | random | realm)[0..16) )
 * ```
 * 32 bytes, 43 characters: token characters only, so it needs no escaping when quoted.
 * `(issued-ms, seq)` grows strictly from one nonce to the next of a minter (the sequence
 * number tells apart nonces of the same millisecond), which lets {@link NonceCounts} order
 * nonces by issue.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const TIME_BYTES = 8; // 6 bytes of milliseconds, 2 of sequence
const RANDOM_BYTES = 8;
const MAC_BYTES = 16;
const NONCE_BYTES = TIME_BYTES + RANDOM_BYTES + MAC_BYTES;
/** base64url length of {@link NONCE_BYTES} bytes without padding. */
const NONCE_CHARS = Math.ceil((NONCE_BYTES * 4) / 3);

/** What {@link NonceMinter.check} finds out about a nonce. */
export type NonceCheck =
  | { valid: true; issuedAt: number; seq: number; expired: boolean }
  | { valid: false };

/** Issues and checks nonces for one realm. */
export class NonceMinter {
  private readonly secret: Uint8Array;
  private readonly realm: string;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly random: (bytes: number) => Uint8Array;
  private lastMs = -1;
  private seq = 0;

  constructor(options: { secret: Uint8Array; realm: string; ttlMs: number; now: () => number; random: (bytes: number) => Uint8Array }) {
    if (options.secret.length < 16) throw new TypeError('The nonce secret must be at least 16 bytes');
    this.secret = options.secret;
    this.realm = options.realm;
    this.ttlMs = options.ttlMs;
    this.now = options.now;
    this.random = options.random;
  }

  private mac(body: Uint8Array): Buffer {
    return createHmac('sha256', this.secret).update(body).update(this.realm, 'utf8').digest().subarray(0, MAC_BYTES);
  }

  /** A fresh nonce stamped with the current time. */
  issue(): string {
    const buf = Buffer.alloc(NONCE_BYTES);
    // Strictly increasing (ms, seq), even when the clock stands still or steps back.
    let ms = Math.max(0, Math.floor(this.now()), this.lastMs);
    if (ms === this.lastMs) {
      this.seq++;
      if (this.seq > 0xffff) {
        ms++;
        this.seq = 0;
      }
    } else this.seq = 0;
    this.lastMs = ms;
    buf.writeUIntBE(ms, 0, 6);
    buf.writeUInt16BE(this.seq, 6);
    const r = this.random(RANDOM_BYTES);
    if (r.length !== RANDOM_BYTES) throw new TypeError(`random(${RANDOM_BYTES}) returned ${r.length} bytes`);
    buf.set(r, TIME_BYTES);
    this.mac(buf.subarray(0, TIME_BYTES + RANDOM_BYTES)).copy(buf, TIME_BYTES + RANDOM_BYTES);
    return buf.toString('base64url');
  }

  /**
   * Whether `nonce` is one of ours (HMAC checked in constant time) and whether it has
   * outlived the TTL. A nonce stamped in the future (beyond the TTL) is treated as expired.
   */
  check(nonce: string): NonceCheck {
    if (nonce.length !== NONCE_CHARS || !/^[A-Za-z0-9_-]+$/.test(nonce)) return { valid: false };
    const buf = Buffer.from(nonce, 'base64url');
    if (buf.length !== NONCE_BYTES || buf.toString('base64url') !== nonce) return { valid: false };
    const expect = this.mac(buf.subarray(0, TIME_BYTES + RANDOM_BYTES));
    if (!timingSafeEqual(expect, buf.subarray(TIME_BYTES + RANDOM_BYTES))) return { valid: false };
    const issuedAt = buf.readUIntBE(0, 6);
    const age = this.now() - issuedAt;
    return { valid: true, issuedAt, seq: buf.readUInt16BE(6), expired: age > this.ttlMs || age < -this.ttlMs };
  }
}
