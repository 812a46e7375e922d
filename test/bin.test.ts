/** The `switchboard` command, built from bin/switchboard.ts, as `npm start` runs it. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort } from './helpers/ports.js';

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
  it('prints usage for help and exits 0', () => {
    const r = run('help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage:/);
    expect(r.stdout).toMatch(/--sip-trace/);
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
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it('starts the PBX, prints how to register a softphone, refuses a bad reload on SIGHUP, stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-start-'));
    try {
      const port = await freeUdpPort();
      const config = join(dir, 'pbx.json');
      const demo = JSON.parse(readFileSync(join(root, 'config/demo.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(config, JSON.stringify({ ...demo, $schema: undefined, dataDir: './data', rtp: { address: '127.0.0.1', portMin: 41000, portMax: 41099 } }));
      const child = spawn(process.execPath, [join(out, 'bin/switchboard.js'), '--config', config, '--listen', `udp:127.0.0.1:${port}`, '--grace', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const waitFor = async (f: () => boolean, what: string): Promise<void> => {
        for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 50));
        if (!f()) throw new Error(`no ${what}: stdout=${stdout} stderr=${stderr}`);
      };
      await waitFor(() => stdout.includes('Register a softphone'), 'softphone help');
      expect(stdout).toContain(`server (proxy/registrar): 127.0.0.1:${port} over UDP`);
      expect(stdout).not.toContain('password'); // not the shipped demo file: passwords stay private
      expect(stderr).toMatch(/INFO .*Switchboard PBX up: 1 tenant/);
      writeFileSync(config, '{ "tenants": [] ');
      child.kill('SIGHUP');
      await waitFor(() => stderr.includes('configuration not reloaded'), 'refused reload');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toMatch(/INFO .*stopped/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
