/**
 * Why a call operation failed, as a code a program can switch on and a message a person can
 * act on.
 *
 * @example
 * ```ts
 * try { await agent.call('sip:bob@example.com'); }
 * catch (e) { if (e instanceof CallError && e.code === 'rejected') console.log('busy?', e.status); }
 * ```
 */
export type CallErrorCode =
  /** The callee answered with a final non-2xx (`status` says which). */
  | 'rejected'
  /** No answer in time, or the INVITE timed out. */
  | 'timeout'
  /** We cancelled (hangup() or an abort signal) before the answer. */
  | 'cancelled'
  /** The call is not in a state that allows the operation (e.g. play() before answer()). */
  | 'bad-state'
  /** The peer's SDP had nothing we can use (no G.711 audio): 488. */
  | 'incompatible-media'
  /** A file or stream to play could not be read. */
  | 'bad-source'
  /** Recording could not write its file. */
  | 'record-failed'
  /** A transfer was refused or did not complete. */
  | 'transfer-failed'
  /** Sockets, ports or the transport failed. */
  | 'io';

/**
 * The error of the Call API.
 *
 * @example
 * ```ts
 * throw new CallError('bad-state', 'the call has ended');
 * ```
 */
export class CallError extends Error {
  override readonly name = 'CallError';
  constructor(
    readonly code: CallErrorCode,
    message: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.status = options.status;
  }
  /** The SIP status behind the failure, when there is one. */
  readonly status: number | undefined;
}
