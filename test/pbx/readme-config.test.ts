/** The configuration examples in the README are real: they pass the validator. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/pbx/config/index.js';

const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
const pbxSection = readme.slice(readme.indexOf('## The PBX'), readme.indexOf('## A SIP user agent'));
const blocks = [...pbxSection.matchAll(/```jsonc?\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('README configuration examples', () => {
  it('the full example validates', () => {
    const config = parseConfig(blocks[0]!, 'README.md');
    expect(config.tenants[0]!.domain).toBe('acme.example');
  });
  it('the hunt group example validates inside the full example', () => {
    const full = JSON.parse(blocks[0]!) as { tenants: { groups: unknown[] }[] };
    full.tenants[0]!.groups.push(JSON.parse(blocks[1]!));
    const config = parseConfig(JSON.stringify(full), 'README.md');
    expect(config.tenants[0]!.groups[1]!.strategy).toBe('linear');
  });
});
