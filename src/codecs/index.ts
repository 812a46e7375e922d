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
