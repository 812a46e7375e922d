/**
 * REFER inside an INVITE session (RFC 3515) with Replaces (RFC 3891) and Referred-By
 * (RFC 3892): call transfer.
 *
 * ```
 *  transferor (A)                 transferee (B)                      target (C)
 *     | REFER Refer-To: C[?Replaces=…] |                                   |
 *     |------------------------------->|  refer event: accept()            |
 *     |<--------------------- 202 -----|                                   |
 *     |<-- NOTIFY sipfrag "100 Trying" |  INVITE C [Replaces: …]           |
 *     |                                |---------------------------------->|
 *     |<-- NOTIFY "180 Ringing" -------|<----------------------- 180 ------|
 *     |<-- NOTIFY "200 OK" (terminated)|<----------------------- 200 ------|
 *     | BYE                            |                                   |
 * ```
 *
 * The REFER creates an implicit subscription (RFC 3515 §2.4.4) to the `refer` event: the
 * transferee reports the progress of its new call in NOTIFYs carrying a
 * `message/sipfrag;version=2.0` body (RFC 3420) — the status line of each response — with
 * `Subscription-State: active` until the final one, `terminated;reason=noresource` then.
 * The NOTIFYs' `Event: refer;id=N` names the REFER by its CSeq (§2.4.6), so several REFERs
 * in one dialog keep apart.
 *
 * @example
 * ```ts
 * // transferee
 * session.on('refer', (refer) => {
 *   refer.accept();
 *   refer.track(ua.invite(refer.target, { body: offer }));   // NOTIFYs follow the new call
 * });
 * // transferor
 * const t = session.refer('sip:carol@192.0.2.9');
 * if ((await t.result).status === 200) await session.bye();
 * ```
 */
import {
  SipParseError,
  parseReplaces,
  parseUri,
  type HeaderValue,
  type NameAddr,
  type Replaces,
  type SipRequest,
  type SipResponse,
} from '../message/index.js';
import type { AnyInviteSession, OutgoingSession } from './invite-session.js';
import { TypedEmitter } from './typed-emitter.js';

/**
 * Options of {@link InviteSession.refer}.
 *
 * @example
 * ```ts
 * a1.refer('sip:carol@192.0.2.9', { replaces: a2, referredBy: 'sip:alice@example.com' });
 * ```
 */
export interface ReferOptions {
  /** The session whose dialog the target should replace (attended transfer, RFC 3891). */
  replaces?: AnyInviteSession;
  /** Referred-By URI (default: the UA's identity); `false` leaves the header out. */
  referredBy?: string | false;
  /** Extra headers on the REFER. */
  headers?: Iterable<[string, HeaderValue]>;
}

/**
 * How a REFER ended: `accepted` when the peer took it (2xx), then `status` is the final
 * status of the transferee's call from the last NOTIFY (or 0 when the subscription ended
 * without one); otherwise `status` is the REFER's own final status (408 for no answer).
 *
 * @example
 * ```ts
 * const { accepted, status } = await transfer.result;
 * ```
 */
export interface ReferResult {
  accepted: boolean;
  status: number;
  reason: string;
}

/**
 * Events of a {@link ReferRequest}.
 *
 * @example
 * ```ts
 * transfer.on('notify', (status, reason) => console.log(`transfer: ${status} ${reason}`));
 * ```
 */
export interface ReferRequestEvents {
  [event: string]: unknown[];
  /** The REFER got a 2xx (202 Accepted). */
  accepted: [response: SipResponse];
  /** The REFER got a final non-2xx (or none: `undefined`). */
  rejected: [response: SipResponse | undefined];
  /** A NOTIFY reported the transferee's call: the sipfrag status line. */
  notify: [status: number, reason: string, request: SipRequest];
}

/**
 * The sipfrag status line of a NOTIFY body (RFC 3420): `SIP/2.0 180 Ringing`.
 *
 * @example
 * ```ts
 * parseSipfragStatus(Buffer.from('SIP/2.0 200 OK\r\n')); // { status: 200, reason: 'OK' }
 * ```
 */
