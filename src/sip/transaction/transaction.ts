/**
 * What the four RFC 3261 §17 state machines share: a matching key, a state, up to four
 * running timers, sending through the transport with failures reported to the user, and
 * telling the owning layer when the transaction is over so it can be forgotten (no
 * transaction outlives its last timer).
 *
 * Transport errors (a rejected `send`): a client transaction moves to Terminated (§17.1.4);
 * a server transaction stays in its state (RFC 6026 §8.8, which replaces §17.2.4's "SHOULD
 * transition to Terminated": a server transaction that vanished would take the request's
 * retransmissions for new requests) and ends on its own timers.
 */
import type { SipMessage } from '../message/index.js';
import type { TimerClock, TimerHandle } from '../timer-clock.js';
import { TransportError, type Destination, type SipTransport } from '../transport/types.js';
import type { TransactionTimers } from './transaction-timers.js';

/** @internal What a transaction needs from the layer that owns it. */
export interface TransactionContext {
  readonly transport: SipTransport;
  readonly clock: TimerClock;
  readonly timers: Readonly<TransactionTimers>;
  /** Called exactly once, when the transaction enters Terminated, so the layer forgets it. */
  forget(tx: Transaction<string>): void;
}

/** @internal Timer slots: at most one timer of each kind runs at a time. */
export const RETRANSMIT = 0; // A, E, G
/** @internal */
export const TIMEOUT = 1; // B, F, H
/** @internal */
export const WAIT = 2; // D, I, J, K, L, M
/** @internal */
export const TRYING = 3; // the 200 ms before an INVITE server sends 100 Trying (§17.2.1)

/**
 * The callbacks every transaction user may provide.
 *
 * @example
 * ```ts
 * tx.user = { onTransportError: (e) => log.warn(e.message), onTerminated: () => calls.delete(id) };
 * ```
 */
export interface TransactionUserBase<T> {
  /**
   * The transport could not send one of the transaction's messages. A client transaction is
   * terminated right after this call (§17.1.4); a server transaction stays in its state (RFC
   * 6026 §8.8) and is told again for each further failure.
   */
  onTransportError?(error: TransportError, tx: T): void;
  /** The transaction reached Terminated and was removed from the transaction layer. */
  onTerminated?(tx: T): void;
}

/**
 * Base class of the four transactions. `S` is the state union of the concrete machine; it
 * always includes `'terminated'`. Transactions are created by `TransactionLayer` only.
 *
 * @example
 * ```ts
 * function describe(tx: Transaction<string>): string {
 *   return `${tx.key} is ${tx.state}${tx.reliable ? ' (reliable)' : ''}`;
 * }
 * ```
 */
export abstract class Transaction<S extends string> {
  /** The string the layer matches messages against (§17.1.3, §17.2.3), built once. */
  readonly key: string;
  /** Whether the transport is reliable: no retransmission timers, zero-length waits. */
  readonly reliable: boolean;
  protected current: S;
  /** @internal */
  protected readonly ctx: TransactionContext;
  private readonly handles: (TimerHandle | undefined)[] = [undefined, undefined, undefined, undefined];

  protected constructor(key: string, initial: S, reliable: boolean, ctx: TransactionContext) {
    this.key = key;
    this.current = initial;
    this.reliable = reliable;
    this.ctx = ctx;
  }

  /** The current state (lower-case names from the RFC figures). */
  get state(): S {
    return this.current;
  }

  /** Whether the transaction is over. */
  get isTerminated(): boolean {
    return this.current === 'terminated';
  }

  protected get timers(): Readonly<TransactionTimers> {
    return this.ctx.timers;
  }

  /** Starts (or restarts) the timer in `slot`. */
  protected startTimer(slot: number, ms: number, fn: () => void): void {
    const old = this.handles[slot];
    if (old !== undefined) this.ctx.clock.clearTimer(old);
    this.handles[slot] = this.ctx.clock.setTimer(() => {
      this.handles[slot] = undefined;
      fn();
    }, ms);
  }

  protected stopTimer(slot: number): void {
    const h = this.handles[slot];
    if (h !== undefined) {
      this.ctx.clock.clearTimer(h);
      this.handles[slot] = undefined;
    }
  }

  /** Whether a transport error ends the transaction: true for clients (§17.1.4), false for servers (RFC 6026 §8.8). */
  protected abstract readonly terminatesOnTransportError: boolean;

  /**
   * Hands a message to the transport. A rejection (or a synchronous throw) arrives later and
   * is reported to the user, terminating a client transaction first, unless it is over already.
   */
  protected transmit(message: SipMessage, destination: Destination): void {
    let sent: Promise<void>;
    try {
      sent = this.ctx.transport.send(message, destination);
    } catch (e) {
      sent = Promise.reject(e);
    }
    sent.then(undefined, (e: unknown) => {
      if (this.isTerminated) return;
      const err = e instanceof TransportError ? e : new TransportError(e instanceof Error ? e.message : String(e), destination);
      if (!this.terminatesOnTransportError) {
        this.notifyTransportError(err);
        return;
      }
      this.enterTerminated();
      this.notifyTransportError(err);
      this.notifyTerminated();
    });
  }

  /** Enters Terminated and tells the user (the common path; see {@link transmit} for errors). */
  protected terminate(): void {
    if (this.isTerminated) return;
    this.enterTerminated();
    this.notifyTerminated();
  }

  /**
   * Stops every timer, enters Terminated and tells the layer, without notifying the user.
   * @internal Used by `TransactionLayer.close()` too.
   */
  enterTerminated(): void {
    for (let i = 0; i < this.handles.length; i++) this.stopTimer(i);
    this.current = 'terminated' as S;
    this.ctx.forget(this);
  }

  protected abstract notifyTransportError(error: TransportError): void;
  protected abstract notifyTerminated(): void;
}
