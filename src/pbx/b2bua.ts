/**
 * The back-to-back user agent: every call through the PBX is an inbound {@link Call} (from a
 * phone or a trunk) and one outbound {@link Call} per device or trunk it rings, with media
 * anchored here — both legs terminate on our RTP ports and {@link Call.bridge} relays the
 * packets (transcoding µ-law ↔ A-law when the legs differ). The SDP of each leg is our own,
 * so neither side ever sees the other's addresses.
 *
 * ```
 *   caller ──INVITE──► [inbound Call] ──route──► [outbound Call] ─INVITE─► device 1
 *                                    └────────► [outbound Call] ─INVITE─► device 2
 *   first 2xx wins; the others get CANCEL with Reason: SIP;cause=200;"Call completed elsewhere"
 *   then: inbound.answer(); inbound.bridge(winner)          (RTP relayed packet by packet)
 * ```
 *
 * Routing, in order:
 * 1. A request from a trunk's `acceptFrom` address is a trunk call: its DID names the
 *    destination (unknown DID: 404). It may not dial out again (no toll fraud).
 * 2. Anything else must authenticate as an extension (digest, 407; throttled by address).
 * 3. The dialled number is a feature code, an extension or group of the caller's tenant (or of
 *    a tenant in `allowedTenants`, by `number@domain`), or matches an outbound route; else 404.
 *
 * Provisional responses: a leg's 180 becomes our 180 (the caller's phone plays ringback); a
 * leg's early media (183 with SDP) is bridged to the caller through our own 183. Hold: when one
 * party holds, the other hears the tenant's music on hold until it is resumed.
 *
 * Transfers (REFER, with or without Replaces, and the in-call codes `##`/`*2`) are
 * features/transfer.ts: {@link B2bua.join} hands the joined parties' `transfer-request` and
 * `dtmf` events to {@link B2bua.transfers}, which re-pairs legs with {@link B2bua.unjoin},
 * {@link B2bua.openCall}, {@link B2bua.closeCall} and ring()'s hand-over (docs/pbx-transfer.md).
 *
 * @example
 * ```ts
 * const b2bua = new B2bua(deps);
 * agent.on('call', (call) => void b2bua.handle(call));
 * ```
 */
import { EventEmitter } from 'node:events';
import type { Call, CallAgent } from '../call/index.js';
import type { DigestCredentials, IncomingRefer, Destination as SipDestination, IncomingSession, TimerClock } from '../sip/index.js';
import { CallTransfers } from './features/transfer.js';
import type { CdrWriter, CallDetailRecord } from './cdr-writer.js';
import type { Destination, ExtensionConfig, GroupConfig, TenantConfig, TrunkConfig } from './config/index.js';
import type { DeviceAuth } from './device-auth.js';
import type { Logger } from './logger.js';
import type { PbxRegistrar } from './pbx-registrar.js';
import { TenantDirectory } from './tenant-directory.js';
import { shouldFailOver, type TrunkDial, type TrunkRouter } from './trunk-router.js';

/** RFC 3326 Reason on the CANCELs to the phones that lost a forked call. */
export const COMPLETED_ELSEWHERE: [string, string] = ['Reason', 'SIP;cause=200;text="Call completed elsewhere"'];

/**
 * Who is calling, as the routing sees it.
 *
 * @example
 * ```ts
 * const caller: Caller = { tenant, number: '1001', name: 'Alice', extension, kind: 'device' };
 * ```
 */
export interface Caller {
  tenant: TenantConfig;
  /** Caller ID number and name as presented to the callee. */
  number: string;
  name: string;
  /** The caller's extension (device calls). */
  extension?: ExtensionConfig;
  /** The trunk the call came in on (trunk calls). */
  trunk?: TrunkConfig;
  kind: 'device' | 'trunk';
}

/**
 * A call through the PBX: the inbound leg, the leg that answered, and what the CDR needs.
 *
 * @example
 * ```ts
 * for (const c of b2bua.calls) console.log(c.caller.number, '→', c.dialled, c.answeredBy);
 * ```
 */
export interface PbxCall {
  readonly id: string;
  readonly inbound: Call;
  readonly caller: Caller;
  dialled: string;
  direction: 'internal' | 'inbound' | 'outbound';
  /** Legs still ringing, with what each rings (the label is the extension number for devices). */
  readonly ringing: Map<Call, RingTarget>;
  /** @internal While ring() runs: ends it with an outcome (a pickup takes the call). */
  settleRing: ((outcome: RingOutcome) => void) | undefined;
  /** The leg that answered. */
  outbound: Call | undefined;
  answeredBy: string | undefined;
  trunk: string | undefined;
  /** The extensions this call occupies (caller and callee), for busy checks. */
  readonly extensions: Set<string>;
  /** The final status when nobody answered. */
  failStatus: number | undefined;
  hangupBy: 'caller' | 'callee' | 'system' | undefined;
  /** When the call began, if not when its inbound leg did (a call made by a transfer: the moment of the transfer). */
  startTime?: number;
  /** @internal While the two parties are joined ({@link B2bua.join}): undoes it. */
  unjoin?: (() => void) | undefined;
  /**
   * @internal While ring() runs: moves the ringing legs to another call, whose inbound leg
   * becomes the caller (semi-attended transfer); this call's ring() resolves `caller-gone`.
   */
  handOver?: ((next: PbxCall) => Promise<RingOutcome>) | undefined;
  /** @internal While ring() runs with {@link RingOptions.onAnswer}: it (a pickup answers through it too). */
  answerHook?: ((leg: Call, target: RingTarget) => void) | undefined;
}

