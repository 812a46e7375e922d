/**
 * The bytes of each framed message on a TCP or TLS stream, for the SIP trace. The message
 * layer's {@link SipStreamFramer} hands out parsed messages, not their bytes; this shadow of
 * its buffer recovers them. It holds the bytes the framer holds (appended in the same order,
 * trimmed to the framer's `buffered` after each push) and cuts them by the framer's events:
 * keep-alive CR/LF between messages is skipped, a message (or one that framed but failed
 * validation) is its header section up to the empty line plus its body, and a fatal framing
 * error takes whatever remains (the framer drops it too).
 *
 * Only built when a trace hook is set: it doubles the bytes buffered per connection and
 * copies on every read, which tracing can afford and the untraced path should not pay.
 */
import type { FramerEvent } from '../message/index.js';

const EMPTY = Buffer.alloc(0);
const CR = 0x0d;
const LF = 0x0a;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

/**
 * The stream bytes the framer has not yet turned into events.
 *
 * @example
 * ```ts
 * shadow.append(chunk);
 * for (const ev of framer.push(chunk)) {
 *   const bytes = shadow.take(ev); // the message's bytes, or undefined for a keep-alive
 *   if (bytes) trace('in', 'tcp', remote, bytes);
 * }
 * shadow.settle(framer.buffered);
 * ```
 */
export class StreamTraceBuffer {
  private buf: Buffer = EMPTY;
  private pos = 0;

  /** Adds a chunk, before it is pushed to the framer. */
  append(chunk: Buffer): void {
    const rest = this.buf.length - this.pos;
    this.buf = rest === 0 ? chunk : Buffer.concat([this.buf.subarray(this.pos), chunk]);
    this.pos = 0;
  }

  /** The bytes of one framer event, in event order; undefined for pings and pongs. */
  take(ev: FramerEvent): Buffer | undefined {
    if (ev.type === 'ping' || ev.type === 'pong') return undefined;
    const buf = this.buf;
    let start = this.pos;
    while (start < buf.length && (buf[start] === CR || buf[start] === LF)) start++;
    if (ev.type === 'error' && ev.fatal) {
      this.pos = buf.length;
      return start < buf.length ? buf.subarray(start) : undefined;
    }
    const message = ev.type === 'message' ? ev.message : ev.error.partial;
    const headEnd = buf.indexOf(CRLFCRLF, start);
    // Both cannot fail for an event the framer derived from these bytes; stay in bounds anyway.
    const end = headEnd < 0 ? buf.length : Math.min(buf.length, headEnd + 4 + (message?.body.length ?? 0));
    this.pos = end;
    return buf.subarray(start, end);
  }

  /** After a push: keeps the last `buffered` bytes, which the framer still holds. */
  settle(buffered: number): void {
    this.buf = buffered === 0 ? EMPTY : this.buf.subarray(Math.max(0, this.buf.length - buffered));
    this.pos = 0;
  }
}
