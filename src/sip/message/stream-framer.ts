/**
 * Framing SIP messages in a byte stream (TCP, TLS; RFC 3261 §18.3): a message ends after its
 * header section's empty line plus Content-Length bytes of body. Chunks may split a message
 * anywhere, or carry several. Between messages, CRLF keep-alives (RFC 5626 §4.4.1) are
 * reported: a double CRLF is a ping (answer it with a single CRLF), a single CRLF a pong. A
 * ping whose two halves arrive in separate reads is reported as a pong, then a ping: a
 * server ignores pongs (it sends no pings), so it still answers every ping.
 *
 * A framing error (a header section over the size limit, a missing or negative
 * Content-Length value, several Content-Length headers) leaves no way to find the next
 * message, so it is fatal: the framer stops and the connection should be closed. A message
 * that frames correctly but fails validation is reported as a non-fatal error, and the
 * stream goes on.
 */
import { CR, LF } from './chars.js';
import { SipParseError } from './errors.js';
import { type SipMessage } from './message.js';
import { asBuffer, declaredContentLength, parseHead, resolveLimits, validateMessage, type ParseOptions, type SipLimits } from './parser.js';

/** What {@link SipStreamFramer.push} reports, in stream order. */
export type FramerEvent =
  | { type: 'message'; message: SipMessage }
  /** `fatal`: the stream cannot be framed any more; close the connection. */
  | { type: 'error'; error: SipParseError; fatal: boolean }
  /** A CRLFCRLF keep-alive ping: answer with CRLF. */
  | { type: 'ping' }
  /** A lone CRLF: the pong to our ping. */
  | { type: 'pong' };

const EMPTY = Buffer.alloc(0);
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

/**
 * Splits a byte stream into SIP messages.
 *
 * @example
 * ```ts
 * const framer = new SipStreamFramer();
 * socket.on('data', (chunk) => {
 *   for (const ev of framer.push(chunk)) {
 *     if (ev.type === 'message') handle(ev.message);
 *     else if (ev.type === 'ping') socket.write('\r\n');
 *     else if (ev.type === 'error' && ev.fatal) socket.destroy();
 *   }
 * });
 * ```
 */
export class SipStreamFramer {
  private buf: Buffer = EMPTY;
  private scanFrom = 0;
  private pending: { msg: SipMessage; bodyStart: number; total: number } | null = null;
  private readonly limits: SipLimits;
  private readonly validate: boolean;
  private dead = false;
  /** The last event was a pong for a CRLF that ended its read: a CRLF now completes a ping. */
  private crlfPending = false;

  constructor(options?: ParseOptions) {
    this.limits = resolveLimits(options?.limits);
    this.validate = options?.validate !== false;
  }

  /** Bytes received but not yet part of a complete message. */
  get buffered(): number {
    return this.buf.length;
  }

  /** True after a fatal framing error: further input is ignored. */
  get failed(): boolean {
    return this.dead;
  }

  /** Adds bytes from the stream; returns the events they complete. */
  push(chunk: Uint8Array): FramerEvent[] {
    const out: FramerEvent[] = [];
    if (this.dead || chunk.length === 0) return out;
    this.buf = this.buf.length === 0 ? asBuffer(chunk) : Buffer.concat([this.buf, chunk]);
    // A ping split between two reads arrives as CRLF + CRLF: the first half was reported as a
    // pong (a client waiting for one must not wait for more bytes); the second half completes
    // the ping, reported as such.
    const b = this.buf;
    if (this.crlfPending && this.pending === null) {
      if (b.length === 1 && b[0] === CR) return out; // half of the second half: wait
      if (b.length >= 2 && b[0] === CR && b[1] === LF && !(b.length >= 4 && b[2] === CR && b[3] === LF)) {
        out.push({ type: 'ping' });
        this.consume(2);
      }
    }
    this.crlfPending = false;
    while (this.buf.length > 0 && !this.dead) {
      if (!this.step(out)) break;
    }
    return out;
  }

  private consume(n: number): void {
    this.buf = n >= this.buf.length ? EMPTY : this.buf.subarray(n);
    this.scanFrom = 0;
  }

  private fail(out: FramerEvent[], error: SipParseError): false {
    this.dead = true;
    this.buf = EMPTY;
    this.pending = null;
    out.push({ type: 'error', error, fatal: true });
    return false;
  }

  /** Tries to take one event off the buffer; false when more bytes are needed. */
  private step(out: FramerEvent[]): boolean {
    const buf = this.buf;
    const limits = this.limits;
    if (this.pending === null && (buf[0] === CR || buf[0] === LF)) {
      if (buf[0] === LF) {
        this.consume(1); // a stray LF between messages
        return true;
      }
      if (buf.length < 2) return false;
      if (buf[1] === LF) {
        if (buf.length >= 4 && buf[2] === CR && buf[3] === LF) {
          out.push({ type: 'ping' });
          this.consume(4);
          return true;
        }
        if (buf.length === 2 || buf[2] !== CR) {
          out.push({ type: 'pong' });
          this.crlfPending = buf.length === 2;
          this.consume(2);
          return true;
        }
        if (buf.length < 4) return false;
      }
    }
    if (this.pending === null) {
      const p = buf.indexOf(CRLFCRLF, this.scanFrom);
      if (p < 0) {
        if (buf.length > limits.maxMessageBytes) return this.fail(out, new SipParseError('Header section too large'));
        this.scanFrom = Math.max(0, buf.length - 3);
        return false;
      }
      let msg: SipMessage;
      try {
        msg = parseHead(buf, 0, p + 2, limits);
      } catch (e) {
        return this.fail(out, toParseError(e));
      }
      let cl: number;
      try {
        cl = declaredContentLength(msg, limits);
      } catch (e) {
        const err = toParseError(e);
        err.partial = msg;
        return this.fail(out, err);
      }
      // A stream message must carry Content-Length (§18.3, §20.14); without one the only
      // safe reading is an empty body.
      if (cl < 0) cl = 0;
      const total = p + 4 + cl;
      if (total > limits.maxMessageBytes) return this.fail(out, new SipParseError('Message too large'));
      this.pending = { msg, bodyStart: p + 4, total };
    }
    const pending = this.pending!;
    if (buf.length < pending.total) return false;
    this.pending = null;
    const msg = pending.msg;
    msg.body = buf.subarray(pending.bodyStart, pending.total);
    this.consume(pending.total);
    if (this.validate) {
      try {
        validateMessage(msg);
      } catch (e) {
        out.push({ type: 'error', error: toParseError(e), fatal: false });
        return true;
      }
    }
    out.push({ type: 'message', message: msg });
    return true;
  }
}

function toParseError(e: unknown): SipParseError {
  if (e instanceof SipParseError) return e;
  // Parsing code throws only SipParseError; anything else is a bug, reported the same way
  // so a peer can never take the process down.
  return new SipParseError(`Internal parser error: ${e instanceof Error ? e.message : String(e)}`);
}
