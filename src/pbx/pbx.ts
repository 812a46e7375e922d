/**
 * The PBX: one process serving the telephone systems of many tenants. It composes the
 * pieces — the SIP user agent and its registrar, device authentication, trunk registrations
 * and routes, the B2BUA that carries every call, call detail records — from one loaded
 * {@link PbxConfig}, reloads a new configuration without dropping calls, and shuts down
 * cleanly.
 *
 * ```
 *   UserAgent ──REGISTER──► PbxRegistrar ──► LocationService (+ RegistrationStore, keep-alive)
 *       │
 *       └─INVITE─► CallAgent ──call──► B2bua ──► DeviceAuth / TrunkRouter ──► ring, bridge, CDR
 *   TrunkRegistrations ──REGISTER──► carriers
 * ```
 *
 * @example
 * ```ts
 * const pbx = await Pbx.start({ config: await loadConfig('config/demo.json') });
 * process.on('SIGHUP', () => void pbx.reloadFile());
 * process.on('SIGTERM', () => void pbx.stop());
 * ```
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CallAgent, type MediaTicker } from '../call/index.js';
import { LocationService, UserAgent, systemClock, type EventPackage, type ListenOptions, type TimerClock, type UserAgentOptions } from '../sip/index.js';
import { B2bua, type FeatureHooks } from './b2bua.js';
import { CdrWriter } from './cdr-writer.js';
import { loadConfig, type ListenConfig, type PbxConfig, type TenantConfig } from './config/index.js';
import { DeviceAuth } from './device-auth.js';
import { DeviceKeepalive } from './device-keepalive.js';
import { Logger } from './logger.js';
import { PbxRegistrar } from './pbx-registrar.js';
import { RegistrationStore } from './registration-store.js';
import { TenantDirectory } from './tenant-directory.js';
import { TrunkRegistrations } from './trunk-registrations.js';
import { TrunkRouter } from './trunk-router.js';

/**
 * Options of {@link Pbx.start}.
 *
 * @example
 * ```ts
 * await Pbx.start({ config, listen: [{ transport: 'udp', address: '0.0.0.0', port: 5060 }], logger: new Logger({ level: 'debug' }) });
 * ```
 */
export interface PbxOptions {
  config: PbxConfig;
  /** Replaces `config.listen` (the binary's `--listen`). */
  listen?: readonly ListenConfig[];
  /** Replaces `config.dataDir` (`--data`). */
  dataDir?: string;
  /** Default: a logger at the config's level on stderr. */
  logger?: Logger;
  /** Timers (tests pass a ManualClock). */
  clock?: TimerClock;
  /** Media frame ticks (tests). */
  ticker?: MediaTicker;
  /** Features on top of the B2BUA (voicemail, hunt groups, pickup), given the PBX. */
  features?: (pbx: Pbx) => FeatureHooks;
  /** Event packages served (dialog, message-summary): fixed when the user agent starts. */
  eventPackages?: Record<string, EventPackage>;
  /** Who may subscribe to what (403 otherwise); default: every subscription is accepted. */
  authorizeSubscription?: UserAgentOptions['authorizeSubscription'];
  /** Keep-alive OPTIONS interval in seconds (default 30; 0 turns it off). */
  keepaliveSeconds?: number;
}

/** The HMAC key of digest nonces, made once per data directory (32 random bytes, mode 0600). */
async function nonceSecret(dataDir: string): Promise<Uint8Array> {
  const file = join(dataDir, 'nonce-secret');
  try {
    const key = await readFile(file);
    if (key.length >= 16) return key;
  } catch {
    // first start: make one
  }
  const key = randomBytes(32);
  await writeFile(file, key, { mode: 0o600 });
  return key;
}

function listenOptions(listen: readonly ListenConfig[]): ListenOptions[] {
  return listen.map((l) =>
    l.transport === 'tls'
      ? { protocol: 'tls', address: l.address, port: l.port, tls: { cert: readFileSync(l.certFile), key: readFileSync(l.keyFile) } }
      : { protocol: l.transport, address: l.address, port: l.port },
  );
}

/**
 * The running PBX (see the file comment).
 *
 * @example
 * ```ts
 * const pbx = await Pbx.start({ config });
 * console.log(`SIP on port ${pbx.port}`);
 * await pbx.stop();
 * ```
 */
export class Pbx {
  /** The configuration in force (replaced by {@link reload}). */
  config: PbxConfig;
  directory: TenantDirectory;
  router: TrunkRouter;
  readonly dataDir: string;
  readonly ua: UserAgent;
  readonly agent: CallAgent;
  readonly location: LocationService;
  readonly auth: DeviceAuth;
  readonly registrar: PbxRegistrar;
  readonly store: RegistrationStore;
  readonly keepalive: DeviceKeepalive | undefined;
  readonly trunks: TrunkRegistrations;
  readonly cdr: CdrWriter;
  readonly b2bua: B2bua;
  readonly logger: Logger;
  readonly clock: TimerClock;
  private stopping = false;

