/**
 * Hunt groups without the network: `memberOrder` for every strategy, and `HuntGroups.ring`
 * against a fake B2BUA (a {@link GroupRinger}) whose members answer, ring out, or are busy on
 * a script, on a fake clock the fake advances by the time each ring takes. What is checked is
 * what a caller and the members would notice: who rang, in which order, for how long, who got
 * the call, and that the group's memory carries across calls and reloads.
 */
import { describe, expect, it } from 'vitest';
import type { CollectOptions, CollectResult, PlayResult, PlaySource } from '../../src/call/index.js';
import { digitPrompts, promptPath } from '../../src/call/index.js';
import type { PbxCall, RingOptions, RingOutcome, RingTarget } from '../../src/pbx/b2bua.js';
import { parseConfig, type ExtensionConfig, type GroupConfig, type GroupMember, type TenantConfig } from '../../src/pbx/config/index.js';
import { Logger } from '../../src/pbx/logger.js';
import {
  HuntGroups,
  confirmAnswer,
  memberKey,
  memberOrder,
  newGroupState,
  type ConfirmingLeg,
  type GroupRinger,
  type GroupState,
} from '../../src/pbx/features/hunt-group.js';

type RawGroup = Record<string, unknown>;

/** A tenant with extensions 2001–2004 and the given groups, through the real config loader. */
function tenantWith(groups: RawGroup[], extra: Record<string, unknown> = {}): TenantConfig {
  const doc = {
    tenants: [
      {
        domain: 'hunt.test',
        name: 'Hunt',
        extensions: ['2001', '2002', '2003', '2004'].map((n) => ({ number: n, name: `Ext ${n}`, password: `pw-${n}-secret`, callWaiting: false })),
        trunks: [{ name: 'carrier', host: '192.0.2.10' }],
        outboundRoutes: [{ name: 'out', patterns: ['_+1NXXNXXXXXX'], trunks: ['carrier'] }],
        groups,
        ...extra,
      },
    ],
  };
  return parseConfig(JSON.stringify(doc), '/etc/switchboard/pbx.json').tenants[0]!;
}

function group(strategy: string, members: (string | Record<string, unknown>)[], more: RawGroup = {}): RawGroup {
  return { number: '600', name: 'Sales', strategy, members: members.map((m) => (typeof m === 'string' ? { extension: m } : m)), ringSeconds: 60, ...more };
}

function groupOf(tenant: TenantConfig, number = '600'): GroupConfig {
  return tenant.groups.find((g) => g.number === number)!;
}

const numbers = (ms: readonly GroupMember[]): string[] => ms.map((m) => m.number);
const never = (): boolean => false;

/** A deterministic uniform source (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Returns the given values in turn (then repeats the last). */
function draws(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)]!;
}

// ---------------------------------------------------------------------------- the fake B2BUA

/** What a member does when rung: answer after some ms, ring out, or reject with a status. */
type Behaviour = { answerAfterMs: number; confirm?: boolean } | { rejectWith: number; afterMs?: number } | 'ring-out' | 'caller-hangs-up';

interface RingRecord {
  /** Labels of the targets rung together. */
  labels: string[];
  /** Display names shown (callerIdNamePrefix check). */
  names: (string | undefined)[];
  timeoutMs: number;
  /** Fake-clock time the ring started, ms after the call began. */
  at: number;
  confirm: boolean;
}

class FakeRinger implements GroupRinger {
  now = 0;
  readonly rings: RingRecord[] = [];
  /** Extensions on a call (busy when call waiting is off). */
  readonly onCall = new Set<string>();
  /** Extensions with no registered device. */
  readonly unregistered = new Set<string>();
  /** Numbers without an outbound route. */
  readonly unroutable = new Set<string>();
  behaviour: Record<string, Behaviour> = {};
  readonly clock = { now: () => this.now };

  deviceTargets(_pc: PbxCall, tenant: TenantConfig, ext: ExtensionConfig, namePrefix = ''): RingTarget[] {
    if (this.unregistered.has(ext.number)) return [];
    return [
      {
        uri: `sip:${ext.number}@127.0.0.1:5070`,
        destination: { protocol: 'udp', address: '127.0.0.1', port: 5070 },
        from: { uri: `sip:2001@${tenant.domain}`, displayName: `${namePrefix}Caller` },
        to: { uri: `sip:${ext.number}@${tenant.domain}` },
        label: ext.number,
      },
    ];
  }

  externalTarget(_pc: PbxCall, _tenant: TenantConfig, number: string): RingTarget | undefined {
    if (this.unroutable.has(number)) return undefined;
    return { uri: `sip:${number}@192.0.2.10`, destination: { protocol: 'udp', address: '192.0.2.10', port: 5060 }, from: { uri: 'sip:2001@192.0.2.10' }, to: { uri: `sip:${number}@192.0.2.10` }, label: `trunk:carrier:${number}` };
  }

