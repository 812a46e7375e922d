/**
 * Test doubles for the dialog layer: an in-memory network that serializes and re-parses every
 * message (so the wire form is exercised), delivers it after a latency on a ManualClock, and
 * can drop, duplicate or delay messages on demand; and "parties" — a TransactionLayer plus a
 * DialogManager at one address, with every event recorded.
 */
import { SipParseError, parseMessage, serializeMessage, type SipMessage, type SipRequest, type SipResponse } from '../../../src/sip/message/index.js';
import { ManualClock } from '../../../src/sip/timer-clock.js';
import type { Destination, SipTransport, TransportProtocol } from '../../../src/sip/transport/types.js';
import { TransactionLayer, type ServerTransaction } from '../../../src/sip/transaction/index.js';
import { DialogManager, type Dialog, type DialogManagerOptions, type TerminationReason } from '../../../src/sip/dialog/index.js';

export interface Wire {
  from: string;
  destination: Destination;
  message: SipMessage;
  at: number;
  dropped: boolean;
}

/** A deterministic byte source (xorshift32) for tags, branches and glare delays. */
export function seededRandom(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}

export class FakeNetwork {
  readonly log: Wire[] = [];
  latency = 5;
  /** Return true to lose a message. */
  drop: ((m: SipMessage, from: string) => boolean) | undefined;
  /** Return true to deliver a message twice. */
  duplicate: ((m: SipMessage) => boolean) | undefined;
  /** Extra delay for a message (reordering). */
  delay: ((m: SipMessage) => number) | undefined;
  /** Edits a message in flight (a proxy adding Record-Route). */
  tamper: ((m: SipMessage, from: string) => SipMessage) | undefined;
  private readonly nodes = new Map<string, TransactionLayer>();
  private readonly aliases = new Map<string, string[]>();

  constructor(readonly clock: ManualClock) {}

  attach(address: string, layer: TransactionLayer): void {
    this.nodes.set(address, layer);
  }

  /** Messages sent to `address` reach these nodes except the sender (a proxy, a forking proxy). */
  alias(address: string, targets: string[]): void {
    this.aliases.set(address, targets);
  }

  transport(address: string): SipTransport {
    return {
      send: (message, destination) => {
        this.send(address, message, destination);
        return Promise.resolve();
      },
      isReliable: (p: TransportProtocol) => p !== 'udp',
    };
  }

  private send(from: string, message: SipMessage, destination: Destination): void {
    const bytes = serializeMessage(message);
    let wire = parseMessage(bytes);
    // A tampered message that no longer validates is delivered as parsed without validation,
    // so the layers meet the garbage in their lazy accessors (as with a lenient transport).
    let validate = true;
    if (this.tamper !== undefined) {
      const tampered = serializeMessage(this.tamper(wire, from));
      try {
        wire = parseMessage(tampered);
      } catch (e) {
        if (!(e instanceof SipParseError)) throw e;
        wire = parseMessage(tampered, { validate: false });
        validate = false;
      }
    }
    const dropped = this.drop?.(wire, from) ?? false;
    this.log.push({ from, destination, message: wire, at: this.clock.now(), dropped });
    if (dropped) return;
    const copies = this.duplicate?.(wire) === true ? 2 : 1;
    // An alias (a proxy) forwards to its targets, never back to the sender.
    const targets = (this.aliases.get(destination.address) ?? [destination.address]).filter((t) => t !== from);
    for (let c = 0; c < copies; c++) {
      for (const t of targets) {
        const layer = this.nodes.get(t);
        if (layer === undefined) continue;
        const copy = serializeMessage(wire);
        this.clock.setTimer(() => {
          layer.receive({
            message: parseMessage(copy, { validate }),
            source: { protocol: destination.protocol, address: from, port: 5060 },
            local: { protocol: destination.protocol, address: t, port: 5060 },
          });
        }, this.latency + (this.delay?.(wire) ?? 0) + c);
      }
    }
  }

  /** Messages (not dropped unless asked) matching a predicate. */
  sent(pred: (w: Wire) => boolean, includeDropped = false): Wire[] {
    return this.log.filter((w) => (includeDropped || !w.dropped) && pred(w));
  }

