/**
 * The smallest UDP `SipTransport`, for interop tests that exercise one layer (transactions,
 * dialogs, subscriptions) against sipp without the full transport set: one socket the test
 * owns, every message serialized on send, and no retransmission of its own (UDP is
 * unreliable, so the transaction layer retransmits).
 */
import type { Socket } from 'node:dgram';
import { TransportError, serializeMessage, type Destination, type SipMessage, type SipTransport } from '../../src/sip/index.js';

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