  isBusy(_tenant: TenantConfig, ext: ExtensionConfig): boolean {
    return !ext.callWaiting && this.onCall.has(ext.number);
  }

  /** The B2BUA counts the call against the extension until it ends (see callGroup's `ends`). */
  readonly occupied: string[] = [];
  occupy(_pc: PbxCall, _tenant: TenantConfig, number: string): void {
    this.occupied.push(number);
    this.onCall.add(number);
  }

  async ring(_pc: PbxCall, targets: readonly RingTarget[], timeoutMs: number, options: RingOptions = {}): Promise<RingOutcome> {
    this.rings.push({ labels: targets.map((t) => t.label), names: targets.map((t) => t.from.displayName), timeoutMs, at: this.now, confirm: options.confirm !== undefined });
    // The first target to answer within the time wins; else the worst rejection, or 480.
    let best: { target: RingTarget; ms: number } | undefined;
    const statuses: number[] = [];
    for (const target of targets) {
      const b = this.behaviour[target.label] ?? 'ring-out';
      if (b === 'caller-hangs-up') return { kind: 'caller-gone' };
      if (b === 'ring-out') continue;
      if ('rejectWith' in b) {
        statuses.push(b.rejectWith);
        continue;
      }
      if (b.answerAfterMs < timeoutMs && (best === undefined || b.answerAfterMs < best.ms)) {
        if (options.confirm !== undefined) {
          const ok = await options.confirm({} as never, target);
          if (ok !== (b.confirm ?? true)) throw new Error('confirm result differs from the script');
          if (!ok) continue;
        }
        best = { target, ms: b.answerAfterMs };
      }
    }
    if (best !== undefined) {
      this.now += best.ms;
      return { kind: 'answered', leg: {} as never, target: best.target };
    }
    if (statuses.length === targets.length) {
      this.now += 10;
      return { kind: 'failed', status: Math.min(...statuses) };
    }
    this.now += timeoutMs;
    return { kind: 'failed', status: 480 };
  }
}

const pc = { id: 'call-1' } as unknown as PbxCall;

/**
 * Rings the group once with a fresh script; the ring records of this call only. Unless
 * `ends` is false the call is over when this returns: the member who answered is free again.
 */
async function callGroup(hunt: HuntGroups, ringer: FakeRinger, tenant: TenantConfig, behaviour: Record<string, Behaviour> = {}, number = '600', ends = true) {
  ringer.behaviour = behaviour;
  const from = ringer.rings.length;
  const occupiedFrom = ringer.occupied.length;
  const start = ringer.now;
  const result = await hunt.ring(ringer, pc, tenant, number);
  if (ends) for (const n of ringer.occupied.slice(occupiedFrom)) ringer.onCall.delete(n);
  return { result, rings: ringer.rings.slice(from).map((r) => ({ ...r, at: r.at - start })) };
}

const firstRung = (rings: RingRecord[]): string => rings[0]!.labels.join('+');

// ---------------------------------------------------------------------------- memberOrder

