/**
 * BLF (busy lamp field): the RFC 4235 `dialog` event package. A phone subscribes to an
 * extension of its tenant (`SUBSCRIBE sip:1002@demo.local`, `Event: dialog`) and gets a NOTIFY
 * with an `application/dialog-info+xml` body whenever a call of that extension is tried,
 * rings, is answered or ends — the lamp, and what BLF pickup needs (call-id and tags).
 *
 * ```
 *   B2bua 'leg' (trying|early|confirmed|terminated, initiator|recipient)
 *      │   one record per leg between the PBX and a phone of the extension
 *      ▼
 *   DialogEventPackage ── per subscription: version, changed dialogs ──► ua.notify(sub)
 *      first NOTIFY (and after each refresh): state="full"  (every active dialog, ≤ maxDialogs)
 *      then:                                  state="partial" (the dialogs that changed;
 *                                              an ended one once, as <state>terminated</state>)
 * ```
 *
 * **Tags (RFC 4235 §4.1.6).** `local-tag`/`remote-tag` are those of the dialog *at the
 * observed phone*: we observe the dialog between the extension's phone and the PBX, so
 * `local-tag` is the phone's tag (the To tag of its 1xx/2xx when it is rung, the From tag of
 * its INVITE when it calls) and `remote-tag` the PBX's. A phone that picks the call up turns
 * them round into `Replaces: <call-id>;to-tag=<remote-tag>;from-tag=<local-tag>` for an INVITE
 * to the PBX — RFC 3891 §3's match at the PBX (to-tag = our tag), which the UserAgent accepts
 * for an early dialog of ours in either order, for phones that do not turn them round.
 *
 * **Who may subscribe.** The subscriber's From must be an extension of the watched
 * extension's tenant (same domain; an IP address stands for the default tenant), and by
 * default one registered from the address the SUBSCRIBE came from (the notifier does not
 * challenge SUBSCRIBE, so this is what stands in for authentication). Pass
 * {@link DialogEventPackage.authorize} as the UserAgent's `authorizeSubscription` for a 403;
 * without it a refused subscription is ended at once (`terminated;reason=rejected`) before
 * any state is sent.
 *
 * NOTIFYs go out one at a time per subscription: changes made while one is outstanding wait
 * for its answer and leave together, so no partial document (and no version) is lost.
 *
 * @example
 * ```ts
 * const blf = new DialogEventPackage();
 * const pbx = await Pbx.start({ config, eventPackages: { dialog: blf } });
 * blf.attach(pbx);
 * ```
 */
import { isIP } from 'node:net';
import type { Call } from '../../call/index.js';
import {
  parseUri,
  type InboundMessage,
  type NameAddr,
  type NotifierEvents,
  type NotifierSubscription,
  type SipRequest,
  type SipResponse,
  type SubscriptionAuthorization,
  type Uri,
  type UserAgent,
} from '../../sip/index.js';
import type { B2bua, LegEvent, PbxCall } from '../b2bua.js';
import type { ExtensionConfig, TenantConfig } from '../config/index.js';
import type { PbxRegistrar } from '../pbx-registrar.js';
import { TenantDirectory } from '../tenant-directory.js';

/** The Content-Type of the package's bodies (RFC 4235 §4.1). */
export const DIALOG_INFO_TYPE = 'application/dialog-info+xml';

/** RFC 4235 dialog states as the B2BUA reports them. */
export type DialogEventState = LegEvent['state'];

/**
 * One `<dialog>` of a dialog-info document.
 *
 * @example
 * ```ts
 * const d: DialogInfoEntry = { id: 'd1', callId: 'a@pbx', localTag: 'p1', remoteTag: 'x9', direction: 'recipient', state: 'early' };
 * ```
 */
export interface DialogInfoEntry {
  id: string;
  callId?: string;
  localTag?: string;
  remoteTag?: string;
  direction: 'initiator' | 'recipient';
  state: DialogEventState;
  /** `<state event="…">` of a terminated dialog (cancelled, rejected, replaced, local-bye, remote-bye, timeout). */
  event?: string;
  /** Duration in seconds so far (`<duration>`). */
  duration?: number;
  local?: { uri: string; display?: string };
  remote?: { uri: string; display?: string };
}