  private constructor(parts: {
    config: PbxConfig;
    directory: TenantDirectory;
    router: TrunkRouter;
    dataDir: string;
    ua: UserAgent;
    agent: CallAgent;
    location: LocationService;
    auth: DeviceAuth;
    registrar: PbxRegistrar;
    store: RegistrationStore;
    keepalive: DeviceKeepalive | undefined;
    trunks: TrunkRegistrations;
    cdr: CdrWriter;
    logger: Logger;
    clock: TimerClock;
  }) {
    this.config = parts.config;
    this.directory = parts.directory;
    this.router = parts.router;
    this.dataDir = parts.dataDir;
    this.ua = parts.ua;
    this.agent = parts.agent;
    this.location = parts.location;
    this.auth = parts.auth;
    this.registrar = parts.registrar;
    this.store = parts.store;
    this.keepalive = parts.keepalive;
    this.trunks = parts.trunks;
    this.cdr = parts.cdr;
    this.logger = parts.logger;
    this.clock = parts.clock;
    this.b2bua = new B2bua({
      agent: this.agent,
      directory: () => this.directory,
      auth: this.auth,
      registrar: this.registrar,
      router: () => this.router,
      cdr: this.cdr,
      logger: this.logger,
      clock: this.clock,
      musicOnHold: (tenant: TenantConfig) => tenant.musicOnHold.classes[tenant.musicOnHold.default] ?? Object.values(tenant.musicOnHold.classes)[0]!,
    });
  }

  /**
   * Starts the PBX: data directory, registrations restored, SIP listeners, trunks registering.
   * Throws when a listener cannot bind (the port is taken) or the data directory cannot be made.
   */
  static async start(options: PbxOptions): Promise<Pbx> {
    const config = options.config;
    const logger = options.logger ?? new Logger({ level: config.logLevel });
    const clock = options.clock ?? systemClock;
    const dataDir = options.dataDir ?? config.dataDir;
    await mkdir(dataDir, { recursive: true });
    const directory = new TenantDirectory(config);
    const router = await TrunkRouter.create(config.tenants);
    const location = new LocationService({ clock });
    const store = new RegistrationStore(join(dataDir, 'registrations.json'), location);
    try {
      const restored = await store.load();
      if (restored > 0) logger.info(`restored ${restored} registrations`);
    } catch (e) {
      logger.error(`registrations not restored: ${(e as Error).message}`);
    }
    // Nonces stay valid across a restart (phones would otherwise see stale=true and retry).
    const auth = new DeviceAuth({ directory, clock, secret: await nonceSecret(dataDir) });
    // docs/pbx-config.md: a device beyond maxDevices replaces the oldest binding.
    const registrar = new PbxRegistrar({ directory, auth, location, clock, store, tooManyDevices: 'replace-oldest', onError: (e) => logger.warn(`registrar: ${(e as Error).message}`) });
    const cdr = await CdrWriter.open(join(dataDir, 'cdr.jsonl'), { onError: (e) => logger.error(`CDR write failed: ${e.message}`) });
    const listen = options.listen ?? config.listen;
    // The PBX is reached by the address it listens on; 0.0.0.0 needs an advertised address.
    const first = listen[0];
    // Read once (a TLS listener's certificate and key files) for the user agent and the call agent.
    const listeners = listenOptions(listen);
    const ua = await UserAgent.start({
      listen: listeners,
      aor: `sip:switchboard@${first?.address ?? '127.0.0.1'}`,
      userAgent: 'Switchboard PBX',
      registrar,
      transport: {
        // Only when tracing: a traced stream connection keeps a copy of its unread bytes.
        ...(logger.sipTrace ? { trace: (direction: 'in' | 'out', protocol: string, remote: { address: string; port: number }, bytes: Uint8Array) => logger.sip(direction, protocol, remote, bytes) } : {}),
        onError: (e, context) => logger.debug(`transport: ${context}: ${(e as Error).message}`),
      },
      // Each call keeps about seven server transactions alive for their §17 lifetimes (32 s
      // after INVITE and BYE): 10,000 (the default) would cap the PBX near 145 calls/s.
      transaction: { maxTransactions: Math.max(10_000, config.limits.maxCalls * 40), ...(options.clock === undefined ? {} : { clock: options.clock }) },
      ...(options.eventPackages === undefined ? {} : { eventPackages: options.eventPackages }),
      ...(options.authorizeSubscription === undefined ? {} : { authorizeSubscription: options.authorizeSubscription }),
    });
    ua.on('error', (e, context) => logger.warn(`sip: ${context}: ${(e as Error).message}`));
    const rtp = config.rtp;
    const agent = CallAgent.attach(ua, {
      listen: listeners,
      media: {
        address: rtp.address,
        ...(rtp.advertisedAddress === null ? {} : { advertisedAddress: rtp.advertisedAddress }),
        portMin: rtp.portMin,
        portMax: rtp.portMax,
        mediaTimeoutMs: rtp.timeoutSeconds * 1000,
      },
      // Two legs per call, plus room for feature calls.
      maxCalls: config.limits.maxCalls * 2 + 16,
      clock,
      ...(options.ticker === undefined ? {} : { ticker: options.ticker }),
    });
    agent.on('error', (e, context) => logger.warn(`call: ${context}: ${(e as Error).message}`));
    const keepaliveSeconds = options.keepaliveSeconds ?? 30;
    const keepalive = keepaliveSeconds > 0 ? new DeviceKeepalive({ endpoint: ua.endpoint, location, clock, intervalSeconds: keepaliveSeconds, registrar }) : undefined;
    const trunks = new TrunkRegistrations({ endpoint: ua.endpoint, clock });
    trunks.on('state', (tenant, trunk, state, detail) => logger.info(`trunk ${trunk.name}: ${state}${detail ? ` (${detail})` : ''}`, { tenant: tenant.domain }));
    const pbx = new Pbx({ config, directory, router, dataDir, ua, agent, location, auth, registrar, store, keepalive, trunks, cdr, logger, clock });
    if (options.features !== undefined) pbx.b2bua.setFeatures(options.features(pbx));
    agent.on('call', (call) => {
      if (pbx.stopping) {
        call.reject(503);
        return;
      }
      void pbx.b2bua.handle(call);
    });
    keepalive?.start();
    trunks.start(config.tenants);
    logger.info(`Switchboard PBX up: ${config.tenants.length} tenant(s), SIP on ${listen.map((l) => `${l.transport}:${l.address}:${l.port}`).join(', ')}`);
    return pbx;
  }