describe('memberOrder', () => {
  it('ringall and linear: configuration order; busy members left out only with skipBusy', () => {
    for (const strategy of ['ringall', 'linear']) {
      const t = tenantWith([group(strategy, ['2003', '2001', '2002'])]);
      const busy = (m: GroupMember): boolean => m.number === '2001';
      expect(numbers(memberOrder(groupOf(t), newGroupState(), 0, Math.random, never))).toEqual(['2003', '2001', '2002']);
      expect(numbers(memberOrder(groupOf(t), newGroupState(), 0, Math.random, busy))).toEqual(['2003', '2002']);
      const ringBusy = tenantWith([group(strategy, ['2003', '2001', '2002'], { skipBusy: false })]);
      expect(numbers(memberOrder(groupOf(ringBusy), newGroupState(), 0, Math.random, busy))).toEqual(['2003', '2001', '2002']);
    }
  });

  it('roundrobin: starts after the member rung last, wrapping; from the top when that member is unknown', () => {
    const g = groupOf(tenantWith([group('roundrobin', ['2001', '2002', '2003', '2004'])]));
    const state = newGroupState();
    expect(numbers(memberOrder(g, state, 0, Math.random, never))).toEqual(['2001', '2002', '2003', '2004']);
    state.lastRung = 'extension:2002';
    expect(numbers(memberOrder(g, state, 0, Math.random, never))).toEqual(['2003', '2004', '2001', '2002']);
    state.lastRung = 'extension:2004';
    expect(numbers(memberOrder(g, state, 0, Math.random, never))).toEqual(['2001', '2002', '2003', '2004']);
    state.lastRung = 'extension:2002';
    expect(numbers(memberOrder(g, state, 0, Math.random, (m) => m.number === '2003'))).toEqual(['2004', '2001', '2002']);
    state.lastRung = 'extension:9999';
    expect(numbers(memberOrder(g, state, 0, Math.random, never))).toEqual(['2001', '2002', '2003', '2004']);
  });

  it('leastrecent: never-answered first (config order), then longest since the last answer', () => {
    const g = groupOf(tenantWith([group('leastrecent', ['2001', '2002', '2003', '2004'])]));
    const state: GroupState = newGroupState();
    state.lastAnswered.set('extension:2001', 5000);
    state.lastAnswered.set('extension:2003', 1000);
    expect(numbers(memberOrder(g, state, 10_000, Math.random, never))).toEqual(['2002', '2004', '2003', '2001']);
    state.lastAnswered.set('extension:2002', 7000);
    state.lastAnswered.set('extension:2004', 1000);
    expect(numbers(memberOrder(g, state, 10_000, Math.random, never))).toEqual(['2003', '2004', '2001', '2002']);
  });

  it('fewestcalls: fewest answered first, ties in config order', () => {
    const g = groupOf(tenantWith([group('fewestcalls', ['2001', '2002', '2003', '2004'])]));
    const state = newGroupState();
    expect(numbers(memberOrder(g, state, 0, Math.random, never))).toEqual(['2001', '2002', '2003', '2004']);
    state.answered.set('extension:2001', 2);
    state.answered.set('extension:2002', 1);
    state.answered.set('extension:2004', 1);
    expect(numbers(memberOrder(g, state, 0, Math.random, never))).toEqual(['2003', '2002', '2004', '2001']);
  });

  it('random: Fisher–Yates from the injected draws; every member first about equally often', () => {
    const g = groupOf(tenantWith([group('random', ['2001', '2002', '2003', '2004'])]));
    // i=3: j=floor(0.9*4)=3 (stay); i=2: j=floor(0*3)=0 (swap 2001↔2003); i=1: j=floor(0.5*2)=1 (stay).
    expect(numbers(memberOrder(g, newGroupState(), 0, draws(0.9, 0, 0.5), never))).toEqual(['2003', '2002', '2001', '2004']);
    // A source that returns 1 (out of contract) still gives a permutation.
    expect(numbers(memberOrder(g, newGroupState(), 0, () => 1, never)).sort()).toEqual(['2001', '2002', '2003', '2004']);
    const random = seeded(7);
    const first: Record<string, number> = {};
    const n = 8000;
    for (let i = 0; i < n; i++) {
      const order = memberOrder(g, newGroupState(), 0, random, never);
      expect(order).toHaveLength(4);
      first[order[0]!.number] = (first[order[0]!.number] ?? 0) + 1;
    }
    for (const count of Object.values(first)) expect(Math.abs(count - n / 4)).toBeLessThan(n * 0.03);
  });

  it('weightedrandom: drawn by weight without replacement; weights 1:3 give about 25 % / 75 % first', () => {
    const g = groupOf(
      tenantWith([group('weightedrandom', [{ extension: '2001', weight: 1 }, { extension: '2002', weight: 3 }, { extension: '2003', weight: 6 }])]),
    );
    // total 10: r=0.05*10=0.5 < 1 → 2001; then total 9: r=0.5*9=4.5, 4.5 ≥ 3 → 2003; 2002 last.
    expect(numbers(memberOrder(g, newGroupState(), 0, draws(0.05, 0.5), never))).toEqual(['2001', '2003', '2002']);
    // r=0.35*10=3.5: past 2001 (1), 2.5 < 3 → 2002; then total 7: r=6.93, past 2001 (1) → 2003; 2001 last.
    expect(numbers(memberOrder(g, newGroupState(), 0, draws(0.35, 0.99), never))).toEqual(['2002', '2003', '2001']);
    const two = groupOf(tenantWith([group('weightedrandom', [{ extension: '2001', weight: 1 }, { extension: '2002', weight: 3 }])]));
    const random = seeded(11);
    let lowFirst = 0;
    const n = 8000;
    for (let i = 0; i < n; i++) if (memberOrder(two, newGroupState(), 0, random, never)[0]!.number === '2001') lowFirst++;
    expect(Math.abs(lowFirst / n - 0.25)).toBeLessThan(0.02);
    // Busy members are not drawn at all.
    expect(numbers(memberOrder(g, newGroupState(), 0, draws(0), (m) => m.number === '2001'))).toEqual(['2002', '2003']);
  });

  it('weightedrandom: a member with weight 0 never rings (the config allows 1–100; code could set 0)', () => {
    const base = groupOf(tenantWith([group('weightedrandom', ['2001', '2002'])]));
    const g: GroupConfig = { ...base, members: [{ ...base.members[0]!, weight: 0 }, base.members[1]!] };
    const random = seeded(3);
    for (let i = 0; i < 200; i++) expect(numbers(memberOrder(g, newGroupState(), 0, random, never))).toEqual(['2002']);
  });

  it('the config refuses weight 0', () => {
    expect(() => tenantWith([group('weightedrandom', [{ extension: '2001', weight: 0 }])])).toThrow(/weight/);
  });
});

// ---------------------------------------------------------------------------- HuntGroups.ring

