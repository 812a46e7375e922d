/**
 * The smallest UDP `SipTransport`, for interop tests that exercise one layer (transactions,
 * dialogs, subscriptions) against sipp without the full transport set: one socket the test
 * owns, every message serialized on send, and no retransmission of its own (UDP is
 * unreliable, so the transaction layer retransmits).
 */
import type { Socket } from 'node:dgram';
import { SipParseError, TransportError, parseMessage, serializeMessage, type Destination, type InboundMessage, type SipMessage, type SipTransport } from '../../src/sip/index.js';

export class UdpSocketTransport implements SipTransport {
  constructor(private readonly socket: Socket) {}

  send(message: SipMessage, d: Destination): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.send(serializeMessage(message), d.port, d.address, (err) => (err ? reject(new TransportError(err.message, d)) : resolve()));
    });
  }

  isReliable(): boolean {
    return false;
  }
}

/**
 * Hands each datagram arriving on `socket` (bound to 127.0.0.1:`port`) to `onMessage` as an
 * inbound message, parsed and validated; one that does not parse is counted by `onMalformed`
 * and dropped, as a layer-level test wants (no 400 here: that is the transport set's job).
 */
export function receiveParsed(socket: Socket, port: number, onMessage: (inbound: InboundMessage) => void, onMalformed: () => void): void {
  socket.on('message', (data, rinfo) => {
    let message: SipMessage;
    try {
      message = parseMessage(data);
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      onMalformed();
      return;
    }
    onMessage({ message, source: { protocol: 'udp', address: rinfo.address, port: rinfo.port }, local: { protocol: 'udp', address: '127.0.0.1', port } });
  });
}