  requests(method: string, from?: string): Wire[] {
    return this.sent((w) => w.message.isRequest && w.message.method === method && (from === undefined || w.from === from));
  }

  responses(status: number, method?: string, from?: string): Wire[] {
    return this.sent(
      (w) => !w.message.isRequest && w.message.status === status && (method === undefined || w.message.cseq.method === method) && (from === undefined || w.from === from),
    );
  }
}

export interface Party {
  address: string;
  layer: TransactionLayer;
  manager: DialogManager;
  created: Dialog[];
  confirmed: Dialog[];
  terminated: [Dialog, TerminationReason][];
  requests: [Dialog, ServerTransaction][];
  incoming: ServerTransaction[];
  acks: SipRequest[];
  pracks: SipRequest[];
  /** How an out-of-dialog request is answered (default: INVITE 180 then 200, others 200). */
  answer: (tx: ServerTransaction, p: Party) => void;
  /** How an in-dialog request is answered (default: 200). */
  answerInDialog: (dialog: Dialog, tx: ServerTransaction, p: Party) => void;
}

export const T1 = 500;
export const T2 = 4000;

export function party(net: FakeNetwork, address: string, seed: number, options: Partial<DialogManagerOptions> = {}): Party {
  const layer = new TransactionLayer({
    transport: net.transport(address),
    user: { onRequest: () => undefined },
    clock: net.clock,
    timers: { T1, T2 },
    random: seededRandom(seed * 7919),
    tryingDelay: null,
  });
  net.attach(address, layer);
  const p: Party = {
    address,
    layer,
    manager: undefined as unknown as DialogManager,
    created: [],
    confirmed: [],
    terminated: [],
    requests: [],
    incoming: [],
    acks: [],
    pracks: [],
    answer: (tx, me) => {
      if (tx.request.method === 'INVITE') {
        me.manager.respond(tx, 180);
        me.manager.respond(tx, 200, { headers: [['Content-Type', 'application/sdp']], body: 'v=0\r\n' });
      } else me.manager.respond(tx, 200);
    },
    answerInDialog: (_d, tx, me) => {
      me.manager.respond(tx, 200);
    },
  };
  p.manager = new DialogManager({
    layer,
    contact: `<sip:${address.split('.')[0]}@${address}:5060>`,
    random: seededRandom(seed),
    ...options,
    events: {
      onIncomingRequest: (tx) => {
        p.incoming.push(tx);
        p.answer(tx, p);
      },
      onDialogCreated: (d) => p.created.push(d),
      onDialogConfirmed: (d) => p.confirmed.push(d),
      onTerminated: (d, r) => p.terminated.push([d, r]),
      onRequest: (d, tx) => {
        p.requests.push([d, tx]);
        p.answerInDialog(d, tx, p);
      },
      onAck: (_d, ack) => p.acks.push(ack),
      onPrack: (_d, prack) => p.pracks.push(prack),
      ...options.events,
    },
  });
  return p;
}

/** Alice calls Bob directly: returns the network, both parties and the call handle's results. */
export function twoParties(optsA: Partial<DialogManagerOptions> = {}, optsB: Partial<DialogManagerOptions> = {}) {
  const clock = new ManualClock();
  const net = new FakeNetwork(clock);
  const alice = party(net, 'alice.test', 1, optsA);
  const bob = party(net, 'bob.test', 2, optsB);
  return { clock, net, alice, bob };
}

export interface CallResult {
  provisional: [SipResponse, Dialog | undefined][];
  success: [Dialog, SipResponse][];
  failure: [SipResponse | undefined, string][];
}

export function call(caller: Party, address: string, extra: Partial<Parameters<DialogManager['invite']>[0]> = {}) {
  const result: CallResult = { provisional: [], success: [], failure: [] };
  const out = caller.manager.invite(
    {
      requestUri: `sip:bob@${address}`,
      from: `<sip:alice@alice.test>`,
      to: `<sip:bob@bob.test>`,
      destination: { protocol: 'udp', address, port: 5060 },
      ...extra,
    },
    {
      onProvisional: (r, d) => result.provisional.push([r, d]),
      onSuccess: (d, r) => result.success.push([d, r]),
      onFailure: (r, reason) => result.failure.push([r, reason]),
    },
  );
  return { out, result };
}