/**
 * Features layered on the B2BUA (voicemail, hunt groups, pickup — see the features modules).
 * `featureCode` and `voicemail` resolve true when they took the call.
 *
 * @example
 * ```ts
 * const hooks: FeatureHooks = { featureCode: async (call, caller, dialled) => dialled === '*43' && (await echo(call), true) };
 * ```
 */
export interface FeatureHooks {
  /** A dialled number that may be a feature code (`*97`, `*8`, `**1002`…). */
  featureCode?(call: Call, caller: Caller, dialled: string, pbxCall: PbxCall): Promise<boolean>;
  /** Send the call to a mailbox (the callee was busy, did not answer, or the destination says so). */
  voicemail?(call: Call, tenant: TenantConfig, mailbox: string, reason: 'busy' | 'unavailable', pbxCall: PbxCall): Promise<boolean>;
  /** Ring a hunt group with its strategy: 'failed' runs the group's failover, 'not-handled' rings every member at once. */
  group?(b2bua: B2bua, pbxCall: PbxCall, tenant: TenantConfig, number: string): Promise<'answered' | 'failed' | 'not-handled'>;
}

/**
 * What the B2BUA works with (the {@link Pbx} builds these).
 *
 * @example
 * ```ts
 * const deps: B2buaDeps = { agent, directory: () => dir, auth, registrar, router: () => router, cdr, logger, clock, musicOnHold: (t) => t.musicOnHold.classes[t.musicOnHold.default]! };
 * ```
 */
export interface B2buaDeps {
  agent: CallAgent;
  directory(): TenantDirectory;
  auth: DeviceAuth;
  registrar: PbxRegistrar;
  router(): TrunkRouter;
  cdr: CdrWriter | undefined;
  logger: Logger;
  clock: TimerClock;
  /** The music-on-hold file of a tenant. */
  musicOnHold(tenant: TenantConfig): string;
  features?: FeatureHooks;
  /**
   * How long a blind transfer rings its target before the call returns to the transferor
   * (recall), in seconds, for every tenant. Default: the transferor's tenant's
   * `transferRecallSeconds`. See docs/pbx-transfer.md.
   */
  transferRecallSeconds?: number;
}

/** One target to ring: a registered device or a trunk. */
export interface RingTarget {
  uri: string;
  destination: SipDestination;
  from: { uri: string; displayName?: string };
  to: { uri: string; displayName?: string };
  credentials?: DigestCredentials;
  /** For the CDR (`1002`, `trunk:carrier`). */
  label: string;
}

/**
 * How ringing ended.
 *
 * @example
 * ```ts
 * const outcome = await b2bua.ring(pbxCall, targets, 20_000);
 * if (outcome.kind === 'failed') console.log(outcome.status);
 * ```
 */
export type RingOutcome = { kind: 'answered'; leg: Call; target: RingTarget } | { kind: 'failed'; status: number } | { kind: 'caller-gone' };

/**
 * A leg of a PBX call changed state, as seen from one extension: what RFC 4235 dialog-event
 * subscribers (BLF lamps) are told. `initiator`: the extension is calling (its own phone's
 * INVITE to us); `recipient`: its phone is being rung. The dialog identifiers are those of
 * the leg between the PBX and that phone (`leg.session.dialog`).
 *
 * @example
 * ```ts
 * b2bua.on('leg', (e) => console.log(e.extension, e.state));
 * ```
 */
export interface LegEvent {
  pc: PbxCall;
  leg: Call;
  tenant: TenantConfig;
  extension: string;
  role: 'initiator' | 'recipient';
  state: 'trying' | 'early' | 'confirmed' | 'terminated';
}

/**
 * Events of a {@link B2bua}.
 *
 * @example
 * ```ts
 * b2bua.on('leg', (e) => blf.update(e));
 * ```
 */
export interface B2buaEvents {
  leg: [event: LegEvent];
}

/**
 * Options of {@link B2bua.ring}.
 *
 * @example
 * ```ts
 * await b2bua.ring(pc, targets, 20_000, { confirm: async (leg) => (await leg.collectDigits({ max: 1 })).digits === '1' });
 * ```
 */
export interface RingOptions {
  /**
   * Called when a leg answers, before the caller is put through: resolve true to connect it,
   * false to hang it up and keep ringing the others (hunt groups' "confirm call").
   */
  confirm?: (leg: Call, target: RingTarget) => Promise<boolean>;
  /**
   * Takes the leg that answered instead of the default (answer the caller and join the two):
   * a transfer's consultation call bridges it to the transferor itself. A hand-over
   * ({@link PbxCall.handOver}) goes back to the default.
   */
  onAnswer?: (leg: Call, target: RingTarget) => void;
}

/** §16.7-style choice of the status to return when every leg failed: 6xx first, then busy, else the lowest. */
export function bestFailureStatus(statuses: readonly number[]): number {
  if (statuses.length === 0) return 480;
  const global = statuses.find((s) => s >= 600);
  if (global !== undefined) return global;
  if (statuses.includes(486)) return 486;
  const real = statuses.filter((s) => s !== 408 && s !== 487 && s !== 503);
  if (real.length > 0) return Math.min(...real);
  return statuses.includes(503) ? 503 : 480;
}

