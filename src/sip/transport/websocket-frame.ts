/**
 * The WebSocket framing of RFC 6455 §5, as a pure codec: {@link serializeWebSocketFrame}
 * and an incremental {@link WebSocketFrameParser} that reassembles fragmented messages and
 * reports control frames. SIP over WebSocket (RFC 7118 §5) carries one SIP message per
 * WebSocket message, in text frames (UTF-8) or binary frames.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-------+-+-------------+-------------------------------+
 * |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 * |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 * |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 * | |1|2|3|       |K|             |                               |
 * +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 * |     Extended payload length continued, if payload len == 127  |
 * + - - - - - - - - - - - - - - - +-------------------------------+
 * |                               |Masking-key, if MASK set to 1  |
 * +-------------------------------+-------------------------------+
 * | Masking-key (continued)       |          Payload Data         |
 * +-------------------------------- - - - - - - - - - - - - - - - +
 * ```
 */
import { isUtf8 } from 'node:buffer';

/** Frame opcodes (§5.2, §11.8). */
export const Opcode = Object.freeze({ continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa });

/** Close status codes (§7.4.1) used by this stack. */
export const CloseCode = Object.freeze({
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  noStatus: 1005,
  invalidPayload: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
});

/** One frame. `mask` (4 bytes) is set on frames a client sends (§5.3). */
export interface WebSocketFrame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
  mask?: Uint8Array | undefined;
}

/** A protocol violation by the peer: close the connection with `closeCode` (§7.1.7). */
export class WebSocketProtocolError extends Error {
  override readonly name = 'WebSocketProtocolError';
  constructor(
    message: string,
    /** The close code to send: 1002, 1007 or 1009. */
    readonly closeCode: number,
  ) {
    super(message);
  }
}

/** What {@link WebSocketFrameParser.push} reports, in order. */
export type WebSocketEvent =
  /** A complete (reassembled) data message. */
  | { type: 'message'; binary: boolean; data: Buffer }
  | { type: 'ping'; data: Buffer }
  | { type: 'pong'; data: Buffer }
  /** A close frame: `code` undefined when it had no body (1005). */
  | { type: 'close'; code: number | undefined; reason: string };

/**
 * Serializes one frame; masks the payload when `frame.mask` is given (the input is not
 * modified).
 *
 * @example
 * ```ts
 * serializeWebSocketFrame({ fin: true, opcode: Opcode.text, payload: Buffer.from('hi') });
 * // <Buffer 81 02 68 69>
 * ```
 */
