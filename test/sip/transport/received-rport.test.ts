import { describe, expect, it } from 'vitest';
import { parseMessage, parseVia, type SipRequest } from '../../../src/sip/message/index.js';
import { receivedVia, stampReceived } from '../../../src/sip/transport/index.js';
import { requestText } from './helpers.js';

const src = { protocol: 'udp' as const, address: '203.0.113.9', port: 40112 };

describe('received/rport (RFC 3261 §18.2.1, RFC 3581 §4)', () => {
  it('adds received when sent-by differs from the source', () => {
    const v = receivedVia(parseVia('SIP/2.0/UDP pc33.example.com:5060;branch=z9hG4bK1'), src);
    expect(v?.toString()).toBe('SIP/2.0/UDP pc33.example.com:5060;branch=z9hG4bK1;received=203.0.113.9');
  });

  it('changes nothing when sent-by is the source address and there is no rport', () => {
    expect(receivedVia(parseVia('SIP/2.0/UDP 203.0.113.9:5060;branch=z9hG4bK1'), src)).toBeUndefined();
  });

  it('fills in an empty rport and adds received even when the host matches (RFC 3581 §4)', () => {
    const v = receivedVia(parseVia('SIP/2.0/UDP 203.0.113.9:5060;rport;branch=z9hG4bK1'), src);
    expect(v?.rport).toBe(40112);
    expect(v?.received).toBe('203.0.113.9');
    expect(v?.toString()).toBe('SIP/2.0/UDP 203.0.113.9:5060;rport=40112;branch=z9hG4bK1;received=203.0.113.9');
  });

  it('keeps an rport that already has a value', () => {
    const v = receivedVia(parseVia('SIP/2.0/UDP 10.0.0.1:5060;rport=1234;branch=z9hG4bK1'), src);
    expect(v?.rport).toBe(1234);
    expect(v?.received).toBe('203.0.113.9');
  });

  it('treats an IPv4-mapped IPv6 source as the same host', () => {
    expect(receivedVia(parseVia('SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK1'), { protocol: 'tcp', address: '::ffff:192.0.2.1', port: 5060 })).toBeUndefined();
  });

  it('writes IPv6 received values and keeps the other Vias', () => {
    const text = requestText({ via: 'SIP/2.0/UDP [2001:db8::1]:5060;rport;branch=z9hG4bKa', extra: ['Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKb'] });
    const req = parseMessage(Buffer.from(text)) as SipRequest;
    expect(stampReceived(req, { protocol: 'udp', address: '2001:db8::2', port: 6000 })).toBe(true);
    expect(req.topVia?.received).toBe('2001:db8::2');
    expect(req.topVia?.rport).toBe(6000);
    expect(req.via.map((v) => v.host)).toEqual(['2001:db8::1', '192.0.2.7']);
    // The stamped request still parses after a round trip.
    const again = parseMessage(req.toBuffer()) as SipRequest;
    expect(again.topVia?.received).toBe('2001:db8::2');
  });

  it('leaves a request with an unreadable Via alone', () => {
    const req = parseMessage(Buffer.from(requestText({ via: 'SIP/2.0/UDP ;;;' })), { validate: false }) as SipRequest;
    expect(stampReceived(req, src)).toBe(false);
  });
});
