/**
 * `npm run bench`: runs every `bench/*.bench.ts` module (compiled to .bench-build) in name
 * order. Each module prints its own table(s) when imported. Pass names to run a subset:
 * `npm run bench -- sip codecs`.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

console.log(`Switchboard benchmarks — node ${process.version}, ${process.platform}/${process.arch}`);
for (const f of files) {
  await import(pathToFileURL(join(here, f)).href);
}
