/**
 * The standard feature set of the PBX, composed: hunt groups, call pickup (`*8`, `**ext`,
 * BLF pickup by Replaces), voicemail (`*97`, `*98`, busy/no-answer boxes) with message
 * waiting (RFC 3842), and the dialog-event package for BLF lamps (RFC 4235). Transfers are
 * built into the B2BUA (features/transfer.ts).
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
import type { FeatureHooks } from '../b2bua.js';
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
        const app = new VoicemailApp({ store, directory: () => pbx.directory, logger: pbx.logger });
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
          ...(vm.voicemail === undefined ? {} : { voicemail: vm.voicemail }),
          group: (b2bua, pc, tenant, number) => hunt.ring(b2bua, pc, tenant, number),
        };
      },
    },
  };
  return result;
}
