/** Where responses go (RFC 3261 §18.2.2, RFC 3581). */
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../../src/sip/message/index.js';
import { responseDestination } from '../../../src/sip/transaction/index.js';
import type { Endpoint } from '../../../src/sip/transport/types.js';
import { inbound, parse } from './harness.js';

const SRC: Endpoint = { protocol: 'udp', address: '203.0.113.9', port: 40112 };

function withVia(via: string, source: Endpoint = SRC, connectionId?: string) {
  return inbound(
    parse(`OPTIONS sip:bob@example.com SIP/2.0
Via: ${via}
From: <sip:alice@example.com>;tag=1
To: <sip:bob@example.com>
Call-ID: routing
CSeq: 1 OPTIONS
Content-Length: 0

`),
    source,
    connectionId,
  );
}

describe('responseDestination', () => {
  it('rport without a value: the source address and port (RFC 3581 §4)', () => {
    expect(responseDestination(withVia('SIP/2.0/UDP 10.0.0.7:5060;rport;branch=z9hG4bK1'))).toEqual({ protocol: 'udp', address: '203.0.113.9', port: 40112 });
  });

  it('rport and received filled in by the transport: those', () => {
    expect(responseDestination(withVia('SIP/2.0/UDP 10.0.0.7:5060;rport=4000;received=198.51.100.3;branch=z9hG4bK1'))).toEqual({
      protocol: 'udp',
      address: '198.51.100.3',
      port: 4000,
    });
  });

  it('no rport: the received (or source) address and the sent-by port, 5060 by default', () => {
    expect(responseDestination(withVia('SIP/2.0/UDP 10.0.0.7:5070;branch=z9hG4bK1'))).toEqual({ protocol: 'udp', address: '203.0.113.9', port: 5070 });
    expect(responseDestination(withVia('SIP/2.0/UDP 10.0.0.7;received=198.51.100.3;branch=z9hG4bK1'))).toEqual({ protocol: 'udp', address: '198.51.100.3', port: 5060 });
    expect(responseDestination(withVia('SIP/2.0/UDP [2001:db8::9];received=[2001:db8::10];branch=z9hG4bK1'))).toEqual({ protocol: 'udp', address: '2001:db8::10', port: 5060 });
  });

  it('TLS defaults to 5061', () => {
    const tls: Endpoint = { protocol: 'tls', address: '203.0.113.9', port: 50000 };
    expect(responseDestination(withVia('SIP/2.0/TLS client.example.com;branch=z9hG4bK1', tls))).toEqual({ protocol: 'tls', address: '203.0.113.9', port: 5061 });
  });

  it('maddr: that address with the sent-by port', () => {
    expect(responseDestination(withVia('SIP/2.0/UDP 10.0.0.7:5062;maddr=239.255.255.1;ttl=1;branch=z9hG4bK1'))).toEqual({ protocol: 'udp', address: '239.255.255.1', port: 5062 });
  });

  it('a request on a connection is answered on it (§18.2.2), whatever Via says', () => {
    const tcp: Endpoint = { protocol: 'tcp', address: '203.0.113.9', port: 51000 };
    expect(responseDestination(withVia('SIP/2.0/TCP 10.0.0.7:5060;maddr=239.255.255.1;branch=z9hG4bK1', tcp, 'conn-42'))).toEqual({
      protocol: 'tcp',
      address: '203.0.113.9',
      port: 51000,
      connectionId: 'conn-42',
    });
  });

  it('a Via it cannot read: the packet source', () => {
    const m = inbound(parseMessage(Buffer.from('OPTIONS sip:b@e SIP/2.0\r\nVia: bogus\r\nCSeq: 1 OPTIONS\r\n\r\n'), { validate: false }), SRC);
    expect(responseDestination(m)).toEqual({ protocol: 'udp', address: '203.0.113.9', port: 40112 });
  });
});
