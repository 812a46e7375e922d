/**
 * What the subscriber and the notifier of RFC 6665 share: the dialog key they keep their tables
 * by, the `Subscription-State` values they exchange, the Via and next hop of the requests they
 * send inside a subscription dialog, and the one method through which a request reaches them
 * ({@link SubscriptionRequestHandler.handle}) — from a `DialogManager`'s `externalDialogs` hook,
 * or from a {@link SubscriptionRouter} used directly as the transaction layer's user.
 *
 * Subscription dialogs are ordinary RFC 3261 §12 dialogs (the `Dialog` class) that are created
 * by SUBSCRIBE/NOTIFY instead of INVITE (RFC 6665 §4.1.2.4, §4.2.1.2) and end when the
 * subscription ends (§4.4.1); they are never held by the DialogManager.
 */
import { randomBytes } from 'node:crypto';
import { SipParseError, createResponse, type HeaderValue, type NameAddr, type SipRequest, type Uri } from '../message/index.js';
import { resolveUriDirectly, type Dialog } from '../dialog/index.js';
import { DialogError } from '../dialog/index.js';
import type { ServerTransaction } from '../transaction/index.js';
import type { Destination, InboundMessage, TransportProtocol } from '../transport/index.js';

/**
 * Something that may take a request: a subscriber or a notifier. Returns true when it has taken
 * the request (and answers it); false leaves it to whoever asked. This is the shape of the
 * DialogManager's `externalDialogs` option.
 *
 * @example
 * ```ts
 * const manager = new DialogManager({ layer, contact, externalDialogs: notifier });
 * ```
 */
export interface SubscriptionRequestHandler {
  handle(tx: ServerTransaction, inbound: InboundMessage): boolean;
}

/**
 * The value of a `Subscription-State` header (RFC 6665 §8.2.3) we send or received.
 *
 * @example
 * ```ts
 * formatSubscriptionState({ state: 'terminated', reason: 'timeout' }); // 'terminated;reason=timeout'
 * ```
 */
export interface SubscriptionStateValue {
  state: 'active' | 'pending' | 'terminated';
  /** Seconds left (active and pending). */
  expires?: number;
  /** Why it ended (terminated): deactivated, probation, rejected, timeout, giveup, noresource, invariant (§4.1.3). */
  reason?: string;
  /** Seconds before a new subscription is worth trying (probation, giveup). */
  retryAfter?: number;
}

/**
 * The wire form of a {@link SubscriptionStateValue}.
 *
 * @example
 * ```ts
 * formatSubscriptionState({ state: 'active', expires: 3599 }); // 'active;expires=3599'
 * ```
 */
export function formatSubscriptionState(v: SubscriptionStateValue): string {
  let s: string = v.state;
  if (v.state !== 'terminated' && v.expires !== undefined) s += `;expires=${v.expires}`;
  if (v.state === 'terminated' && v.reason !== undefined) s += `;reason=${v.reason}`;
  if (v.retryAfter !== undefined) s += `;retry-after=${v.retryAfter}`;
  return s;
}

/**
 * The termination reasons RFC 6665 §4.1.3 defines (others are extensions).
 *
 * @example
 * ```ts
 * const known = (SUBSCRIPTION_TERMINATION_REASONS as readonly string[]).includes(n.reason ?? '');
 * ```
 */
export const SUBSCRIPTION_TERMINATION_REASONS = ['deactivated', 'probation', 'rejected', 'timeout', 'giveup', 'noresource', 'invariant'] as const;

const PROTOCOL_NAMES: Record<TransportProtocol, string> = { udp: 'UDP', tcp: 'TCP', tls: 'TLS', ws: 'WS', wss: 'WSS' };

/** @internal A Via value without branch for `protocol` (the transaction layer adds the branch). */
export function viaFor(sentBy: string, protocol: TransportProtocol): string {
  return `SIP/2.0/${PROTOCOL_NAMES[protocol]} ${sentBy};rport`;
}

/** @internal The sent-by (`host[:port]`) taken from a Contact when none is given. */
export function sentByOf(contact: NameAddr, sentBy: string | undefined): string {
  if (sentBy !== undefined) return sentBy;
  const uri = contact.uri;
  if (uri.kind !== 'sip') throw new DialogError('The Contact is not a sip URI: give sentBy');
  return uri.hostport;
}

/** @internal Where the next request of `dialog` goes, or undefined when it cannot be resolved. */
export function destinationOf(dialog: Dialog, resolve: ((uri: Uri, dialog: Dialog | undefined) => Destination) | undefined): Destination | undefined {
  try {
    return resolve !== undefined ? resolve(dialog.nextHop(), dialog) : resolveUriDirectly(dialog.nextHop());
  } catch (e) {
    if (e instanceof DialogError || e instanceof SipParseError) return undefined;
    throw e;
  }
}

/** @internal Hex from the injected randomness (tags, Call-IDs). */
export function hexOf(random: (bytes: number) => Uint8Array, bytes: number): string {
  return Buffer.from(random(bytes)).toString('hex');
}

/** @internal A first local CSeq for a dialog we did not start: random below 2^30 (room to count up, §12.2.1.1). */
export function initialSeqOf(random: (bytes: number) => Uint8Array): () => number {
  return () => {
    const b = random(4);
    return 1 + ((((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 2);
  };
}

/** @internal The default randomness. */
export const defaultRandom = (n: number): Uint8Array => randomBytes(n);

/**
 * @internal Answers a request, ignoring a response the transaction discards and a request whose
 * headers are too broken to copy into a response.
 */
export function reply(
  tx: ServerTransaction,
  status: number,
  random: (bytes: number) => Uint8Array,
  headers?: Iterable<[string, HeaderValue]>,
  reason?: string,
): void {
  try {
    tx.respond(createResponse(tx.request, status, reason, { random, ...(headers === undefined ? {} : { headers }) }));
  } catch (e) {
    if (!(e instanceof SipParseError)) throw e;
  }
}

/** @internal `type` and `id` of a request's Event header, or undefined when absent; throws SipParseError when malformed. */
export function eventOf(request: SipRequest): { type: string; id: string | undefined } | undefined {
  const e = request.event;
  return e === undefined ? undefined : { type: e.type.toLowerCase(), id: e.id };
}
