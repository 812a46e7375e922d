/** `switchboard/rtp`: RTP/RTCP packets, jitter buffer, telephone-events and RTP sessions. */
export { RtpParseError, RtcpParseError, TelephoneEventParseError, RtpSessionError } from './errors.js';
export type { RtpParseErrorCode, RtcpParseErrorCode } from './errors.js';
export { sequenceDiff, isSequenceNewer, timestampDiff, SequenceUnwrapper, TimestampUnwrapper } from './sequence.js';
export { RtpPacket, serializeRtp, rtpPacketSize, isRtcpPacket } from './rtp-packet.js';
export type { RtpHeaderFields } from './rtp-packet.js';
export {
  parseHeaderExtension,
  forEachHeaderExtension,
  findHeaderExtension,
  writeHeaderExtension,
  headerExtensionSize,
  headerExtensionProfileFor,
  isRfc8285Profile,
  ONE_BYTE_PROFILE,
  TWO_BYTE_PROFILE,
} from './rtp-header-extension.js';
export type { HeaderExtensionElement } from './rtp-header-extension.js';
export { parseRtcp, serializeRtcp, rtcpSize, RtcpType, SdesItemType } from './rtcp.js';
export type {
  RtcpPacket,
  RtcpSenderReport,
  RtcpReceiverReport,
  RtcpReportBlock,
  RtcpSdes,
  SdesChunk,
  SdesItem,
  RtcpBye,
  RtcpApp,
  RtcpXr,
  XrBlock,
  VoipMetrics,
  RtcpUnknown,
} from './rtcp.js';
export { ReceptionStatistics, roundTripTime } from './rtcp-stats.js';
export { rtcpInterval, updateAvgRtcpSize, RtcpScheduler, RTCP_MIN_TIME, COMPENSATION } from './rtcp-interval.js';
export type { RtcpIntervalInput } from './rtcp-interval.js';
export { ntpFromUnixMs, unixMsFromNtp, ntpMiddle32, ntpMiddle32FromUnixMs, NTP_UNIX_OFFSET_SECONDS } from './ntp-time.js';
export {
  parseTelephoneEvent,
  writeTelephoneEvent,
  digitToEvent,
  eventToDigit,
  planTelephoneEvent,
  TelephoneEventReceiver,
} from './telephone-event.js';
export type {
  TelephoneEventPayload,
  PlannedTelephoneEventPacket,
  PlanTelephoneEventOptions,
  TelephoneEventReport,
  TelephoneEventReceiverOptions,
} from './telephone-event.js';
export { JitterBuffer } from './jitter-buffer.js';
export type { JitterBufferPacket, JitterBufferOutput, JitterBufferStats, JitterBufferOptions } from './jitter-buffer.js';
export { QuantileTargetRule } from './jitter-target.js';
export type { JitterTargetRule, QuantileTargetRuleOptions } from './jitter-target.js';
export { PortPool } from './port-pool.js';
export type { PortPoolOptions } from './port-pool.js';
export { RtpSession } from './rtp-session.js';
export type { RtpSessionOptions, RtpSessionEvents, RtpRemote, RtpForward } from './rtp-session.js';
export { VoipMetricsCollector } from './voip-metrics.js';