/** The ring target of one trunk attempt of an outbound plan. */
function trunkTarget(attempt: TrunkDial): RingTarget {
  return {
    uri: attempt.uri,
    destination: attempt.destination,
    from: attempt.from,
    to: { uri: attempt.uri },
    label: `trunk:${attempt.trunk.name}`,
    ...(attempt.credentials === undefined ? {} : { credentials: attempt.credentials }),
  };
}

/** The bookkeeping of a call that has not rung anyone yet. */
function newPbxCall(id: string, init: { inbound: Call; caller: Caller; dialled: string; direction: PbxCall['direction'] }): PbxCall {
  return {
    id,
    inbound: init.inbound,
    caller: init.caller,
    dialled: init.dialled,
    direction: init.direction,
    ringing: new Map(),
    settleRing: undefined,
    outbound: undefined,
    answeredBy: undefined,
    trunk: init.caller.trunk?.name,
    extensions: new Set(),
    failStatus: undefined,
    hangupBy: undefined,
  };
}

function cdrDisposition(pc: PbxCall): CallDetailRecord['disposition'] {
  if (pc.outbound !== undefined) return 'answered';
  const s = pc.failStatus;
  if (s === undefined) return pc.hangupBy === 'caller' ? 'cancelled' : 'failed';
  if (s === 486 || s === 600) return 'busy';
  if (s === 480 || s === 408) return 'no-answer';
  if (s === 487) return 'cancelled';
  if (s === 603 || s === 404 || s === 403) return 'rejected';
  return 'failed';
}

/**
 * The B2BUA (see the file comment).
 *
 * @example
 * ```ts
 * agent.on('call', (call) => void b2bua.handle(call));
 * ```
 */
export class B2bua extends EventEmitter<B2buaEvents> {
  /** Calls in progress. */
  readonly calls = new Set<PbxCall>();
  /** Active calls per extension key (`1001@demo.local`): busy when ≥ 1 and call waiting is off. */
  private readonly busy = new Map<string, number>();
  private readonly deps: B2buaDeps;
  /** Numbers the calls {@link openCall} makes (their ids are the inbound leg's id + `~serial`). */
  private serial = 0;
  /** Blind, attended and semi-attended transfers, by REFER or in-call DTMF (features/transfer.ts). */
  readonly transfers: CallTransfers;

  constructor(deps: B2buaDeps) {
    super();
    this.deps = { ...deps };
    this.transfers = new CallTransfers({
      b2bua: this,
      directory: () => this.deps.directory(),
      logger: deps.logger,
      clock: deps.clock,
      musicOnHold: (tenant) => this.deps.musicOnHold(tenant),
      ...(deps.transferRecallSeconds === undefined ? {} : { recallSeconds: deps.transferRecallSeconds }),
    });
  }

  /** Installs the feature modules (they need the running PBX, so they come after it). */
  setFeatures(features: FeatureHooks): void {
    this.deps.features = features;
  }

  /** How many calls an extension is on now. */
  callsOf(tenant: TenantConfig, number: string): number {
    return this.busy.get(`${number}@${tenant.domain}`) ?? 0;
  }

  /** Counts the call against an extension (busy checks) until the call is finished. */
  occupy(pc: PbxCall, tenant: TenantConfig, number: string): void {
    if (!this.calls.has(pc)) return;
    const key = `${number}@${tenant.domain}`;
    if (pc.extensions.has(key)) return;
    pc.extensions.add(key);
    this.busy.set(key, (this.busy.get(key) ?? 0) + 1);
  }

  private release(pc: PbxCall): void {
    for (const key of pc.extensions) {
      const n = (this.busy.get(key) ?? 1) - 1;
      if (n <= 0) this.busy.delete(key);
      else this.busy.set(key, n);
    }
    pc.extensions.clear();
  }

  /** Takes a new incoming call through authentication, routing and ringing. Never rejects. */
  async handle(inbound: Call): Promise<void> {
    const log = this.deps.logger.child({ callId: inbound.id });
    try {
      await this.route(inbound);
    } catch (e) {
      log.error(`call failed: ${(e as Error).message}`);
      if (inbound.state === 'ringing' || inbound.state === 'early') inbound.reject(500);
      else if (!inbound.hasEnded) void inbound.hangup();
    }
  }

