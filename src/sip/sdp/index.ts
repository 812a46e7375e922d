/** `src/sip/sdp`: RFC 8866 SDP parse/serialize, typed attribute access, RFC 3264 offer/answer. */
export type { SdpDirection } from '../ua/sdp-direction.js';
export { SdpParseError, SdpSerializeError, SdpNegotiationError, type SdpParseErrorReason } from './errors.js';
export type {
  SdpOrigin,
  SdpConnection,
  SdpBandwidth,
  SdpTiming,
  SdpAttribute,
  SdpOtherLine,
  SdpMedia,
  SessionDescription,
} from './session-description.js';
export { parseSdp, MAX_SDP_BYTES, MAX_SDP_MEDIA } from './sdp-parser.js';
export { serializeSdp } from './sdp-serializer.js';
export {
  type RtpMap,
  type SdpCrypto,
  STATIC_PAYLOAD_TYPES,
  rtpMaps,
  formatParameters,
  ptime,
  maxptime,
  mediaDirection,
  rtcpAttribute,
  hasRtcpMux,
  cryptoAttributes,
  connectionOf,
} from './media-attributes.js';
export {
  type CodecPreference,
  type NegotiatedMedia,
  type SdpNegotiatorOptions,
  SdpNegotiator,
} from './sdp-negotiator.js';