describe('HuntGroups.ring: sequential strategies', () => {
  it('linear: each member for its own ring time, in order; the group time cuts the last attempt short, then failover', async () => {
    const t = tenantWith([group('linear', [{ extension: '2001', ringSeconds: 10 }, { extension: '2002', ringSeconds: 10 }, { extension: '2003', ringSeconds: 10 }, { extension: '2004', ringSeconds: 10 }], { ringSeconds: 25 })]);
    const ringer = new FakeRinger();
    const hunt = new HuntGroups({ clock: ringer.clock });
    const { result, rings } = await callGroup(hunt, ringer, t);
    expect(result).toBe('failed');
    expect(rings.map((r) => [r.labels.join('+'), r.at, r.timeoutMs])).toEqual([
      ['2001', 0, 10_000],
      ['2002', 10_000, 10_000],
      ['2003', 20_000, 5_000],
    ]);
  });

  it('linear: the member who answers gets the call and nobody after is rung', async () => {
    const t = tenantWith([group('linear', [{ extension: '2001', ringSeconds: 8 }, { extension: '2002', ringSeconds: 8 }, '2003'], { ringSeconds: 30 })]);
    const ringer = new FakeRinger();
    const hunt = new HuntGroups({ clock: ringer.clock });
    const { result, rings } = await callGroup(hunt, ringer, t, { '2002': { answerAfterMs: 3000 } });
    expect(result).toBe('answered');
    expect(rings.map((r) => [r.labels[0], r.at, r.timeoutMs])).toEqual([
      ['2001', 0, 8000],
      ['2002', 8000, 8000],
    ]);
    expect(hunt.state(t, '600')).toMatchObject({ lastRung: 'extension:2002', answered: new Map([['extension:2002', 1]]), lastAnswered: new Map([['extension:2002', 11_000]]) });
  });

  it('a member ring time defaults to the group ring time: with defaults linear rings only the first member unless it fails at once', async () => {
    const t = tenantWith([group('linear', ['2001', '2002'], { ringSeconds: 20 })]);
    const ringer = new FakeRinger();
    const hunt = new HuntGroups({ clock: ringer.clock });
    expect((await callGroup(hunt, ringer, t)).rings.map((r) => [r.labels[0], r.timeoutMs])).toEqual([['2001', 20_000]]);
    // A member that rejects (486 from the phone, DND) passes the call on at once.
    expect((await callGroup(hunt, ringer, t, { '2001': { rejectWith: 486 } })).rings.map((r) => [r.labels[0], r.at, r.timeoutMs])).toEqual([
      ['2001', 0, 20_000],
      ['2002', 10, 19_990],
    ]);
  });

  it('busy members (on a call, no call waiting) and members with no registered phone are passed over without using ring time', async () => {
    const t = tenantWith([group('linear', [{ extension: '2001', ringSeconds: 5 }, { extension: '2002', ringSeconds: 5 }, { extension: '2003', ringSeconds: 5 }, { extension: '2004', ringSeconds: 5 }], { ringSeconds: 30 })]);
    const ringer = new FakeRinger();
    ringer.onCall.add('2001');
    ringer.unregistered.add('2003');
    const hunt = new HuntGroups({ clock: ringer.clock });
    const { result, rings } = await callGroup(hunt, ringer, t, { '2004': { answerAfterMs: 1000 } });
    expect(result).toBe('answered');
    expect(rings.map((r) => [r.labels[0], r.at, r.timeoutMs])).toEqual([
      ['2002', 0, 5000],
      ['2004', 5000, 5000],
    ]);
  });

  it('a member who got busy while the ones before rang is skipped too', async () => {
    const t = tenantWith([group('linear', [{ extension: '2001', ringSeconds: 5 }, { extension: '2002', ringSeconds: 5 }, { extension: '2003', ringSeconds: 5 }])]);
    const ringer = new FakeRinger();
    const hunt = new HuntGroups({ clock: ringer.clock });
    const ring = ringer.ring.bind(ringer);
    ringer.ring = async (...args) => {
      ringer.onCall.add('2002'); // 2002 picks up another call while 2001 rings
      return ring(...args);
    };
    const { rings } = await callGroup(hunt, ringer, t);
    expect(rings.map((r) => r.labels[0])).toEqual(['2001', '2003']);
  });

  it('skipBusy false: busy members ring like the others', async () => {
    const t = tenantWith([group('linear', [{ extension: '2001', ringSeconds: 5 }, { extension: '2002', ringSeconds: 5 }], { skipBusy: false })]);
    const ringer = new FakeRinger();
    ringer.onCall.add('2001');
    const { rings } = await callGroup(new HuntGroups({ clock: ringer.clock }), ringer, t);
    expect(rings.map((r) => r.labels[0])).toEqual(['2001', '2002']);
  });

  it('every member busy: failed at once, nobody rung (the B2BUA then runs the failover)', async () => {
    for (const strategy of ['ringall', 'linear', 'roundrobin', 'random']) {
      const t = tenantWith([group(strategy, ['2001', '2002'])]);
      const ringer = new FakeRinger();
      ringer.onCall.add('2001');
      ringer.onCall.add('2002');
      const { result, rings } = await callGroup(new HuntGroups({ clock: ringer.clock }), ringer, t);
      expect(result).toBe('failed');
      expect(rings).toEqual([]);
      expect(ringer.now).toBe(0);
    }
  });

  it('the caller hanging up ends the hunt', async () => {
    const t = tenantWith([group('linear', [{ extension: '2001', ringSeconds: 5 }, { extension: '2002', ringSeconds: 5 }])]);
    const ringer = new FakeRinger();
    const { result, rings } = await callGroup(new HuntGroups({ clock: ringer.clock }), ringer, t, { '2001': 'caller-hangs-up' });
    expect(result).toBe('failed');
    expect(rings).toHaveLength(1);
  });

  it('roundrobin across calls: each call starts after the member who answered (or was tried) last', async () => {
    const t = tenantWith([group('roundrobin', [{ extension: '2001', ringSeconds: 5 }, { extension: '2002', ringSeconds: 5 }, { extension: '2003', ringSeconds: 5 }])]);
    const ringer = new FakeRinger();
    const hunt = new HuntGroups({ clock: ringer.clock });
    const everyoneAnswers = { '2001': { answerAfterMs: 100 }, '2002': { answerAfterMs: 100 }, '2003': { answerAfterMs: 100 } };
    const firsts: string[] = [];
    for (let i = 0; i < 4; i++) firsts.push(firstRung((await callGroup(hunt, ringer, t, everyoneAnswers)).rings));
    expect(firsts).toEqual(['2001', '2002', '2003', '2001']);
    // Nobody answers: 2002, 2003, 2001 are tried; the last tried (2001) moves the pointer.
    const missed = await callGroup(hunt, ringer, t);
    expect(missed.rings.map((r) => r.labels[0])).toEqual(['2002', '2003', '2001']);
    expect(firstRung((await callGroup(hunt, ringer, t, everyoneAnswers)).rings)).toBe('2002');
    // 2003 rings out, 2001 answers: next call starts at 2002.
    const second = await callGroup(hunt, ringer, t, { '2001': { answerAfterMs: 100 } });
    expect(second.rings.map((r) => r.labels[0])).toEqual(['2003', '2001']);
    expect(firstRung((await callGroup(hunt, ringer, t, everyoneAnswers)).rings)).toBe('2002');
  });

  it('roundrobin memory is per group and per tenant', async () => {
    const groups = [group('roundrobin', ['2001', '2002', '2003'], { ringSeconds: 5 }), { ...group('roundrobin', ['2001', '2002', '2003'], { ringSeconds: 5 }), number: '601', name: 'Support' }];
    const a = tenantWith(groups);
    const b = { ...tenantWith(groups), domain: 'other.test' } as TenantConfig;
    const ringer = new FakeRinger();
    const hunt = new HuntGroups({ clock: ringer.clock });
    const answer = { '2001': { answerAfterMs: 1 }, '2002': { answerAfterMs: 1 }, '2003': { answerAfterMs: 1 } };
    expect(firstRung((await callGroup(hunt, ringer, a, answer, '600')).rings)).toBe('2001');
    expect(firstRung((await callGroup(hunt, ringer, a, answer, '600')).rings)).toBe('2002');
    expect(firstRung((await callGroup(hunt, ringer, a, answer, '601')).rings)).toBe('2001');
    expect(firstRung((await callGroup(hunt, ringer, b, answer, '600')).rings)).toBe('2001');
    expect(firstRung((await callGroup(hunt, ringer, a, answer, '600')).rings)).toBe('2003');
  });

  it('leastrecent across calls: the member idle longest (never answered first) rings first', async () => {
    const t = tenantWith([group('leastrecent', [{ extension: '2001', ringSeconds: 5 }, { extension: '2002', ringSeconds: 5 }, { extension: '2003', ringSeconds: 5 }])]);
    const ringer = new FakeRinger();
    const hunt = new HuntGroups({ clock: ringer.clock });
    // 2001 rings out, 2002 answers.
    expect((await callGroup(hunt, ringer, t, { '2002': { answerAfterMs: 100 } })).rings.map((r) => r.labels[0])).toEqual(['2001', '2002']);
    // Never answered: 2001, 2003 (config order); then 2002.
    const second = await callGroup(hunt, ringer, t, { '2003': { answerAfterMs: 100 } });
    expect(second.rings.map((r) => r.labels[0])).toEqual(['2001', '2003']);
    // Now 2001 never answered, 2002 answered before 2003.
    const third = await callGroup(hunt, ringer, t, { '2002': { answerAfterMs: 100 } });
    expect(third.rings.map((r) => r.labels[0])).toEqual(['2001', '2002']);
    // 2002 answered most recently: 2001, 2003, 2002.
    expect((await callGroup(hunt, ringer, t)).rings.map((r) => r.labels[0])).toEqual(['2001', '2003', '2002']);
  });

  it('fewestcalls across calls: whoever answered fewest rings first, ties in config order', async () => {
    const t = tenantWith([group('fewestcalls', [{ extension: '2001', ringSeconds: 5 }, { extension: '2002', ringSeconds: 5 }, { extension: '2003', ringSeconds: 5 }])]);
    const ringer = new FakeRinger();
    const hunt = new HuntGroups({ clock: ringer.clock });
    const all = { '2001': { answerAfterMs: 1 }, '2002': { answerAfterMs: 1 }, '2003': { answerAfterMs: 1 } };
    const firsts: string[] = [];
    for (let i = 0; i < 6; i++) firsts.push(firstRung((await callGroup(hunt, ringer, t, all)).rings));
    expect(firsts).toEqual(['2001', '2002', '2003', '2001', '2002', '2003']);
    // 2001 takes two more (2002 and 2003 do not answer): 2001 has 4, the others 2.
    await callGroup(hunt, ringer, t, { '2001': { answerAfterMs: 1 } });
    await callGroup(hunt, ringer, t, { '2001': { answerAfterMs: 1 } });
    expect(hunt.state(t, '600')!.answered).toEqual(new Map([['extension:2001', 4], ['extension:2002', 2], ['extension:2003', 2]]));
    expect((await callGroup(hunt, ringer, t)).rings.map((r) => r.labels[0])).toEqual(['2002', '2003', '2001']);
  });

  it('random and weightedrandom take their draws from the injected source', async () => {
    const t = tenantWith([group('random', [{ extension: '2001', ringSeconds: 5 }, { extension: '2002', ringSeconds: 5 }, { extension: '2003', ringSeconds: 5 }])]);
    const ringer = new FakeRinger();
    // i=2: j=floor(0.5*3)=1 (swap 2002↔2003); i=1: j=floor(0.99*2)=1 (stay).
    const hunt = new HuntGroups({ clock: ringer.clock, random: draws(0.5, 0.99) });
    expect((await callGroup(hunt, ringer, t)).rings.map((r) => r.labels[0])).toEqual(['2001', '2003', '2002']);
    const w = tenantWith([group('weightedrandom', [{ extension: '2001', weight: 1, ringSeconds: 5 }, { extension: '2002', weight: 9, ringSeconds: 5 }])]);
    const whunt = new HuntGroups({ clock: ringer.clock, random: draws(0.05) });
    expect((await callGroup(whunt, ringer, w)).rings.map((r) => r.labels[0])).toEqual(['2001', '2002']);
  });

  it('external members ring through the outbound route; one without a route is passed over', async () => {
    const t = tenantWith([group('linear', [{ extension: '2001', ringSeconds: 5 }, { external: '+15552230000', ringSeconds: 5 }, { external: '+15559870000', ringSeconds: 5 }])]);
    const ringer = new FakeRinger();
    ringer.unroutable.add('+15552230000');
    const { result, rings } = await callGroup(new HuntGroups({ clock: ringer.clock }), ringer, t, { 'trunk:carrier:+15559870000': { answerAfterMs: 2000 } });
    expect(result).toBe('answered');
    expect(rings.map((r) => r.labels[0])).toEqual(['2001', 'trunk:carrier:+15559870000']);
  });

  it('the member who answers is on a call: busy for the next call to the group while it lasts', async () => {
    const t = tenantWith([group('linear', [{ extension: '2001', ringSeconds: 5 }, { extension: '2002', ringSeconds: 5 }, { external: '+15552230000', ringSeconds: 5 }])]);
    const ringer = new FakeRinger();
    const hunt = new HuntGroups({ clock: ringer.clock });
    const all = { '2001': { answerAfterMs: 1 }, '2002': { answerAfterMs: 1 }, 'trunk:carrier:+15552230000': { answerAfterMs: 1 } };
    const onGoing = async () => (await callGroup(hunt, ringer, t, all, '600', false)).rings.map((r) => r.labels[0]);
    expect(await onGoing()).toEqual(['2001']);
    expect(ringer.occupied).toEqual(['2001']);
    expect(await onGoing()).toEqual(['2002']);
    // External members are not extensions: nothing to occupy, never busy.
    expect(await onGoing()).toEqual(['trunk:carrier:+15552230000']);
    expect(await onGoing()).toEqual(['trunk:carrier:+15552230000']);
    expect(ringer.occupied).toEqual(['2001', '2002']);
    // 2001's call ends: it rings first again.
    ringer.onCall.delete('2001');
    expect(await onGoing()).toEqual(['2001']);
  });

  it('ringall: the member who answers is occupied too', async () => {
    const t = tenantWith([group('ringall', ['2001', '2002'])]);
    const ringer = new FakeRinger();
    await callGroup(new HuntGroups({ clock: ringer.clock }), ringer, t, { '2002': { answerAfterMs: 1 } });
    expect(ringer.occupied).toEqual(['2002']);
  });

  it('not-handled for a number that is not a group of the tenant', async () => {
    const t = tenantWith([group('linear', ['2001'])]);
    const ringer = new FakeRinger();
    expect((await callGroup(new HuntGroups({ clock: ringer.clock }), ringer, t, {}, '2001')).result).toBe('not-handled');
  });
});