  private async route(inbound: Call): Promise<void> {
    const session = inbound.session as IncomingSession;
    const request = session.request;
    const directory = this.deps.directory();
    const limits = directory.config.limits;
    if (this.calls.size >= limits.maxCalls) {
      inbound.reject(503);
      return;
    }
    const router = this.deps.router();
    const ruri = request.uri;
    const ruriUser = ruri.kind === 'sip' ? ruri.user : undefined;
    const toUser = request.to.uri.kind === 'sip' ? request.to.uri.user : undefined;
    const dialled = ruriUser ?? '';
    // A carrier serving two tenants from the same addresses: the DID picks the trunk.
    const trunkMatch = router.identify(session.source, { requestUser: ruriUser, toUser });
    let caller: Caller;
    let destination: Destination | undefined;
    if (trunkMatch !== undefined) {
      const from = request.from;
      const fromUser = from.uri.kind === 'sip' ? (from.uri.user ?? '') : from.uri.toString();
      caller = { tenant: trunkMatch.tenant, number: fromUser, name: from.displayName ?? fromUser, trunk: trunkMatch.trunk, kind: 'trunk' };
      destination = router.didDestination(trunkMatch.trunk, ruriUser, toUser);
      if (destination === undefined || destination.type === 'external') {
        // An unknown DID, or a DID pointing out again: a trunk never reaches another trunk.
        this.deps.logger.info(`trunk call to unknown DID ${dialled}`, { tenant: caller.tenant.domain, callId: inbound.id, trunk: trunkMatch.trunk.name });
        inbound.reject(404);
        return;
      }
    } else {
      const auth = await this.deps.auth.authenticate(request, session.source);
      if (auth.kind === 'challenge') {
        const headers: [string, string][] = [];
        for (const name of ['WWW-Authenticate', 'Proxy-Authenticate']) for (const v of auth.response.getAll(name)) headers.push([name, v]);
        session.reject(auth.response.status, { headers });
        return;
      }
      if (auth.kind === 'refused') {
        this.deps.logger.warn(`refused ${request.method} from ${session.source.address}: ${auth.reason}`, { callId: inbound.id });
        session.reject(auth.status, { reason: auth.reason });
        return;
      }
      const ext = auth.extension;
      caller = { tenant: auth.tenant, number: ext.callerId.number, name: ext.callerId.name, extension: ext, kind: 'device' };
    }
    const pc = newPbxCall(inbound.id, { inbound, caller, dialled, direction: caller.kind === 'trunk' ? 'inbound' : 'internal' });
    this.calls.add(pc);
    if (caller.extension !== undefined) {
      const ext = caller.extension.number;
      this.occupy(pc, caller.tenant, ext);
      const emit = (state: LegEvent['state']): void => void this.emit('leg', { pc, leg: inbound, tenant: caller.tenant, extension: ext, role: 'initiator', state });
      emit('trying');
      inbound.once('answered', () => emit('confirmed'));
      inbound.once('ended', () => emit('terminated'));
    }
    const log = this.deps.logger.child({ tenant: caller.tenant.domain, callId: inbound.id });
    log.info(`call from ${caller.number} (${caller.kind}) to ${dialled}`);
    inbound.once('ended', (end) => {
      if (pc.outbound === undefined && pc.hangupBy === undefined) pc.hangupBy = 'caller';
      log.info(`call ended: ${end.reason}${end.status === undefined ? '' : ` ${end.status}`}`);
      this.finish(pc);
    });

    if (destination === undefined) {
      // A device call: feature codes, then the tenant's numbers, then outbound routes.
      const features = this.deps.features;
      if (features?.featureCode !== undefined && (await features.featureCode(inbound, caller, dialled, pc))) return;
      const resolved = this.resolve(caller, ruri.kind === 'sip' ? ruri.host : '', dialled);
      if (typeof resolved === 'number') {
        this.refuse(pc, resolved);
        return;
      }
      await this.connect(pc, resolved.tenant, resolved.destination, 0);
      return;
    }
    await this.connect(pc, caller.tenant, destination, 0);
  }

  /**
   * What a device's dialled number means: an extension or group of its tenant (or of an
   * allowed tenant addressed by domain), or an outbound route. A status when nothing matches
   * (404), or when another tenant is addressed that the dial plan does not allow (403).
   */
  resolve(caller: Caller, host: string, dialled: string): { tenant: TenantConfig; destination: Destination } | number {
    const directory = this.deps.directory();
    let tenant = caller.tenant;
    const addressed = directory.tenant(host);
    if (addressed !== undefined && addressed !== caller.tenant) {
      if (!caller.tenant.allowedTenants.includes(addressed.domain)) return 403;
      tenant = addressed;
    }
    if (directory.extension(tenant, dialled) !== undefined) return { tenant, destination: { type: 'extension', number: dialled } };
    if (directory.group(tenant, dialled) !== undefined) return { tenant, destination: { type: 'group', number: dialled } };
    if (tenant === caller.tenant && this.deps.router().outbound(tenant, dialled, { number: caller.number, name: caller.name }) !== undefined) {
      return { tenant, destination: { type: 'external', number: dialled } };
    }
    return 404;
  }

  /** Connects the call to a destination, following failovers (at most 4 hops). */
  async connect(pc: PbxCall, tenant: TenantConfig, destination: Destination, depth: number): Promise<void> {
    const inbound = pc.inbound;
    if (inbound.hasEnded) return;
    if (depth > 4) {
      this.refuse(pc, 482);
      return;
    }
    const directory = this.deps.directory();
    switch (destination.type) {
      case 'hangup':
        this.refuse(pc, 480);
        return;
      case 'voicemail': {
        const vm = this.deps.features?.voicemail;
        if (vm !== undefined && (await vm(inbound, tenant, destination.mailbox, 'unavailable', pc))) return;
        this.refuse(pc, 480);
        return;
      }
      case 'extension': {
        const ext = directory.extension(tenant, destination.number);
        if (ext === undefined) {
          this.refuse(pc, 404);
          return;
        }
        const status = await this.ringExtension(pc, tenant, ext);
        if (status === undefined || inbound.hasEnded) return;
        // Busy or no answer: the mailbox, when there is one (RFC 3261 §16.7 would pick the status).
        if (ext.voicemail !== null && this.deps.features?.voicemail !== undefined) {
          if (await this.deps.features.voicemail(inbound, tenant, ext.number, status === 486 ? 'busy' : 'unavailable', pc)) return;
        }
        this.refuse(pc, status);
        return;
      }
      case 'group': {
        const group = directory.group(tenant, destination.number);
        if (group === undefined) {
          this.refuse(pc, 404);
          return;
        }
        const hook = this.deps.features?.group;
        const result = hook === undefined ? 'not-handled' : await hook(this, pc, tenant, group.number);
        if (result === 'answered' || inbound.hasEnded) return;
        if (result === 'not-handled') {
          // Without the hunt-group feature: ring every member at once for the group's ring time.
          const outcome = await this.ring(pc, this.groupTargets(pc, tenant, group), group.ringSeconds * 1000);
          if (outcome.kind !== 'failed') return;
        }
        await this.connect(pc, tenant, group.failover, depth + 1);
        return;
      }
      case 'external':
        await this.dialOut(pc, tenant, destination.number);
        return;
    }
  }

