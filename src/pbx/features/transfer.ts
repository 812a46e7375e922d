/**
 * Call transfer through the B2BUA: blind (REFER, or `##` + number in a call), attended (REFER
 * with Replaces, or `*2` + number: consult, then hang up), semi-attended (the same while the
 * target still rings) and recall (a blind transfer nobody answers comes back to the
 * transferor). Every party is one of our {@link Call}s, so a transfer never sends anyone a
 * REFER: the PBX itself re-pairs the legs it already has. docs/pbx-transfer.md has the flows
 * as users see them.
 *
 * ```
 *  blind:     X ─REFER T─► PBX   202, NOTIFY 100;  Y hears ringback;  PBX rings T as if X dialled it
 *             T answers:   Y ⇄ T joined, NOTIFY 200 to X, X's leg hung up (if X does not BYE first)
 *             T fails:     NOTIFY <status>; X still there: X ⇄ Y again; X gone: X's phones ring (recall)
 *  attended:  X ⇄ Y (held, music) and X ⇄ Z;  X ─REFER Z?Replaces=<X's dialog of call 2>─► PBX
 *             Y ⇄ Z joined (music stopped), NOTIFY 200, both of X's legs hung up
 *  semi:      the same while Z still rings: Y hears ringback and takes Z's ringing legs over
 * ```
 *
 * The B2BUA calls {@link CallTransfers.referred} and {@link CallTransfers.digit} for the two
 * parties of every joined call ({@link B2bua.join}); everything else is here.
 *
 * @example
 * ```ts
 * b2bua.transfers.recallSeconds = 20; // every tenant's recall time, overridden (tests)
 * ```
 */
import type { Call } from '../../call/index.js';
import type { IncomingRefer, Replaces, TimerClock } from '../../sip/index.js';
import { parseUri } from '../../sip/index.js';
import type { B2bua, Caller, PbxCall, RingOptions, RingOutcome, RingTarget } from '../b2bua.js';
import type { Destination, TenantConfig } from '../config/index.js';
import type { Logger } from '../logger.js';
import type { TenantDirectory } from '../tenant-directory.js';

/**
 * What {@link CallTransfers} works with (the {@link B2bua} builds it).
 *
 * @example
 * ```ts
 * const transfers = new CallTransfers({ b2bua, directory: () => dir, logger, clock, musicOnHold: (t) => moh });
 * ```
 */
export interface CallTransfersDeps {
  b2bua: B2bua;
  directory(): TenantDirectory;
  logger: Logger;
  clock: TimerClock;
  musicOnHold(tenant: TenantConfig): string;
  /**
   * How long a blind transfer rings its target before the recall, for every tenant. Default:
   * the transferor's tenant's `transferRecallSeconds` (30 s unless configured).
   */
  recallSeconds?: number;
}

/**
 * One side of a call as the transfer logic sees it: who it is and what it may dial.
 *
 * @example
 * ```ts
 * const party: Party = { tenant, number: '1002', name: 'Bob', extension, kind: 'device' };
 * ```
 */
export interface Party extends Caller {
  /** The CDR label of a party that answered (`1002`, `trunk:carrier`). A `trunk` party may transfer only to internal numbers. */
  label: string;
}

/** Reason phrases of the sipfrag NOTIFYs. */
const REASONS: Record<number, string> = {
  180: 'Ringing',
  200: 'OK',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  500: 'Server Internal Error',
  503: 'Service Unavailable',
  600: 'Busy Everywhere',
  603: 'Decline',
};

function reasonOf(status: number): string {
  return REASONS[status] ?? '';
}

/** How long the transferor may take to BYE after the final NOTIFY before we hang its leg up. */
const TRANSFEROR_GRACE_MS = 2000;
/** In-call codes: the two keys of a code must come within this time. */
const CODE_GAP_MS = 2000;
/** Dialling the number after a code: first digit, then each further digit. */
const FIRST_DIGIT_MS = 10_000;
const NEXT_DIGIT_MS = 3000;

