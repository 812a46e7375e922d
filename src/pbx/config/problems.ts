/**
 * What is wrong with a configuration file: `ConfigProblem`s, rendered one per line as
 *
 *   config/demo.json: tenants[0].extensions[3].password: must be at least 8 characters (hint: ...)
 *   config/demo.json:12:5: Unexpected token "}" in JSON (expected a value)
 *
 * and `ConfigError`, which carries all of them.
 */

export interface ConfigProblem {
  /** The file as the user named it. */
  readonly file: string;
  /** Where in the document: `tenants[0].extensions[3].password`; '' for the whole document. */
  readonly path: string;
  readonly message: string;
  readonly hint?: string;
  /** 1-based, for JSON syntax errors. */
  readonly line?: number;
  readonly column?: number;
}

export function renderProblem(p: ConfigProblem): string {
  const where = p.line !== undefined ? `${p.file}:${p.line}:${p.column ?? 1}` : p.file;
  const path = p.path === '' ? '' : `${p.path}: `;
  const hint = p.hint === undefined ? '' : ` (hint: ${p.hint})`;
  return `${where}: ${path}${p.message}${hint}`;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    const n = problems.length;
    super(`${n} configuration problem${n === 1 ? '' : 's'}:\n${problems.map(renderProblem).join('\n')}`);
    this.problems = problems;
  }
}

/** Path segment for a property name: `.name`, or `["SHA-256"]` when it is not an identifier. */
export function joinPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}