  /** Ends a call that found nobody: the final status for the caller and for the CDR. */
  private refuse(pc: PbxCall, status: number): void {
    pc.failStatus = status;
    pc.inbound.reject(status);
  }

  /** True when the extension is on a call and does not take a second one. */
  isBusy(tenant: TenantConfig, ext: ExtensionConfig): boolean {
    return !ext.callWaiting && this.callsOf(tenant, ext.number) > 0;
  }

  /** The ring targets of an extension's registered devices. */
  deviceTargets(pc: PbxCall, tenant: TenantConfig, ext: ExtensionConfig, namePrefix = ''): RingTarget[] {
    const caller = pc.caller;
    return this.deps.registrar.contacts(tenant, ext.number).map((c) => ({
      uri: c.uri,
      destination: c.destination,
      from: { uri: TenantDirectory.aor(tenant, caller.number), displayName: `${namePrefix}${caller.name}` },
      to: { uri: TenantDirectory.aor(tenant, ext.number), displayName: ext.name },
      label: ext.number,
    }));
  }

  /** The ring targets of every device of a group's extension members (busy ones left out with skipBusy), to ring at once. */
  groupTargets(pc: PbxCall, tenant: TenantConfig, group: GroupConfig): RingTarget[] {
    const directory = this.deps.directory();
    const targets: RingTarget[] = [];
    for (const m of group.members) {
      if (m.type !== 'extension') continue;
      const ext = directory.extension(tenant, m.number);
      if (ext === undefined || (group.skipBusy && this.isBusy(tenant, ext))) continue;
      targets.push(...this.deviceTargets(pc, tenant, ext, group.callerIdNamePrefix));
    }
    return targets;
  }

  /**
   * The ring target for an external number through the tenant's outbound route (its first
   * trunk; sequential failover is for direct calls, see dialOut). Undefined when no route
   * matches. Only configuration (a group's external member) leads here, never a number a
   * trunk caller dialled, so this is not a way out for toll fraud.
   */
  externalTarget(pc: PbxCall, tenant: TenantConfig, number: string): RingTarget | undefined {
    const plan = this.deps.router().outbound(tenant, number, { number: pc.caller.number, name: pc.caller.name });
    const attempt = plan?.attempts[0];
    return attempt === undefined ? undefined : trunkTarget(attempt);
  }

  /** Rings every device of an extension; resolves undefined when answered (or the caller is gone), else the status to give. */
  private async ringExtension(pc: PbxCall, tenant: TenantConfig, ext: ExtensionConfig): Promise<number | undefined> {
    if (this.isBusy(tenant, ext)) return 486;
    const targets = this.deviceTargets(pc, tenant, ext);
    if (targets.length === 0) return 480;
    const outcome = await this.ring(pc, targets, ext.noAnswerSeconds * 1000);
    if (outcome.kind === 'answered') {
      // Picked up by another phone: the picker is on the call, not this extension.
      if (outcome.target.label === ext.number) this.occupy(pc, tenant, ext.number);
      return undefined;
    }
    if (outcome.kind === 'caller-gone') return undefined;
    return outcome.status;
  }

  /** Dials out through the tenant's outbound route, trunk after trunk while they fail over. */
  private async dialOut(pc: PbxCall, tenant: TenantConfig, number: string): Promise<void> {
    const inbound = pc.inbound;
    if (pc.caller.kind !== 'device') {
      // Never from a trunk back out (toll fraud): only authenticated extensions dial out.
      this.refuse(pc, 403);
      return;
    }
    const plan = this.deps.router().outbound(tenant, number, { number: pc.caller.number, name: pc.caller.name });
    if (plan === undefined) {
      this.refuse(pc, 404);
      return;
    }
    pc.direction = 'outbound';
    if (plan.attempts.length === 0) {
      // Every trunk of the route has a host name that did not resolve.
      this.refuse(pc, 503);
      return;
    }
    const statuses: number[] = [];
    for (const attempt of plan.attempts) {
      if (inbound.hasEnded) return;
      const target = trunkTarget(attempt);
      pc.trunk = attempt.trunk.name;
      const ringMs = this.deps.directory().config.limits.ringSeconds * 1000;
      const outcome = await this.ring(pc, [target], ringMs);
      if (outcome.kind !== 'failed') return;
      statuses.push(outcome.status);
      if (!shouldFailOver(outcome.status)) break;
      this.deps.logger.warn(`trunk ${attempt.trunk.name} failed with ${outcome.status}, trying the next`, { tenant: tenant.domain, callId: pc.id });
    }
    this.refuse(pc, bestFailureStatus(statuses));
  }

