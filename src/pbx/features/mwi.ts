/**
 * Message waiting indication (RFC 3842): the lamp on a phone that says "you have voicemail".
 * Phones learn it two ways, and every mailbox change reaches both:
 *
 * - **Subscribed**: the phone sends SUBSCRIBE `Event: message-summary` for its own AoR
 *   (`sip:1001@demo.local`, or the voicemail number `sip:*97@demo.local`); the notifier of the
 *   user agent (RFC 6665, `eventPackages`) answers and NOTIFYs with {@link messageSummary}.
 *   Only the box's own extension may watch it: the From user must be the box (the PBX does not
 *   challenge SUBSCRIBE yet); anything else is ended at once with `terminated;reason=rejected`
 *   before any state is sent (or refused with 403 when {@link MessageWaiting.authorize} is
 *   given to the user agent as `authorizeSubscription`).
 * - **Unsolicited**: a registered device without such a subscription gets an out-of-dialog
 *   NOTIFY with `Event: message-summary` and `Subscription-State: active`, as Asterisk's
 *   res_pjsip_mwi sends it (many phones expect MWI this way and never subscribe).
 *
 * ```
 *   VoicemailStore 'changed' ──► update(tenant, box): count INBOX/Old
 *        ├─► NOTIFY in each subscription to the box           (ua.notify)
 *        └─► NOTIFY out of dialog to each other registered device of the extension
 *   PbxRegistrar 'registered' ──► unsolicited NOTIFY to that device (the lamp after a reboot)
 *   refreshAll() at start-up ──► update() for every mailbox on disk (no lamp stays stale)
 * ```
 *
 * Body (RFC 3842 §5.2; urgent counts are not kept, so always `(0/0)`):
 *
 * ```
 *   Messages-Waiting: yes
 *   Message-Account: sip:*97@demo.local
 *   Voice-Message: 2/8 (0/0)
 * ```
 *
 * @example
 * ```ts
 * const mwi = new MessageWaiting();
 * const pbx = await Pbx.start({ config, eventPackages: { [MESSAGE_SUMMARY_EVENT]: mwi.eventPackage }, features: (p) => {
 *   mwi.attach({ store, ua: p.ua, registrar: p.registrar, directory: () => p.directory });
 *   return voicemailHooks(app, () => p.directory);
 * } });
 * void store.recover().then(() => mwi.refreshAll());
 * ```
 */
import type { NotifierSubscription, EventPackage, InboundMessage, SipRequest, SubscriptionAuthorization, Uri, UserAgent } from '../../sip/index.js';
import { uriEquals } from '../../sip/index.js';
import type { TenantConfig } from '../config/index.js';
import type { Logger } from '../logger.js';
import type { DeviceContact, PbxRegistrar } from '../pbx-registrar.js';
import { TenantDirectory } from '../tenant-directory.js';
import type { TenantRef, VoicemailStore } from './voicemail-store.js';

/** The event package name (RFC 3842 §3.1). */
export const MESSAGE_SUMMARY_EVENT = 'message-summary';
/** Its body type (RFC 3842 §3.5). */
export const MESSAGE_SUMMARY_TYPE = 'application/simple-message-summary';

/** New (unheard) and old (saved) voice messages of a mailbox. */
export interface MessageCounts {
  new: number;
  old: number;
}

/**
 * The `application/simple-message-summary` body (RFC 3842 §5.2) for voice messages: waiting
 * when there are new ones, the account to call, `new/old (urgent new/urgent old)`.
 *
 * @example
 * ```ts
 * messageSummary({ new: 2, old: 8 }, 'sip:*97@demo.local');
 * // 'Messages-Waiting: yes\r\nMessage-Account: sip:*97@demo.local\r\nVoice-Message: 2/8 (0/0)\r\n'
 * ```
 */
export function messageSummary(counts: MessageCounts, account: string): string {
  return `Messages-Waiting: ${counts.new > 0 ? 'yes' : 'no'}\r\nMessage-Account: ${account}\r\nVoice-Message: ${counts.new}/${counts.old} (0/0)\r\n`;
}

/** What {@link MessageWaiting} works with once the PBX runs. */
export interface MessageWaitingDeps {
  store: VoicemailStore;
  ua: Pick<UserAgent, 'notifier' | 'notify' | 'on' | 'off' | 'endpoint'>;
  registrar: Pick<PbxRegistrar, 'contacts' | 'on' | 'off'>;
  /** The configuration in force (a function: reloads replace it). */
  directory: () => TenantDirectory;
  logger?: Logger;
}

/** A mailbox a subscription or a device is about. */
interface Target {
  tenant: TenantConfig;
  box: string;
}

/**
 * Message waiting for every mailbox (see the file comment). Create it before the user agent
 * (its {@link eventPackage} goes into `eventPackages`), then {@link attach} it to the running
 * PBX.
 */
