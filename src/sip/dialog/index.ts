/**
 * `switchboard/sip` dialog layer (RFC 3261 §12–§15, RFC 3262, RFC 3311, RFC 4028): dialogs,
 * the dialog manager that sits on the transaction layer, reliable provisionals, session timers.
 */
export { Dialog, isTargetRefresh, type DialogState, type DialogRole, type DialogInit, type DialogRequestOptions } from './dialog.js';
export { dialogKey, dialogIdOfIncoming, type DialogId } from './dialog-id.js';
export {
  DialogManager,
  resolveUriDirectly,
  type DialogManagerOptions,
  type DialogManagerEvents,
  type InviteOptions,
  type InviteHandlers,
  type AckBody,
  type InDialogHandlers,
  type RespondOptions,
  type TerminationReason,
  type ExternalDialogs,
} from './dialog-manager.js';
export { DialogError } from './errors.js';
export { OutgoingInvite } from './outgoing-invite.js';
export { glareRetryDelay } from './glare.js';
export { ReliableProvisionalSender, ReliableProvisionalReceiver, MAX_QUEUED_PROVISIONALS, type ReliableProvisionalOptions } from './reliable-provisional.js';
export { RetransmissionTimer, type RetransmissionOptions } from './retransmission-timer.js';
export {
  SessionTimer,
  negotiateAsUas,
  negotiateAsUac,
  expiryDelay,
  resolveSessionTimerConfig,
  MIN_SESSION_EXPIRES,
  DEFAULT_SESSION_EXPIRES,
  type SessionTimerConfig,
  type NegotiatedSession,
  type UasNegotiation,
} from './session-timer.js';