  /**
   * Rings targets in parallel until one answers (the others are cancelled, "completed
   * elsewhere"), all fail, the time runs out, or the caller hangs up. On answer the inbound
   * leg is answered and bridged to the winner.
   */
  async ring(pc: PbxCall, targets: readonly RingTarget[], timeoutMs: number, options: RingOptions = {}): Promise<RingOutcome> {
    if (targets.length === 0) return { kind: 'failed', status: 480 };
    if (pc.inbound.hasEnded) return { kind: 'caller-gone' };
    const agent = this.deps.agent;
    const clock = this.deps.clock;
    const statuses: number[] = [];
    let earlyLeg: Call | undefined;
    // The call the ringing belongs to, and its caller: a hand-over (semi-attended transfer)
    // gives both to another call while the legs go on ringing.
    let owner = pc;
    let inbound = pc.inbound;
    let onAnswer = options.onAnswer;
    return new Promise<RingOutcome>((resolve) => {
      let report = resolve;
      let settled = false;
      let pending = targets.length;
      const legs = new Map<Call, RingTarget>();
      const timer = clock.setTimer(() => {
        settle({ kind: 'failed', status: 480 });
      }, timeoutMs);
      let unwatch = (): void => undefined;
      const watchCaller = (caller: Call): void => {
        const onEnded = (): void => {
          if (caller === inbound) settle({ kind: 'caller-gone' });
        };
        caller.once('ended', onEnded);
        unwatch = () => caller.off('ended', onEnded);
      };
      watchCaller(inbound);
      const settle = (outcome: RingOutcome): void => {
        if (settled) return;
        settled = true;
        owner.settleRing = undefined;
        owner.handOver = undefined;
        owner.answerHook = undefined;
        clock.clearTimer(timer);
        unwatch();
        for (const leg of legs.keys()) {
          owner.ringing.delete(leg);
          if (outcome.kind === 'answered' && leg === outcome.leg) continue;
          if (outcome.kind === 'answered') leg.cancel([COMPLETED_ELSEWHERE]);
          else leg.cancel();
          if (leg.state === 'answered') void leg.hangup(); // answered while we gave up
        }
        report(outcome);
      };
      pc.settleRing = settle;
      const handOver = (next: PbxCall): Promise<RingOutcome> => {
        const from = owner;
        from.settleRing = undefined;
        from.handOver = undefined;
        from.answerHook = undefined;
        unwatch();
        for (const [leg, target] of legs) {
          if (!from.ringing.has(leg)) continue;
          from.ringing.delete(leg);
          next.ringing.set(leg, target);
        }
        earlyLeg?.bridged?.unbridge();
        const previous = report;
        owner = next;
        inbound = next.inbound;
        onAnswer = undefined;
        next.settleRing = settle;
        next.handOver = handOver;
        const taken = new Promise<RingOutcome>((r) => (report = r));
        previous({ kind: 'caller-gone' });
        if (inbound.hasEnded) settle({ kind: 'caller-gone' });
        else watchCaller(inbound);
        return taken;
      };
      pc.handOver = handOver;
      pc.answerHook = onAnswer;
      const failed = (status: number): void => {
        statuses.push(status);
        if (--pending === 0) settle({ kind: 'failed', status: bestFailureStatus(statuses) });
      };
      const win = (leg: Call, target: RingTarget): void => {
        settle({ kind: 'answered', leg, target });
        if (onAnswer !== undefined) onAnswer(leg, target);
        else void this.answered(owner, leg, target.label);
      };
      for (const target of targets) {
        void agent
          .dial(target.uri, {
            destination: target.destination,
            from: target.from,
            to: target.to,
            ...(target.credentials === undefined ? {} : { credentials: target.credentials }),
          })
          .then(
            (leg) => {
              if (settled) {
                leg.cancel();
                return;
              }
              legs.set(leg, target);
              owner.ringing.set(leg, target);
              const emit = (state: LegEvent['state']): void =>
                void this.emit('leg', { pc: owner, leg, tenant: owner.caller.tenant, extension: target.label, role: 'recipient', state });
              emit('trying');
              leg.on('progress', (status) => {
                if (status > 100) emit('early');
                if (settled) return;
                if (status === 180 && inbound.state === 'ringing') inbound.ring();
              });
              leg.on('media-updated', () => {
                // Early media (183 with SDP): the caller hears this leg through our own 183.
                if (settled || leg.state !== 'early' || leg.session.state === 'established' || earlyLeg !== undefined) return;
                earlyLeg = leg;
                void this.earlyMedia(inbound, leg);
              });
              leg.once('answered', () => {
                if (settled) {
                  void leg.hangup();
                  return;
                }
                const confirm = options.confirm;
                if (confirm === undefined) {
                  win(leg, target);
                  return;
                }
                // "Confirm call": the member must accept (press 1) before the caller is put
                // through; the others keep ringing meanwhile (a mobile's voicemail never takes it).
                owner.ringing.delete(leg);
                void confirm(leg, target).then(
                  (ok) => {
                    if (ok && !settled && !leg.hasEnded) win(leg, target);
                    else {
                      void leg.hangup();
                      if (!settled) failed(480);
                    }
                  },
                  () => {
                    void leg.hangup();
                    if (!settled) failed(480);
                  },
                );
              });
              leg.once('answered', () => emit('confirmed'));
              leg.once('ended', (end) => {
                emit('terminated');
                owner.ringing.delete(leg);
                // A leg answered but not confirmed reports through confirm(), not here.
                if (leg.answerTime === undefined) failed(end.status ?? 480);
              });
            },
            (e: unknown) => {
              this.deps.logger.warn(`cannot ring ${target.label}: ${(e as Error).message}`, { callId: owner.id });
              failed(503);
            },
          );
      }
    });
  }