export class MessageWaiting {
  /** The `message-summary` package: pass it as `eventPackages['message-summary']`. */
  readonly eventPackage: EventPackage;
  private deps: MessageWaitingDeps | undefined;
  /** Counts last read per mailbox (`box@domain`): NOTIFY bodies are rendered synchronously. */
  private readonly counts = new Map<string, MessageCounts>();
  /** Updates of a mailbox run one after another, so a NOTIFY never carries older counts than the one before. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly listeners: { off(): void }[] = [];

  constructor() {
    this.eventPackage = {
      contentType: MESSAGE_SUMMARY_TYPE,
      defaultExpires: 3600,
      state: (sub) => this.stateOf(sub),
    };
  }

  /** Starts following the store, the registrar and new subscriptions. */
  attach(deps: MessageWaitingDeps): void {
    this.detach();
    this.deps = deps;
    const onChanged = (tenant: string, box: string): void => void this.update(tenant, box);
    deps.store.on('changed', onChanged);
    this.listeners.push({ off: () => deps.store.off('changed', onChanged) });
    const onRegistered: Parameters<PbxRegistrar['on']>[1] = (tenant, number, binding) => void this.registered(tenant, number, binding.contact.uri);
    deps.registrar.on('registered', onRegistered);
    this.listeners.push({ off: () => deps.registrar.off('registered', onRegistered) });
    const onSubscribe = (sub: NotifierSubscription): void => this.subscribed(sub);
    deps.ua.on('subscribe', onSubscribe);
    this.listeners.push({ off: () => deps.ua.off('subscribe', onSubscribe) });
  }

  /** Stops following (the PBX is stopping). */
  detach(): void {
    for (const l of this.listeners.splice(0)) l.off();
    this.deps = undefined;
  }

  /**
   * For `UserAgentOptions.authorizeSubscription`: a `message-summary` SUBSCRIBE is accepted
   * only from the box's own extension (From user = box, same tenant) for a box with voicemail;
   * other packages are accepted (their own checks apply).
   */
  readonly authorize = (request: SipRequest, _inbound?: InboundMessage): SubscriptionAuthorization => {
    let event: string;
    try {
      event = request.event?.type ?? '';
    } catch {
      return 'reject'; // a malformed Event header
    }
    if (event !== MESSAGE_SUMMARY_EVENT) return 'accept';
    return this.targetOf(request.uri, request.from.uri) !== undefined ? 'accept' : 'reject';
  };

  /** The Message-Account of a tenant's mailboxes: its voicemail number. */
  static account(tenant: TenantConfig): string {
    return TenantDirectory.aor(tenant, tenant.featureCodes.voicemail);
  }

  /**
   * Reads a mailbox's counts and tells every subscription to it and every registered device
   * of the extension without one. Resolves when the NOTIFYs are sent (not answered).
   */
  update(tenant: TenantRef, box: string): Promise<void> {
    const domain = (typeof tenant === 'string' ? tenant : tenant.domain).toLowerCase();
    const key = boxKey(domain, box);
    const run = (this.queues.get(key) ?? Promise.resolve()).then(() => this.doUpdate(domain, box));
    const tail = run.catch((e: unknown) => this.deps?.logger?.warn(`MWI update of ${key} failed: ${(e as Error).message}`));
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return tail;
  }

  /** An update for every mailbox on disk (at start-up, after the store's recovery). */
  async refreshAll(): Promise<void> {
    const deps = this.deps;
    if (deps === undefined) return;
    await Promise.all((await deps.store.mailboxes()).map(({ tenant, box }) => this.update(tenant, box)));
  }

  // ------------------------------------------------------------------ internals

  private async doUpdate(domain: string, box: string): Promise<void> {
    const deps = this.deps;
    if (deps === undefined) return;
    const tenant = deps.directory().tenant(domain);
    const ext = tenant === undefined ? undefined : deps.directory().extension(tenant, box);
    if (tenant === undefined || ext === undefined || ext.voicemail === null) return;
    const counts = await deps.store.counts(domain, box);
    this.counts.set(boxKey(domain, box), counts);
    const body = messageSummary(counts, MessageWaiting.account(tenant));
    const watching: Uri[] = [];
    for (const sub of this.subscriptionsOf(tenant, box)) {
      deps.ua.notify(sub, body);
      watching.push(sub.dialog.remoteTarget);
    }
    for (const device of deps.registrar.contacts(tenant, box)) {
      if (watching.some((t) => sameDevice(t, device.binding.contact.uri))) continue;
      this.unsolicited(device, tenant, body);
    }
  }

  /** A device registered: its lamp, unless it subscribes (its subscription gets the state). */
  private async registered(tenant: TenantConfig, number: string, contact: Uri): Promise<void> {
    const deps = this.deps;
    if (deps === undefined) return;
    const ext = deps.directory().extension(tenant, number);
    if (ext === undefined || ext.voicemail === null) return;
    if (this.subscriptionsOf(tenant, number).some((s) => sameDevice(s.dialog.remoteTarget, contact))) return;
    const counts = await this.countsOf(tenant, number);
    const device = deps.registrar.contacts(tenant, number).find((c) => sameDevice(c.binding.contact.uri, contact));
    if (device !== undefined) this.unsolicited(device, tenant, messageSummary(counts, MessageWaiting.account(tenant)));
  }

