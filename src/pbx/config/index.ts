/**
 * The PBX configuration: its types, the JSON Schema, loading with defaults, validation with
 * problems a user can act on, and the check behind `switchboard check-config`.
 */
export type * from './types.js';
export { loadConfig, parseConfig, validateConfig } from './load.js';
export { ConfigError, renderProblem, type ConfigProblem } from './problems.js';
export { configSchema, configSchemaText, type JsonSchema } from './schema.js';
export { checkConfig, type CheckConfigResult } from './check.js';
export { shippedMusicOnHoldFile } from './normalize.js';
