/** `switchboard/call`: telephone calls with media — answer, play, record, digits, hold, transfer, bridge. */
export { CallAgent } from './call-agent.js';
export type { CallAgentOptions, CallAgentEvents, CallMediaSettings, DialOptions } from './call-agent.js';
export { Call } from './call.js';
export type {
  CallState,
  CallEnd,
  CallEndReason,
  CallEvents,
  DtmfMethod,
  PlayOptions,
  PlayResult,
  CollectOptions,
  CollectResult,
  RecordOptions,
  RecordResult,
  SendDigitsOptions,
  TransferResult,
} from './call.js';
export { Bridge } from './bridge.js';
export type { BridgeOptions, BridgeEvents } from './bridge.js';
export { CallError } from './call-error.js';
export type { CallErrorCode } from './call-error.js';
export { WavCache, wavToPcm8k, openSource, PcmSource, ToneSource, StreamSource, SequenceSource } from './audio-source.js';
export type { PlaySource, FrameSource, ToneName } from './audio-source.js';
export { IntervalTicker, ManualTicker, MAX_CATCH_UP } from './media-ticker.js';
export type { MediaTicker, TickListener } from './media-ticker.js';
export { CallMedia, MU_TO_A, A_TO_MU, g711Of, quietG711Frame } from './call-media.js';
export type { G711, MediaSink, CallMediaOptions } from './call-media.js';
export { parseDtmfInfo, formatDtmfInfo, DTMF_INFO_TYPES } from './dtmf-info.js';
export { promptPath, digitPrompts, musicOnHoldPath } from './prompts.js';
