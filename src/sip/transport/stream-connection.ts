/**
 * A SIP connection over a byte stream: TCP or TLS (RFC 3261 §18.3). Messages are framed by
 * the message layer's {@link SipStreamFramer} (Content-Length, at most `maxMessageBytes`
 * buffered); a CRLFCRLF ping is answered with CRLF and a lone CRLF is the pong to our ping
 * (RFC 5626 §4.4.1). A fatal framing error closes the connection, after a 400 when the
 * request's header section could be read. With a SIP trace hook, each framed message's bytes
 * are traced before it is handled ({@link StreamTraceBuffer}).
 */
import type { Socket } from 'node:net';
import { SipStreamFramer, type FramerEvent } from '../message/index.js';
import { SipConnection, type ConnectionHooks } from './connection.js';
import { StreamTraceBuffer } from './stream-trace.js';
import type { TransportProtocol } from './types.js';

const CRLF = Buffer.from('\r\n', 'latin1');
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

/**
 * A TCP or TLS connection carrying SIP.
 *
 * @example
 * ```ts
 * const conn = new StreamConnection('tcp-1', 'tcp', socket, false, hooks);
 * await conn.send(request);
 * ```
 */
export class StreamConnection extends SipConnection {
  private readonly framer: SipStreamFramer;
  /** The bytes of each framed message, for the SIP trace; only when there is one. */
  private readonly traced: StreamTraceBuffer | undefined;

  constructor(id: string, protocol: TransportProtocol, socket: Socket, outbound: boolean, hooks: ConnectionHooks) {
    super(id, protocol, socket, outbound, hooks);
    this.framer = new SipStreamFramer({ limits: { maxMessageBytes: hooks.limits.maxMessageBytes } });
    this.traced = hooks.trace === undefined ? undefined : new StreamTraceBuffer();
  }

  get buffered(): number {
    return this.framer.buffered;
  }

  protected encode(sip: Buffer): Buffer {
    return sip;
  }

  protected pingBytes(): Buffer {
    return CRLFCRLF;
  }

  protected receive(chunk: Buffer): void {
    const traced = this.traced;
    const trace = this.hooks.trace;
    if (traced === undefined || trace === undefined) {
      for (const ev of this.framer.push(chunk)) this.handle(ev);
      return;
    }
    if (this.framer.failed) return; // the framer ignores everything after a fatal error
    traced.append(chunk);
    try {
      for (const ev of this.framer.push(chunk)) {
        const bytes = traced.take(ev);
        if (bytes !== undefined) trace('in', this.protocol, this.remote, bytes);
        this.handle(ev);
      }
    } finally {
      traced.settle(this.framer.buffered);
    }
  }

  private handle(ev: FramerEvent): void {
    switch (ev.type) {
      case 'message':
        this.hooks.onMessage(this, ev.message);
        break;
      case 'ping':
        // The framer reports a CRLF that follows a CRLF ending an earlier read as the second
        // half of a ping. While we wait for a pong it is the pong to our ping (§4.4.1:
        // servers answer pings, they do not send them).
        if (this.awaitingPong) {
          this.pongReceived();
          break;
        }
        // §4.4.1: the server answers each CRLFCRLF with CRLF.
        this.hooks.stats.pings++;
        this.write(CRLF).catch(() => undefined);
        break;
      case 'pong':
        this.pongReceived();
        break;
      case 'error':
        this.hooks.onMalformed(this, ev.error, ev.fatal);
        if (ev.fatal) {
          this.hooks.stats.protocolErrors++;
          this.close();
        }
        break;
    }
  }
}
