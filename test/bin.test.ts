/** The `switchboard` command, built from bin/switchboard.ts, as `npm start` runs it. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  it('check-config: a summary line per tenant and exit 0 for the demo configuration', () => {
    const r = run('check-config', join(root, 'config/demo.json'));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('demo.local: 5 extensions, 1 group, 0 trunks\n');
    expect(r.status).toBe(0);
  });
  it('check-config: every problem on its own line and exit 1 for a broken file', () => {
    const file = join(out, 'broken.json');
    writeFileSync(
      file,
      JSON.stringify({
        tenants: [
          {
            domain: 'demo.local',
            name: 'Demo',
            extensions: [
              { number: '1001', name: 'Alice', password: 'short' },
              { number: '1002', name: 'Bob', pasword: 'long-enough' },
            ],
          },
        ],
      }),
    );
    const r = run('check-config', file);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toEqual([
      `${file}: tenants[0].extensions[0].password: must be at least 8 characters (hint: phones on the Internet are attacked within minutes: use a long random password)`,
      `${file}: tenants[0].extensions[1].pasword: unknown property (did you mean "password"?)`,
      '',
    ]);
    expect(r.status).toBe(1);
  });
  it('check-config: a JSON syntax error with its line and column', () => {
    const file = join(out, 'syntax.json');
    writeFileSync(file, '{\n  "tenants": [,]\n}\n');
    const r = run('check-config', file);
    expect(r.stderr).toBe(`${file}:2:15: Unexpected token "," in JSON (expected a value)\n`);
    expect(r.status).toBe(1);
  });
  it('check-config without a file is a usage error', () => {
    const r = run('check-config');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/check-config needs a FILE/);
  });
  it('refuses unknown sub-commands with exit code 2', () => {
    const r = run('frobnicate');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/'frobnicate' is not available/);
  });
});
