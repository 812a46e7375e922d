/** The strict JSON parser behind the configuration loader agrees with JSON.parse. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonSyntaxError, lineColumn, parseJsonText } from '../../../src/pbx/config/json-text.js';

function jsonParseOutcome(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

describe('parseJsonText', () => {
  it('reads back what JSON.stringify wrote, compact or indented', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 2, '\t'), (v, indent) => {
        const text = JSON.stringify(v, null, indent);
        expect(parseJsonText(text)).toEqual(JSON.parse(text));
      }),
      { numRuns: 1000 },
    );
  });

  it('on any text, succeeds exactly when JSON.parse does (bar repeated properties), with the same value', () => {
    const nearJson = fc
      .tuple(fc.jsonValue().map((v) => JSON.stringify(v, null, 1)), fc.nat(), fc.nat({ max: 3 }), fc.string({ maxLength: 3 }))
      .map(([text, at, cut, insert]) => {
        const i = text.length === 0 ? 0 : at % text.length;
        return text.slice(0, i) + insert + text.slice(i + cut);
      });
    fc.assert(
      fc.property(fc.oneof(fc.string(), nearJson), (text) => {
        const expected = jsonParseOutcome(text);
        let value: unknown;
        try {
          value = parseJsonText(text);
        } catch (e) {
          expect(e).toBeInstanceOf(JsonSyntaxError);
          const { offset, line, column } = e as JsonSyntaxError;
          expect(offset).toBeGreaterThanOrEqual(0);
          expect(offset).toBeLessThanOrEqual(text.length);
          expect(lineColumn(text, offset)).toEqual({ line, column });
          if (expected.ok) expect((e as Error).message).toMatch(/^Duplicate property/);
          return;
        }
        expect(expected.ok).toBe(true);
        if (expected.ok) expect(value).toEqual(expected.value);
      }),
      { numRuns: 3000 },
    );
  });

  it('reads long numbers whole', () => {
    const digits = '1'.repeat(500);
    expect(parseJsonText(`[${digits}]`)).toEqual([Number(digits)]);
  });

  it('keeps "__proto__" as a plain property', () => {
    const v = parseJsonText('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
