/**
 * Reading a configuration: JSON text → schema validation → defaults → semantic checks →
 * `PbxConfig`. Every problem found is reported at once, in document order within each stage;
 * semantic checks run only on a document that passed the schema.
 */
import { readFile } from 'node:fs/promises';
import { JsonSyntaxError, parseJsonText } from './json-text.js';
import { normalizeConfig, type RawConfig } from './normalize.js';
import { ConfigError, type ConfigProblem } from './problems.js';
import { configSchema } from './schema.js';
import { semanticProblems } from './semantic-checks.js';
import type { PbxConfig } from './types.js';
import { validateAgainstSchema } from './validator.js';

/** Reads and checks the file; relative paths inside it are resolved against its directory. */
export async function loadConfig(path: string): Promise<PbxConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new ConfigError([{ file: path, path: '', message: `cannot read the file: ${reason}` }]);
  }
  return parseConfig(text, path);
}

/** `file` names the text in problems and is the base for relative paths in it. */
export function parseConfig(text: string, file: string): PbxConfig {
  let json: unknown;
  try {
    json = parseJsonText(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new ConfigError([{ file, path: '', message: e.message, line: e.line, column: e.column }]);
    if (e instanceof RangeError) throw new ConfigError([{ file, path: '', message: 'the document is nested too deeply' }]);
    throw e;
  }
  const { config, problems } = check(json, file);
  if (config === undefined || problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Every problem with an already parsed document; [] means `parseConfig` would succeed. */
export function validateConfig(json: unknown, file: string): ConfigProblem[] {
  return check(json, file).problems;
}

function check(json: unknown, file: string): { config?: PbxConfig; problems: ConfigProblem[] } {
  const schemaProblems = validateAgainstSchema(json, configSchema);
  if (schemaProblems.length > 0) return { problems: schemaProblems.map((p) => ({ file, ...p })) };
  const config = normalizeConfig(json as RawConfig, file);
  return { config, problems: semanticProblems(config).map((p) => ({ file, ...p })) };
}