interface DigitState {
  keys: string;
  at: number;
  /** True while a transfer started by this party's keys is being dialled or runs. */
  busy: boolean;
}

/**
 * The transfer feature (see the file comment). One per B2BUA: `b2bua.transfers`.
 *
 * @example
 * ```ts
 * b2bua.transfers.recallSeconds = 15;
 * ```
 */
export class CallTransfers {
  /**
   * How long a blind transfer rings the target before the transferee returns to the
   * transferor, overriding the tenants' `transferRecallSeconds` when set (tests).
   */
  recallSeconds: number | undefined;
  private readonly deps: CallTransfersDeps;
  private readonly keys = new WeakMap<Call, DigitState>();

  constructor(deps: CallTransfersDeps) {
    this.deps = deps;
    this.recallSeconds = deps.recallSeconds;
  }

  private get b2bua(): B2bua {
    return this.deps.b2bua;
  }

  private log(pc: PbxCall): Logger {
    return this.deps.logger.child({ tenant: pc.caller.tenant.domain, callId: pc.id });
  }

  // ------------------------------------------------------------------ entry points

  /** A REFER from `party`, one of the two parties of the joined call `pc`. */
  referred(pc: PbxCall, party: Call, refer: IncomingRefer): void {
    const other = otherParty(pc, party);
    if (other === undefined) {
      refer.reject(481);
      return;
    }
    const replaces = refer.replaces;
    const run = replaces === undefined ? this.referBlind(pc, party, other, refer) : this.attended(pc, party, other, refer, replaces);
    void run.catch((e: unknown) => {
      this.log(pc).error(`transfer failed: ${(e as Error).message}`);
      void refer.notify(500, reasonOf(500));
    });
  }

  /** A digit from `party` of the joined call `pc`: watches for the in-call transfer codes. */
  digit(pc: PbxCall, party: Call, digit: string): void {
    const now = this.deps.clock.now();
    let st = this.keys.get(party);
    if (st === undefined) {
      st = { keys: '', at: now, busy: false };
      this.keys.set(party, st);
    }
    if (st.busy) return;
    if (now - st.at > CODE_GAP_MS) st.keys = '';
    st.keys = (st.keys + digit).slice(-8);
    st.at = now;
    const codes = this.partyOf(pc, party).tenant.featureCodes;
    const other = otherParty(pc, party);
    if (other === undefined) return;
    let kind: 'blind' | 'attended' | undefined;
    if (codes.blindTransfer !== '' && st.keys.endsWith(codes.blindTransfer)) kind = 'blind';
    else if (codes.attendedTransfer !== '' && st.keys.endsWith(codes.attendedTransfer)) kind = 'attended';
    if (kind === undefined) return;
    st.keys = '';
    st.busy = true;
    const state = st;
    void this.dialled(pc, party, other, kind)
      .catch((e: unknown) => this.log(pc).error(`in-call transfer failed: ${(e as Error).message}`))
      .finally(() => (state.busy = false));
  }

  // ------------------------------------------------------------------ who is who

  /** The party on `leg` of `pc`: the caller for the inbound leg, the answering extension or trunk otherwise. */
  partyOf(pc: PbxCall, leg: Call): Party {
    const directory = this.deps.directory();
    if (leg === pc.inbound) {
      const c = pc.caller;
      return { ...c, label: c.extension?.number ?? (c.trunk !== undefined ? `trunk:${c.trunk.name}` : c.number) };
    }
    const label = pc.answeredBy ?? '';
    if (label.startsWith('trunk:')) return { tenant: pc.caller.tenant, number: pc.dialled, name: pc.dialled, kind: 'trunk', label };
    const uri = leg.session.remoteIdentity.uri;
    const host = uri.kind === 'sip' ? uri.host : '';
    const tenant = directory.tenant(host) ?? pc.caller.tenant;
    const number = label.slice(label.lastIndexOf(':') + 1);
    const ext = directory.extension(tenant, number) ?? directory.extension(tenant, leg.remoteUser);
    if (ext !== undefined) return { tenant, number: ext.callerId.number, name: ext.callerId.name, extension: ext, kind: 'device', label: ext.number };
    return { tenant, number: leg.remoteUser, name: leg.remoteName ?? leg.remoteUser, kind: 'trunk', label: label || leg.remoteUser };
  }

