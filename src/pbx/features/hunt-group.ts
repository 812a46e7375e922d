/**
 * Hunt groups (ring groups): a call to a group number rings its members by the group's
 * strategy — everyone at once, or one member after another in an order the strategy picks —
 * until one answers or the group's ring time runs out; then the B2BUA runs the group's
 * failover destination. The order logic is the pure {@link memberOrder}; {@link HuntGroups}
 * runs it against the B2BUA ({@link GroupRinger}) and keeps each group's memory (who was
 * rung last, who answered when, how many calls each member took). docs/pbx-hunt-groups.md
 * has the rules as users read them.
 *
 * ```
 *   ringall:     [2001 2002 2003] ───────────── group ringSeconds ─────────────► failover
 *   sequential:  [2001 ─ own ringSeconds ─][2002 ─ own ─][2003 ─ cut ─┤ group time up ► failover
 *                (order: linear = config; roundrobin = after the last rung; leastrecent;
 *                 fewestcalls; random; weightedrandom)
 * ```
 *
 * A member on a call (and without call waiting) is busy: with `skipBusy` it is left out, and a
 * group whose members are all busy fails at once. A member who cannot ring (no registered
 * device, no outbound route) is passed over without using ring time, as is one that rejects
 * the call (486, 603…). With `confirmCalls` the member who answers hears "Incoming call for
 * group 6 0 0. Press 1 to accept the call." and only "1" puts the caller through.
 *
 * @example
 * ```ts
 * const hunt = new HuntGroups({ logger });
 * const pbx = await Pbx.start({ config, features: () => ({ group: (b2bua, pc, tenant, number) => hunt.ring(b2bua, pc, tenant, number) }) });
 * ```
 */
import { digitPrompts, promptPath, type CollectOptions, type CollectResult, type PlayOptions, type PlayResult, type PlaySource } from '../../call/index.js';
import type { PbxCall, RingOptions, RingOutcome, RingTarget } from '../b2bua.js';
import type { ExtensionConfig, GroupConfig, GroupMember, TenantConfig } from '../config/index.js';
import type { Logger } from '../logger.js';

/**
 * What hunting needs from the B2BUA. {@link B2bua} is one; tests pass a fake that records the
 * rings and their timeouts.
 *
 * @example
 * ```ts
 * const ringer: GroupRinger = b2bua;
 * ```
 */
export interface GroupRinger {
  /** Rings targets in parallel until one answers, all fail, `timeoutMs` passes or the caller hangs up. */
  ring(pc: PbxCall, targets: readonly RingTarget[], timeoutMs: number, options?: RingOptions): Promise<RingOutcome>;
  /** One target per registered device of the extension; `namePrefix` goes before the caller ID name. */
  deviceTargets(pc: PbxCall, tenant: TenantConfig, ext: ExtensionConfig, namePrefix?: string): RingTarget[];
  /** The target of an external number through the tenant's outbound route; undefined when none matches. */
  externalTarget(pc: PbxCall, tenant: TenantConfig, number: string): RingTarget | undefined;
  /** On a call and without call waiting. */
  isBusy(tenant: TenantConfig, ext: ExtensionConfig): boolean;
  /** Counts the call against the extension (busy checks) until the call is finished. */
  occupy(pc: PbxCall, tenant: TenantConfig, number: string): void;
}

/**
 * A group's memory across calls (per tenant and group, in memory). Keys are {@link memberKey}s.
 *
 * @example
 * ```ts
 * const state = newGroupState();
 * state.answered.set('extension:2002', 3);
 * ```
 */
export interface GroupState {
  /** The member rung last (the one who answered, when someone did): roundrobin starts after it. */
  lastRung: string | undefined;
  /** When each member last answered a call from this group (clock ms): leastrecent. */
  readonly lastAnswered: Map<string, number>;
  /** How many calls from this group each member answered: fewestcalls. */
  readonly answered: Map<string, number>;
}

/** An empty {@link GroupState}. */
export function newGroupState(): GroupState {
  return { lastRung: undefined, lastAnswered: new Map(), answered: new Map() };
}

/** A member's identity in a group's memory: `extension:2001`, `external:+15551230000`. */
export function memberKey(member: GroupMember): string {
  return `${member.type}:${member.number}`;
}

/** A uniform draw in [0, 1), like `Math.random`. */
export type RandomSource = () => number;

/** `Math.floor(random() * n)`, kept below n even if a source returns 1. */
function pick(random: RandomSource, n: number): number {
  return Math.min(n - 1, Math.max(0, Math.floor(random() * n)));
}

