/** `switchboard/sip`: the SIP protocol stack (RFC 3261 and friends). */
export * from './message/index.js';
