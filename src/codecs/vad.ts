/**
 * A simple energy-based voice activity detector, for trimming the silence at the end of a
 * voicemail and for "stop recording after N seconds of silence".
 *
 * Per frame it compares the frame's level (dBov) with a threshold that is the higher of an
 * absolute floor and "noise floor + margin", where the noise floor follows the quietest recent
 * frames: it drops at once to a quieter frame and creeps up slowly (so steady line noise or
 * air-conditioning does not count as voice, but a pause in speech does not lift the floor into
 * the speech). A hangover keeps short gaps between words from counting as silence. It is not a
 * speech/music classifier: any sound above the threshold counts as activity.
 */
import { levelDbov } from './pcm-level.js';

/**
 * Options of {@link VoiceActivityDetector} and {@link trimTrailingSilence}.
 *
 * @example
 * ```ts
 * new VoiceActivityDetector({ thresholdDbov: -45, marginDb: 12, hangoverMs: 500 });
 * ```
 */
export interface VadOptions {
  /** Sample rate of the frames; default 8000. */
  sampleRate?: number;
  /** Frames quieter than this are never voice, in dBov; default −50. */
  thresholdDbov?: number;
  /** How far above the tracked noise floor voice must be, in dB; default 10. */
  marginDb?: number;
  /** Activity is held this long after the last loud frame, in ms; default 300. */
  hangoverMs?: number;
}

/** Noise-floor rise per second when frames are louder than it (slow, so speech cannot lift it). */
const FLOOR_RISE_DB_PER_S = 3;

/**
 * Frame-by-frame energy VAD with an adaptive noise floor and hangover.
 *
 * @example
 * ```ts
 * const vad = new VoiceActivityDetector({ sampleRate: 8000 });
 * for (const frame of frames) {
 *   vad.process(frame);
 *   if (vad.silenceMs >= 5000) stopRecording();   // 5 s of silence
 * }
 * ```
 */
export class VoiceActivityDetector {
  /** Milliseconds since the last frame with voice (0 while talking). */
  silenceMs = 0;
  /** The tracked noise floor, in dBov. */
  noiseFloorDbov: number;
  private readonly sampleRate: number;
  private readonly thresholdDbov: number;
  private readonly marginDb: number;
  private readonly hangoverMs: number;
  private talking = false;

  constructor(options: VadOptions = {}) {
    this.sampleRate = options.sampleRate ?? 8000;
    this.thresholdDbov = options.thresholdDbov ?? -50;
    this.marginDb = options.marginDb ?? 10;
    this.hangoverMs = options.hangoverMs ?? 300;
    this.noiseFloorDbov = this.thresholdDbov - this.marginDb;
  }

  /**
   * Feeds one frame (any length; 10–30 ms is typical). Returns true while there is voice,
   * including the hangover after it.
   */
  process(frame: Int16Array): boolean {
    const ms = (frame.length * 1000) / this.sampleRate;
    const level = levelDbov(frame);
    const loud = this.isVoice(level);
    if (level < this.noiseFloorDbov) this.noiseFloorDbov = Math.max(level, -100);
    else this.noiseFloorDbov += (FLOOR_RISE_DB_PER_S * ms) / 1000;
    if (loud) {
      this.silenceMs = 0;
      this.talking = true;
    } else {
      this.silenceMs += ms;
      // The hangover applies only after voice: leading silence is never "voice".
      if (this.silenceMs > this.hangoverMs) this.talking = false;
    }
    return this.talking;
  }

  /** Whether a frame at `levelDbov` counts as voice right now (without updating state). */
  isVoice(levelDb: number): boolean {
    return levelDb >= Math.max(this.thresholdDbov, this.noiseFloorDbov + this.marginDb);
  }

  /** Forgets the noise floor and the silence count. */
  reset(): void {
    this.silenceMs = 0;
    this.talking = false;
    this.noiseFloorDbov = this.thresholdDbov - this.marginDb;
  }
}

/**
 * How many samples of a recording to keep so that trailing silence is dropped: everything up
 * to the end of the last frame with voice, plus `keepMs` (default 200 ms) of tail so the last
 * word is not clipped. Returns 0 when there is no voice at all. Runs the same detector over
 * 20 ms frames from the start, so the noise floor is learnt from the recording itself.
 *
 * @example
 * ```ts
 * const keep = trimTrailingSilence(voicemail, { sampleRate: 8000 });
 * const trimmed = voicemail.subarray(0, keep);
 * ```
 */
export function trimTrailingSilence(pcm: Int16Array, options: VadOptions & { keepMs?: number } = {}): number {
  const sampleRate = options.sampleRate ?? 8000;
  const frame = Math.max(1, Math.round(sampleRate / 50));
  const vad = new VoiceActivityDetector({ ...options, hangoverMs: 0 });
  let lastVoiceEnd = 0;
  for (let start = 0; start < pcm.length; start += frame) {
    const end = Math.min(pcm.length, start + frame);
    if (vad.process(pcm.subarray(start, end))) lastVoiceEnd = end;
  }
  if (lastVoiceEnd === 0) return 0;
  return Math.min(pcm.length, lastVoiceEnd + Math.round(((options.keepMs ?? 200) * sampleRate) / 1000));
}
