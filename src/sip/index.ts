/** `switchboard/sip`: the SIP protocol stack (RFC 3261 and friends). */
export * from './message/index.js';
export * from './auth/index.js';
export * from './transport/index.js';
export { ManualClock, systemClock, type TimerClock, type TimerHandle } from './timer-clock.js';
export * from './transaction/index.js';
export * from './dialog/index.js';
export * from './ua/index.js';
export * from './ua/subscription-index.js';
export * from './ua/session-index.js';
export * from './sdp/index.js';
