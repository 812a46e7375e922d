/**
 * Parameters: the `;name=value` lists that follow URIs (uri-parameters, §19.1.1) and header
 * values (generic-param, §25.1: From/To tag, Via branch, Contact expires…).
 *
 * Names keep the case they arrived with and are looked up case-insensitively (§7.3.1, §19.1.4).
 * Values are kept as on the wire (a quoted-string keeps its quotes) so that serialization is
 * lossless; `get` returns a quoted value unquoted.
 */
import { equalsIgnoreCase } from './chars.js';
import { unquote, quoteIfNeeded } from './quoted-string.js';

export class Params {
  /** Parameter names as they arrived. */
  readonly names: string[] = [];
  /** Raw values (`null` for a flag parameter such as `lr` or `rport`). */
  readonly values: (string | null)[] = [];
  /**
   * Whether values may be quoted-strings (header parameters) and so are unquoted by `get`;
   * false for URI parameters, whose values are held decoded and never quoted.
   */
  readonly quoting: boolean;

  constructor(quoting = true) {
    this.quoting = quoting;
  }

  /** Builds a parameter list from `[name, value]` pairs; values are quoted when needed. */
  static from(entries: Iterable<[string, string | null]> | Record<string, string | null>): Params {
    const p = new Params();
    const it = Symbol.iterator in entries ? (entries as Iterable<[string, string | null]>) : Object.entries(entries);
    for (const [k, v] of it) p.set(k, v);
    return p;
  }

  get size(): number {
    return this.names.length;
  }

  indexOf(name: string): number {
    for (let i = 0; i < this.names.length; i++) if (equalsIgnoreCase(this.names[i]!, name)) return i;
    return -1;
  }

  has(name: string): boolean {
    return this.indexOf(name) >= 0;
  }

  /**
   * The value of `name`, unquoted: `undefined` when absent, `null` when present without a
   * value (`;lr`), else the value.
   */
  get(name: string): string | null | undefined {
    const i = this.indexOf(name);
    if (i < 0) return undefined;
    const v = this.values[i]!;
    return v === null || !this.quoting ? v : unquote(v);
  }

  /** The raw value as it arrived (quotes kept). */
  getRaw(name: string): string | null | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.values[i]!;
  }

  /** Sets `name` (replacing an existing value, keeping its position); quotes `value` if it is not a token. */
  set(name: string, value: string | null = null): this {
    const raw = value === null || !this.quoting ? value : quoteIfNeeded(value);
    return this.setRaw(name, raw);
  }

  /** Sets `name` to a raw wire value, used as is. */
  setRaw(name: string, raw: string | null): this {
    const i = this.indexOf(name);
    if (i >= 0) this.values[i] = raw;
    else {
      this.names.push(name);
      this.values.push(raw);
    }
    return this;
  }

  delete(name: string): boolean {
    const i = this.indexOf(name);
    if (i < 0) return false;
    this.names.splice(i, 1);
    this.values.splice(i, 1);
    return true;
  }

  *entries(): IterableIterator<[string, string | null]> {
    for (let i = 0; i < this.names.length; i++) {
      const v = this.values[i]!;
      yield [this.names[i]!, v === null || !this.quoting ? v : unquote(v)];
    }
  }

  clone(): Params {
    const p = new Params(this.quoting);
    p.names.push(...this.names);
    p.values.push(...this.values);
    return p;
  }

  /** `;a=1;lr` — empty when there are no parameters. */
  toString(): string {
    let s = '';
    for (let i = 0; i < this.names.length; i++) {
      const v = this.values[i];
      s += v === null || v === undefined ? `;${this.names[i]}` : `;${this.names[i]}=${v}`;
    }
    return s;
  }
}