describe('HuntGroups.ring: ringall', () => {
  it('rings every non-busy member at once for the group ring time (members’ own times do not apply), with the caller ID name prefix', async () => {
    const t = tenantWith([group('ringall', [{ extension: '2001', ringSeconds: 5 }, '2002', '2003', { external: '+15552230000' }], { ringSeconds: 25, callerIdNamePrefix: 'Sales: ' })]);
    const ringer = new FakeRinger();
    ringer.onCall.add('2002');
    const hunt = new HuntGroups({ clock: ringer.clock });
    const { result, rings } = await callGroup(hunt, ringer, t, { '2003': { answerAfterMs: 4000 } });
    expect(result).toBe('answered');
    expect(rings).toHaveLength(1);
    expect(rings[0]).toMatchObject({ labels: ['2001', '2003', 'trunk:carrier:+15552230000'], timeoutMs: 25_000, at: 0, confirm: false });
    expect(rings[0]!.names.slice(0, 2)).toEqual(['Sales: Caller', 'Sales: Caller']);
    expect(hunt.state(t, '600')!.answered).toEqual(new Map([['extension:2003', 1]]));
  });

  it('nobody answers: failed after one ring of the group time', async () => {
    const t = tenantWith([group('ringall', ['2001', '2002'], { ringSeconds: 12 })]);
    const ringer = new FakeRinger();
    const { result, rings } = await callGroup(new HuntGroups({ clock: ringer.clock }), ringer, t);
    expect(result).toBe('failed');
    expect(rings.map((r) => r.timeoutMs)).toEqual([12_000]);
  });

  it('no member can be rung (none registered): failed without ringing', async () => {
    const t = tenantWith([group('ringall', ['2001', '2002'])]);
    const ringer = new FakeRinger();
    ringer.unregistered.add('2001');
    ringer.unregistered.add('2002');
    const { result, rings } = await callGroup(new HuntGroups({ clock: ringer.clock }), ringer, t);
    expect(result).toBe('failed');
    expect(rings).toEqual([]);
  });
});

