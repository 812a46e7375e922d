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
export { readWav, decodeWavSamples, encodeWav, encodeWavData, wavHeader, wavHeaderLength } from './wav.js';
export type { WavAudio, WavEncoding, WavEncodeOptions } from './wav.js';
export { WavStreamWriter } from './wav-writer.js';
export type { WavSink, WavStreamWriterOptions } from './wav-writer.js';