export function parseSipfragStatus(body: Uint8Array): { status: number; reason: string } | undefined {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  const eol = text.indexOf('\n');
  const line = (eol < 0 ? text : text.slice(0, eol)).replace(/\r$/, '');
  const m = /^SIP\/2\.0 ([1-6]\d\d)(?: (.*))?$/.exec(line);
  if (m === null) return undefined;
  return { status: Number(m[1]), reason: m[2] ?? '' };
}

/**
 * A Refer-To value: `<uri>`, with the dialog to replace as an escaped `Replaces` header of the
 * URI when given (RFC 3891 §5): `<sip:carol@h?Replaces=call%40h%3Bto-tag%3D1%3Bfrom-tag%3D2>`.
 * `to-tag` and `from-tag` are as the target sees its dialog: its local tag, then ours.
 *
 * @example
 * ```ts
 * referToValue('sip:carol@192.0.2.9', { callId: 'x@h', toTag: 'c1', fromTag: 'a1' });
 * ```
 */
export function referToValue(target: string, replaces?: { callId: string; toTag: string; fromTag: string }): string {
  const bare = target.startsWith('<') && target.endsWith('>') ? target.slice(1, -1) : target;
  if (replaces === undefined) return `<${bare}>`;
  const uri = parseUri(bare);
  if (uri.kind !== 'sip') throw new TypeError('Replaces needs a sip or sips Refer-To URI');
  const copy = uri.clone();
  copy.headers.set('Replaces', `${replaces.callId};to-tag=${replaces.toTag};from-tag=${replaces.fromTag}`);
  return `<${copy.toString()}>`;
}

/**
 * A REFER we sent (see {@link InviteSession.refer}): its response and the NOTIFYs of the
 * implicit subscription.
 *
 * @example
 * ```ts
 * const transfer = session.refer('sip:carol@192.0.2.9');
 * transfer.on('accepted', () => console.log('bob is calling carol'));
 * console.log(await transfer.result);
 * ```
 */
export class ReferRequest extends TypedEmitter<ReferRequestEvents> {
  /** Resolves when the REFER failed or its subscription ended (never rejects). */
  readonly result: Promise<ReferResult>;
  /** The REFER's final response, once it came. */
  response: SipResponse | undefined;
  private resolve!: (r: ReferResult) => void;
  private settled = false;
  private lastFinal: { status: number; reason: string } | undefined;

  /** @internal */
  constructor() {
    super();
    this.result = new Promise((resolve) => {
      this.resolve = resolve;
    });
  }

  /** @internal */
  receiveResponse(res: SipResponse | undefined): void {
    if (res !== undefined && res.status < 300) {
      this.response = res;
      this.emit('accepted', res);
      return;
    }
    this.response = res;
    this.emit('rejected', res);
    this.settle({ accepted: false, status: res?.status ?? 408, reason: res?.reason ?? 'Request Timeout' });
  }

  /** @internal A NOTIFY of this REFER's subscription (already answered 200). */
  receiveNotify(req: SipRequest): void {
    const frag = parseSipfragStatus(req.body);
    if (frag !== undefined) {
      if (frag.status >= 200) this.lastFinal = frag;
      this.emit('notify', frag.status, frag.reason, req);
    }
    let terminated = false;
    try {
      terminated = req.subscriptionState?.state.toLowerCase() === 'terminated';
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
    }
    if (terminated || (frag !== undefined && frag.status >= 200)) {
      const f = this.lastFinal;
      this.settle({ accepted: true, status: f?.status ?? 0, reason: f?.reason ?? '' });
    }
  }

  private settle(r: ReferResult): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve(r);
  }
}

/** @internal How an {@link IncomingRefer} answers the REFER and sends its NOTIFYs (its session). */
export interface ReferChannel {
  respond(status: number, reason?: string, headers?: Iterable<[string, HeaderValue]>): void;
  notify(headers: [string, HeaderValue][], body: string): Promise<SipResponse | undefined>;
  error(e: unknown, context: string): void;
}