/**
 * A whole dialog-info document.
 *
 * @example
 * ```ts
 * dialogInfoXml({ entity: 'sip:1002@demo.local', version: 0, state: 'full', dialogs: [] });
 * ```
 */
export interface DialogInfoDocument {
  entity: string;
  version: number;
  state: 'full' | 'partial';
  dialogs: readonly DialogInfoEntry[];
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === '"' ? '&quot;' : '&apos;'));
}

function participant(tag: 'local' | 'remote', p: { uri: string; display?: string } | undefined): string {
  if (p === undefined) return '';
  const display = p.display === undefined || p.display === '' ? '' : ` display="${escapeXml(p.display)}"`;
  return `<${tag}><identity${display}>${escapeXml(p.uri)}</identity><target uri="${escapeXml(p.uri)}"/></${tag}>`;
}

/**
 * Serializes a dialog-info document (RFC 4235 §4.1), one element per line.
 *
 * @example
 * ```ts
 * const body = dialogInfoXml({ entity: 'sip:1002@demo.local', version: 3, state: 'partial', dialogs: [entry] });
 * ```
 */
export function dialogInfoXml(doc: DialogInfoDocument): string {
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="${doc.version}" state="${doc.state}" entity="${escapeXml(doc.entity)}">`,
  ];
  for (const d of doc.dialogs) {
    let attrs = ` id="${escapeXml(d.id)}"`;
    if (d.callId !== undefined) attrs += ` call-id="${escapeXml(d.callId)}"`;
    if (d.localTag !== undefined) attrs += ` local-tag="${escapeXml(d.localTag)}"`;
    if (d.remoteTag !== undefined) attrs += ` remote-tag="${escapeXml(d.remoteTag)}"`;
    attrs += ` direction="${d.direction}"`;
    const event = d.event === undefined ? '' : ` event="${d.event}"`;
    const duration = d.duration === undefined ? '' : `<duration>${Math.max(0, Math.floor(d.duration))}</duration>`;
    lines.push(`<dialog${attrs}><state${event}>${d.state}</state>${duration}${participant('local', d.local)}${participant('remote', d.remote)}</dialog>`);
  }
  lines.push('</dialog-info>', '');
  return lines.join('\r\n');
}

/**
 * What the package needs from the PBX ({@link Pbx} is one; `directory` is read each time so a
 * reload applies).
 *
 * @example
 * ```ts
 * const host: DialogEventHost = pbx;
 * ```
 */
export interface DialogEventHost {
  readonly b2bua: Pick<B2bua, 'on' | 'off'>;
  readonly ua: UserAgent;
  readonly directory: TenantDirectory;
  readonly registrar: Pick<PbxRegistrar, 'contacts'>;
}

/**
 * Options of {@link DialogEventPackage}.
 *
 * @example
 * ```ts
 * new DialogEventPackage({ maxDialogs: 4, requireRegistered: true });
 * ```
 */
export interface DialogEventOptions {
  /** Most `<dialog>` elements in one body (the most recent first to stay). Default 8. */
  maxDialogs?: number;
  /**
   * The subscriber must be a registered device: a binding of its From extension from the
   * SUBSCRIBE's source address (or the host of its Contact). Default true; false only checks
   * that From is an extension of the same tenant.
   */
  requireRegistered?: boolean;
  /** Expires of a SUBSCRIBE without one (default 3600 s). */
  defaultExpires?: number;
  /** Clock for `<duration>` (default `Date.now`). */
  now?: () => number;
}

/** One leg between the PBX and a phone of an extension. */
interface LegRecord {
  readonly id: string;
  readonly leg: Call;
  readonly pc: PbxCall;
  readonly tenant: TenantConfig;
  readonly number: string;
  readonly role: 'initiator' | 'recipient';
  state: DialogEventState;
  /** The phone's tag when the PBX called it (the To tag of its latest 1xx with one). */
  phoneTag: string | undefined;
  readonly start: number;
  unwatch: (() => void) | undefined;
}

/** What one subscription has been told. */
interface WatchState {
  readonly key: string;
  readonly entity: string;
  version: number;
  /** The next body is full state (first NOTIFY, after a refresh, or after too many changes). */
  full: boolean;
  /** Dialogs changed since the last body, by id (ended ones kept until told). */
  readonly changed: Map<string, LegRecord>;
  /** A change waits for the outstanding NOTIFY's answer. */
  dirty: boolean;
}

function extensionKey(tenant: TenantConfig, number: string): string {
  return `${number}@${tenant.domain.toLowerCase()}`;
}

function hostOf(uri: Uri | string): string | undefined {
  try {
    const u = typeof uri === 'string' ? parseUri(uri) : uri;
    return u.kind === 'sip' ? u.host.replace(/^\[|\]$/g, '').toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}

function endEvent(leg: Call, role: 'initiator' | 'recipient'): string | undefined {
  switch (leg.end?.reason) {
    case 'cancelled':
    case 'no-answer':
      return 'cancelled';
    case 'rejected':
      return 'rejected';
    case 'replaced':
      return 'replaced';
    // Seen from the phone (RFC 4235 §4.1.6): its own BYE is local-bye, the PBX's remote-bye.
    case 'remote-hangup':
      return 'local-bye';
    case 'hangup':
    case 'transferred':
      return 'remote-bye';
    case 'media-timeout':
    case 'session-expired':
      return 'timeout';
    default:
      return role === 'initiator' ? undefined : 'error';
  }
}

/**
 * The `dialog` event package (see the file comment). Register it in `eventPackages` before
 * the PBX starts, then {@link attach} the running PBX.
 *
 * @example
 * ```ts
 * const blf = new DialogEventPackage({ maxDialogs: 8 });
 * const pbx = await Pbx.start({ config, eventPackages: { dialog: blf } });
 * blf.attach(pbx);
 * ```
 */
export class DialogEventPackage {
  /** The Content-Type of NOTIFY bodies. */
  readonly contentType = DIALOG_INFO_TYPE;
  readonly defaultExpires: number;
  readonly maxDialogs: number;
  private readonly requireRegistered: boolean;
  private readonly now: () => number;
  private host: DialogEventHost | undefined;
  private detachFn: (() => void) | undefined;
  /** Active legs by extension key (`1002@demo.local`), in the order they started. */
  private readonly legs = new Map<string, Map<Call, LegRecord>>();
  /** Subscriptions by the extension key they watch. */
  private readonly watchers = new Map<string, Set<NotifierSubscription>>();
  private readonly watches = new WeakMap<NotifierSubscription, WatchState>();
  /** Extension keys with changes not yet handed to their watchers (flushed in a microtask). */
  private readonly pending = new Set<string>();
  private flushQueued = false;
  /** The subscription whose NOTIFY we are sending now (its body may be partial). */
  private sending: NotifierSubscription | undefined;
  /** The SUBSCRIBE authorize() accepted last (the subscription it creates follows at once). */
  private accepted: { callId: string; fromTag: string } | undefined;
  private nextId = 0;

  constructor(options: DialogEventOptions = {}) {
    this.maxDialogs = options.maxDialogs ?? 8;
    if (!Number.isInteger(this.maxDialogs) || this.maxDialogs < 1) throw new RangeError('maxDialogs must be a positive integer');
    this.defaultExpires = options.defaultExpires ?? 3600;
    this.requireRegistered = options.requireRegistered ?? true;
    this.now = options.now ?? Date.now;
  }

  /**
   * Starts following the PBX's calls and subscriptions. The package must be one of the
   * UserAgent's `eventPackages` (throws otherwise). Calls already in progress are not seen.
   */
  attach(host: DialogEventHost): void {
    if (this.host !== undefined) throw new Error('DialogEventPackage is attached already');
    const notifier = host.ua.notifier;
    if (notifier === undefined) throw new Error('DialogEventPackage: the user agent serves no event packages; pass it in eventPackages');
    this.host = host;
    const onLeg = (e: LegEvent): void => this.leg(e);
    const onSubscribe = (sub: NotifierSubscription): void => this.subscribed(sub);
    const onEnded = (sub: NotifierSubscription): void => this.unwatch(sub);
    host.b2bua.on('leg', onLeg);
    host.ua.on('subscribe', onSubscribe);
    host.ua.on('subscription-terminated', onEnded);
    // Changes wait for the outstanding NOTIFY (see send): chain the notifier's answer hook.
    const events = notifier.events;
    const chained: NotifierEvents = {
      ...events,
      onNotifyAnswered: (sub, res) => {
        events.onNotifyAnswered?.(sub, res);
        this.answered(sub);
      },
    };
    notifier.events = chained;
    this.detachFn = () => {
      host.b2bua.off('leg', onLeg);
      host.ua.off('subscribe', onSubscribe);
      host.ua.off('subscription-terminated', onEnded);
      if (notifier.events === chained) notifier.events = events;
    };
  }

  /** Stops following the PBX (subscriptions stay; their NOTIFYs stop). */
  detach(): void {
    this.detachFn?.();
    this.detachFn = undefined;
    this.host = undefined;
    for (const legs of this.legs.values()) for (const r of legs.values()) r.unwatch?.();
    this.legs.clear();
    this.pending.clear();
  }

  /**
   * Who may subscribe (give it to the UserAgent as `authorizeSubscription`): `reject` (403)
   * for a `dialog` subscription to something that is not an extension, or from someone who is
   * not a device of that extension's tenant; other packages are not this one's business.
   */
  readonly authorize = (request: SipRequest, inbound: InboundMessage): SubscriptionAuthorization => {
    const event = request.get('Event')?.split(';')[0]?.trim().toLowerCase();
    if (event !== 'dialog') return 'accept';
    const ok = this.mayWatch(request.uri, request.from, [inbound.source.address]);
    const fromTag = request.from.tag;
    this.accepted = ok && fromTag !== undefined ? { callId: request.callId, fromTag } : undefined;
    return ok ? 'accept' : 'reject';
  };

  /** The dialogs of an extension now, as its subscribers would be told (for tests and the console). */
  dialogs(tenant: TenantConfig, number: string): DialogInfoEntry[] {
    const records = this.legs.get(extensionKey(tenant, number));
    return records === undefined ? [] : [...records.values()].map((r) => this.entry(r));
  }

  /** The body of a NOTIFY (the notifier calls it; see the file comment). */
  state(sub: NotifierSubscription): string | undefined {
    const watch = this.watchOf(sub);
    if (watch === undefined) return undefined;
    const mine = this.sending === sub;
    let state: 'full' | 'partial' = 'partial';
    let records: LegRecord[];
    if (!mine || watch.full || watch.changed.size > this.maxDialogs) {
      // The notifier's own NOTIFYs (first, refresh, unsubscribe) carry the full state.
      state = 'full';
      records = [...(this.legs.get(watch.key)?.values() ?? [])].slice(-this.maxDialogs);
    } else {
      records = [...watch.changed.values()];
    }
    watch.full = false;
    watch.changed.clear();
    const version = watch.version++;
    return dialogInfoXml({ entity: watch.entity, version, state, dialogs: records.map((r) => this.entry(r)) });
  }

  // ------------------------------------------------------------------ subscriptions

  /** The watched extension of a resource URI, if it is one. */
  private extensionOf(resource: Uri): { tenant: TenantConfig; ext: ExtensionConfig } | undefined {
    const directory = this.host?.directory;
    if (directory === undefined || resource.kind !== 'sip' || resource.user === undefined) return undefined;
    const tenant = tenantOfHost(directory, resource.host);
    const ext = tenant === undefined ? undefined : directory.extension(tenant, resource.user);
    return tenant === undefined || ext === undefined ? undefined : { tenant, ext };
  }

  /** The authorization rule (see the file comment); `addresses`: where the subscriber is. */
  private mayWatch(resource: Uri, subscriber: NameAddr, addresses: readonly string[]): boolean {
    const host = this.host;
    const watched = this.extensionOf(resource);
    if (host === undefined || watched === undefined) return false;
    const from = subscriber.uri;
    if (from.kind !== 'sip' || from.user === undefined) return false;
    if (tenantOfHost(host.directory, from.host) !== watched.tenant) return false;
    if (host.directory.extension(watched.tenant, from.user) === undefined) return false;
    if (!this.requireRegistered) return true;
    const wanted = new Set(addresses.map((a) => a.replace(/^\[|\]$/g, '').toLowerCase()));
    return host.registrar.contacts(watched.tenant, from.user).some((c) => wanted.has(c.destination.address.toLowerCase()) || wanted.has(hostOf(c.uri) ?? ''));
  }

  /** The watch of an authorized subscription (made on first use); undefined when refused. */
  private watchOf(sub: NotifierSubscription): WatchState | undefined {
    const known = this.watches.get(sub);
    if (known !== undefined) return known;
    const accepted = this.accepted;
    this.accepted = undefined;
    const id = sub.dialog.id;
    const byAuthorize = accepted !== undefined && accepted.callId === id.callId && accepted.fromTag === id.remoteTag;
    if (!byAuthorize && !this.mayWatch(sub.resource, sub.subscriber, contactHostsOf(sub))) return undefined;
    const watched = this.extensionOf(sub.resource);
    if (watched === undefined) return undefined;
    const watch: WatchState = {
      key: extensionKey(watched.tenant, watched.ext.number),
      entity: TenantDirectory.aor(watched.tenant, watched.ext.number),
      version: 0,
      full: true,
      changed: new Map(),
      dirty: false,
    };
    this.watches.set(sub, watch);
    return watch;
  }

  private subscribed(sub: NotifierSubscription): void {
    if (sub.event !== 'dialog') return;
    const watch = this.watchOf(sub);
    if (watch === undefined) {
      // authorizeSubscription was not wired (or the rule changed): end it before any state leaves.
      this.host?.ua.notifier?.terminate(sub, 'rejected');
      return;
    }
    let set = this.watchers.get(watch.key);
    if (set === undefined) this.watchers.set(watch.key, (set = new Set()));
    set.add(sub);
  }

  private unwatch(sub: NotifierSubscription): void {
    const watch = this.watches.get(sub);
    if (watch === undefined) return;
    this.watches.delete(sub);
    const set = this.watchers.get(watch.key);
    set?.delete(sub);
    if (set?.size === 0) this.watchers.delete(watch.key);
  }

  // ------------------------------------------------------------------ legs

  private leg(e: LegEvent): void {
    const host = this.host;
    if (host === undefined) return;
    // A callee's tenant is the domain of the To of our INVITE (a call across tenants rings
    // the other tenant's extension); the caller's is the call's.
    let tenant = e.tenant;
    if (e.role === 'recipient') {
      const to = e.leg.session.request.to.uri;
      const named = to.kind === 'sip' ? host.directory.tenant(to.host) : undefined;
      if (named !== undefined) tenant = named;
    }
    if (host.directory.extension(tenant, e.extension) === undefined) return; // trunks, pickups
    const key = extensionKey(tenant, e.extension);
    let records = this.legs.get(key);
    let record = records?.get(e.leg);
    if (record === undefined) {
      if (e.state === 'terminated') return;
      record = { id: `d${++this.nextId}`, leg: e.leg, pc: e.pc, tenant, number: e.extension, role: e.role, state: e.state, phoneTag: undefined, start: this.now(), unwatch: undefined };
      this.follow(record);
      if (records === undefined) this.legs.set(key, (records = new Map()));
      records.set(e.leg, record);
    }
    record.state = e.state;
    if (e.state === 'terminated') {
      record.unwatch?.();
      record.unwatch = undefined;
      records?.delete(e.leg);
      if (records?.size === 0) this.legs.delete(key);
    }
    for (const sub of this.watchers.get(key) ?? []) {
      const watch = this.watches.get(sub);
      if (watch === undefined) continue;
      watch.changed.set(record.id, record);
      // Too many changes for one partial body: send the full state instead.
      if (watch.changed.size > this.maxDialogs) {
        watch.full = true;
        watch.changed.clear();
      }
    }
    this.pending.add(key);
    if (!this.flushQueued) {
      this.flushQueued = true;
      // After the listeners of the same response (the session's own, which learn its To tag).
      queueMicrotask(() => this.flush());
    }
  }

  /** The phone's tag of a leg the PBX placed: the To tag of its provisional responses. */
  private follow(record: LegRecord): void {
    const session = record.leg.session;
    if (session.direction !== 'outgoing') return;
    const onProgress = (res: SipResponse): void => {
      const tag = res.to.tag;
      if (res.status > 100 && tag !== undefined) record.phoneTag = tag;
    };
    session.on('progress', onProgress);
    record.unwatch = () => session.off('progress', onProgress);
  }

  private flush(): void {
    this.flushQueued = false;
    const keys = [...this.pending];
    this.pending.clear();
    for (const key of keys) for (const sub of this.watchers.get(key) ?? []) this.send(sub);
  }

  /** Sends the changes now, or once the outstanding NOTIFY is answered. */
  private send(sub: NotifierSubscription): void {
    const watch = this.watches.get(sub);
    const ua = this.host?.ua;
    if (watch === undefined || ua === undefined) return;
    if (sub.notifying) {
      watch.dirty = true;
      return;
    }
    watch.dirty = false;
    this.sending = sub;
    try {
      ua.notify(sub);
    } finally {
      this.sending = undefined;
    }
  }

  private answered(sub: NotifierSubscription): void {
    const watch = this.watches.get(sub);
    if (watch?.dirty === true && !sub.notifying) this.send(sub);
  }

  /** A leg as a `<dialog>`, from the phone's point of view (see the file comment). */
  private entry(r: LegRecord): DialogInfoEntry {
    const session = r.leg.session;
    const dialog = session.dialog;
    let phoneTag: string | undefined;
    let pbxTag: string | undefined;
    if (session.direction === 'outgoing') {
      pbxTag = session.request.from.tag;
      phoneTag = dialog?.id.remoteTag ?? r.phoneTag;
    } else {
      phoneTag = session.request.from.tag;
      pbxTag = dialog?.id.localTag;
    }
    const directory = this.host?.directory;
    const local = { uri: TenantDirectory.aor(r.tenant, r.number), ...optionalDisplay(directory?.extension(r.tenant, r.number)?.name) };
    let remote: { uri: string; display?: string };
    const pc = r.pc;
    if (r.role === 'recipient') {
      remote = { uri: TenantDirectory.aor(pc.caller.tenant, pc.caller.number), ...optionalDisplay(pc.caller.name) };
    } else {
      const callee = directory?.extension(r.tenant, pc.dialled);
      remote = { uri: TenantDirectory.aor(r.tenant, pc.dialled), ...optionalDisplay(callee?.name) };
    }
    const entry: DialogInfoEntry = { id: r.id, callId: session.callId, direction: r.role, state: r.state, local, remote };
    if (phoneTag !== undefined) entry.localTag = phoneTag;
    if (pbxTag !== undefined) entry.remoteTag = pbxTag;
    if (r.state === 'confirmed' && r.leg.answerTime !== undefined) entry.duration = (this.now() - r.leg.answerTime) / 1000;
    if (r.state === 'terminated') {
      const event = endEvent(r.leg, r.role);
      if (event !== undefined) entry.event = event;
    }
    return entry;
  }
}

function optionalDisplay(name: string | undefined): { display?: string } {
  return name === undefined || name === '' ? {} : { display: name };
}

/** The tenant a host names: its domain exactly, or the default tenant for an IP address. */
function tenantOfHost(directory: TenantDirectory, host: string): TenantConfig | undefined {
  const bare = host.replace(/^\[|\]$/g, '');
  return directory.tenant(bare) ?? (isIP(bare) !== 0 ? directory.tenantFor(bare) : undefined);
}

function contactHostsOf(sub: NotifierSubscription): string[] {
  const h = hostOf(sub.dialog.remoteTarget);
  return h === undefined ? [] : [h];
}
