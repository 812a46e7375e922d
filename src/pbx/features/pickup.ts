/**
 * Call pickup: answering, from your own phone, a call that rings another extension of your
 * tenant. Three ways in, all through the B2BUA's `featureCode` hook (it sees every device
 * call before routing):
 *
 * ```
 *   *8          group pickup: the oldest call ringing an extension of my pickupGroup (not mine)
 *   **1002      directed pickup: the oldest call ringing 1002 (same tenant)
 *   INVITE sip:1002@…  Replaces: <call-id>;to-tag=…;from-tag=…;early-only
 *               BLF pickup: the phone names the ringing leg from the dialog-info NOTIFY it got
 *               (RFC 4235, see dialog-events.ts); the UserAgent matched it to our early
 *               dialog with that phone (RFC 3891 §3, either tag order) and the Call has
 *               `replaces` set to that leg
 *        │
 *        └─► b2bua.pickup(ringingCall, picker, 'pickup:<picker>'): the ringing legs get CANCEL
 *            "Call completed elsewhere", the picker is answered and bridged to the caller
 * ```
 *
 * Nothing to pick up: 404 "Nothing to pick up". A Replaces naming a leg ringing in another
 * tenant: 403. A Replaces that names a call not ringing (an attended transfer's) is not ours:
 * the hook returns false and the next feature or the dial plan takes it.
 *
 * @example
 * ```ts
 * const pickup = pickupHooks(pbx);
 * const features: FeatureHooks = {
 *   featureCode: async (call, caller, dialled, pc) => (await pickup.featureCode(call, caller, dialled, pc)) || (await voicemail.featureCode(call, caller, dialled, pc)),
 * };
 * ```
 */
import type { Call } from '../../call/index.js';
import type { IncomingSession } from '../../sip/index.js';
import type { B2bua, Caller, FeatureHooks, PbxCall, RingTarget } from '../b2bua.js';
import type { TenantConfig } from '../config/index.js';
import type { Logger } from '../logger.js';
import type { TenantDirectory } from '../tenant-directory.js';

/**
 * What pickup needs from the PBX (a {@link Pbx} is one: its `directory` is read on every call,
 * so a reload's extensions and pickup groups apply at once).
 *
 * @example
 * ```ts
 * const context: PickupContext = pbx;
 * ```
 */
export interface PickupContext {
  readonly b2bua: Pick<B2bua, 'calls' | 'ringingFor' | 'pickup'>;
  readonly directory: TenantDirectory;
  readonly logger: Logger;
}

/** The reason phrase of the 404 when no call rings where the picker asked. */
export const NOTHING_TO_PICK_UP = 'Nothing to pick up';

/**
 * The PBX call and ring target of a leg still ringing (the leg a Replaces named), if any.
 *
 * @example
 * ```ts
 * const found = ringingLeg(pbx.b2bua.calls, call.replaces);
 * ```
 */
export function ringingLeg(calls: Iterable<PbxCall>, leg: Call): { pc: PbxCall; target: RingTarget } | undefined {
  for (const pc of calls) {
    const target = pc.ringing.get(leg);
    if (target !== undefined) return { pc, target };
  }
  return undefined;
}

/**
 * Calls ringing the extensions `numbers` of `tenant`, oldest first (by the caller's start),
 * each once.
 *
 * @example
 * ```ts
 * const [oldest] = ringingAt(pbx.b2bua, tenant, ['1002', '1004']);
 * ```
 */
export function ringingAt(b2bua: Pick<B2bua, 'ringingFor'>, tenant: TenantConfig, numbers: readonly string[]): PbxCall[] {
  const found = new Set<PbxCall>();
  for (const n of numbers) for (const pc of b2bua.ringingFor(tenant, n)) found.add(pc);
  return [...found].sort((a, b) => a.inbound.startTime - b.inbound.startTime);
}

/**
 * The pickup feature codes (see the file comment). `featureCode` returns true when it took
 * the call (picked up, or refused with 404/403), false when the dialled number is not a
 * pickup code and the call carries no Replaces of a ringing leg: compose it with others.
 *
 * @example
 * ```ts
 * const pbx = await Pbx.start({ config, features: (pbx) => pickupHooks(pbx) });
 * ```
 */
export function pickupHooks(context: PickupContext): Required<Pick<FeatureHooks, 'featureCode'>> {
  const refuse = (call: Call, pc: PbxCall, status: number, reason: string): true => {
    pc.failStatus = status;
    if (call.state === 'ringing' || call.state === 'early') (call.session as IncomingSession).reject(status, { reason });
    return true;
  };

  /** Tries the candidates in order (one may be answered or hung up meanwhile). */
  const pickFirst = async (candidates: readonly PbxCall[], call: Call, caller: Caller, pc: PbxCall, what: string): Promise<true> => {
    const log = context.logger.child({ tenant: caller.tenant.domain, callId: call.id });
    for (const ringing of candidates) {
      if (ringing === pc || ringing.inbound === call) continue;
      if (await context.b2bua.pickup(ringing, call, `pickup:${caller.number}`)) {
        log.info(`${caller.number} picked up ${what}: the call from ${ringing.caller.number} to ${ringing.dialled}`, { pickedUp: ringing.id });
        return true;
      }
      if (call.hasEnded || call.state === 'answered') return true;
    }
    log.info(`${caller.number} found nothing to pick up (${what})`);
    return refuse(call, pc, 404, NOTHING_TO_PICK_UP);
  };

  const featureCode = async (call: Call, caller: Caller, dialled: string, pc: PbxCall): Promise<boolean> => {
    if (caller.kind !== 'device' || caller.extension === undefined) return false;
    const tenant = caller.tenant;
    const directory = context.directory;

    // BLF pickup: an INVITE with Replaces naming a leg that rings a phone.
    const replaced = call.replaces;
    if (replaced !== undefined) {
      const found = ringingLeg(context.b2bua.calls, replaced);
      if (found === undefined) return false; // not a ringing leg: a transfer, for another feature
      if (!context.b2bua.ringingFor(tenant, found.target.label).includes(found.pc)) {
        context.logger.warn(`${caller.number} tried to pick up a call ringing in another tenant`, { tenant: tenant.domain, callId: call.id });
        return refuse(call, pc, 403, 'Not your tenant');
      }
      return pickFirst([found.pc], call, caller, pc, `${found.target.label} by Replaces`);
    }

    const codes = tenant.featureCodes;
    if (dialled === codes.groupPickup) {
      const group = caller.extension.pickupGroup;
      if (group === null) return refuse(call, pc, 404, NOTHING_TO_PICK_UP);
      const members = tenant.extensions.filter((e) => e.pickupGroup === group && e.number !== caller.extension!.number).map((e) => e.number);
      // Not a call the picker is making (another of its devices calling the group).
      const candidates = ringingAt(context.b2bua, tenant, members).filter((r) => r.caller.extension?.number !== caller.extension!.number || r.caller.tenant !== tenant);
      return pickFirst(candidates, call, caller, pc, `in group ${group}`);
    }
    const prefix = codes.directedPickup;
    if (prefix !== '' && dialled.startsWith(prefix) && dialled.length > prefix.length) {
      const number = dialled.slice(prefix.length);
      if (directory.extension(tenant, number) === undefined) return refuse(call, pc, 404, NOTHING_TO_PICK_UP);
      return pickFirst(ringingAt(context.b2bua, tenant, [number]), call, caller, pc, `at ${number}`);
    }
    return false;
  };

  return { featureCode };
}