  private unsolicited(device: DeviceContact, tenant: TenantConfig, body: string): void {
    const deps = this.deps;
    if (deps === undefined) return;
    const log = deps.logger;
    void deps.ua.endpoint
      .request('NOTIFY', device.uri, {
        destination: device.destination,
        from: MessageWaiting.account(tenant),
        headers: [
          ['Event', MESSAGE_SUMMARY_EVENT],
          ['Subscription-State', 'active'],
        ],
        body,
        contentType: MESSAGE_SUMMARY_TYPE,
        authenticate: false,
      })
      .then(
        (outcome) => {
          if (outcome.kind !== 'response') log?.debug(`MWI NOTIFY to ${device.uri}: ${outcome.kind}`, { tenant: tenant.domain });
          else if (outcome.response.status >= 300) log?.debug(`MWI NOTIFY to ${device.uri}: ${outcome.response.status}`, { tenant: tenant.domain });
        },
        (e: unknown) => log?.warn(`MWI NOTIFY to ${device.uri} not sent: ${(e as Error).message}`, { tenant: tenant.domain }),
      );
  }

  /** A new subscription: refused when not the box's own extension; counts loaded when not known yet. */
  private subscribed(sub: NotifierSubscription): void {
    if (sub.event !== MESSAGE_SUMMARY_EVENT) return;
    const deps = this.deps;
    const target = this.targetOf(sub.resource, sub.subscriber.uri);
    if (target === undefined) {
      // Before the immediate NOTIFY goes: the only NOTIFY is the final one, without the state.
      deps?.ua.notifier?.terminate(sub, 'rejected');
      deps?.logger?.info(`MWI subscription to ${sub.resource.toString()} from ${sub.subscriber.uri.toString()} refused`);
      return;
    }
    if (!this.counts.has(boxKey(target.tenant.domain, target.box))) void this.countsOf(target.tenant, target.box).then(() => deps?.ua.notify(sub));
  }

  /** The NOTIFY body of a subscription (the package's `state`). */
  private stateOf(sub: NotifierSubscription): string | undefined {
    const target = this.targetOf(sub.resource, sub.subscriber.uri);
    if (target === undefined) return undefined;
    const counts = this.counts.get(boxKey(target.tenant.domain, target.box)) ?? { new: 0, old: 0 };
    return messageSummary(counts, MessageWaiting.account(target.tenant));
  }

  private async countsOf(tenant: TenantConfig, box: string): Promise<MessageCounts> {
    const key = boxKey(tenant.domain, box);
    const known = this.counts.get(key);
    if (known !== undefined || this.deps === undefined) return known ?? { new: 0, old: 0 };
    const counts = await this.deps.store.counts(tenant, box);
    this.counts.set(key, counts);
    return counts;
  }

  /**
   * The mailbox a subscription is for, when the subscriber may watch it: the resource's user
   * is the box (or the voicemail number: then the subscriber's own box), the subscriber's From
   * user is that box, in the same tenant, and the box has voicemail.
   */
  private targetOf(resource: Uri, subscriber: Uri): Target | undefined {
    const directory = this.deps?.directory();
    if (directory === undefined || resource.kind !== 'sip' || subscriber.kind !== 'sip') return undefined;
    const tenant = directory.tenantFor(resource.host);
    if (tenant === undefined || directory.tenantFor(subscriber.host) !== tenant) return undefined;
    const from = subscriber.user ?? '';
    const box = resource.user === tenant.featureCodes.voicemail ? from : (resource.user ?? '');
    if (box === '' || box !== from) return undefined;
    const ext = directory.extension(tenant, box);
    if (ext === undefined || ext.voicemail === null) return undefined;
    return { tenant, box };
  }

  private subscriptionsOf(tenant: TenantConfig, box: string): NotifierSubscription[] {
    const notifier = this.deps?.ua.notifier;
    if (notifier === undefined) return [];
    const out: NotifierSubscription[] = [];
    for (const sub of notifier.subscriptions()) {
      if (sub.event !== MESSAGE_SUMMARY_EVENT || sub.state !== 'active') continue;
      const t = this.targetOf(sub.resource, sub.subscriber.uri);
      if (t !== undefined && t.tenant === tenant && t.box === box) out.push(sub);
    }
    return out;
  }
}

/** The same device: the subscription's remote target and the registered Contact are one URI (or one user, host and port). */
function sameDevice(a: Uri, b: Uri): boolean {
  if (uriEquals(a, b)) return true;
  if (a.kind !== 'sip' || b.kind !== 'sip') return false;
  return a.user === b.user && a.host.toLowerCase() === b.host.toLowerCase() && (a.port ?? 5060) === (b.port ?? 5060);
}

/** The key of a mailbox in the counts and the update queues: `box@domain`. */
function boxKey(domain: string, box: string): string {
  return `${box}@${domain}`;
}
