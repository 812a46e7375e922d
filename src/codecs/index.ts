/** `switchboard/codecs`: pure signal processing on typed arrays (G.711, PCM, PLC, tones, DTMF, WAV). */
export {};
