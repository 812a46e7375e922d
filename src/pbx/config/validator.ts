/**
 * A small JSON Schema validator for the subset `configSchema` uses: type, properties,
 * required, additionalProperties (false or a schema), items, minItems, uniqueItems, enum,
 * const, pattern, minLength/maxLength, minimum/maximum, oneOf and `$ref` into `#/$defs/`.
 *
 * It is written for people reading its output, not for conformance:
 * - an unknown property is reported with the nearest allowed name ("did you mean");
 * - a `oneOf` whose branches are told apart by a `type` const is resolved by that property,
 *   and only the chosen branch's problems are reported; other `oneOf`s pick the branch whose
 *   type and required properties fit the value, so the user never reads "no branch matched";
 * - `x-hint` on a node is attached to the problems found at that node, `x-message` replaces
 *   the regex in a `pattern` problem.
 */
import type { JsonSchema } from './schema.js';
import { joinPath } from './problems.js';

export interface SchemaProblem {
  readonly path: string;
  readonly message: string;
  readonly hint?: string;
}

export function validateAgainstSchema(value: unknown, root: JsonSchema): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  validate(value, root, root, '', out);
  return out;
}

function resolve(schema: JsonSchema, root: JsonSchema): JsonSchema {
  if (schema.$ref === undefined) return schema;
  const m = /^#\/\$defs\/(.+)$/.exec(schema.$ref);
  const target = m === null ? undefined : root.$defs?.[m[1] as string];
  if (target === undefined) throw new Error(`schema: unresolvable $ref ${schema.$ref}`);
  // Siblings of $ref (description, default, x-hint) apply too.
  const { $ref: _ref, ...rest } = schema;
  return { ...resolve(target, root), ...rest };
}

type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';

function jsonType(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'object') return 'object';
  return typeof v as JsonType;
}

const typeNoun: Record<JsonType, string> = {
  object: 'an object',
  array: 'an array',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  null: 'null',
};

function fitsType(v: unknown, type: JsonSchema['type']): boolean {
  if (type === undefined) return true;
  const t = jsonType(v);
  return t === type || (type === 'number' && t === 'integer');
}

