/**
 * From a document that passed the schema to a `PbxConfig`: every default filled in (the
 * defaults are read from `configSchema`, so the schema file documents exactly what happens),
 * paths made absolute against the configuration file's directory, group members and
 * destinations put in one tagged shape, and the whole thing frozen. Everything is copied: the
 * input document is never frozen or shared with the result.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema } from './schema.js';
import type {
  CallerId,
  Destination,
  DidConfig,
  DigestAlgorithm,
  ExtensionConfig,
  GroupConfig,
  GroupMember,
  GroupStrategy,
  ListenConfig,
  LogLevel,
  OutboundRouteConfig,
  PbxConfig,
  SipTransportName,
  TenantConfig,
  TrunkConfig,
} from './types.js';

/** The document as the schema allows it: optional fields may be missing. */
export interface RawConfig {
  listen?: RawListen[];
  dataDir?: string;
  logLevel?: LogLevel;
  rtp?: { address?: string; advertisedAddress?: string; portMin?: number; portMax?: number; timeoutSeconds?: number };
  limits?: { maxCalls?: number; maxCallSeconds?: number; ringSeconds?: number };
  security?: {
    authFailureLimit?: number;
    authFailureWindowSeconds?: number;
    blockSeconds?: number;
    digestAlgorithms?: DigestAlgorithm[];
    nonceSeconds?: number;
  };
  tenants: RawTenant[];
}
type RawListen = { transport: 'udp' | 'tcp' | 'tls'; address?: string; port?: number; certFile?: string; keyFile?: string };
export interface RawTenant {
  domain: string;
  name: string;
  default?: boolean;
  extensions?: RawExtension[];
  groups?: RawGroup[];
  featureCodes?: Partial<Record<keyof TenantConfig['featureCodes'], string>>;
  musicOnHold?: { default?: string; classes?: Record<string, string> };
  trunks?: RawTrunk[];
  outboundRoutes?: RawRoute[];
  allowedTenants?: string[];
  operator?: Destination;
  transferRecallSeconds?: number;
}
export interface RawExtension {
  number: string;
  name: string;
  password?: string;
  ha1?: Partial<Record<DigestAlgorithm, string>>;
  digestAlgorithm?: DigestAlgorithm;
  maxDevices?: number;
  callerId?: { name?: string; number?: string };
  voicemail?: false | { pin: string; maxMessages?: number; maxMessageSeconds?: number };
  pickupGroup?: string;
  callWaiting?: boolean;
  noAnswerSeconds?: number;
}
type RawMember = { extension?: string; external?: string; ringSeconds?: number; weight?: number };
interface RawGroup {
  number: string;
  name: string;
  strategy?: GroupStrategy;
  members: RawMember[];
  ringSeconds?: number;
  skipBusy?: boolean;
  confirmCalls?: boolean;
  callerIdNamePrefix?: string;
  failover?: Destination;
}
interface RawTrunk {
  name: string;
  host: string;
  port?: number;
  transport?: SipTransportName;
  username?: string;
  password?: string;
  authUsername?: string;
  register?: boolean;
  registerExpires?: number;
  fromUser?: string;
  fromDomain?: string;
  acceptFrom?: string[];
  dids?: { number: string; destination: Destination }[];
}
interface RawRoute {
  name: string;
  patterns: string[];
  strip?: number;
  prepend?: string;
  trunks: string[];
  callerId?: { number: string; name?: string };
}

const top = configSchema.properties;
const defs = configSchema.$defs;

/**
 * The music on hold shipped with Switchboard: moh/default.wav at the package root, found from
 * this module's location in src/ (tests) or dist/src/ (the build).
 */
export function shippedMusicOnHoldFile(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = here.replace(/[\\/](dist[\\/])?src[\\/]pbx[\\/]config$/, '');
  return resolve(root, 'moh', 'default.wav');
}

