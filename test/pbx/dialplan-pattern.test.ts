import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyRoute, compareDialPatterns, compileDialPattern, DialPatternError } from '../../src/pbx/dialplan-pattern.js';

describe('compileDialPattern', () => {
  it('_NXXNXXXXXX: ten digits, area code and exchange starting 2-9', () => {
    const p = compileDialPattern('_NXXNXXXXXX');
    expect(p.matches('2125551234')).toBe(true);
    expect(p.matches('9995551234')).toBe(true);
    expect(p.matches('1125551234')).toBe(false); // N is 2-9
    expect(p.matches('2121551234')).toBe(false);
    expect(p.matches('212555123')).toBe(false); // too short
    expect(p.matches('21255512345')).toBe(false); // too long
    expect(p.minLength).toBe(10);
    expect(p.tail).toBe('none');
  });
  it('_9.: a 9 then one or more of anything', () => {
    const p = compileDialPattern('_9.');
    expect(p.matches('9')).toBe(false);
    expect(p.matches('91')).toBe(true);
    expect(p.matches('9*#+')).toBe(true);
    expect(p.matches('81')).toBe(false);
    expect(p.minLength).toBe(2);
  });
  it('_1[2-9]XX!: a class with a range, zero or more at the end', () => {
    const p = compileDialPattern('_1[2-9]XX!');
    expect(p.matches('1200')).toBe(true);
    expect(p.matches('1999123456')).toBe(true);
    expect(p.matches('1100')).toBe(false);
    expect(p.matches('120')).toBe(false);
    expect(p.positions).toEqual(['1', '23456789', '0123456789', '0123456789']);
    expect(p.minLength).toBe(4);
  });
  it('classes take commas, single keys and ranges', () => {
    const p = compileDialPattern('_[1-5,7][*#]');
    expect(p.positions).toEqual(['123457', '*#']);
    expect(p.matches('7#')).toBe(true);
    expect(p.matches('6#')).toBe(false);
  });
  it('Z is 1-9, and x z n may be written in lower case', () => {
    expect(compileDialPattern('_Z').matches('0')).toBe(false);
    expect(compileDialPattern('_zxn').matches('102')).toBe(true);
  });
  it('a pattern without "_" is a literal number', () => {
    const p = compileDialPattern('911');
    expect(p.isPattern).toBe(false);
    expect(p.matches('911')).toBe(true);
    expect(p.matches('9111')).toBe(false);
    expect(compileDialPattern('*97').matches('*97')).toBe(true);
    expect(compileDialPattern('+15551230000').matches('+15551230000')).toBe(true);
  });
  it.each([
    ['', 0, 'empty pattern'],
    ['_', 1, 'nothing after "_"'],
    ['_9.X', 2, '"." is only allowed at the end'],
    ['_!', 1, '"!" needs at least one position before it'],
    ['_1[2-9', 2, 'unterminated "[" class'],
    ['_[]', 1, 'empty class'],
    ['_[9-2]', 2, 'range "9-2" runs backwards'],
    ['_[2-]', 3, 'range without an end'],
    ['_A', 1, 'unexpected character "A"'],
    ['NXXNXXXXXX', 0, 'unexpected character "N" in a literal number (patterns start with "_", e.g. "_NXXNXXXXXX")'],
    ['91a', 2, 'unexpected character "a" in a literal number'],
  ])('rejects %j at position %i: %s', (source, position, reason) => {
    let error: unknown;
    try {
      compileDialPattern(source);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DialPatternError);
    expect((error as DialPatternError).position).toBe(position);
    expect((error as DialPatternError).reason).toBe(reason);
    expect((error as DialPatternError).message).toBe(`invalid dial pattern "${source}" at position ${position}: ${reason}`);
  });
});

describe('specificity', () => {
  it('orders as Asterisk does: literal before class before N before X before "." before "!"', () => {
    const sources = ['_X.', '_9!', '_9.', '_9X', '_9N', '_9[2-3]', '91'];
    const sorted = sources.map(compileDialPattern).sort(compareDialPatterns).map((p) => p.source);
    expect(sorted).toEqual(['91', '_9[2-3]', '_9N', '_9X', '_9.', '_9!', '_X.']);
  });
});

describe('applyRoute', () => {
  it('strips, then prepends', () => {
    expect(applyRoute('912125551234', { strip: 1, prepend: '+' })).toBe('+12125551234');
    expect(applyRoute('2125551234', { strip: 0, prepend: '' })).toBe('2125551234');
    expect(applyRoute('12', { strip: 5, prepend: '0' })).toBe('0');
  });
});

/** Random pattern text in the pattern grammar, and numbers that pattern must match. */
const patternElement = fc.oneof(
  fc.constantFrom('X', 'Z', 'N', 'x', 'z', 'n', '0', '5', '9', '*', '#', '+'),
  fc
    .array(
      fc.oneof(
        fc.constantFrom('0', '1', '7', '*', '#', '+', ','),
        fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
      ),
      { minLength: 1, maxLength: 4 },
    )
    .filter((parts) => parts.some((p) => p !== ','))
    .map((parts) => `[${parts.join('')}]`),
);
const validPattern = fc
  .tuple(fc.array(patternElement, { minLength: 1, maxLength: 12 }), fc.constantFrom('', '.', '!'))
  .map(([elements, tail]) => `_${elements.join('')}${tail}`);

describe('properties', () => {
  it('compiling any text either succeeds or throws a DialPatternError with a position inside it', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string().map((s) => `_${s}`), validPattern.map((p) => p.slice(0, -1))), (source) => {
        try {
          compileDialPattern(source);
        } catch (e) {
          expect(e).toBeInstanceOf(DialPatternError);
          expect((e as DialPatternError).position).toBeGreaterThanOrEqual(0);
          expect((e as DialPatternError).position).toBeLessThanOrEqual(source.length);
        }
      }),
      { numRuns: 2000 },
    );
  });
  it('a number built from a pattern matches it', () => {
    const withNumber = validPattern.chain((source) => {
      const p = compileDialPattern(source);
      const fixed = fc.tuple(...p.positions.map((chars) => fc.constantFrom(...chars)));
      const tailLength = p.tail === 'none' ? fc.constant(0) : fc.integer({ min: p.tail === 'one-or-more' ? 1 : 0, max: 5 });
      const tail = tailLength.chain((n) => fc.array(fc.constantFrom(...'0123456789*#+'), { minLength: n, maxLength: n }));
      return fc.tuple(fc.constant(p), fixed, tail).map(([pattern, f, t]) => ({ pattern, number: f.join('') + t.join('') }));
    });
    fc.assert(
      fc.property(withNumber, ({ pattern, number }) => {
        expect(pattern.matches(number)).toBe(true);
        expect(number.length).toBeGreaterThanOrEqual(pattern.minLength);
      }),
      { numRuns: 1000 },
    );
  });
  it('a literal number matches itself and nothing longer or shorter', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...'0123456789*#+'), { minLength: 1, maxLength: 15 }).map((a) => a.join('')), (n) => {
        const p = compileDialPattern(n);
        expect(p.matches(n)).toBe(true);
        expect(p.matches(`${n}1`)).toBe(false);
        expect(p.matches(n.slice(1))).toBe(false);
      }),
    );
  });
});
