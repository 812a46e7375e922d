/** Shared fixtures for the digest tests: requests built in code, sent through the wire form. */
import { SipRequest, parseMessage, serializeMessage, type SipMessage } from '../../../src/sip/index.js';

/** Serializes and parses `m`, so every test sees what a peer would receive. */
export function wire<T extends SipMessage>(m: T): T {
  return parseMessage(serializeMessage(m)) as T;
}

let calls = 0;

/** A REGISTER (or other method) from alice, through the wire form. */
export function request(options: { method?: string; uri?: string; body?: string; cseq?: number } = {}): SipRequest {
  const method = options.method ?? 'REGISTER';
  const uri = options.uri ?? 'sip:example.com';
  const headers: [string, string][] = [
    ['Via', `SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-t${++calls};rport`],
    ['Max-Forwards', '70'],
    ['From', '<sip:alice@example.com>;tag=a1'],
    ['To', method === 'REGISTER' ? '<sip:alice@example.com>' : '<sip:bob@example.com>'],
    ['Call-ID', `call-${calls}@192.0.2.10`],
    ['CSeq', `${options.cseq ?? 1} ${method}`],
    ['Contact', '<sip:alice@192.0.2.10:5060>'],
  ];
  if (options.body !== undefined) headers.push(['Content-Type', 'application/sdp']);
  return wire(new SipRequest(method, uri, headers, options.body));
}

/** Deterministic bytes: a counter, so every call gives different output. */
export function counterRandom(): (n: number) => Uint8Array {
  let k = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (k * 31 + i * 7 + 1) & 0xff;
    k++;
    return out;
  };
}

/** A clock that only moves when told to. */
export class TestClock {
  t = 1_700_000_000_000;
  now(): number {
    return this.t;
  }
}

/** A 16-byte test secret. */
export const SECRET = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
