/**
 * Sending a request outside any dialog and waiting for its final response, answering digest
 * challenges on the way (RFC 3261 §8.1.3.5, §22.2): a 401 or 407 is answered once per
 * challenge through a {@link DigestClient} (which refuses to answer again when the same
 * credentials were rejected: no loops), and the request goes out again as a new transaction
 * with CSeq + 1 and a new branch.
 *
 * @example
 * ```ts
 * const outcome = await sendAuthenticated(layer, message, destination, { digest });
 * if (outcome.kind === 'response') console.log(outcome.response.status, 'after', outcome.request.cseq.seq);
 * ```
 */
import { DigestClient, retryWithCredentials } from '../auth/index.js';
import type { SipRequest, SipResponse } from '../message/index.js';
import type { TransactionLayer } from '../transaction/index.js';
import type { Destination, TransportError } from '../transport/index.js';

/** How a request ended: its final response (and the last copy sent), or no response at all. */
export type RequestOutcome =
  | { kind: 'response'; response: SipResponse; request: SipRequest }
  | { kind: 'timeout'; request: SipRequest }
  | { kind: 'transport-error'; error: TransportError; request: SipRequest };

/** Options of {@link sendAuthenticated}. */
export interface AuthenticatedRequestOptions {
  /** Answers 401/407; absent: the challenge is the outcome. */
  digest?: DigestClient;
  /** Randomness for the new branch of a retry. */
  random?: (bytes: number) => Uint8Array;
  /** Most requests sent in all (default 4: the first and up to three answers to challenges). */
  maxAttempts?: number;
}

/** Sends `request` once in a client transaction and resolves with how it ended. */
export function sendOnce(layer: TransactionLayer, request: SipRequest, destination: Destination): Promise<RequestOutcome> {
  return new Promise((resolve) => {
    try {
      layer.sendRequest(request, destination, {
        onFinal: (response) => resolve({ kind: 'response', response, request }),
        onTimeout: () => resolve({ kind: 'timeout', request }),
        onTransportError: (error) => resolve({ kind: 'transport-error', error, request }),
      });
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      resolve({ kind: 'transport-error', error: Object.assign(error, { destination }) as TransportError, request });
    }
  });
}

/**
 * Sends `request` to `destination` and resolves with its final outcome, answering 401/407
 * challenges with `options.digest` (see the file comment). Never rejects.
 *
 * @example
 * ```ts
 * const { kind } = await sendAuthenticated(layer, register, { protocol: 'udp', address: '192.0.2.1', port: 5060 }, { digest });
 * ```
 */
export async function sendAuthenticated(
  layer: TransactionLayer,
  request: SipRequest,
  destination: Destination,
  options: AuthenticatedRequestOptions = {},
): Promise<RequestOutcome> {
  const maxAttempts = options.maxAttempts ?? 4;
  let current = request;
  for (let attempt = 1; ; attempt++) {
    const outcome = await sendOnce(layer, current, destination);
    if (outcome.kind !== 'response') return outcome;
    const status = outcome.response.status;
    if ((status !== 401 && status !== 407) || options.digest === undefined || attempt >= maxAttempts) return outcome;
    const credentials = options.digest.authorize(outcome.response, current);
    if (credentials === undefined) return outcome;
    current = retryWithCredentials(current, credentials, options.random === undefined ? {} : { random: options.random });
  }
}