  private callerOf(p: Party): Caller {
    const { label: _label, ...caller } = p;
    return caller;
  }

  /**
   * What `number` (at `host`) means when `by` dials it: the destination, or the status that
   * refuses it. A party outside the PBX (a trunk) reaches only internal numbers: a transfer is
   * never a way back out (toll fraud).
   */
  private destinationFor(by: Party, host: string, number: string): { tenant: TenantConfig; destination: Destination } | number {
    if (number === '') return 404;
    const resolved = this.b2bua.resolve(this.callerOf(by), host, number);
    if (typeof resolved === 'number') return resolved;
    if (resolved.destination.type === 'external' && by.kind !== 'device') return 403;
    return resolved;
  }

  /**
   * Rings a destination for `pc` (whose inbound leg is the party that will talk to it), as
   * the B2BUA would, without voicemail: the transfer decides what a failure means.
   */
  private async ringDestination(pc: PbxCall, tenant: TenantConfig, destination: Destination, timeoutMs: number | undefined, options: RingOptions = {}): Promise<RingOutcome> {
    const b2bua = this.b2bua;
    const directory = this.deps.directory();
    let targets: RingTarget[] = [];
    let ms = timeoutMs;
    switch (destination.type) {
      case 'extension': {
        const ext = directory.extension(tenant, destination.number);
        if (ext === undefined) return { kind: 'failed', status: 404 };
        if (b2bua.isBusy(tenant, ext)) return { kind: 'failed', status: 486 };
        targets = b2bua.deviceTargets(pc, tenant, ext);
        ms ??= ext.noAnswerSeconds * 1000;
        break;
      }
      case 'group': {
        // A transfer to a group rings every member at once (busy members left out with skipBusy).
        const group = directory.group(tenant, destination.number);
        if (group === undefined) return { kind: 'failed', status: 404 };
        targets = b2bua.groupTargets(pc, tenant, group);
        ms = Math.min(ms ?? Infinity, group.ringSeconds * 1000);
        break;
      }
      case 'external': {
        const target = b2bua.externalTarget(pc, tenant, destination.number);
        if (target === undefined) return { kind: 'failed', status: 404 };
        targets = [target];
        pc.trunk = target.label.slice('trunk:'.length);
        ms ??= directory.config.limits.ringSeconds * 1000;
        break;
      }
      default:
        return { kind: 'failed', status: 404 };
    }
    if (targets.length === 0) return { kind: 'failed', status: 480 };
    const outcome = await b2bua.ring(pc, targets, ms ?? 30_000, options);
    if (outcome.kind === 'answered') this.occupyTarget(pc, outcome.target);
    return outcome;
  }

  /** Counts the extension that answered `pc` as busy. */
  private occupyTarget(pc: PbxCall, target: RingTarget): void {
    const directory = this.deps.directory();
    let host = '';
    try {
      const uri = parseUri(target.to.uri);
      if (uri.kind === 'sip') host = uri.host;
    } catch {
      return;
    }
    const tenant = directory.tenant(host);
    if (tenant !== undefined && directory.extension(tenant, target.label) !== undefined) this.b2bua.occupy(pc, tenant, target.label);
  }

  private directionOf(a: Party, b: Party): PbxCall['direction'] {
    if (a.kind === 'trunk') return 'inbound';
    if (b.kind === 'trunk') return 'outbound';
    return 'internal';
  }

