/** The `switchboard` command, built from bin/switchboard.ts, as `npm start` runs it. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(__dirname, '..');
let out: string;

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'switchboard-bin-'));
  const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build failed: ${r.stdout}${r.stderr}`);
}, 120_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(out, 'bin/switchboard.js'), ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('switchboard command', () => {
  it('prints usage with no arguments and exits 0', () => {
    const r = run();
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage:/);
  });
  it('prints its version', () => {
    expect(run('version').stdout.trim()).toBe('switchboard 0.1.0');
  });
  it('refuses unknown sub-commands with exit code 2', () => {
    const r = run('frobnicate');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/'frobnicate' is not available/);
  });
});
