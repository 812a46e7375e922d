/** config/switchboard.schema.json is written from src/pbx/config/schema.ts: they must not drift. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema, configSchemaText, type JsonSchema } from '../../../src/pbx/config/index.js';
import { validateAgainstSchema } from '../../../src/pbx/config/validator.js';

const root = join(__dirname, '../../..');

describe('config/switchboard.schema.json', () => {
  it('is exactly what scripts/write-config-schema writes from the TS constant', () => {
    expect(readFileSync(join(root, 'config/switchboard.schema.json'), 'utf8')).toBe(configSchemaText());
  });

  it('is draft 2020-12 with an $id and a title', () => {
    expect(configSchema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(configSchema.$id).toMatch(/^urn:/);
    expect(configSchema.title).toBeTruthy();
  });

  /** Every sub-schema, with where it is. */
  function* walk(s: JsonSchema, at: string): Generator<[string, JsonSchema]> {
    yield [at, s];
    for (const [k, v] of Object.entries(s.properties ?? {})) yield* walk(v, `${at}.properties.${k}`);
    for (const [k, v] of Object.entries(s.$defs ?? {})) yield* walk(v, `${at}.$defs.${k}`);
    if (s.items !== undefined) yield* walk(s.items, `${at}.items`);
    if (typeof s.additionalProperties === 'object') yield* walk(s.additionalProperties, `${at}.additionalProperties`);
    for (const [i, v] of (s.oneOf ?? []).entries()) yield* walk(v, `${at}.oneOf[${i}]`);
  }

  it('describes every property and closes every object', () => {
    for (const [at, s] of walk(configSchema, '#')) {
      for (const [name, p] of Object.entries(s.properties ?? {})) {
        expect(p.description, `${at}.properties.${name}`).toBeTruthy();
      }
      if (s.type === 'object' && s.additionalProperties === undefined) throw new Error(`${at}: additionalProperties not set`);
    }
  });

  it('every pattern compiles as a Unicode regex, and every default passes its own schema', () => {
    for (const [at, s] of walk(configSchema, '#')) {
      if (s.pattern !== undefined) expect(() => new RegExp(s.pattern as string, 'u')).not.toThrow();
      if (s.default !== undefined) {
        const { default: value, ...rest } = s;
        expect(validateAgainstSchema(value, { ...rest, $defs: configSchema.$defs }), at).toEqual([]);
      }
    }
  });
});
