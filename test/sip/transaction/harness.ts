/**
 * Test doubles for the transaction layer: a transport that records what is sent and when
 * (by the manual clock) and can be told to fail, and builders for wire-form messages.
 */
import { createResponse, parseMessage, serializeMessage, type SipMessage, type SipRequest, type SipResponse } from '../../../src/sip/message/index.js';
import { ManualClock } from '../../../src/sip/timer-clock.js';
import { TransportError, type Destination, type Endpoint, type InboundMessage, type SipTransport, type TransportProtocol } from '../../../src/sip/transport/types.js';
import { TransactionLayer, type TransactionLayerOptions, type TransactionLayerUser } from '../../../src/sip/transaction/index.js';

export interface SentMessage {
  message: SipMessage;
  destination: Destination;
  at: number;
}

export class FakeTransport implements SipTransport {
  readonly sent: SentMessage[] = [];
  /** Number of upcoming sends that reject. */
  failNext = 0;
  /** Every send rejects while true. */
  failAll = false;

  constructor(private readonly clock: ManualClock) {}

  send(message: SipMessage, destination: Destination): Promise<void> {
    this.sent.push({ message, destination, at: this.clock.now() });
    if (this.failAll || this.failNext > 0) {
      if (this.failNext > 0) this.failNext--;
      return Promise.reject(new TransportError('ECONNREFUSED', destination));
    }
    return Promise.resolve();
  }

  isReliable(protocol: TransportProtocol): boolean {
    return protocol !== 'udp';
  }

  /** Send times of messages matching `pred`. */
  times(pred: (m: SipMessage) => boolean = () => true): number[] {
    return this.sent.filter((s) => pred(s.message)).map((s) => s.at);
  }

  requests(method?: string): SipRequest[] {
    return this.sent.map((s) => s.message).filter((m): m is SipRequest => m.isRequest && (method === undefined || m.method === method));
  }

  responses(status?: number): SipResponse[] {
    return this.sent.map((s) => s.message).filter((m): m is SipResponse => !m.isRequest && (status === undefined || m.status === status));
  }
}

/** Lets rejected sends reach the transactions. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 3; i++) await Promise.resolve();
}

export const PEER: Endpoint = { protocol: 'udp', address: '192.0.2.4', port: 5060 };
export const LOCAL: Endpoint = { protocol: 'udp', address: '192.0.2.1', port: 5060 };
export const PEER_TCP: Destination = { protocol: 'tcp', address: '192.0.2.4', port: 5060 };

/** Records what the layer hands the TU. */
export class RecordingUser implements TransactionLayerUser {
  requests: InboundMessage[] = [];
  acks: InboundMessage[] = [];
  onCancel: TransactionLayerUser['onCancel'];
  strays: InboundMessage[] = [];
  onRequestHook: TransactionLayerUser['onRequest'] | undefined;
  onRequest: TransactionLayerUser['onRequest'] = (tx, inbound) => {
    this.requests.push(inbound);
    this.onRequestHook?.(tx, inbound);
  };
  onAck: NonNullable<TransactionLayerUser['onAck']> = (inbound) => {
    this.acks.push(inbound);
  };
  onStray: NonNullable<TransactionLayerUser['onStray']> = (inbound) => {
    this.strays.push(inbound);
  };
}

export interface Setup {
  clock: ManualClock;
  transport: FakeTransport;
  user: RecordingUser;
  layer: TransactionLayer;
}

/** A layer on a manual clock and a fake transport; deterministic randomness. */
export function setup(options: Partial<TransactionLayerOptions> = {}): Setup {
  const clock = new ManualClock();
  const transport = new FakeTransport(clock);
  const user = new RecordingUser();
  let counter = 0;
  const random = (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    counter++;
    for (let i = 0; i < n; i++) out[i] = (counter * 31 + i * 7) & 0xff;
    return out;
  };
  const layer = new TransactionLayer({ transport, user, clock, random, ...options });
  return { clock, transport, user, layer };
}

export function parse(text: string): SipMessage {
  return parseMessage(Buffer.from(text.replace(/\n/g, '\r\n'), 'latin1'));
}

export function parseRequest(text: string): SipRequest {
  const m = parse(text);
  if (!m.isRequest) throw new Error('not a request');
  return m;
}

/** A request in wire form (parsed from text). */
export function request(method: string, opts: { branch?: string | null; callId?: string; seq?: number; toTag?: string; sentBy?: string; transport?: string; extra?: string } = {}): SipRequest {
  const branch = opts.branch === null ? '' : `;branch=${opts.branch ?? 'z9hG4bK776asdhds'}`;
  const cseqMethod = method;
  return parseRequest(
    `${method} sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/${opts.transport ?? 'UDP'} ${opts.sentBy ?? 'pc33.atlanta.example.com'}${branch}
Via: SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch=z9hG4bK77ef4c2312983.1
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>${opts.toTag === undefined ? '' : `;tag=${opts.toTag}`}
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: ${opts.callId ?? 'a84b4c76e66710@pc33.atlanta.example.com'}
CSeq: ${opts.seq ?? 314159} ${cseqMethod}
Route: <sip:p1.example.com;lr>
Route: <sip:p2.example.com;lr>
Contact: <sip:alice@pc33.atlanta.example.com>
${opts.extra ?? ''}Content-Length: 0

`.replace(/\n\n$/, '\n\n'),
  );
}

/** `req`'s response as a peer would send it: built, serialized and parsed again. */
export function responseTo(req: SipRequest, status: number, toTag = 'a6c85cf'): SipResponse {
  const res = createResponse(req, status, undefined, { toTag });
  const m = parseMessage(serializeMessage(res));
  if (m.isRequest) throw new Error('not a response');
  return m;
}

export function inbound(message: SipMessage, source: Endpoint = PEER, connectionId?: string): InboundMessage {
  return { message, source, local: { ...LOCAL, protocol: source.protocol }, ...(connectionId === undefined ? {} : { connectionId }) };
}

/** A fresh request sent by the TU: its branch is generated by the layer unless given. */
export function outgoing(method: string, opts: { branch?: string; transport?: string } = {}): SipRequest {
  return request(method, { branch: opts.branch ?? null, sentBy: '192.0.2.1:5060', transport: opts.transport ?? 'UDP' });
}