export function serializeWebSocketFrame(frame: WebSocketFrame): Buffer {
  const len = frame.payload.length;
  const mask = frame.mask;
  if (mask !== undefined && mask.length !== 4) throw new RangeError('A masking key is 4 bytes');
  const ext = len < 126 ? 0 : len <= 0xffff ? 2 : 8;
  const head = 2 + ext + (mask === undefined ? 0 : 4);
  const out = Buffer.allocUnsafe(head + len);
  out[0] = (frame.fin ? 0x80 : 0) | (frame.opcode & 0x0f);
  const m = mask === undefined ? 0 : 0x80;
  if (ext === 0) out[1] = m | len;
  else if (ext === 2) {
    out[1] = m | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = m | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  if (mask === undefined) {
    out.set(frame.payload, head);
  } else {
    out.set(mask, 2 + ext);
    for (let i = 0; i < len; i++) out[head + i] = frame.payload[i]! ^ mask[i & 3]!;
  }
  return out;
}

/** The payload of a close frame (§5.5.1): a 2-byte code and a UTF-8 reason. */
export function closePayload(code: number, reason = ''): Buffer {
  const r = Buffer.from(reason, 'utf8').subarray(0, 123);
  const out = Buffer.allocUnsafe(2 + r.length);
  out.writeUInt16BE(code, 0);
  out.set(r, 2);
  return out;
}

/** Options of {@link WebSocketFrameParser}. */
export interface WebSocketParserOptions {
  /**
   * `'server'`: frames must be masked (§5.1: a server closes on an unmasked frame with 1002);
   * `'client'`: frames must not be.
   */
  role: 'server' | 'client';
  /** Largest single frame payload (default 65,535). Larger: 1009. */
  maxFrameBytes?: number;
  /** Largest reassembled message (default 65,535). Larger: 1009. */
  maxMessageBytes?: number;
}

const EMPTY = Buffer.alloc(0);

function validCloseCode(code: number): boolean {
  // §7.4.1/§7.4.2: 1004–1006 and 1015 must not be sent; 1012–1014 are registered since.
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006;
}

/**
 * Incremental frame parser: feed it socket chunks, get events. Memory is bounded by
 * `maxFrameBytes` plus a 14-byte header and `maxMessageBytes` of reassembly. A violation
 * throws {@link WebSocketProtocolError} (and nothing else, for any input); the parser then
 * stays failed.
 *
 * @example
 * ```ts
 * const parser = new WebSocketFrameParser({ role: 'server' });
 * socket.on('data', (chunk) => {
 *   try {
 *     for (const ev of parser.push(chunk)) if (ev.type === 'message') handle(ev.data);
 *   } catch (e) {
 *     if (e instanceof WebSocketProtocolError) closeWith(e.closeCode);
 *   }
 * });
 * ```
 */
export class WebSocketFrameParser {
  private buf: Buffer = EMPTY;
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  private fragmentOpcode = -1;
  private failedWith: WebSocketProtocolError | undefined;
  private readonly role: 'server' | 'client';
  private readonly maxFrame: number;
  private readonly maxMessage: number;

  constructor(options: WebSocketParserOptions) {
    this.role = options.role;
    this.maxFrame = options.maxFrameBytes ?? 65_535;
    this.maxMessage = options.maxMessageBytes ?? 65_535;
  }

  /** Bytes held: partial frame plus message fragments. */
  get buffered(): number {
    return this.buf.length + this.fragmentBytes;
  }

  /** Adds bytes; returns the events they complete. */
  push(chunk: Uint8Array): WebSocketEvent[] {
    if (this.failedWith !== undefined) throw this.failedWith;
    const out: WebSocketEvent[] = [];
    if (chunk.length === 0) return out;
    const c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    this.buf = this.buf.length === 0 ? c : Buffer.concat([this.buf, c]);
    try {
      while (this.step(out));
    } catch (e) {
      this.buf = EMPTY;
      this.fragments = [];
      this.fragmentBytes = 0;
      this.failedWith = e instanceof WebSocketProtocolError ? e : new WebSocketProtocolError(`Internal error: ${String(e)}`, CloseCode.internalError);
      throw this.failedWith;
    }
    return out;
  }

  private fail(reason: string, code: number = CloseCode.protocolError): never {
    throw new WebSocketProtocolError(reason, code);
  }

  private step(out: WebSocketEvent[]): boolean {
    const b = this.buf;
    if (b.length < 2) return false;
    const b0 = b[0]!;
    const b1 = b[1]!;
    const fin = (b0 & 0x80) !== 0;
    if ((b0 & 0x70) !== 0) this.fail('Reserved bits set without an extension');
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    if (this.role === 'server' && !masked) this.fail('Client frames must be masked');
    if (this.role === 'client' && masked) this.fail('Server frames must not be masked');
    const control = opcode >= 0x8;
    if (opcode > 0x2 && opcode < 0x8) this.fail(`Unknown data opcode ${opcode}`);
    if (opcode > 0xa) this.fail(`Unknown control opcode ${opcode}`);
    let len = b1 & 0x7f;
    let pos = 2;
    if (control && (!fin || len > 125)) this.fail('Control frames must be unfragmented and at most 125 bytes');
    if (len === 126) {
      if (b.length < 4) return false;
      len = b.readUInt16BE(2);
      if (len < 126) this.fail('Payload length not minimally encoded');
      pos = 4;
    } else if (len === 127) {
      if (b.length < 10) return false;
      const big = b.readBigUInt64BE(2);
      if (big >> 63n !== 0n) this.fail('Payload length has its most significant bit set');
      if (big > BigInt(this.maxFrame)) this.fail('Frame too large', CloseCode.messageTooBig);
      len = Number(big);
      if (len <= 0xffff) this.fail('Payload length not minimally encoded');
      pos = 10;
    }
    if (len > this.maxFrame) this.fail('Frame too large', CloseCode.messageTooBig);
    if (!control) {
      if (opcode === Opcode.continuation && this.fragmentOpcode < 0) this.fail('Continuation frame without a message to continue');
      if (opcode !== Opcode.continuation && this.fragmentOpcode >= 0) this.fail('New data frame inside a fragmented message');
      if (this.fragmentBytes + len > this.maxMessage) this.fail('Message too large', CloseCode.messageTooBig);
    }
    const maskAt = pos;
    if (masked) pos += 4;
    if (b.length < pos + len) return false;
    const payload = Buffer.from(b.subarray(pos, pos + len)); // a copy: unmasking must not touch the caller's chunk
    if (masked) for (let i = 0; i < len; i++) payload[i]! ^= b[maskAt + (i & 3)]!;
    this.buf = b.length === pos + len ? EMPTY : b.subarray(pos + len);

    if (control) {
      if (opcode === Opcode.ping) out.push({ type: 'ping', data: payload });
      else if (opcode === Opcode.pong) out.push({ type: 'pong', data: payload });
      else out.push(this.closeEvent(payload));
      return true;
    }
    if (opcode !== Opcode.continuation) this.fragmentOpcode = opcode;
    this.fragments.push(payload);
    this.fragmentBytes += len;
    if (!fin) return true;
    const data = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments, this.fragmentBytes);
    const binary = this.fragmentOpcode === Opcode.binary;
    this.fragments = [];
    this.fragmentBytes = 0;
    this.fragmentOpcode = -1;
    if (!binary && !isUtf8(data)) this.fail('Text message is not valid UTF-8', CloseCode.invalidPayload);
    out.push({ type: 'message', binary, data });
    return true;
  }

  private closeEvent(payload: Buffer): WebSocketEvent {
    if (payload.length === 0) return { type: 'close', code: undefined, reason: '' };
    if (payload.length === 1) this.fail('Close frame with a 1-byte body');
    const code = payload.readUInt16BE(0);
    if (!validCloseCode(code)) this.fail(`Invalid close code ${code}`);
    const reason = payload.subarray(2);
    if (!isUtf8(reason)) this.fail('Close reason is not valid UTF-8', CloseCode.invalidPayload);
    return { type: 'close', code, reason: reason.toString('utf8') };
  }
}
