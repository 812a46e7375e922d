/**
 * Error classes of the codecs layer. Each carries a machine-readable `reason` so callers can
 * branch on the failure without parsing messages.
 */

/**
 * A caller-supplied buffer is too small (or a length argument is out of range) for a
 * `(src, dst)` operation. Thrown before anything is written.
 *
 * @example
 * ```ts
 * try { encodeMuLaw(new Int16Array(160), new Uint8Array(80)); }
 * catch (e) { if (e instanceof CodecRangeError) console.log(e.message); }
 * ```
 */
export class CodecRangeError extends RangeError {
  override readonly name = 'CodecRangeError';
}

/**
 * Why {@link readWav} rejected a file.
 *
 * @example
 * ```ts
 * if (e instanceof WavFormatError && e.reason === 'truncated') retryLater();
 * ```
 */
export type WavFormatErrorReason =
  | 'not-riff'
  | 'not-wave'
  | 'missing-fmt'
  | 'missing-data'
  | 'invalid-fmt'
  | 'unsupported-format'
  | 'truncated';

/**
 * The bytes are not a WAV file this layer can read. `reason` says why; the message names the
 * offending field and value.
 *
 * @example
 * ```ts
 * try { readWav(bytes); }
 * catch (e) { if (e instanceof WavFormatError && e.reason === 'unsupported-format') … }
 * ```
 */
export class WavFormatError extends Error {
  override readonly name = 'WavFormatError';
  constructor(
    readonly reason: WavFormatErrorReason,
    message: string,
  ) {
    super(message);
  }
}