  /** The recall time of a transfer by `x`: the override, else x's tenant's `transferRecallSeconds`. */
  recallSecondsFor(x: Party): number {
    return this.recallSeconds ?? x.tenant.transferRecallSeconds;
  }

  private roleOf(pc: PbxCall, leg: Call): 'caller' | 'callee' {
    return leg === pc.inbound ? 'caller' : 'callee';
  }

  private ringback(call: Call, log: Logger): void {
    if (call.hasEnded) return;
    call.bridged?.unbridge();
    void call.play({ tone: 'ringback' }, { loop: true }).catch((e: unknown) => log.debug(`ringback not played: ${(e as Error).message}`));
  }

  private music(call: Call, tenant: TenantConfig, log: Logger): void {
    if (call.hasEnded) return;
    call.bridged?.unbridge();
    void call.play(this.deps.musicOnHold(tenant), { loop: true }).catch((e: unknown) => log.debug(`music on hold not played: ${(e as Error).message}`));
  }

  /** Hangs up the transferor's leg unless it sends BYE itself within a moment (after our final NOTIFY). */
  private dropSoon(leg: Call): void {
    if (leg.hasEnded) return;
    const clock = this.deps.clock;
    const t = clock.setTimer(() => void leg.hangup(), TRANSFEROR_GRACE_MS);
    void leg.ended.then(() => clock.clearTimer(t));
  }

  // ------------------------------------------------------------------ blind

  private async referBlind(pc: PbxCall, x: Call, y: Call, refer: IncomingRefer): Promise<void> {
    let user = '';
    let host = '';
    try {
      const uri = parseUri(refer.target);
      if (uri.kind === 'sip') {
        user = uri.user ?? '';
        host = uri.host;
      } else if (uri.kind === 'tel') user = uri.toString().replace(/^tel:/i, '').split(';')[0] ?? '';
    } catch {
      refer.reject(400, 'Bad Refer-To');
      return;
    }
    refer.accept();
    await this.blind(pc, x, y, user, host, refer);
  }

  /**
   * Blind transfer of `y` (the other party of `pc`) by `x` to `number`: `y` hears ringback
   * while the target rings for the recall time ({@link recallSecondsFor}); on answer they talk and `x` leaves; on
   * failure `x` gets `y` back (at once when still on the line, else its phones ring: recall).
   */
  private async blind(pc: PbxCall, x: Call, y: Call, number: string, host: string, refer: IncomingRefer | undefined): Promise<void> {
    const log = this.log(pc);
    const xParty = this.partyOf(pc, x);
    const dest = this.destinationFor(xParty, host, number);
    if (typeof dest === 'number') {
      log.info(`blind transfer to ${number} refused: ${dest}`);
      void refer?.notify(dest, reasonOf(dest));
      if (!x.hasEnded && !y.hasEnded && pc.unjoin === undefined) this.b2bua.join(pc);
      return;
    }
    log.info(`blind transfer of ${this.partyOf(pc, y).number} to ${number} by ${xParty.number}`);
    this.b2bua.unjoin(pc);
    this.ringback(y, log);
    // In-call code: the transferor leaves at once (a REFER's transferor stays until the NOTIFY).
    if (refer === undefined) void x.hangup();
    const yParty = this.partyOf(pc, y);
    const tpc = this.b2bua.openCall({ inbound: y, caller: this.callerOf(yParty), dialled: number, direction: yParty.kind === 'trunk' ? 'inbound' : dest.destination.type === 'external' ? 'outbound' : 'internal' });
    const onLeg = (e: { pc: PbxCall; state: string }): void => {
      if (e.pc === tpc && e.state === 'early') void refer?.notify(180, reasonOf(180));
    };
    if (refer !== undefined) this.b2bua.on('leg', onLeg);
    let outcome: RingOutcome;
    try {
      outcome = await this.ringDestination(tpc, dest.tenant, dest.destination, this.recallSecondsFor(xParty) * 1000);
    } finally {
      this.b2bua.off('leg', onLeg);
    }
    if (outcome.kind === 'answered') {
      void refer?.notify(200, reasonOf(200));
      pc.hangupBy ??= this.roleOf(pc, x);
      this.b2bua.closeCall(pc);
      if (refer !== undefined) this.dropSoon(x);
      else void x.hangup();
      return;
    }
    if (outcome.kind === 'caller-gone') {
      // The transferee hung up while the target rang.
      void refer?.notify(487, reasonOf(487));
      this.b2bua.closeCall(tpc);
      pc.hangupBy ??= this.roleOf(pc, y);
      this.b2bua.closeCall(pc);
      void x.hangup();
      return;
    }
    log.info(`blind transfer to ${number} failed: ${outcome.status}`);
    void refer?.notify(outcome.status, reasonOf(outcome.status));
    tpc.failStatus = outcome.status;
    this.b2bua.closeCall(tpc);
    if (!x.hasEnded && !y.hasEnded) {
      // The transferor is still on the line: they talk again.
      y.stopPlayback();
      this.b2bua.join(pc);
      return;
    }
    pc.hangupBy ??= this.roleOf(pc, x);
    this.b2bua.closeCall(pc);
    await this.recall(xParty, y, yParty);
  }

