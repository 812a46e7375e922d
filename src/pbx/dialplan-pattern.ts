/**
 * Dial-plan patterns, Asterisk style, as outbound routes use them ("_NXXNXXXXXX", "_9.").
 *
 * A pattern that starts with `_` is matched position by position:
 *
 *   X        any digit 0-9            Z   any digit 1-9            N   any digit 2-9
 *   [1-5,7]  one character of a class: digits, ranges `a-b`, `*`, `#`, `+`; commas separate
 *   .        one or more of anything (only at the end)
 *   !        zero or more of anything (only at the end)
 *   0-9 * # +  themselves
 *
 * Any other pattern is a literal: it matches exactly that number ("911", "*97").
 *
 * Ordering: Asterisk sorts the patterns of a context by specificity. Switchboard does not:
 * outbound routes are tried in the order the configuration lists them and the first route
 * with a matching pattern wins, so what you read is what runs. `specificity` and
 * `compareDialPatterns` are there for tools that want to warn about shadowed patterns.
 */

/** A pattern that cannot be compiled; `position` is the 0-based index in the pattern text. */
export class DialPatternError extends Error {
  override readonly name = 'DialPatternError';
  constructor(
    readonly pattern: string,
    readonly position: number,
    readonly reason: string,
  ) {
    super(`invalid dial pattern "${pattern}" at position ${position}: ${reason}`);
  }
}

/** What may follow the fixed positions of a pattern. */
export type DialPatternTail = 'none' | 'one-or-more' | 'zero-or-more';

/** A compiled pattern. Immutable. */
export interface DialPattern {
  /** The text it was compiled from. */
  readonly source: string;
  /** True for `_` patterns, false for literal numbers. */
  readonly isPattern: boolean;
  /** The characters each fixed position accepts, in order (a literal has one per position). */
  readonly positions: readonly string[];
  /** `.` → 'one-or-more', `!` → 'zero-or-more'. */
  readonly tail: DialPatternTail;
  /** The length of the shortest number that matches. */
  readonly minLength: number;
  /**
   * Per position, how many characters it accepts (1 for a literal digit, 10 for X), then 1000
   * for `.` or 1001 for `!`. Lower is more specific; compare with `compareDialPatterns`.
   */
  readonly specificity: readonly number[];
  matches(number: string): boolean;
}

const DIGITS = '0123456789';
const LITERAL = /^[0-9*#+]$/;
const DIALLED_ALPHABET = '0123456789*#+';

export function compileDialPattern(source: string): DialPattern {
  if (source.length === 0) throw new DialPatternError(source, 0, 'empty pattern');
  if (!source.startsWith('_')) return compileLiteral(source);

  const positions: string[] = [];
  const specificity: number[] = [];
  let tail: DialPatternTail = 'none';
  let i = 1;
  if (source.length === 1) throw new DialPatternError(source, 1, 'nothing after "_"');
  while (i < source.length) {
    const c = source[i] as string;
    if (c === '.' || c === '!') {
      if (i !== source.length - 1) throw new DialPatternError(source, i, `"${c}" is only allowed at the end`);
      if (positions.length === 0) throw new DialPatternError(source, i, `"${c}" needs at least one position before it`);
      tail = c === '.' ? 'one-or-more' : 'zero-or-more';
      specificity.push(c === '.' ? 1000 : 1001);
      i++;
      continue;
    }
    let chars: string;
    switch (c) {
      case 'X':
      case 'x':
        chars = DIGITS;
        i++;
        break;
      case 'Z':
      case 'z':
        chars = '123456789';
        i++;
        break;
      case 'N':
      case 'n':
        chars = '23456789';
        i++;
        break;
      case '[': {
        const end = source.indexOf(']', i + 1);
        if (end < 0) throw new DialPatternError(source, i, 'unterminated "[" class');
        chars = compileClass(source, i + 1, end);
        i = end + 1;
        break;
      }
      default:
        if (!LITERAL.test(c)) throw new DialPatternError(source, i, `unexpected character "${c}"`);
        chars = c;
        i++;
    }
    positions.push(chars);
    specificity.push(chars.length);
  }
  return makePattern(source, true, positions, tail, specificity);
}

function compileLiteral(source: string): DialPattern {
  for (let i = 0; i < source.length; i++) {
    const c = source[i] as string;
    if (!LITERAL.test(c)) {
      const hint = /[XZNxzn.![]/.test(c) ? ' (patterns start with "_", e.g. "_' + source + '")' : '';
      throw new DialPatternError(source, i, `unexpected character "${c}" in a literal number${hint}`);
    }
  }
  const positions = [...source];
  return makePattern(source, false, positions, 'none', positions.map(() => 1));
}

/** The body of a `[...]` class, source[start, end). */
function compileClass(source: string, start: number, end: number): string {
  const accepted = new Set<string>();
  let i = start;
  while (i < end) {
    const c = source[i] as string;
    if (c === ',') {
      i++;
      continue;
    }
    if (!LITERAL.test(c)) throw new DialPatternError(source, i, `unexpected character "${c}" in a class`);
    if (source[i + 1] === '-' && i + 2 < end) {
      const to = source[i + 2] as string;
      if (!/^[0-9]$/.test(c) || !/^[0-9]$/.test(to)) throw new DialPatternError(source, i, 'ranges are between digits');
      if (to < c) throw new DialPatternError(source, i, `range "${c}-${to}" runs backwards`);
      for (let d = c.charCodeAt(0); d <= to.charCodeAt(0); d++) accepted.add(String.fromCharCode(d));
      i += 3;
      continue;
    }
    if (source[i + 1] === '-') throw new DialPatternError(source, i + 1, 'range without an end');
    accepted.add(c);
    i++;
  }
  if (accepted.size === 0) throw new DialPatternError(source, start - 1, 'empty class');
  // Keep a canonical order so equal classes compare equal.
  return [...DIALLED_ALPHABET].filter((d) => accepted.has(d)).join('');
}

function makePattern(
  source: string,
  isPattern: boolean,
  positions: string[],
  tail: DialPatternTail,
  specificity: number[],
): DialPattern {
  const minLength = positions.length + (tail === 'one-or-more' ? 1 : 0);
  const fixed = positions.length;
  return Object.freeze({
    source,
    isPattern,
    positions: Object.freeze(positions),
    tail,
    minLength,
    specificity: Object.freeze(specificity),
    matches(number: string): boolean {
      if (tail === 'none' ? number.length !== fixed : number.length < minLength) return false;
      for (let i = 0; i < fixed; i++) {
        if (!(positions[i] as string).includes(number[i] as string)) return false;
      }
      return true;
    },
  });
}

/** Asterisk's order: position by position, the narrower one first; then the shorter one. */
export function compareDialPatterns(a: DialPattern, b: DialPattern): number {
  const n = Math.min(a.specificity.length, b.specificity.length);
  for (let i = 0; i < n; i++) {
    const d = (a.specificity[i] as number) - (b.specificity[i] as number);
    if (d !== 0) return d;
  }
  return a.specificity.length - b.specificity.length;
}

/** The number to send to the trunk: `strip` leading characters removed, then `prepend` added. */
export function applyRoute(number: string, route: { readonly strip: number; readonly prepend: string }): string {
  return route.prepend + number.slice(Math.max(0, route.strip));
}