/**
 * A REFER the peer sent in a session (the session's `refer` event). Accept it (202 and the
 * first NOTIFY, `100 Trying`, RFC 3515 §2.4.2) or reject it; then report the new call with
 * {@link notify}, or let {@link track} do it.
 *
 * @example
 * ```ts
 * session.on('refer', (refer) => {
 *   if (refer.replaces !== undefined) console.log('attended transfer of', refer.replaces.callId);
 *   refer.accept();
 *   refer.track(ua.invite(refer.target));
 * });
 * ```
 */
export class IncomingRefer {
  /** Whether accept() or reject() was called. */
  answered = false;
  private finished = false;
  private readonly eventHeader: string;
  private queue: Promise<unknown> = Promise.resolve();

  /** @internal */
  constructor(
    /** The REFER. */
    readonly request: SipRequest,
    /** Its Refer-To. */
    readonly referTo: NameAddr,
    private readonly channel: ReferChannel,
  ) {
    this.eventHeader = `refer;id=${request.cseq.seq}`;
  }

  /**
   * The URI to call, as written in Refer-To, escaped headers included: pass it to
   * `ua.invite()`, which turns them (Replaces) into headers of the INVITE (§19.1.5).
   */
  get target(): string {
    return this.referTo.uri.toString();
  }

  /** The dialog the new call should replace (RFC 3891), from the Refer-To's headers. */
  get replaces(): Replaces | undefined {
    const uri = this.referTo.uri;
    if (uri.kind !== 'sip') return undefined;
    const v = uri.headers.get('Replaces') ?? uri.headers.get('replaces');
    if (typeof v !== 'string') return undefined;
    try {
      return parseReplaces(v);
    } catch (e) {
      if (e instanceof SipParseError) return undefined;
      throw e;
    }
  }

  /** Referred-By (RFC 3892), if the REFER carried one. */
  get referredBy(): NameAddr | undefined {
    try {
      return this.request.referredBy;
    } catch {
      return undefined;
    }
  }

  /** Answers 202 Accepted and sends the first NOTIFY: `SIP/2.0 100 Trying` (RFC 3515 §2.4.2). */
  accept(): void {
    if (this.answered) return;
    this.answered = true;
    this.channel.respond(202);
    void this.notify(100, 'Trying');
  }

  /**
   * Refuses the REFER (603 Decline by default); `headers` for a challenge
   * (`reject(407, undefined, auth.challenge({ proxy: true }))`).
   */
  reject(status = 603, reason?: string, headers?: Iterable<[string, HeaderValue]>): void {
    if (this.answered) return;
    this.answered = true;
    this.finished = true;
    this.channel.respond(status, reason, headers);
  }

  /**
   * Reports the transferee's call: a NOTIFY with `SIP/2.0 <status> <reason>` as
   * `message/sipfrag;version=2.0`; a final status (≥ 200) terminates the subscription
   * (`Subscription-State: terminated;reason=noresource`, RFC 3515 §2.4.5). NOTIFYs go out in
   * order, each after the previous one's response. Resolves with the NOTIFY's response.
   */
  notify(status: number, reason = ''): Promise<SipResponse | undefined> {
    if (this.finished) return Promise.resolve(undefined);
    const final = status >= 200;
    if (final) this.finished = true;
    const headers: [string, HeaderValue][] = [
      ['Event', this.eventHeader],
      ['Subscription-State', final ? 'terminated;reason=noresource' : 'active;expires=60'],
    ];
    const body = `SIP/2.0 ${status} ${reason}`.trimEnd() + '\r\n';
    const next = this.queue.then(() => this.channel.notify(headers, body));
    this.queue = next.catch((e: unknown) => this.channel.error(e, 'NOTIFY'));
    return next.catch(() => undefined);
  }

  /**
   * Sends the NOTIFYs for `session`, the call made because of this REFER: each provisional
   * above 100, then its 2xx or its failure (a timeout reported as 408).
   */
  track(session: OutgoingSession): void {
    session.on('progress', (res) => {
      if (res.status > 100) void this.notify(res.status, res.reason);
    });
    session.on('established', (res) => void this.notify(res.status, res.reason));
    session.on('failed', (e) => void this.notify(e.status ?? 408, e.response?.reason ?? 'Request Timeout'));
  }
}