  /** The transferee comes back to the transferor: ring the transferor's phones, join on answer. */
  private async recall(xParty: Party, y: Call, yParty: Party): Promise<void> {
    if (y.hasEnded) return;
    const ext = xParty.extension;
    if (ext === undefined) {
      // Nobody to call back (the transferor came in through a trunk).
      void y.hangup();
      return;
    }
    const rpc = this.b2bua.openCall({ inbound: y, caller: this.callerOf(yParty), dialled: ext.number, direction: this.directionOf(yParty, xParty) });
    const log = this.log(rpc);
    log.info(`transfer recall to ${ext.number}`);
    this.ringback(y, log);
    const outcome = await this.ringDestination(rpc, xParty.tenant, { type: 'extension', number: ext.number }, undefined);
    if (outcome.kind === 'answered') return;
    if (outcome.kind === 'failed') rpc.failStatus = outcome.status;
    this.b2bua.closeCall(rpc);
    void y.hangup();
  }

  // ------------------------------------------------------------------ attended (REFER with Replaces)

  /** The leg of one of our calls whose dialog is `r` (as the transferor's phone sees it: either tag order). */
  findLeg(r: Replaces): { pc: PbxCall; leg: Call } | undefined {
    for (const pc of this.b2bua.calls) {
      const legs = [pc.inbound, ...(pc.outbound === undefined ? [] : [pc.outbound]), ...pc.ringing.keys()];
      for (const leg of legs) {
        if (leg.id !== r.callId || leg.hasEnded) continue;
        const id = leg.session.dialog?.id;
        let local: string | undefined = id?.localTag;
        let remote: string | undefined = id?.remoteTag;
        if (id === undefined) {
          // An early dialog not bound yet: our tag is the one we sent, theirs the From's (incoming).
          remote = leg.direction === 'incoming' ? leg.session.request.from.tag : undefined;
          local = leg.direction === 'incoming' ? undefined : leg.session.request.from.tag;
        }
        const tags = [r.toTag, r.fromTag];
        const ok = (local === undefined || tags.includes(local)) && (remote === undefined || tags.includes(remote)) && (local ?? remote) !== undefined && local !== remote;
        if (ok) return { pc, leg };
      }
    }
    return undefined;
  }

