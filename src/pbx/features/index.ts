/**
 * The standard feature set of the PBX, composed: hunt groups, call pickup (`*8`, `**ext`,
 * BLF pickup by Replaces), voicemail (`*97`, `*98`, busy/no-answer boxes, `0` in the greeting
 * to the tenant's operator) with message waiting (RFC 3842), and the dialog-event package for
 * BLF lamps (RFC 4235). Transfers are built into the B2BUA (features/transfer.ts).
 *
 * The event packages must exist when the user agent starts, and the features need the running
 * PBX, so this comes in two halves: {@link standardFeatures} makes the packages and a
 * `features` function; `Pbx.start` calls it with the PBX.
 *
 * @example
 * ```ts
 * const features = standardFeatures();
 * const pbx = await Pbx.start({ config, ...features.pbxOptions });
 * ```
 */
import { join } from 'node:path';
import type { SipRequest, InboundMessage, SubscriptionAuthorization, EventPackage } from '../../sip/index.js';
import type { Call } from '../../call/index.js';
import type { FeatureHooks, PbxCall } from '../b2bua.js';
import type { TenantConfig } from '../config/index.js';
import type { Pbx } from '../pbx.js';
import { DialogEventPackage } from './dialog-events.js';
import { HuntGroups } from './hunt-group.js';
import { MessageWaiting, MESSAGE_SUMMARY_EVENT } from './mwi.js';
import { pickupHooks } from './pickup.js';
import { VoicemailApp, voicemailHooks } from './voicemail-app.js';
import { VoicemailStore } from './voicemail-store.js';

/**
 * What {@link standardFeatures} gives `Pbx.start`, and the parts for tests and the admin side.
 *
 * @example
 * ```ts
 * const { pbxOptions, blf } = standardFeatures();
 * ```
 */
export interface StandardFeatures {
  /** Spread into `Pbx.start`'s options. */
  pbxOptions: {
    eventPackages: Record<string, EventPackage>;
    authorizeSubscription: (request: SipRequest, inbound: InboundMessage) => SubscriptionAuthorization;
    features: (pbx: Pbx) => FeatureHooks;
  };
  blf: DialogEventPackage;
  mwi: MessageWaiting;
  hunt: HuntGroups;
  /** Set once the PBX has started. */
  voicemail: { store: VoicemailStore; app: VoicemailApp } | undefined;
}

/**
 * Hunt groups, pickup, voicemail with MWI and BLF, ready for `Pbx.start`.
 *
 * @example
 * ```ts
 * const pbx = await Pbx.start({ config, ...standardFeatures().pbxOptions });
 * ```
 */
export function standardFeatures(): StandardFeatures {
  const blf = new DialogEventPackage();
  const mwi = new MessageWaiting();
  const hunt = new HuntGroups();
  const result: StandardFeatures = {
    blf,
    mwi,
    hunt,
    voicemail: undefined,
    pbxOptions: {
      eventPackages: { dialog: blf, [MESSAGE_SUMMARY_EVENT]: mwi.eventPackage },
      // Each package decides who may watch what; a SUBSCRIBE to another package cannot get here.
      authorizeSubscription: (request, inbound) => {
        let event = '';
        try {
          event = request.event?.type ?? '';
        } catch {
          return 'reject';
        }
        if (event === 'dialog') return blf.authorize(request, inbound);
        if (event === MESSAGE_SUMMARY_EVENT) return mwi.authorize(request, inbound);
        return 'accept';
      },
      features: (pbx) => {
        const store = new VoicemailStore(join(pbx.dataDir, 'voicemail'));
        const reachingOperator = new WeakSet<PbxCall>();
        const app = new VoicemailApp({
          store,
          directory: () => pbx.directory,
          logger: pbx.logger,
          onOperator: (call, tenant, pc) => connectOperator(pbx, reachingOperator, call, tenant, pc),
        });
        result.voicemail = { store, app };
        blf.attach(pbx);
        mwi.attach({ store, ua: pbx.ua, registrar: pbx.registrar, directory: () => pbx.directory, logger: pbx.logger });
        void store
          .recover()
          .then(() => mwi.refreshAll())
          .catch((e: unknown) => pbx.logger.error(`voicemail recovery: ${(e as Error).message}`));
        const pickup = pickupHooks(pbx);
        const vm = voicemailHooks(app, () => pbx.directory);
        return {
          // Pickup first: it declines a Replaces that is not a ringing call, for the transfers.
          featureCode: async (call, caller, dialled, pc) => (await pickup.featureCode(call, caller, dialled, pc)) || (vm.featureCode !== undefined && (await vm.featureCode(call, caller, dialled, pc))),
          // A caller on the way to the operator comes from a mailbox: no other one takes the call.
          ...(vm.voicemail === undefined ? {} : { voicemail: async (call, tenant, mailbox, reason, pc) => !reachingOperator.has(pc) && (await vm.voicemail!(call, tenant, mailbox, reason, pc)) }),
          group: (b2bua, pc, tenant, number) => hunt.ring(b2bua, pc, tenant, number),
        };
      },
    },
  };
  return result;
}

/**
 * `0` in a voicemail greeting: the caller, already answered by the voicemail, is connected to
 * the tenant's `operator` as a call to it would be (`B2bua.connect`: an extension rings its
 * phones for its `noAnswerSeconds`, a group hunts, an external number goes out through the
 * routes), hearing ringback meanwhile. On answer the two are joined like any call. Resolves
 * true when the call is taken (answered, or the caller hung up), false when nobody answered:
 * the ringback stops and the voicemail goes on to the beep. No mailbox takes the call on the
 * way (the operator's own, a group's voicemail failover: `reaching` makes the voicemail hook
 * decline), since the caller is leaving a message already; and the B2BUA's refusal of a
 * failed destination does nothing to an answered call, so the caller is never left in silence.
 */
async function connectOperator(pbx: Pbx, reaching: WeakSet<PbxCall>, call: Call, tenant: TenantConfig, pc: PbxCall): Promise<boolean> {
  const operator = tenant.operator;
  if (operator === null || call.hasEnded) return call.hasEnded;
  const failStatus = pc.failStatus;
  reaching.add(pc);
  // Stopped by the bridge on answer, or below; a failure to play only costs the tone.
  void call.play({ tone: 'ringback' }, { loop: true }).catch(() => undefined);
  try {
    await pbx.b2bua.connect(pc, tenant, operator, 1);
  } finally {
    reaching.delete(pc);
  }
  if (call.hasEnded || (pc.outbound !== undefined && !pc.outbound.hasEnded)) return true;
  call.stopPlayback();
  // The message is what this call becomes, not the operator's "no answer".
  pc.failStatus = failStatus;
  return false;
}
