/**
 * `switchboard/sip` user agent with INVITE sessions: the {@link UserAgent} facade, its
 * sessions, REFER (RFC 3515 / 3891 / 3892) and the interim SDP direction helpers.
 * (Kept apart from `index.ts`, which exports the non-dialog pieces of `src/sip/ua`.)
 */
export { UserAgent, UserAgentError, type UserAgentOptions, type UserAgentEvents, type CallOptions, type RegisterOptions, type SubscriptionOptions } from './user-agent.js';
export {
  InviteSession,
  OutgoingSession,
  IncomingSession,
  IncomingReinvite,
  type AnyInviteSession,
  SessionFailedError,
  type SessionBody,
  type BodyOptions,
  type SessionState,
  type SessionEnd,
  type SessionEndReason,
  type InviteSessionEvents,
  type OutgoingSessionEvents,
  type IncomingSessionEvents,
} from './invite-session.js';
export { ReferRequest, IncomingRefer, referToValue, parseSipfragStatus, type ReferOptions, type ReferResult, type ReferRequestEvents } from './refer.js';
export { sdpDirection, setSdpDirection, answerDirection, type SdpDirection } from './sdp-direction.js';
export { TypedEmitter, type EventMap, type Listener } from './typed-emitter.js';