// ---------------------------------------------------------------------------- confirm

/** A leg that "presses" keys from a script: one entry per collectDigits ('' = timeout, null = hangs up). */
class ScriptedLeg implements ConfirmingLeg {
  hasEnded = false;
  readonly played: PlaySource[] = [];
  readonly collects: CollectOptions[] = [];
  constructor(private readonly keys: (string | null)[]) {}
  async play(source: PlaySource): Promise<PlayResult> {
    this.played.push(source);
    return { reason: this.hasEnded ? 'hangup' : 'finished' };
  }
  async collectDigits(options: CollectOptions = {}): Promise<CollectResult> {
    this.collects.push(options);
    const k = this.keys.shift();
    if (k === null || k === undefined) {
      this.hasEnded = true;
      return { digits: '', reason: 'hangup' };
    }
    return { digits: k, reason: k === '' ? 'timeout' : 'max' };
  }
}

describe('confirm call', () => {
  const g = groupOf(tenantWith([group('ringall', ['2001'], { confirmCalls: true, number: '605' })]), '605');
  const prompt = [promptPath('incoming-call-for-group'), ...digitPrompts('605'), promptPath('press-1-to-accept')];

  it('"1" accepts: the prompt names the group number, one key is collected within 5 s', async () => {
    const leg = new ScriptedLeg(['1']);
    expect(await confirmAnswer(leg, g)).toBe(true);
    expect(leg.played).toEqual([prompt]);
    expect(leg.collects).toEqual([{ max: 1, timeoutMs: 5000, terminators: '' }]);
  });

  it('another key or no key plays the prompt again; "1" on the second try accepts', async () => {
    expect(await confirmAnswer(new ScriptedLeg(['2', '1']), g)).toBe(true);
    expect(await confirmAnswer(new ScriptedLeg(['', '1']), g)).toBe(true);
  });

  it('declined after two tries without "1", or when the member hangs up', async () => {
    const twice = new ScriptedLeg(['', '9', '1']);
    expect(await confirmAnswer(twice, g)).toBe(false);
    expect(twice.played).toHaveLength(2);
    expect(await confirmAnswer(new ScriptedLeg([null]), g)).toBe(false);
  });

  it('tries and timeout are options', async () => {
    const leg = new ScriptedLeg(['', '', '1']);
    expect(await confirmAnswer(leg, g, { tries: 3, timeoutMs: 2000 })).toBe(true);
    expect(leg.collects.map((c) => c.timeoutMs)).toEqual([2000, 2000, 2000]);
  });

  it('groups with confirmCalls pass a confirm to every ring; others do not', async () => {
    const t = tenantWith([group('linear', [{ extension: '2001', ringSeconds: 5 }, { extension: '2002', ringSeconds: 5 }], { confirmCalls: true }), { ...group('ringall', ['2001']), number: '601' }]);
    const ringer = new FakeRinger();
    const confirmed: string[] = [];
    const hunt = new HuntGroups({ clock: ringer.clock });
    const ring = ringer.ring.bind(ringer);
    ringer.ring = (p, targets, ms, options) => {
      // The member "answers" and presses 1 only on 2002's phone.
      const confirm = options?.confirm;
      if (confirm === undefined) return ring(p, targets, ms, options);
      return ring(p, targets, ms, {
        confirm: async (_leg, target) => {
          const ok = await confirm(new ScriptedLeg(target.label === '2002' ? ['1'] : ['', '']) as never, target);
          if (ok) confirmed.push(target.label);
          return ok;
        },
      });
    };
    const { result, rings } = await callGroup(hunt, ringer, t, { '2001': { answerAfterMs: 1000, confirm: false }, '2002': { answerAfterMs: 1000 } });
    expect(result).toBe('answered');
    expect(rings.map((r) => [r.labels[0], r.confirm])).toEqual([
      ['2001', true],
      ['2002', true],
    ]);
    expect(confirmed).toEqual(['2002']);
    expect((await callGroup(hunt, ringer, t, { '2001': { answerAfterMs: 1 } }, '601')).rings[0]!.confirm).toBe(false);
  });
});