  /** The first SIP listener's port (useful with port 0 in tests). */
  get port(): number {
    return this.ua.port;
  }

  /**
   * Switches to a new configuration without dropping calls: tenants, extensions, passwords,
   * groups, routes and trunks take effect for new calls and registrations. Listeners, RTP
   * ports and the data directory need a restart (a warning says so).
   */
  async reload(config: PbxConfig): Promise<void> {
    const router = await TrunkRouter.create(config.tenants);
    const directory = new TenantDirectory(config);
    const old = this.config;
    if (JSON.stringify(old.listen) !== JSON.stringify(config.listen) || JSON.stringify(old.rtp) !== JSON.stringify(config.rtp) || old.dataDir !== config.dataDir) {
      this.logger.warn('listen, rtp and dataDir changes take effect after a restart');
    }
    this.config = config;
    this.directory = directory;
    this.router = router;
    this.auth.setDirectory(directory);
    this.registrar.setDirectory(directory);
    this.logger.level = config.logLevel;
    await this.trunks.update(config.tenants);
    // logrotate moves cdr.jsonl away and sends SIGHUP: start a new file.
    await this.cdr.reopen().catch((e: unknown) => this.logger.error(`CDR file not reopened, still writing the old one: ${(e as Error).message}`));
    this.logger.info(`configuration reloaded: ${config.tenants.length} tenant(s)`);
  }

  /**
   * Reloads the configuration file this PBX was started from (SIGHUP). A file with errors is
   * refused: the errors are logged and returned, and the running configuration stays.
   */
  async reloadFile(file = this.config.file): Promise<{ ok: boolean; message: string }> {
    try {
      const config = await loadConfig(file);
      await this.reload(config);
      return { ok: true, message: 'reloaded' };
    } catch (e) {
      const message = (e as Error).message;
      this.logger.error(`configuration not reloaded, keeping the running one: ${message}`);
      return { ok: false, message };
    }
  }

  /**
   * Shuts down: new calls get 503, calls in progress have `graceMs` to end by themselves and
   * are then hung up, CDRs are flushed, trunks unregister, registrations are saved.
   */
  async stop(graceMs = 5000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.logger.info(`shutting down: ${this.b2bua.calls.size} call(s) in progress`);
    const deadline = Date.now() + graceMs;
    while (this.b2bua.calls.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await this.b2bua.hangupAll();
    this.keepalive?.stop();
    await this.trunks.stop();
    await this.agent.stop();
    await this.ua.stop();
    this.registrar.close();
    await this.store.close();
    await this.cdr.close();
    this.logger.info('stopped');
  }
}