export function normalizeConfig(raw: RawConfig, file: string): PbxConfig {
  const absFile = resolve(file);
  const base = dirname(absFile);
  const security = {
    authFailureLimit: raw.security?.authFailureLimit ?? top.security.properties.authFailureLimit.default,
    authFailureWindowSeconds: raw.security?.authFailureWindowSeconds ?? top.security.properties.authFailureWindowSeconds.default,
    blockSeconds: raw.security?.blockSeconds ?? top.security.properties.blockSeconds.default,
    digestAlgorithms: [...(raw.security?.digestAlgorithms ?? top.security.properties.digestAlgorithms.default)],
    nonceSeconds: raw.security?.nonceSeconds ?? top.security.properties.nonceSeconds.default,
  };
  const rtpAddress = raw.rtp?.address ?? top.rtp.properties.address.default;
  const config: PbxConfig = {
    file: absFile,
    listen: (raw.listen ?? top.listen.default.map((l) => ({ ...l }))).map((l) => normalizeListen(l, base)),
    dataDir: resolve(base, raw.dataDir ?? top.dataDir.default),
    logLevel: raw.logLevel ?? top.logLevel.default,
    rtp: {
      address: rtpAddress,
      advertisedAddress: raw.rtp?.advertisedAddress ?? null,
      portMin: raw.rtp?.portMin ?? top.rtp.properties.portMin.default,
      portMax: raw.rtp?.portMax ?? top.rtp.properties.portMax.default,
      timeoutSeconds: raw.rtp?.timeoutSeconds ?? top.rtp.properties.timeoutSeconds.default,
    },
    limits: {
      maxCalls: raw.limits?.maxCalls ?? top.limits.properties.maxCalls.default,
      maxCallSeconds: raw.limits?.maxCallSeconds ?? top.limits.properties.maxCallSeconds.default,
      ringSeconds: raw.limits?.ringSeconds ?? top.limits.properties.ringSeconds.default,
    },
    security,
    tenants: raw.tenants.map((t) => normalizeTenant(t, base, security.digestAlgorithms)),
  };
  return deepFreeze(config);
}

function normalizeListen(l: RawListen, base: string): ListenConfig {
  const [plain, tls] = defs.listen.oneOf;
  if (l.transport === 'tls') {
    return {
      transport: 'tls',
      address: l.address ?? tls.properties.address.default,
      port: l.port ?? tls.properties.port.default,
      certFile: resolve(base, l.certFile as string),
      keyFile: resolve(base, l.keyFile as string),
    };
  }
  return { transport: l.transport, address: l.address ?? plain.properties.address.default, port: l.port ?? plain.properties.port.default };
}

function normalizeTenant(t: RawTenant, base: string, digestAlgorithms: readonly DigestAlgorithm[]): TenantConfig {
  const p = defs.tenant.properties;
  const fc = p.featureCodes.properties;
  const classes: Record<string, string> = { default: shippedMusicOnHoldFile() };
  for (const [name, path] of Object.entries(t.musicOnHold?.classes ?? {})) {
    Object.defineProperty(classes, name, { value: resolve(base, path), enumerable: true, writable: true, configurable: true });
  }
  return {
    domain: t.domain,
    name: t.name,
    default: t.default ?? p.default.default,
    extensions: (t.extensions ?? []).map((e) => normalizeExtension(e, digestAlgorithms)),
    groups: (t.groups ?? []).map(normalizeGroup),
    featureCodes: {
      voicemail: t.featureCodes?.voicemail ?? fc.voicemail.default,
      voicemailAny: t.featureCodes?.voicemailAny ?? fc.voicemailAny.default,
      groupPickup: t.featureCodes?.groupPickup ?? fc.groupPickup.default,
      directedPickup: t.featureCodes?.directedPickup ?? fc.directedPickup.default,
      blindTransfer: t.featureCodes?.blindTransfer ?? fc.blindTransfer.default,
      attendedTransfer: t.featureCodes?.attendedTransfer ?? fc.attendedTransfer.default,
    },
    musicOnHold: { default: t.musicOnHold?.default ?? p.musicOnHold.properties.default.default, classes },
    trunks: (t.trunks ?? []).map(normalizeTrunk),
    outboundRoutes: (t.outboundRoutes ?? []).map(normalizeRoute),
    allowedTenants: (t.allowedTenants ?? []).map((d) => d.toLowerCase()),
    operator: t.operator === undefined ? null : normalizeDestination(t.operator),
    transferRecallSeconds: t.transferRecallSeconds ?? p.transferRecallSeconds.default,
  };
}

