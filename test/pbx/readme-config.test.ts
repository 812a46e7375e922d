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

  /** A README fragment of tenant fields (`"a": …, "b": …`) added to the full example's tenant. */
  function withTenantFields(fragment: string): Record<string, unknown> {
    const full = JSON.parse(blocks[0]!) as { tenants: Record<string, unknown>[] };
    Object.assign(full.tenants[0]!, JSON.parse(`{${fragment}}`));
    return full;
  }
  const blockAfter = (heading: string): string => {
    const at = pbxSection.indexOf(heading);
    return pbxSection.slice(at).match(/```jsonc?\n([\s\S]*?)```/)![1]!;
  };

  it('the transfer fields validate in the full example\'s tenant', () => {
    const config = parseConfig(JSON.stringify(withTenantFields(blockAfter('### Transfer'))), 'README.md');
    expect(config.tenants[0]!.featureCodes.blindTransfer).toBe('##');
    expect(config.tenants[0]!.transferRecallSeconds).toBe(30);
  });
  it('the voicemail example: the extension and the tenant fields (operator) validate in the full example', () => {
    const block = blockAfter('### Voicemail and message waiting');
    // An extension object, then tenant fields from the first line that starts with a property.
    const split = block.search(/^"/m);
    const extension = JSON.parse(block.slice(0, split).trim().replace(/,$/, '').replace('"…"', '"a-long-random-secret"')) as Record<string, unknown>;
    const full = withTenantFields(block.slice(split)) as { tenants: { extensions: Record<string, unknown>[] }[] };
    full.tenants[0]!.extensions[0] = extension;
    const config = parseConfig(JSON.stringify(full), 'README.md');
    expect(config.tenants[0]!.operator).toEqual({ type: 'extension', number: '1002' });
    expect(config.tenants[0]!.extensions[0]!.voicemail).toEqual({ pin: '1234', maxMessages: 100, maxMessageSeconds: 180 });
  });
});