  private async attended(pc1: PbxCall, x1: Call, y: Call, refer: IncomingRefer, replaces: Replaces): Promise<void> {
    const log = this.log(pc1);
    const found = this.findLeg(replaces);
    if (found === undefined || found.pc === pc1) {
      log.info(`attended transfer: no call of ours has dialog ${replaces.callId}`);
      refer.reject(481, reasonOf(481));
      return;
    }
    const { pc: pc2, leg: x2 } = found;
    if (pc2.outbound !== undefined && (x2 === pc2.inbound || x2 === pc2.outbound)) {
      const z = x2 === pc2.inbound ? pc2.outbound : pc2.inbound;
      refer.accept();
      this.complete(pc1, x1, y, pc2, x2, z, refer);
      return;
    }
    if (x2 === pc2.inbound && pc2.handOver !== undefined) {
      refer.accept();
      this.handOver(pc1, x1, y, pc2, refer);
      return;
    }
    log.info('attended transfer: the replaced dialog is not one the transferor started or answered');
    refer.reject(481, reasonOf(481));
  }

  /**
   * Joins `y` (the other party of `pc1`) with `z` (the other party of `pc2`); `x1` and `x2`,
   * the transferor's legs of the two calls, are hung up. Both calls get their CDRs and a new
   * call `y ⇄ z` begins.
   */
  private complete(pc1: PbxCall, x1: Call, y: Call, pc2: PbxCall, x2: Call, z: Call, refer: IncomingRefer | undefined): void {
    const log = this.log(pc1);
    this.b2bua.unjoin(pc1);
    this.b2bua.unjoin(pc2);
    y.stopPlayback();
    z.stopPlayback();
    if (y.hasEnded || z.hasEnded) {
      // One of the two left meanwhile: the other goes on with the transferor.
      void refer?.notify(487, reasonOf(487));
      const keep = y.hasEnded ? pc2 : pc1;
      this.b2bua.closeCall(keep === pc1 ? pc2 : pc1);
      this.b2bua.join(keep);
      return;
    }
    const yParty = this.partyOf(pc1, y);
    const zParty = this.partyOf(pc2, z);
    pc1.hangupBy ??= this.roleOf(pc1, x1);
    pc2.hangupBy ??= this.roleOf(pc2, x2);
    log.info(`attended transfer: ${yParty.number} joined with ${zParty.number}`);
    const pc3 = this.b2bua.openCall({ inbound: y, caller: this.callerOf(yParty), dialled: zParty.number, direction: this.directionOf(yParty, zParty) });
    pc3.outbound = z;
    pc3.answeredBy = zParty.label;
    if (zParty.kind === 'trunk' && zParty.label.startsWith('trunk:')) pc3.trunk = zParty.label.slice('trunk:'.length);
    if (zParty.extension !== undefined) this.b2bua.occupy(pc3, zParty.tenant, zParty.extension.number);
    this.b2bua.closeCall(pc1);
    this.b2bua.closeCall(pc2);
    this.b2bua.join(pc3);
    if (refer === undefined) {
      void x2.hangup();
      void x1.hangup();
      return;
    }
    // The consultation leg goes once the transferor has the outcome (or after a moment).
    void refer.notify(200, reasonOf(200)).then(() => void x2.hangup());
    this.dropSoon(x2);
    if (x1 !== x2) this.dropSoon(x1);
  }