function normalizeExtension(e: RawExtension, digestAlgorithms: readonly DigestAlgorithm[]): ExtensionConfig {
  const p = defs.extension.properties;
  const vm = p.voicemail.oneOf[1].properties;
  const callerId: CallerId = { name: e.callerId?.name ?? e.name, number: e.callerId?.number ?? e.number };
  const ha1: Partial<Record<DigestAlgorithm, string>> | null =
    e.ha1 === undefined ? null : Object.fromEntries(Object.entries(e.ha1).map(([k, v]) => [k, v.toLowerCase()]));
  return {
    number: e.number,
    name: e.name,
    password: e.password ?? null,
    ha1,
    digestAlgorithms: e.digestAlgorithm !== undefined ? [e.digestAlgorithm] : [...digestAlgorithms],
    maxDevices: e.maxDevices ?? p.maxDevices.default,
    callerId,
    voicemail:
      e.voicemail === undefined || e.voicemail === false
        ? null
        : {
            pin: e.voicemail.pin,
            maxMessages: e.voicemail.maxMessages ?? vm.maxMessages.default,
            maxMessageSeconds: e.voicemail.maxMessageSeconds ?? vm.maxMessageSeconds.default,
          },
    pickupGroup: e.pickupGroup ?? null,
    callWaiting: e.callWaiting ?? p.callWaiting.default,
    noAnswerSeconds: e.noAnswerSeconds ?? p.noAnswerSeconds.default,
  };
}

function normalizeGroup(g: RawGroup): GroupConfig {
  const p = defs.group.properties;
  const ringSeconds = g.ringSeconds ?? p.ringSeconds.default;
  const weightDefault = defs.groupMember.oneOf[0].properties.weight.default;
  const members = g.members.map(
    (m): GroupMember =>
      m.extension !== undefined
        ? { type: 'extension', number: m.extension, ringSeconds: m.ringSeconds ?? ringSeconds, weight: m.weight ?? weightDefault }
        : { type: 'external', number: m.external as string, ringSeconds: m.ringSeconds ?? ringSeconds, weight: m.weight ?? weightDefault },
  );
  return {
    number: g.number,
    name: g.name,
    strategy: g.strategy ?? p.strategy.default,
    members,
    ringSeconds,
    skipBusy: g.skipBusy ?? p.skipBusy.default,
    confirmCalls: g.confirmCalls ?? p.confirmCalls.default,
    callerIdNamePrefix: g.callerIdNamePrefix ?? p.callerIdNamePrefix.default,
    failover: normalizeDestination(g.failover ?? p.failover.default),
  };
}

function normalizeDestination(d: Destination): Destination {
  switch (d.type) {
    case 'voicemail':
      return { type: 'voicemail', mailbox: d.mailbox };
    case 'hangup':
      return { type: 'hangup' };
    default:
      return { type: d.type, number: d.number };
  }
}

function normalizeTrunk(t: RawTrunk): TrunkConfig {
  const p = defs.trunk.properties;
  return {
    name: t.name,
    host: t.host,
    port: t.port ?? p.port.default,
    transport: t.transport ?? p.transport.default,
    username: t.username ?? null,
    password: t.password ?? null,
    authUsername: t.authUsername ?? t.username ?? null,
    register: t.register ?? p.register.default,
    registerExpires: t.registerExpires ?? p.registerExpires.default,
    fromUser: t.fromUser ?? t.username ?? null,
    fromDomain: t.fromDomain ?? t.host,
    acceptFrom: t.acceptFrom !== undefined ? [...t.acceptFrom] : [t.host.replace(/^\[(.*)\]$/, '$1')],
    dids: (t.dids ?? []).map((d): DidConfig => ({ number: d.number, destination: normalizeDestination(d.destination) })),
  };
}

function normalizeRoute(r: RawRoute): OutboundRouteConfig {
  const p = defs.outboundRoute.properties;
  return {
    name: r.name,
    patterns: [...r.patterns],
    strip: r.strip ?? p.strip.default,
    prepend: r.prepend ?? p.prepend.default,
    trunks: [...r.trunks],
    callerId: r.callerId === undefined ? null : { number: r.callerId.number, name: r.callerId.name ?? null },
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
