/**
 * A strict JSON (RFC 8259) parser that reports where the text goes wrong as line and column,
 * which `JSON.parse` does not do consistently across Node versions. It also refuses a property
 * given twice in one object (JSON.parse silently keeps the last, hiding a typo'd copy).
 * Objects are built with defineProperty so a "__proto__" key is just a key.
 */

export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
  constructor(
    message: string,
    /** 0-based offset into the text. */
    readonly offset: number,
    /** 1-based. */
    readonly line: number,
    /** 1-based, in UTF-16 code units. */
    readonly column: number,
  ) {
    super(message);
  }
}

export function parseJsonText(text: string): unknown {
  const p = new JsonReader(text);
  p.skipSpace();
  const value = p.value();
  p.skipSpace();
  if (p.pos < text.length) p.fail('Unexpected token', 'expected the end of the document');
  return value;
}

/** 1-based line and column of an offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

class JsonReader {
  pos = 0;
  constructor(private readonly text: string) {}

  fail(what: string, expected: string, at = this.pos): never {
    const c = this.text[at];
    const found = c === undefined ? 'Unexpected end of JSON input' : what === 'Duplicate property' ? what : `${what} ${JSON.stringify(c)} in JSON`;
    const { line, column } = lineColumn(this.text, at);
    throw new JsonSyntaxError(`${found} (${expected})`, at, line, column);
  }

  skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++;
      else if (c === 0x2f && (t[this.pos + 1] === '/' || t[this.pos + 1] === '*')) this.fail('Unexpected token', 'JSON has no comments');
      else break;
    }
  }

  value(): unknown {
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.object();
      case '[':
        return this.array();
      case '"':
        return this.string();
      case 't':
        return this.word('true', true);
      case 'f':
        return this.word('false', false);
      case 'n':
        return this.word('null', null);
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
        return this.fail('Unexpected token', 'expected a value');
    }
  }

  private word(w: string, v: unknown): unknown {
    for (let i = 0; i < w.length; i++) {
      if (this.text[this.pos + i] !== w[i]) this.fail('Unexpected token', `expected ${w}`, this.pos + i);
    }
    this.pos += w.length;
    return v;
  }

  private number(): number {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (m === null) return this.fail('Unexpected token', 'expected a digit', this.pos + 1);
    const end = this.pos + m[0].length;
    const next = this.text[end];
    if (next !== undefined && /[0-9.eE]/.test(next)) this.fail('Unexpected token', 'malformed number', end);
    this.pos = end;
    return Number(m[0]);
  }

  string(): string {
    const t = this.text;
    this.pos++; // opening quote
    let out = '';
    let start = this.pos;
    for (;;) {
      const c = t[this.pos];
      if (c === undefined) this.fail('', 'unterminated string');
      if (c === '"') break;
      if (c < ' ') this.fail('Bad control character', 'write \\n, \\t, ... inside strings');
      if (c === '\\') {
        out += t.slice(start, this.pos);
        const e = t[this.pos + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && e in simple) {
          out += simple[e];
          this.pos += 2;
        } else if (e === 'u' && /^[0-9A-Fa-f]{4}$/.test(t.slice(this.pos + 2, this.pos + 6))) {
          out += String.fromCharCode(parseInt(t.slice(this.pos + 2, this.pos + 6), 16));
          this.pos += 6;
        } else {
          this.fail('Bad escape', 'valid escapes are \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX', this.pos + 1);
        }
        start = this.pos;
        continue;
      }
      this.pos++;
    }
    out += t.slice(start, this.pos);
    this.pos++; // closing quote
    return out;
  }

  private object(): Record<string, unknown> {
    const obj: Record<string, unknown> = {};
    this.pos++;
    this.skipSpace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return obj;
    }
    for (;;) {
      if (this.text[this.pos] !== '"') this.fail('Unexpected token', 'expected a double-quoted property name');
      const keyAt = this.pos;
      const key = this.string();
      if (Object.prototype.hasOwnProperty.call(obj, key)) this.fail('Duplicate property', `${JSON.stringify(key)} is already set in this object`, keyAt);
      this.skipSpace();
      if (this.text[this.pos] !== ':') this.fail('Unexpected token', 'expected ":" after a property name');
      this.pos++;
      this.skipSpace();
      Object.defineProperty(obj, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
      this.skipSpace();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        this.skipSpace();
        if (this.text[this.pos] === '}') this.fail('Unexpected token', 'no comma after the last property');
        continue;
      }
      if (c === '}') {
        this.pos++;
        return obj;
      }
      this.fail('Unexpected token', 'expected "," or "}"');
    }
  }

  private array(): unknown[] {
    const arr: unknown[] = [];
    this.pos++;
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return arr;
    }
    for (;;) {
      arr.push(this.value());
      this.skipSpace();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        this.skipSpace();
        if (this.text[this.pos] === ']') this.fail('Unexpected token', 'no comma after the last element');
        continue;
      }
      if (c === ']') {
        this.pos++;
        return arr;
      }
      this.fail('Unexpected token', 'expected "," or "]"');
    }
  }
}