  private async earlyMedia(inbound: Call, leg: Call): Promise<void> {
    try {
      if (inbound.state === 'ringing') await inbound.progress();
      if (inbound.state === 'early' && leg.state === 'early') inbound.bridge(leg, { hangupTogether: false });
    } catch (e) {
      this.deps.logger.debug(`early media not passed: ${(e as Error).message}`, { callId: inbound.id });
    }
  }

  /** The winner answered: answer the caller, then join the two ({@link join}). */
  private async answered(pc: PbxCall, leg: Call, label: string): Promise<void> {
    const inbound = pc.inbound;
    pc.outbound = leg;
    pc.answeredBy = label;
    const log = this.deps.logger.child({ tenant: pc.caller.tenant.domain, callId: pc.id });
    log.info(`answered by ${label}`);
    try {
      if (inbound.state !== 'answered') await inbound.answer();
    } catch (e) {
      log.info(`caller gone before the answer: ${(e as Error).message}`);
      void leg.hangup();
      return;
    }
    this.join(pc);
  }

  /**
   * Joins the two parties of an answered call: their media bridged, music on hold for one
   * while the other holds, "one hangs up → hang up the other", the call time limit, and the
   * in-call features (REFER and DTMF feature codes, see features/transfer.ts). A transfer
   * undoes it with {@link unjoin} and joins other pairs.
   */
  join(pc: PbxCall): void {
    const inbound = pc.inbound;
    const leg = pc.outbound;
    if (leg === undefined) return;
    pc.unjoin?.();
    if (inbound.hasEnded || leg.hasEnded) {
      void inbound.hangup();
      void leg.hangup();
      return;
    }
    const tenant = pc.caller.tenant;
    const log = this.deps.logger.child({ tenant: tenant.domain, callId: pc.id });
    const held = new Set<Call>();
    const moh = (to: Call): void => {
      if (to.hasEnded || to.remoteHold) return;
      to.bridged?.unbridge();
      void to.play(this.deps.musicOnHold(tenant), { loop: true }).catch((e: unknown) => log.warn(`music on hold failed: ${(e as Error).message}`));
    };
    const link = (): void => {
      if (inbound.hasEnded || leg.hasEnded || held.size > 0) return;
      inbound.bridge(leg, { hangupTogether: false });
    };
    const undo: (() => void)[] = [];
    const maxMs = this.deps.directory().config.limits.maxCallSeconds * 1000;
    const limit = this.deps.clock.setTimer(() => {
      log.info('maximum call duration reached');
      pc.hangupBy = 'system';
      void inbound.hangup();
      void leg.hangup();
    }, maxMs);
    undo.push(() => this.deps.clock.clearTimer(limit));
    // When one party holds, the other hears music on hold (RFC 3264 §8.4 hold, RFC 6337).
    for (const [party, other] of [
      [inbound, leg],
      [leg, inbound],
    ] as const) {
      const onHold = (): void => {
        held.add(party);
        party.bridged?.unbridge();
        moh(other);
      };
      const onUnhold = (): void => {
        held.delete(party);
        other.stopPlayback();
        party.stopPlayback();
        link();
      };
      const onEnded = (): void => {
        if (pc.hangupBy === undefined) pc.hangupBy = party === inbound ? 'caller' : 'callee';
        this.deps.clock.clearTimer(limit);
        void other.hangup();
      };
      const onRefer = (refer: IncomingRefer): void => this.transfers.referred(pc, party, refer);
      const onDigit = (digit: string): void => this.transfers.digit(pc, party, digit);
      party.on('hold', onHold);
      party.on('unhold', onUnhold);
      party.on('ended', onEnded);
      party.on('transfer-request', onRefer);
      party.on('dtmf', onDigit);
      undo.push(() => {
        party.off('hold', onHold);
        party.off('unhold', onUnhold);
        party.off('ended', onEnded);
        party.off('transfer-request', onRefer);
        party.off('dtmf', onDigit);
      });
      if (party.remoteHold) held.add(party);
    }
    for (const party of held) moh(party === inbound ? leg : inbound);
    link();
    pc.unjoin = () => {
      pc.unjoin = undefined;
      for (const u of undo) u();
      const bridge = inbound.bridged;
      if (bridge !== undefined && (bridge.a === leg || bridge.b === leg)) bridge.unbridge();
      inbound.stopPlayback();
      leg.stopPlayback();
    };
  }

  /** Undoes {@link join}: the two parties stay up, unbridged, each with its own media. */
  unjoin(pc: PbxCall): void {
    pc.unjoin?.();
  }

  /**
   * Starts the bookkeeping of a call the PBX makes itself for a party already on a leg (a
   * transfer: the transferee calling the target). It counts in {@link calls}, occupies the
   * caller's extension, and gets its CDR when its inbound leg (and the answered one) ended,
   * or when {@link closeCall} says so.
   */
  openCall(init: { inbound: Call; caller: Caller; dialled: string; direction: PbxCall['direction'] }): PbxCall {
    const inbound = init.inbound;
    const pc = newPbxCall(`${inbound.id}~${(++this.serial).toString(36)}`, init);
    pc.startTime = this.deps.clock.now();
    this.calls.add(pc);
    if (init.caller.extension !== undefined) this.occupy(pc, init.caller.tenant, init.caller.extension.number);
    inbound.once('ended', () => {
      if (pc.outbound === undefined && pc.hangupBy === undefined) pc.hangupBy = 'caller';
      this.finish(pc);
    });
    return pc;
  }

