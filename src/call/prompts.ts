/**
 * Where the bundled voice prompts and music on hold are on disk. The package ships
 * `prompts/<language>/<name>.wav` (8 kHz mono µ-law, made by `scripts/make-prompts`; the list
 * is in `prompts/README.md`) and `moh/default.wav` at its root. This module finds that root by
 * walking up from its own location to the first folder holding both `package.json` and
 * `prompts/`, so the same code works from the TypeScript sources (`src/call/`, as the tests
 * run it) and from the build (`dist/src/call/`, as users run it). The root is looked up once
 * and cached.
 *
 * @example
 * ```ts
 * const welcome = readWav(new Uint8Array(await readFile(promptPath('welcome'))));
 * const extension = digitPrompts('1001').map((file) => readWav(new Uint8Array(readFileSync(file))));
 * ```
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A prompt name: kebab-case segments, optionally in a folder (`digits/7`); no `..`, no extension. */
const PROMPT_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*(?:\/[a-z0-9]+(?:-[a-z0-9]+)*)*$/;
/** A language tag such as `en`, `de` or `en-GB` (RFC 5646 shape, letters, digits and hyphens). */
const LANGUAGE = /^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$/;

/** The prompt file for each DTMF key that has one. */
const DIGIT_NAMES: Readonly<Record<string, string>> = {
  '0': 'digits/0',
  '1': 'digits/1',
  '2': 'digits/2',
  '3': 'digits/3',
  '4': 'digits/4',
  '5': 'digits/5',
  '6': 'digits/6',
  '7': 'digits/7',
  '8': 'digits/8',
  '9': 'digits/9',
  '*': 'digits/star',
  '#': 'digits/pound',
};

let packageRoot: string | undefined;

/** The package root: the nearest folder at or above this module with `package.json` and `prompts/`. */
function findPackageRoot(): string {
  if (packageRoot !== undefined) return packageRoot;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && isDirectory(join(dir, 'prompts'))) {
      packageRoot = dir;
      return dir;
    }
    if (dirname(dir) === dir) break;
  }
  throw new Error(`no folder with package.json and prompts/ at or above ${start}: the package's prompts are missing`);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The absolute path of the bundled prompt `prompts/<language>/<name>.wav`.
 *
 * @param name - the prompt's file name without `.wav`, e.g. `'vm-enter-pin'` or `'digits/7'`.
 * @param language - the prompt folder; default `'en'`.
 * @throws {Error} naming the path when the name is malformed or the file does not exist.
 * @example
 * ```ts
 * promptPath('please-hold');   // '/…/switchboard/prompts/en/please-hold.wav'
 * promptPath('digits/star');   // '/…/switchboard/prompts/en/digits/star.wav'
 * ```
 */
export function promptPath(name: string, language = 'en'): string {
  if (!PROMPT_NAME.test(name)) {
    throw new Error(`invalid prompt name ${JSON.stringify(name)}: use the file name without .wav, e.g. 'goodbye' or 'digits/7'`);
  }
  if (!LANGUAGE.test(language)) throw new Error(`invalid prompt language ${JSON.stringify(language)}: use a tag such as 'en'`);
  const path = join(findPackageRoot(), 'prompts', language, `${name}.wav`);
  if (!isFile(path)) throw new Error(`no prompt ${JSON.stringify(name)} for language '${language}': ${path} does not exist`);
  return path;
}

/**
 * The absolute path of the bundled music on hold, `moh/default.wav` (30 s, 8 kHz µ-law, loops
 * cleanly).
 *
 * @throws {Error} naming the path when the file does not exist.
 * @example
 * ```ts
 * const music = readWav(new Uint8Array(await readFile(musicOnHoldPath())));
 * ```
 */
export function musicOnHoldPath(): string {
  const path = join(findPackageRoot(), 'moh', 'default.wav');
  if (!isFile(path)) throw new Error(`no music on hold: ${path} does not exist`);
  return path;
}

/**
 * The prompt paths that say `digits` one key at a time: `0`–`9`, `*` ("star") and `#`
 * ("pound").
 *
 * @param digits - the keys to say, e.g. a collected extension or PIN.
 * @param language - the prompt folder; default `'en'`.
 * @throws {Error} for a key with no prompt (`A`–`D` or anything else), or a missing file.
 * @example
 * ```ts
 * digitPrompts('12*#'); // [.../digits/1.wav, .../digits/2.wav, .../digits/star.wav, .../digits/pound.wav]
 * ```
 */
export function digitPrompts(digits: string, language = 'en'): string[] {
  const paths: string[] = [];
  for (const key of digits) {
    const name = DIGIT_NAMES[key];
    if (name === undefined) throw new Error(`no prompt for key ${JSON.stringify(key)} in ${JSON.stringify(digits)}: only 0-9, * and # are spoken`);
    paths.push(promptPath(name, language));
  }
  return paths;
}