/**
 * The members to try, in the order to try them, for one call to `group`. Busy members are
 * left out when the group has `skipBusy` (and `busy` says so); an empty result means nobody
 * can be rung. Pure: the memory is read, never written (the caller records what happened).
 *
 * - `ringall`, `linear`: configuration order (ringall rings them all at once).
 * - `roundrobin`: configuration order, rotated to start after `state.lastRung` (from the top
 *   when nobody was rung yet, or that member left the group).
 * - `leastrecent`: longest since they last answered a call from this group first (`now` minus
 *   the time they answered); members who never answered come first; ties in config order.
 * - `fewestcalls`: fewest calls answered from this group first; ties in config order.
 * - `random`: a uniform shuffle (Fisher–Yates, one `random()` draw per position but the last).
 * - `weightedrandom`: drawn one at a time, each remaining member with chance weight / sum of
 *   the remaining weights (one draw per position but the last). A weight of 0 or less never
 *   rings (the configuration allows 1–100, so only code can set 0).
 *
 * @example
 * ```ts
 * const order = memberOrder(group, state, Date.now(), Math.random, (m) => m.number === '2002');
 * order.map((m) => m.number); // e.g. ['2003', '2001'] — roundrobin after 2002, who is busy
 * ```
 */
export function memberOrder(group: GroupConfig, state: GroupState, now: number, random: RandomSource, busy: (member: GroupMember) => boolean): GroupMember[] {
  const available = (m: GroupMember): boolean => !(group.skipBusy && busy(m));
  const members = group.members;
  switch (group.strategy) {
    case 'ringall':
    case 'linear':
      return members.filter(available);
    case 'roundrobin': {
      const last = state.lastRung === undefined ? -1 : members.findIndex((m) => memberKey(m) === state.lastRung);
      const start = last + 1;
      return [...members.slice(start), ...members.slice(0, start)].filter(available);
    }
    case 'leastrecent': {
      const idle = (m: GroupMember): number => {
        const at = state.lastAnswered.get(memberKey(m));
        return at === undefined ? Infinity : now - at;
      };
      // Array.prototype.sort is stable: equal idle times keep config order.
      return members.filter(available).sort((a, b) => {
        const ia = idle(a);
        const ib = idle(b);
        return ia === ib ? 0 : ia > ib ? -1 : 1;
      });
    }
    case 'fewestcalls': {
      const count = (m: GroupMember): number => state.answered.get(memberKey(m)) ?? 0;
      return members.filter(available).sort((a, b) => count(a) - count(b));
    }
    case 'random': {
      const order = members.filter(available);
      for (let i = order.length - 1; i > 0; i--) {
        const j = pick(random, i + 1);
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
      return order;
    }
    case 'weightedrandom': {
      const pool = members.filter((m) => m.weight > 0 && available(m));
      const order: GroupMember[] = [];
      while (pool.length > 1) {
        const total = pool.reduce((sum, m) => sum + m.weight, 0);
        let r = random() * total;
        let i = 0;
        while (i < pool.length - 1 && r >= pool[i]!.weight) {
          r -= pool[i]!.weight;
          i++;
        }
        order.push(pool.splice(i, 1)[0]!);
      }
      order.push(...pool);
      return order;
    }
  }
}

/** What confirming needs of the leg that answered ({@link Call} is one). */
export interface ConfirmingLeg {
  readonly hasEnded: boolean;
  play(source: PlaySource, options?: PlayOptions): Promise<PlayResult>;
  collectDigits(options?: CollectOptions): Promise<CollectResult>;
}

/** Options of {@link confirmAnswer}. */
export interface ConfirmOptions {
  /** How long to wait for a key after the prompt, ms (default 5000). */
  timeoutMs?: number;
  /** How many times the prompt is played (default 2). */
  tries?: number;
}

/**
 * "Confirm call": plays "Incoming call for group <number, digit by digit>. Press 1 to accept
 * the call." to the member who answered and waits for a key. "1" (also pressed during the
 * prompt) accepts; any other key or no key in `timeoutMs` plays the prompt again, up to
 * `tries` times; then, or when the member hangs up, the call is declined (false).
 *
 * @example
 * ```ts
 * await b2bua.ring(pc, targets, 20_000, { confirm: (leg) => confirmAnswer(leg, group) });
 * ```
 */
export async function confirmAnswer(leg: ConfirmingLeg, group: GroupConfig, options: ConfirmOptions = {}): Promise<boolean> {
  const tries = options.tries ?? 2;
  const timeoutMs = options.timeoutMs ?? 5000;
  const prompt = [promptPath('incoming-call-for-group'), ...digitPrompts(group.number), promptPath('press-1-to-accept')];
  for (let attempt = 0; attempt < tries; attempt++) {
    if (leg.hasEnded) return false;
    const played = await leg.play(prompt, { bargeIn: true });
    if (played.reason === 'hangup') return false;
    const { digits, reason } = await leg.collectDigits({ max: 1, timeoutMs, terminators: '' });
    if (reason === 'hangup') return false;
    if (digits === '1') return true;
  }
  return false;
}

/**
 * Options of {@link HuntGroups}.
 *
 * @example
 * ```ts
 * new HuntGroups({ random: seeded(42), clock: { now: () => manual.now() } });
 * ```
 */
export interface HuntGroupsOptions {
  /** Draws for random and weightedrandom (default `Math.random`). */
  random?: RandomSource;
  /** Time for the group's ring-time budget and leastrecent (default `Date.now`). */
  clock?: { now(): number };
  /** One line per member rung and per answer (default: none). */
  logger?: Logger;
  /** {@link confirmAnswer} settings for groups with `confirmCalls`. */
  confirm?: ConfirmOptions;
}

interface TenantMemory {
  /** The configuration object the memory was last used with: another one means a reload. */
  tenant: TenantConfig;
  groups: Map<string, GroupState>;
}

/**
 * Runs hunt groups for the B2BUA: {@link HuntGroups.ring} is the `group` feature hook.
 * Memory is per tenant (domain) and group (number), kept in memory only: it survives a
 * configuration reload for groups and members that still exist, and holds nothing for
 * anything else (see {@link HuntGroups.retain}).
 *
 * @example
 * ```ts
 * const hunt = new HuntGroups();
 * const features: FeatureHooks = { group: (b2bua, pc, tenant, number) => hunt.ring(b2bua, pc, tenant, number) };
 * ```
 */
export class HuntGroups {
  private readonly random: RandomSource;
  private readonly clock: { now(): number };
  private readonly logger: Logger | undefined;
  private readonly confirmOptions: ConfirmOptions;
  private readonly memory = new Map<string, TenantMemory>();

  constructor(options: HuntGroupsOptions = {}) {
    this.random = options.random ?? Math.random;
    this.clock = options.clock ?? { now: () => Date.now() };
    this.logger = options.logger;
    this.confirmOptions = options.confirm ?? {};
  }

  /**
   * Rings group `number` of `tenant` for the call. Resolves `answered` when a member took the
   * call (the B2BUA has answered and bridged the caller), `failed` when nobody did — all busy,
   * nobody could be rung, everyone declined, the time ran out, or the caller hung up — so the
   * B2BUA runs the failover, and `not-handled` when the tenant has no such group.
   */
  async ring(b2bua: GroupRinger, pc: PbxCall, tenant: TenantConfig, number: string): Promise<'answered' | 'failed' | 'not-handled'> {
    const group = tenant.groups.find((g) => g.number === number);
    if (group === undefined) return 'not-handled';
    const state = this.stateFor(tenant, group);
    const log = this.logger?.child({ tenant: tenant.domain, callId: pc.id });
    const extensionOf = (m: GroupMember): ExtensionConfig | undefined => (m.type === 'extension' ? tenant.extensions.find((e) => e.number === m.number) : undefined);
    const busy = (m: GroupMember): boolean => {
      const ext = extensionOf(m);
      return ext !== undefined && b2bua.isBusy(tenant, ext);
    };
    const targetsOf = (m: GroupMember): RingTarget[] => {
      if (m.type === 'external') {
        const target = b2bua.externalTarget(pc, tenant, m.number);
        return target === undefined ? [] : [target];
      }
      const ext = extensionOf(m);
      return ext === undefined ? [] : b2bua.deviceTargets(pc, tenant, ext, group.callerIdNamePrefix);
    };
    const options: RingOptions = group.confirmCalls ? { confirm: (leg) => confirmAnswer(leg, group, this.confirmOptions) } : {};
    const order = memberOrder(group, state, this.clock.now(), this.random, busy);
    if (order.length === 0) {
      log?.info(`group ${group.number}: every member is busy`);
      return 'failed';
    }

    if (group.strategy === 'ringall') {
      const memberOf = new Map<RingTarget, GroupMember>();
      for (const m of order) for (const target of targetsOf(m)) memberOf.set(target, m);
      if (memberOf.size === 0) {
        log?.info(`group ${group.number}: no member can be rung`);
        return 'failed';
      }
      log?.debug(`group ${group.number}: ringing ${order.map((m) => m.number).join(', ')} for ${group.ringSeconds} s`);
      const outcome = await b2bua.ring(pc, [...memberOf.keys()], group.ringSeconds * 1000, options);
      if (outcome.kind !== 'answered') return 'failed';
      const winner = memberOf.get(outcome.target);
      if (winner !== undefined) this.answeredBy(b2bua, pc, tenant, state, winner, log, group);
      return 'answered';
    }

    // One member at a time, each for its own ring time, all within the group's ring time.
    const deadline = this.clock.now() + group.ringSeconds * 1000;
    for (const m of order) {
      const left = deadline - this.clock.now();
      if (left <= 0) break;
      // Someone may have got busy while the members before rang.
      if (group.skipBusy && busy(m)) continue;
      const targets = targetsOf(m);
      if (targets.length === 0) continue;
      state.lastRung = memberKey(m);
      const ms = Math.min(m.ringSeconds * 1000, left);
      log?.debug(`group ${group.number}: ringing ${m.number} for ${ms / 1000} s`);
      const outcome = await b2bua.ring(pc, targets, ms, options);
      if (outcome.kind === 'answered') {
        this.answeredBy(b2bua, pc, tenant, state, m, log, group);
        return 'answered';
      }
      if (outcome.kind === 'caller-gone') return 'failed';
    }
    log?.info(`group ${group.number}: nobody answered`);
    return 'failed';
  }

  /** The memory of a group, if it has any (for inspection: admin API, tests). */
  state(tenant: TenantConfig, groupNumber: string): Readonly<GroupState> | undefined {
    return this.memory.get(tenant.domain)?.groups.get(groupNumber);
  }

  /**
   * Keeps the memory of these tenants' groups and members and forgets the rest (tenants,
   * groups or members no longer configured). Ringing a group after a reload does this for its
   * own tenant; call it on reload to forget removed tenants too.
   */
  retain(tenants: readonly TenantConfig[]): void {
    const domains = new Set(tenants.map((t) => t.domain));
    for (const domain of [...this.memory.keys()]) if (!domains.has(domain)) this.memory.delete(domain);
    for (const t of tenants) {
      const mem = this.memory.get(t.domain);
      if (mem !== undefined && mem.tenant !== t) this.prune(mem, t);
    }
  }

  private stateFor(tenant: TenantConfig, group: GroupConfig): GroupState {
    let mem = this.memory.get(tenant.domain);
    if (mem === undefined) {
      mem = { tenant, groups: new Map() };
      this.memory.set(tenant.domain, mem);
    } else if (mem.tenant !== tenant) {
      this.prune(mem, tenant);
    }
    let state = mem.groups.get(group.number);
    if (state === undefined) {
      state = newGroupState();
      mem.groups.set(group.number, state);
    }
    return state;
  }

  /** A new configuration of the tenant: drop what belongs to groups and members that are gone. */
  private prune(mem: TenantMemory, tenant: TenantConfig): void {
    mem.tenant = tenant;
    for (const [number, state] of [...mem.groups]) {
      const group = tenant.groups.find((g) => g.number === number);
      if (group === undefined) {
        mem.groups.delete(number);
        continue;
      }
      const keys = new Set(group.members.map(memberKey));
      if (state.lastRung !== undefined && !keys.has(state.lastRung)) state.lastRung = undefined;
      for (const map of [state.lastAnswered, state.answered]) for (const key of [...map.keys()]) if (!keys.has(key)) map.delete(key);
    }
  }

  /** A member took the call: it is now on a call (busy for the next, without call waiting), and the memory learns it. */
  private answeredBy(b2bua: GroupRinger, pc: PbxCall, tenant: TenantConfig, state: GroupState, member: GroupMember, log: Logger | undefined, group: GroupConfig): void {
    if (member.type === 'extension') b2bua.occupy(pc, tenant, member.number);
    const key = memberKey(member);
    state.lastRung = key;
    state.lastAnswered.set(key, this.clock.now());
    state.answered.set(key, (state.answered.get(key) ?? 0) + 1);
    log?.info(`group ${group.number}: answered by ${member.number}`);
  }
}