  /**
   * Semi-attended: `pc2` (the transferor calling Z) still rings; `y` takes its ringing legs
   * over and hears ringback until Z answers. The transferor's legs go at once.
   */
  private handOver(pc1: PbxCall, x1: Call, y: Call, pc2: PbxCall, refer: IncomingRefer | undefined): void {
    const log = this.log(pc1);
    const x2 = pc2.inbound;
    const handOver = pc2.handOver;
    if (handOver === undefined) {
      // The ringing ended meanwhile: nobody left to give the transferee to.
      void refer?.notify(487, reasonOf(487));
      void y.hangup();
      return;
    }
    this.b2bua.unjoin(pc1);
    const yParty = this.partyOf(pc1, y);
    const xParty = this.partyOf(pc1, x1);
    log.info(`semi-attended transfer: ${yParty.number} takes over the call to ${pc2.dialled}`);
    const pc3 = this.b2bua.openCall({ inbound: y, caller: this.callerOf(yParty), dialled: pc2.dialled, direction: pc2.direction === 'outbound' ? 'outbound' : this.directionOf(yParty, xParty) });
    pc3.trunk = pc2.trunk;
    this.ringback(y, log);
    const outcome = handOver(pc3);
    pc1.hangupBy ??= this.roleOf(pc1, x1);
    pc2.hangupBy ??= 'caller';
    this.b2bua.closeCall(pc1);
    void refer?.notify(200, reasonOf(200));
    // The transferor's call to Z ends here; Z's phones go on ringing for Y.
    if (x2 !== x1) {
      if (x2.state === 'answered') void x2.hangup();
      else x2.reject(487);
    }
    if (refer !== undefined) this.dropSoon(x1);
    else void x1.hangup();
    void outcome.then(async (o) => {
      if (o.kind === 'answered') {
        this.occupyTarget(pc3, o.target);
        return;
      }
      if (o.kind === 'failed') pc3.failStatus = o.status;
      this.b2bua.closeCall(pc3);
      if (o.kind === 'failed') await this.recall(xParty, y, yParty);
    });
  }

  // ------------------------------------------------------------------ in-call codes

  /**
   * `x` pressed a transfer code: `y` hears music on hold, `x` dial tone while dialling the
   * number (`#` ends it, as does a pause; `*` or nothing goes back to `y`).
   */
  private async dialled(pc: PbxCall, x: Call, y: Call, kind: 'blind' | 'attended'): Promise<void> {
    const log = this.log(pc);
    const tenant = this.partyOf(pc, x).tenant;
    this.b2bua.unjoin(pc);
    this.music(y, tenant, log);
    if (!x.hasEnded) void x.play({ tone: 'dial' }, { loop: true }).catch(() => undefined);
    const number = await this.collect(x);
    x.stopPlayback();
    if (x.hasEnded || y.hasEnded) {
      // Whoever is left had nobody to talk to: end the call.
      pc.hangupBy ??= this.roleOf(pc, x.hasEnded ? x : y);
      void x.hangup();
      void y.hangup();
      return;
    }
    if (number === '') {
      y.stopPlayback();
      this.b2bua.join(pc);
      return;
    }
    if (kind === 'blind') await this.blind(pc, x, y, number, '', undefined);
    else await this.consult(pc, x, y, number);
  }

  /** Digits from `call` until `#`, a pause, or the call's end; '' when `*` was pressed or nothing came. */
  private collect(call: Call): Promise<string> {
    const clock = this.deps.clock;
    return new Promise((resolve) => {
      let digits = '';
      let timer = clock.setTimer(() => done(digits), FIRST_DIGIT_MS);
      const done = (result: string): void => {
        clock.clearTimer(timer);
        call.off('dtmf', onDigit);
        call.off('ended', onEnded);
        resolve(result);
      };
      const onDigit = (d: string): void => {
        if (d === '#') return done(digits);
        if (d === '*') return done('');
        digits += d;
        if (digits.length >= 32) return done(digits);
        clock.clearTimer(timer);
        timer = clock.setTimer(() => done(digits), NEXT_DIGIT_MS);
      };
      const onEnded = (): void => done('');
      call.on('dtmf', onDigit);
      call.once('ended', onEnded);
    });
  }