  /**
   * Ends the bookkeeping of a call now, whatever its legs do next (they went on in another
   * call: a transfer): it leaves {@link calls}, frees its extensions, its CDR is written.
   */
  closeCall(pc: PbxCall): void {
    pc.unjoin?.();
    this.retire(pc);
  }

  /** Takes a call out of {@link calls} (once), frees its extensions and writes its CDR. */
  private retire(pc: PbxCall): void {
    if (!this.calls.delete(pc)) return;
    this.release(pc);
    this.writeCdr(pc);
  }

  /** Calls now ringing an extension (for pickup), oldest first. */
  ringingFor(tenant: TenantConfig, number: string): PbxCall[] {
    const out: PbxCall[] = [];
    for (const pc of this.calls) {
      if (pc.outbound !== undefined || pc.settleRing === undefined) continue;
      for (const target of pc.ringing.values()) {
        if (target.label === number && (target.to.uri === TenantDirectory.aor(tenant, number) || pc.caller.tenant === tenant)) {
          out.push(pc);
          break;
        }
      }
    }
    return out;
  }

  /**
   * Call pickup: `picker` (a call to the PBX from another phone: `*8`, `**1002`, or an INVITE
   * with Replaces naming a ringing leg) answers the ringing call `pc`. The ringing legs get
   * CANCEL with "Call completed elsewhere", the picker's call is answered and bridged to the
   * caller. False when the call is no longer ringing.
   *
   * @example
   * ```ts
   * const [ringing] = b2bua.ringingFor(tenant, '1002');
   * if (ringing !== undefined) await b2bua.pickup(ringing, call, 'pickup:1003');
   * ```
   */
  async pickup(pc: PbxCall, picker: Call, label: string): Promise<boolean> {
    const settle = pc.settleRing;
    if (settle === undefined || pc.outbound !== undefined || pc.inbound.hasEnded || picker.hasEnded) return false;
    const target: RingTarget = { uri: picker.remoteUri, destination: { protocol: 'udp', address: '0.0.0.0', port: 0 }, from: { uri: picker.remoteUri }, to: { uri: picker.calledUri }, label };
    // A transfer's consultation call takes its answered leg itself (RingOptions.onAnswer).
    const hook = pc.answerHook;
    settle({ kind: 'answered', leg: picker, target });
    try {
      if (picker.state !== 'answered') await picker.answer();
    } catch {
      return false;
    }
    // The picker's own call (to *8, **ext, or its Replaces INVITE) is now part of this one:
    // it leaves the books without a CDR of its own, and its extension is busy on this call.
    for (const own of this.calls) {
      if (own === pc || own.inbound !== picker) continue;
      this.calls.delete(own);
      this.release(own);
      if (own.caller.extension !== undefined) this.occupy(pc, own.caller.tenant, own.caller.extension.number);
      break;
    }
    if (hook !== undefined) hook(picker, target);
    else await this.answered(pc, picker, label);
    return true;
  }

  /** The inbound leg ended: once the answered leg has too, write the CDR. */
  private finish(pc: PbxCall): void {
    const done = (): void => this.retire(pc);
    const out = pc.outbound;
    if (out !== undefined && !out.hasEnded) void out.ended.then(done);
    else done();
  }

  private writeCdr(pc: PbxCall): void {
    const cdr = this.deps.cdr;
    if (cdr === undefined) return;
    const inbound = pc.inbound;
    const start = pc.startTime ?? inbound.startTime;
    const end = Math.max(inbound.endTime ?? this.deps.clock.now(), pc.outbound?.endTime ?? 0);
    // A leg joined by an attended transfer was answered before this call began.
    const answered = pc.outbound?.answerTime;
    const answer = answered === undefined ? undefined : Math.max(answered, start);
    const record: CallDetailRecord = {
      id: pc.id,
      tenant: pc.caller.tenant.domain,
      from: pc.caller.number,
      fromName: pc.caller.name,
      to: pc.dialled,
      direction: pc.direction,
      start: new Date(start).toISOString(),
      answer: answer === undefined ? null : new Date(answer).toISOString(),
      end: new Date(end).toISOString(),
      disposition: cdrDisposition(pc),
      duration: Math.round(end - start) / 1000,
      billsec: answer === undefined ? 0 : Math.round(end - answer) / 1000,
      sipStatus: pc.outbound !== undefined ? 200 : (pc.failStatus ?? inbound.end?.status ?? 487),
    };
    if (pc.hangupBy !== undefined) record.hangupBy = pc.hangupBy;
    if (pc.trunk !== undefined) record.trunk = pc.trunk;
    if (pc.answeredBy !== undefined) record.answeredBy = pc.answeredBy;
    cdr.write(record);
  }

  /** Hangs up every call (shutdown). */
  async hangupAll(): Promise<void> {
    const all: Promise<unknown>[] = [];
    for (const pc of this.calls) {
      pc.hangupBy ??= 'system';
      for (const leg of pc.ringing.keys()) leg.cancel();
      all.push(pc.inbound.hangup());
      if (pc.outbound !== undefined) all.push(pc.outbound.hangup());
    }
    await Promise.all(all);
  }
}
