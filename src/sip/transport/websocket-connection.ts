/**
 * A SIP connection over WebSocket (RFC 7118 §5): each WebSocket message carries exactly one
 * SIP message, parsed like a datagram. We send text frames (§5: SIP is UTF-8 text), or a
 * binary frame for a message whose body is not valid UTF-8; both are accepted. Frames a
 * client sends are masked with a fresh random key (RFC 6455 §5.3); a server closes on an
 * unmasked one with 1002. Pings are answered with pongs; keep-alive uses ping frames.
 */
import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { parseMessage, SipParseError, type SipMessage } from '../message/index.js';
import { SipConnection, type ConnectionHooks } from './connection.js';
import type { TransportProtocol } from './types.js';
import { CloseCode, closePayload, Opcode, serializeWebSocketFrame, WebSocketFrameParser, WebSocketProtocolError } from './websocket-frame.js';

/**
 * A WebSocket connection carrying SIP, after the opening handshake.
 *
 * @example
 * ```ts
 * const conn = new WebSocketConnection('ws-1', 'ws', upgradedSocket, false, hooks, head);
 * ```
 */
export class WebSocketConnection extends SipConnection {
  private readonly parser: WebSocketFrameParser;
  private closeSent = false;
  private closeCode: number = CloseCode.normal;

  /** `head`: bytes that arrived with the handshake and belong to the first frames. */
  constructor(id: string, protocol: TransportProtocol, socket: Socket, outbound: boolean, hooks: ConnectionHooks, head?: Buffer) {
    super(id, protocol, socket, outbound, hooks);
    const max = hooks.limits.maxMessageBytes;
    this.parser = new WebSocketFrameParser({ role: outbound ? 'client' : 'server', maxFrameBytes: max, maxMessageBytes: max });
    if (head !== undefined && head.length > 0) queueMicrotask(() => this.socket.emit('data', head));
  }

  get buffered(): number {
    return this.parser.buffered;
  }

  private frame(opcode: number, payload: Uint8Array): Buffer {
    // §5.3: a client masks every frame with a fresh, unpredictable key; a server never does.
    return serializeWebSocketFrame({ fin: true, opcode, payload, mask: this.outbound ? randomBytes(4) : undefined });
  }

  protected encode(sip: Buffer): Buffer {
    return this.frame(isUtf8(sip) ? Opcode.text : Opcode.binary, sip);
  }

  protected pingBytes(): Buffer {
    return this.frame(Opcode.ping, Buffer.alloc(0));
  }

  protected override beforeClose(): void {
    if (this.closeSent) return;
    this.closeSent = true;
    try {
      this.socket.write(this.frame(Opcode.close, closePayload(this.closeCode)));
    } catch {
      // the socket is already gone
    }
  }

  /** Closes with a status code (§7.4.1): a close frame, then the TCP close. */
  closeWith(code: number): void {
    this.closeCode = code;
    this.close();
  }

  protected receive(chunk: Buffer): void {
    let events;
    try {
      events = this.parser.push(chunk);
    } catch (e) {
      if (!(e instanceof WebSocketProtocolError)) throw e;
      this.hooks.stats.protocolErrors++;
      this.hooks.onError(e, `connection ${this.id}`);
      this.closeWith(e.closeCode);
      return;
    }
    for (const ev of events) {
      if (!this.isOpen) return;
      switch (ev.type) {
        case 'message': {
          const trace = this.hooks.trace;
          if (trace !== undefined) trace('in', this.protocol, this.remote, ev.data);
          let msg: SipMessage;
          try {
            msg = parseMessage(ev.data, { limits: { maxMessageBytes: this.hooks.limits.maxMessageBytes } });
          } catch (e) {
            const err = e instanceof SipParseError ? e : new SipParseError(String(e));
            this.hooks.onMalformed(this, err, false);
            break;
          }
          this.hooks.onMessage(this, msg);
          break;
        }
        case 'ping':
          this.hooks.stats.pings++;
          this.write(this.frame(Opcode.pong, ev.data)).catch(() => undefined);
          break;
        case 'pong':
          this.pongReceived();
          break;
        case 'close':
          // §5.5.1: answer with a close frame echoing the code, then close the TCP connection.
          this.closeCode = ev.code ?? CloseCode.normal;
          this.close();
          break;
      }
    }
  }
}