// ---------------------------------------------------------------------------- memory and reload

describe('group memory across reloads', () => {
  it('a reload keeps the memory of groups and members that still exist and forgets the rest', async () => {
    const members = [{ extension: '2001', ringSeconds: 5 }, { extension: '2002', ringSeconds: 5 }, { extension: '2003', ringSeconds: 5 }];
    const before = tenantWith([group('fewestcalls', members), { ...group('roundrobin', members), number: '601' }]);
    const ringer = new FakeRinger();
    const hunt = new HuntGroups({ clock: ringer.clock });
    await callGroup(hunt, ringer, before, { '2001': { answerAfterMs: 1 } });
    await callGroup(hunt, ringer, before, { '2002': { answerAfterMs: 1 } });
    await callGroup(hunt, ringer, before, { '2002': { answerAfterMs: 1 } }, '601');
    expect(hunt.state(before, '601')?.lastRung).toBe('extension:2002');
    // Reload: group 601 is gone, 2001 left group 600.
    const after = tenantWith([group('fewestcalls', members.slice(1))]);
    expect(after).not.toBe(before);
    const { rings } = await callGroup(hunt, ringer, after);
    expect(rings.map((r) => r.labels[0])).toEqual(['2003', '2002']);
    expect(hunt.state(after, '600')!.answered).toEqual(new Map([['extension:2002', 1]]));
    expect(hunt.state(after, '601')).toBeUndefined();
  });

  it('retain() forgets tenants that are no longer configured', async () => {
    const t = tenantWith([group('roundrobin', ['2001', '2002'], { ringSeconds: 5 })]);
    const ringer = new FakeRinger();
    const hunt = new HuntGroups({ clock: ringer.clock });
    await callGroup(hunt, ringer, t, { '2001': { answerAfterMs: 1 } });
    hunt.retain([t]);
    expect(hunt.state(t, '600')?.lastRung).toBe('extension:2001');
    hunt.retain([]);
    expect(hunt.state(t, '600')).toBeUndefined();
  });

  it('memory holds one entry per configured member at most, however many calls', async () => {
    const t = tenantWith([group('leastrecent', [{ extension: '2001', ringSeconds: 5 }, { extension: '2002', ringSeconds: 5 }])]);
    const ringer = new FakeRinger();
    const hunt = new HuntGroups({ clock: ringer.clock, random: seeded(5) });
    for (let i = 0; i < 200; i++) await callGroup(hunt, ringer, t, i % 3 === 0 ? {} : { [i % 2 === 0 ? '2001' : '2002']: { answerAfterMs: 1 } });
    const state = hunt.state(t, '600')!;
    expect(state.lastAnswered.size).toBeLessThanOrEqual(2);
    expect([...state.answered.keys()].every((k) => k === memberKey(groupOf(t).members[0]!) || k === memberKey(groupOf(t).members[1]!))).toBe(true);
  });

  it('logs one line per answer and per failed hunt when given a logger', async () => {
    const lines: string[] = [];
    const t = tenantWith([group('linear', [{ extension: '2001', ringSeconds: 5 }])]);
    const ringer = new FakeRinger();
    const hunt = new HuntGroups({ clock: ringer.clock, logger: new Logger({ level: 'info', sink: (l) => lines.push(l) }) });
    await callGroup(hunt, ringer, t, { '2001': { answerAfterMs: 1 } });
    await callGroup(hunt, ringer, t);
    expect(lines.some((l) => /group 600: answered by 2001/.test(l))).toBe(true);
    expect(lines.some((l) => /group 600: nobody answered/.test(l))).toBe(true);
  });
});
