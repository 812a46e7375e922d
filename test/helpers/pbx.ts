/**
 * Starting a real `Pbx` in a test: the configuration object is written to a temp folder and
 * loaded through `loadConfig` (so it is validated like an operator's file), SIP listens on
 * an ephemeral UDP port on 127.0.0.1, RTP on a free range, the data directory is the temp
 * folder, logs are silent (set PBX_TEST_LOG=debug to see them). `stop()` stops the PBX and
 * removes the folder. `phone()` makes a registered CallAgent for an extension.
 *
 * @example
 * ```ts
 * const t = await startTestPbx(testConfig());
 * const alice = await t.phone('1001', 'password-1001');
 * const call = await alice.call(t.uri('1002'));
 * await t.stop();
 * ```
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CallAgent, type CallAgentOptions } from '../../src/call/index.js';
import { loadConfig, type LogLevel } from '../../src/pbx/config/index.js';
import { Logger } from '../../src/pbx/logger.js';
import { Pbx, type PbxOptions } from '../../src/pbx/pbx.js';

export interface TestPbx {
  pbx: Pbx;
  dir: string;
  domain: string;
  /** `sip:<user>@<domain>` (send it to `destination`). */
  uri(user: string, domain?: string): string;
  /** Where the PBX listens, for `destination` options. */
  destination: { protocol: 'udp'; address: string; port: number };
  /** A CallAgent registered (digest) as `number` of `domain` (default: the first tenant). */
  phone(number: string, password: string, options?: Partial<CallAgentOptions> & { domain?: string; register?: boolean }): Promise<CallAgent>;
  stop(): Promise<void>;
}

let portBase = 30000 + Math.floor(Math.random() * 200) * 50;

const DEMO_NAMES: Record<string, string> = { '1001': 'Alice', '1002': 'Bob', '1003': 'Carol' };

/** Extensions of demo.test by number: 1001 Alice, 1002 Bob, 1003 Carol, each with password `password-<number>`. */
export function demoExtensions(...numbers: string[]): Record<string, unknown>[] {
  return numbers.map((number) => ({ number, name: DEMO_NAMES[number] ?? `Phone ${number}`, password: `password-${number}` }));
}

/** The demo.test tenant (the default) with {@link demoExtensions} `numbers` and `extra` fields (trunks, outboundRoutes…). */
export function demoTenant(numbers: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { domain: 'demo.test', name: 'Demo', default: true, extensions: demoExtensions(...numbers), ...extra };
}

/** The second tenant of {@link testConfig}: other.test with extension 2001 (Zed). */
export function otherTenant(): Record<string, unknown> {
  return { domain: 'other.test', name: 'Other', extensions: [{ number: '2001', name: 'Zed', password: 'password-2001' }] };
}

/** A small two-tenant configuration: demo.test (default, 1001–1003, group 600) and other.test (2001). */
export function testConfig(): Record<string, unknown> {
  return {
    logLevel: 'debug',
    tenants: [
      demoTenant([], {
        extensions: [...demoExtensions('1001', '1002'), { ...demoExtensions('1003')[0], noAnswerSeconds: 3 }],
        groups: [{ number: '600', name: 'Sales', strategy: 'ringall', members: [{ extension: '1002' }, { extension: '1003' }], ringSeconds: 5, failover: { type: 'hangup' } }],
      }),
      otherTenant(),
    ],
  };
}

export async function startTestPbx(config: Record<string, unknown> = testConfig(), options: Partial<PbxOptions> = {}): Promise<TestPbx> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-pbx-'));
  // Each PBX in a run takes its own 200-port RTP range (tests in one file run one after another).
  portBase += 200;
  if (portBase > 60000) portBase = 30000;
  const body = {
    dataDir: './data',
    rtp: { address: '127.0.0.1', portMin: portBase, portMax: portBase + 199 },
    ...config,
  };
  const file = join(dir, 'pbx.json');
  writeFileSync(file, JSON.stringify(body, null, 2));
  const loaded = await loadConfig(file);
  const level = process.env.PBX_TEST_LOG as LogLevel | undefined;
  const logger = level === undefined ? Logger.silent() : new Logger({ level, sipTrace: process.env.PBX_TEST_TRACE === '1' });
  // Port 0 (ephemeral) is for tests only: the configuration file itself requires a real port.
  const pbx = await Pbx.start({ config: loaded, logger, keepaliveSeconds: 0, listen: [{ transport: 'udp', address: '127.0.0.1', port: 0 }], ...options });
  const domain = loaded.tenants[0]!.domain;
  const destination = { protocol: 'udp' as const, address: '127.0.0.1', port: pbx.port };
  const phones: CallAgent[] = [];
  return {
    pbx,
    dir,
    domain,
    destination,
    uri: (user, d = domain) => `sip:${user}@${d}`,
    async phone(number, password, opts = {}) {
      const d = opts.domain ?? domain;
      const agent = await CallAgent.start({
        listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }],
        aor: `sip:${number}@${d}`,
        credentials: { username: number, password },
        outboundProxy: `sip:127.0.0.1:${pbx.port};lr`,
        sessionTimer: false,
        ...opts,
      });
      phones.push(agent);
      if (opts.register !== false) await agent.ua.register({ registrar: `sip:${d}`, expires: 300 });
      return agent;
    },
    async stop() {
      await Promise.all(phones.map((p) => p.stop()));
      await pbx.stop(0);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
