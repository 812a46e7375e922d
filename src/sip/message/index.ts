/**
 * `switchboard/sip` message layer: parse, inspect, build and serialize SIP messages.
 */
export { SipParseError } from './errors.js';
export { parseMessage, validateMessage, DEFAULT_LIMITS, type ParseOptions, type SipLimits } from './parser.js';
export { SipStreamFramer, type FramerEvent } from './stream-framer.js';
export { SipRequest, SipResponse, serializeMessage, type SipMessage, type HeaderValue } from './message.js';
export { createResponse, reasonPhrase, type ResponseOptions } from './response.js';
export { Params } from './params.js';
export { SipUri, TelUri, AbsoluteUri, parseUri, uriEquals, type Uri, type HostKind } from './uri.js';
export { NameAddr, parseNameAddr } from './name-addr.js';
export { Via, parseVia, BRANCH_MAGIC_COOKIE } from './via.js';
export { AuthHeader, parseAuthHeader } from './auth-header.js';
export {
  MediaType,
  parseCSeq,
  parseMediaType,
  parseEvent,
  parseSubscriptionState,
  parseReplaces,
  parseRAck,
  parseSessionExpires,
  parseReason,
  type CSeq,
  type EventHeader,
  type SubscriptionState,
  type Replaces,
  type RAck,
  type SessionExpires,
  type Reason,
} from './header-values.js';
export { canonicalHeaderName } from './header-names.js';
export { quote, unquote } from './quoted-string.js';
