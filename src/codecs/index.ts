/** `switchboard/codecs`: pure signal processing on typed arrays (G.711, PCM, PLC, tones, DTMF, WAV). */
export { CodecRangeError, WavFormatError } from './errors.js';
export type { WavFormatErrorReason } from './errors.js';
export {
  encodeMuLaw,
  decodeMuLaw,
  encodeALaw,
  decodeALaw,
  muLawToALaw,
  aLawToMuLaw,
  muLawEncode,
  muLawDecode,
  aLawEncode,
  aLawDecode,
  muLawEncodeSample,
  muLawDecodeSample,
  aLawEncodeSample,
  aLawDecodeSample,
} from './g711.js';
export { readWav, decodeWavSamples, decodeWavMono, encodeWav, encodeWavData, wavHeader, wavHeaderLength } from './wav.js';
export type { WavAudio, WavEncoding, WavEncodeOptions } from './wav.js';
export { WavStreamWriter } from './wav-writer.js';
export type { WavSink, WavStreamWriterOptions } from './wav-writer.js';
export { PcmMixer, mixPcm } from './pcm-mix.js';
export type { PcmMixerOptions } from './pcm-mix.js';
export { applyGain, dbToGain, levelDbov, peakDbfs } from './pcm-level.js';
export { VoiceActivityDetector, trimTrailingSilence } from './vad.js';
export type { VadOptions } from './vad.js';
export { Upsampler, Downsampler, resample } from './resample.js';
export {
  DTMF_DIGITS,
  DTMF_ROW_FREQUENCIES,
  DTMF_COLUMN_FREQUENCIES,
  dtmfFrequencies,
  dbm0ToAmplitude,
  addTone,
  generateDtmf,
  ToneGenerator,
  NORTH_AMERICAN_TONES,
  EUROPEAN_TONES,
} from './tones.js';
export type { ToneComponent, DtmfToneOptions, ToneSpec, TonePlan } from './tones.js';
export { DtmfDetector, detectDtmf } from './dtmf-detector.js';
export type { DtmfDetectorOptions } from './dtmf-detector.js';
export { PacketLossConcealer } from './plc.js';
export type { PacketLossConcealerOptions } from './plc.js';
