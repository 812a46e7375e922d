/**
 * Running subscriptions without a DialogManager: a {@link SubscriptionRouter} offers each
 * request to its handlers (a `SubscriptionClient`, a `Notifier`) in order and answers what none
 * of them takes — 481 inside a dialog (RFC 3261 §12.2.2: no such subscription), and for
 * requests outside any dialog whatever `fallback` says (default 501). It is itself a
 * {@link SubscriptionRequestHandler}, so one router can also be a DialogManager's
 * `externalDialogs`.
 *
 * @example
 * ```ts
 * const layer = new TransactionLayer({ transport, user: { onRequest: () => {} } });
 * const notifier = new Notifier({ layer, contact, packages });
 * const client = new SubscriptionClient({ layer, contact });
 * layer.user = new SubscriptionRouter([client, notifier]).asLayerUser();
 * // or, beside INVITE dialogs:
 * new DialogManager({ layer, contact, externalDialogs: new SubscriptionRouter([client, notifier]) });
 * ```
 */
import type { ServerTransaction, TransactionLayerUser } from '../transaction/index.js';
import type { InboundMessage } from '../transport/index.js';
import { SipParseError } from '../message/index.js';
import { defaultRandom, reply, type SubscriptionRequestHandler } from './subscription-dialog.js';

/**
 * Offers requests to several handlers; see the file comment.
 *
 * @example
 * ```ts
 * const router = new SubscriptionRouter([client, notifier], { fallback: (tx) => tx.respond(createResponse(tx.request, 405)) });
 * ```
 */
export class SubscriptionRouter implements SubscriptionRequestHandler {
  private readonly random: (bytes: number) => Uint8Array;

  constructor(
    readonly handlers: readonly SubscriptionRequestHandler[],
    private readonly options: {
      /** A request outside any dialog that no handler took (default: 501). */
      fallback?: (tx: ServerTransaction, inbound: InboundMessage) => void;
      random?: (bytes: number) => Uint8Array;
    } = {},
  ) {
    this.random = options.random ?? defaultRandom;
  }

  /** Whether one of the handlers took the request. */
  handle(tx: ServerTransaction, inbound: InboundMessage): boolean {
    for (const h of this.handlers) if (h.handle(tx, inbound)) return true;
    return false;
  }

  /**
   * A transaction layer user that routes every new request: taken by a handler, or 481 (in a
   * dialog) / `fallback` (outside). Stray messages (late responses, ACKs) are dropped.
   *
   * @example
   * ```ts
   * layer.user = new SubscriptionRouter([client, notifier]).asLayerUser();
   * ```
   */
  asLayerUser(): TransactionLayerUser {
    return {
      onRequest: (tx, inbound) => {
        if (this.handle(tx, inbound)) return;
        let inDialog = false;
        try {
          inDialog = tx.request.to.tag !== undefined;
        } catch (e) {
          if (!(e instanceof SipParseError)) throw e;
          reply(tx, 400, this.random, undefined, e.message);
          return;
        }
        if (inDialog) reply(tx, 481, this.random);
        else if (this.options.fallback !== undefined) this.options.fallback(tx, inbound);
        else reply(tx, 501, this.random);
      },
    };
  }
}