/** A value as JSON; anything JSON cannot hold (a caller's JS value: undefined, a BigInt) as String(v). */
function asText(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** A value as the user wrote it, shortened for a problem line. */
function show(v: unknown): string {
  const s = asText(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

const regexps = new Map<string, RegExp>();
function regexp(pattern: string): RegExp {
  let r = regexps.get(pattern);
  if (r === undefined) {
    r = new RegExp(pattern, 'u');
    regexps.set(pattern, r);
  }
  return r;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validate(value: unknown, s0: JsonSchema, root: JsonSchema, path: string, out: SchemaProblem[]): void {
  const s = resolve(s0, root);
  const problem = (message: string, at = path): void => {
    out.push(s['x-hint'] === undefined ? { path: at, message } : { path: at, message, hint: s['x-hint'] });
  };

  if (s.oneOf !== undefined) {
    validateOneOf(value, s, root, path, out);
    return;
  }
  if (s.const !== undefined) {
    if (value !== s.const) problem(`must be ${show(s.const)}`);
    return;
  }
  if (!fitsType(value, s.type)) {
    const t = jsonType(value);
    const got = t === 'object' || t === 'array' ? typeNoun[t] : show(value);
    problem(`must be ${typeNoun[s.type as JsonType]} (got ${got})`);
    return;
  }
  if (s.enum !== undefined && !s.enum.includes(value as string)) {
    const options = s.enum.map(show).join(', ');
    const near = typeof value === 'string' ? nearest(value, s.enum.map(String)) : undefined;
    problem(`must be one of ${options} (got ${show(value)}${near === undefined ? '' : `; did you mean ${show(near)}?`})`);
    return;
  }
  if (typeof value === 'string') {
    const len = [...value].length;
    if (s.minLength !== undefined && len < s.minLength) {
      problem(s.minLength === 1 ? 'must not be empty' : `must be at least ${s.minLength} characters`);
    } else if (s.maxLength !== undefined && len > s.maxLength) {
      problem(`must be at most ${s.maxLength} characters`);
    } else if (s.pattern !== undefined && !regexp(s.pattern).test(value)) {
      problem(`${s['x-message'] ?? `must match ${s.pattern}`} (got ${show(value)})`);
    }
    return;
  }
  if (typeof value === 'number') {
    if (s.minimum !== undefined && value < s.minimum) problem(`must be at least ${s.minimum} (got ${value})`);
    else if (s.maximum !== undefined && value > s.maximum) problem(`must be at most ${s.maximum} (got ${value})`);
    return;
  }
  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems) {
      problem(s.minItems === 1 ? 'must not be empty' : `must have at least ${s.minItems} items`);
    }
    value.forEach((item, i) => {
      if (s.items !== undefined) validate(item, s.items, root, joinPath(path, i), out);
      if (s.uniqueItems === true) {
        const first = value.findIndex((other) => asText(other) === asText(item));
        if (first < i) out.push({ path: joinPath(path, i), message: `repeats ${joinPath(path, first)} (${show(item)})` });
      }
    });
    return;
  }
  if (isObject(value)) {
    const props = s.properties ?? {};
    for (const name of s.required ?? []) {
      if (!Object.prototype.hasOwnProperty.call(value, name)) {
        const sub = props[name];
        const hint = sub === undefined ? undefined : resolve(sub, root)['x-hint'];
        out.push(hint === undefined ? { path: joinPath(path, name), message: 'is required' } : { path: joinPath(path, name), message: 'is required', hint });
      }
    }
    for (const [key, v] of Object.entries(value)) {
      const sub = Object.prototype.hasOwnProperty.call(props, key) ? props[key] : undefined;
      if (sub !== undefined) {
        validate(v, sub, root, joinPath(path, key), out);
      } else if (s.additionalProperties === false) {
        const near = nearest(key, Object.keys(props));
        out.push({
          path: joinPath(path, key),
          message:
            near !== undefined
              ? `unknown property (did you mean ${show(near)}?)`
              : `unknown property (allowed: ${Object.keys(props).filter((k) => k !== '$schema').join(', ')})`,
        });
      } else if (s.additionalProperties !== undefined) {
        validate(v, s.additionalProperties, root, joinPath(path, key), out);
      }
    }
  }
}

/**
 * A property whose value tells the branches apart: in every branch it is a string `const` or
 * `enum`, with no value shared by two branches (`type` in destinations, `transport` in listen).
 */
function discriminator(branches: readonly JsonSchema[], root: JsonSchema): { name: string; tags: string[][] } | undefined {
  const first = branches[0]?.properties;
  if (first === undefined) return undefined;
  for (const name of Object.keys(first)) {
    const tags: string[][] = [];
    for (const b of branches) {
      const p = b.properties?.[name];
      const r = p === undefined ? undefined : resolve(p, root);
      const values = r?.const !== undefined ? [r.const] : r?.enum;
      if (values === undefined || !values.every((v) => typeof v === 'string')) break;
      tags.push(values as string[]);
    }
    const all = tags.flat();
    if (tags.length === branches.length && new Set(all).size === all.length) return { name, tags };
  }
  return undefined;
}

function validateOneOf(value: unknown, s: JsonSchema, root: JsonSchema, path: string, out: SchemaProblem[]): void {
  const branches = (s.oneOf ?? []).map((b) => resolve(b, root));
  const withHint = (p: SchemaProblem): SchemaProblem =>
    p.hint === undefined && s['x-hint'] !== undefined && p.path === path ? { ...p, hint: s['x-hint'] } : p;

  const d = discriminator(branches, root);
  if (d !== undefined) {
    const all = d.tags.flat();
    const options = all.map(show).join(', ');
    if (!isObject(value)) {
      out.push(withHint({ path, message: `must be an object with "${d.name}": one of ${options}` }));
      return;
    }
    if (!Object.prototype.hasOwnProperty.call(value, d.name)) {
      out.push(withHint({ path: joinPath(path, d.name), message: `is required: one of ${options}` }));
      return;
    }
    const tag = value[d.name];
    const i = d.tags.findIndex((t) => t.includes(tag as string));
    if (i < 0) {
      const near = typeof tag === 'string' ? nearest(tag, all) : undefined;
      out.push({
        path: joinPath(path, d.name),
        message: `must be one of ${options} (got ${show(tag)}${near === undefined ? '' : `; did you mean ${show(near)}?`})`,
      });
      return;
    }
    validate(value, branches[i] as JsonSchema, root, path, out);
    return;
  }

  // Without a discriminator: the branches whose type fits; among those, the first whose
  // required properties are all present; failing that, the one with the fewest problems.
  const fitting = branches.filter((b) => (b.const !== undefined ? typeof b.const === typeof value : fitsType(value, b.type)));
  if (fitting.length === 0) {
    const nouns = branches.map((b) => (b.const !== undefined ? show(b.const) : typeNoun[(b.type ?? 'object') as JsonType]));
    out.push(withHint({ path, message: `must be ${[...new Set(nouns)].join(' or ')}` }));
    return;
  }
  const results = fitting.map((b) => {
    const problems: SchemaProblem[] = [];
    validate(value, b, root, path, problems);
    return { b, problems };
  });
  if (results.some((r) => r.problems.length === 0)) return;
  const keyed = isObject(value) ? results.find((r) => (r.b.required ?? []).every((k) => Object.prototype.hasOwnProperty.call(value, k))) : undefined;
  if (keyed === undefined && isObject(value) && fitting.length > 1 && fitting.every((b) => b.type === 'object' && (b.required ?? []).length > 0)) {
    // An object that has the required properties of no branch: say which ones would do.
    const keys = fitting.map((b) => (b.required ?? []).map((k) => `"${k}"`).join(' and '));
    out.push(withHint({ path, message: `needs ${[...new Set(keys)].join(' or ')}` }));
    return;
  }
  const chosen = keyed ?? results.reduce((best, r) => (r.problems.length < best.problems.length ? r : best));
  for (const p of chosen.problems) out.push(withHint(p));
}

/** The candidate closest to `word` by edit distance, if it is close enough to be a typo. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const w = word.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  return bestDistance <= limit ? best : undefined;
}

/** Levenshtein distance with adjacent transpositions counting as one edit. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const prev = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (rows[i - 2]?.[j - 2] as number) + 1);
      row.push(d);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] as number;
}