  /**
   * `*2` + number (Asterisk's atxfer): `x` calls the number while `y` hears music. When the
   * consulted party answers, `x` talks to them; then `x` hanging up joins them with `y`
   * (before the answer: `y` takes the ringing over); `*` from `x`, or the consulted party
   * hanging up or not answering, brings `x` back to `y`.
   */
  private async consult(pc1: PbxCall, x: Call, y: Call, number: string): Promise<void> {
    const log = this.log(pc1);
    const xParty = this.partyOf(pc1, x);
    const dest = this.destinationFor(xParty, '', number);
    if (typeof dest === 'number') {
      log.info(`consultation call to ${number} refused: ${dest}`);
      y.stopPlayback();
      this.b2bua.join(pc1);
      return;
    }
    log.info(`consultation call to ${number} by ${xParty.number}`);
    const pcC = this.b2bua.openCall({ inbound: x, caller: this.callerOf(xParty), dialled: number, direction: dest.destination.type === 'external' ? 'outbound' : 'internal' });
    if (!x.hasEnded) void x.play({ tone: 'ringback' }, { loop: true }).catch(() => undefined);
    let phase: 'ringing' | 'talking' | 'done' = 'ringing';
    let z: Call | undefined;
    const cleanups: (() => void)[] = [];
    const cleanup = (): void => {
      phase = 'done';
      for (const c of cleanups) c();
    };
    const back = (): void => {
      // Back to the transferee.
      cleanup();
      this.b2bua.closeCall(pcC);
      if (x.hasEnded || y.hasEnded) {
        void x.hangup();
        void y.hangup();
        return;
      }
      x.stopPlayback();
      y.stopPlayback();
      this.b2bua.join(pc1);
    };
    // Before the B2BUA's own handlers: the transferor hanging up completes the transfer.
    const onXEnded = (): void => {
      if (phase === 'done') return;
      if (phase === 'talking' && z !== undefined) {
        cleanup();
        pcC.hangupBy = 'caller';
        this.complete(pc1, x, y, pcC, x, z, undefined);
        return;
      }
      cleanup();
      this.handOver(pc1, x, y, pcC, undefined);
    };
    x.prependOnceListener('ended', onXEnded);
    cleanups.push(() => x.off('ended', onXEnded));
    const onXDigit = (d: string): void => {
      if (d !== '*' || phase === 'done') return;
      log.info('consultation abandoned by the transferor');
      if (z !== undefined) void z.hangup();
      else pcC.settleRing?.({ kind: 'failed', status: 487 });
      back();
    };
    x.on('dtmf', onXDigit);
    cleanups.push(() => x.off('dtmf', onXDigit));
    const onYEnded = (): void => {
      if (phase === 'done') return;
      // The transferee left: the consultation becomes an ordinary call.
      cleanup();
      pc1.hangupBy ??= this.roleOf(pc1, y);
      this.b2bua.closeCall(pc1);
      if (z !== undefined) this.b2bua.join(pcC);
      else pcC.handOver?.(pcC).then((o) => o.kind === 'answered' && this.occupyTarget(pcC, o.target), () => undefined);
    };
    y.once('ended', onYEnded);
    cleanups.push(() => y.off('ended', onYEnded));
    const onAnswer = (leg: Call, target: RingTarget): void => {
      pcC.outbound = leg;
      pcC.answeredBy = target.label;
      if (phase !== 'ringing' || x.hasEnded) return;
      phase = 'talking';
      z = leg;
      x.stopPlayback();
      x.bridge(leg, { hangupTogether: false });
      const onZEnded = (): void => {
        if (phase !== 'talking') return;
        pcC.hangupBy = 'callee';
        back();
      };
      leg.once('ended', onZEnded);
      cleanups.push(() => leg.off('ended', onZEnded));
    };
    const outcome = await this.ringDestination(pcC, dest.tenant, dest.destination, undefined, { onAnswer });
    if (outcome.kind === 'failed' && phase === 'ringing') {
      log.info(`consultation call to ${number} failed: ${outcome.status}`);
      pcC.failStatus = outcome.status;
      back();
    }
  }
}

/** The other party of a joined call, if `leg` is one of its two parties. */
function otherParty(pc: PbxCall, leg: Call): Call | undefined {
  if (leg === pc.inbound) return pc.outbound;
  if (leg === pc.outbound) return pc.inbound;
  return undefined;
}
