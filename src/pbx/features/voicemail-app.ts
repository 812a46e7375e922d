/**
 * The voicemail application: callers leave messages in a mailbox, owners listen to them with
 * the key map of Asterisk's app_voicemail (so people who have used a PBX before know it).
 *
 * ```
 *  leaveMessage:  answer ─► mailbox full? ─► "mailbox full", hang up
 *                   └─► greeting (recorded unavailable/busy, else the name or "the person at
 *                       extension 1001 is unavailable") — # skips it, * logs in to the box,
 *                       0 goes to the tenant's operator (when it has one; nobody answers: on)
 *                   ─► beep ─► record until #, 5 s of silence or maxMessageSeconds (a hang-up
 *                       keeps what was said) ─► commit (the store tells MWI) ─► goodbye
 *
 *  menu (*97 own box, *98 any):  [mailbox #] PIN # (3 tries) ─► "you have N new messages"
 *   main     1 listen   0 options   * help   # exit
 *   message  5 repeat   4 previous  6 next   7 delete/undelete   9 save (to Old)
 *            3 advanced: 3 envelope (caller ID, day and time), * back
 *   playing  # skip to the end   * back 3 s   any other key: that command at once
 *   options  1 unavailable greeting   2 busy greeting   3 name   4 new PIN   * back
 * ```
 *
 * Deletion is app_voicemail's: 7 marks the message (7 again unmarks it) and the marked
 * messages are removed when the caller leaves the mailbox (#, hang-up or silence). New
 * messages that were played and not deleted move to Old then too, so the lamp goes out.
 *
 * A PIN the owner changed is kept in the mailbox folder (pin.json) and wins over the
 * configured one. '0' during the greeting hands the call to {@link VoicemailAppOptions.onOperator}
 * when the tenant has an `operator` (standardFeatures connects it there, features/index.ts).
 *
 * @example
 * ```ts
 * const app = new VoicemailApp({ store, directory: () => pbx.directory });
 * b2bua.setFeatures(voicemailHooks(app, () => pbx.directory));
 * ```
 */
import { readFile } from 'node:fs/promises';
import { digitPrompts, promptPath, wavToPcm8k, type Call, type PlaySource } from '../../call/index.js';
import type { Caller, FeatureHooks, PbxCall } from '../b2bua.js';
import type { ExtensionConfig, TenantConfig } from '../config/index.js';
import type { Logger } from '../logger.js';
import type { TenantDirectory } from '../tenant-directory.js';
import { MIN_MESSAGE_MS, VoicemailStoreError, type GreetingKind, type VoicemailMessage, type VoicemailReason, type VoicemailStore } from './voicemail-store.js';

/** How long the menus wait for a key, and how many silent turns end the session. */
const MENU_TIMEOUT_MS = 10_000;
const MENU_TIMEOUTS = 3;
const LOGIN_ATTEMPTS = 3;
const REWIND_SAMPLES = 3 * 8000;
/** Longest greeting or name recorded, in seconds. */
const GREETING_SECONDS = 120;
/** Of the silence that ended a message, how much is kept. */
const SILENCE_KEPT_MS = 300;

/**
 * Options of {@link VoicemailApp}.
 *
 * @example
 * ```ts
 * new VoicemailApp({ store, directory: () => pbx.directory, logger: pbx.logger, silenceSeconds: 5 });
 * ```
 */
export interface VoicemailAppOptions {
  store: VoicemailStore;
  /** The configuration in force (a function: reloads replace it). */
  directory: () => TenantDirectory;
  logger?: Logger;
  /** Seconds of silence that end a message (default 5). */
  silenceSeconds?: number;
  /** Prompt language folder (default `en`). */
  language?: string;
  /** Wall clock: envelope times, "today", and playback positions for rewind (default `Date`). */
  now?: () => Date;
  /** The time zone days and times are said in (default: the process's). */
  timeZone?: string;
  /**
   * `0` during the greeting, when the tenant has an `operator`: take the caller (answered, in
   * the middle of the greeting) to it. Resolve true when the call is dealt with (the operator
   * answered and talks to the caller, or the caller hung up): the app leaves it alone. Resolve
   * false when nobody answered: the caller gets the beep and leaves the message after all.
   * Without it, `0` does nothing.
   */
  onOperator?: (call: Call, tenant: TenantConfig, pbxCall: PbxCall) => Promise<boolean>;
}

/** Who left a message, as the callee's phone showed it. */
export interface MessageCaller {
  number: string;
  name: string;
}

/** One caller's time in a mailbox. */
interface Session {
  call: Call;
  tenant: TenantConfig;
  box: string;
  ext: ExtensionConfig;
  /** Names (msgNNNN) marked with 7. */
  deleted: Set<string>;
  /** New messages played, to move to Old on the way out. */
  heard: Set<string>;
}

/**
 * The voicemail application (see the file comment).
 */
export class VoicemailApp {
  readonly store: VoicemailStore;
  private readonly options: VoicemailAppOptions;
  private readonly silenceSeconds: number;
  private readonly language: string;
  private readonly now: () => Date;

  constructor(options: VoicemailAppOptions) {
    this.options = options;
    this.store = options.store;
    this.silenceSeconds = options.silenceSeconds ?? 5;
    this.language = options.language ?? 'en';
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Takes a call into `box`'s mailbox to leave a message. Resolves false, leaving the call
   * alone, when the box does not exist or has no voicemail (the B2BUA then answers 480); true
   * once the call has been dealt with (message stored or not, the call hung up, or handed to
   * the operator). `pbxCall`, the B2BUA's call, is what `0` hands to the operator: without it
   * `0` does nothing.
   */
  async leaveMessage(call: Call, tenant: TenantConfig, box: string, reason: VoicemailReason, from?: MessageCaller, pbxCall?: PbxCall): Promise<boolean> {
    const ext = this.options.directory().extension(tenant, box);
    const vm = ext?.voicemail;
    if (ext === undefined || vm === null || vm === undefined) return false;
    const log = this.options.logger?.child({ tenant: tenant.domain, callId: call.id });
    const caller = from ?? { number: call.remoteUser, name: call.remoteName ?? '' };
    if (!(await this.answer(call))) return true;
    const onOperator = this.options.onOperator;
    const operator = tenant.operator !== null && onOperator !== undefined && pbxCall !== undefined ? () => onOperator(call, tenant, pbxCall) : undefined;
    /** True once the operator has the call: it is theirs, not ours to hang up. */
    let handedOver = false;
    try {
      const counts = await this.store.counts(tenant, box);
      if (counts.new + counts.old >= vm.maxMessages) {
        log?.info(`mailbox ${box} is full`);
        await call.play([this.prompt('vm-mailbox-full'), this.prompt('goodbye')]);
        return true;
      }
      // Only # (to the beep), * (log in) and 0 (the operator, when there is one) interrupt
      // the greeting; other keys are ignored.
      const greeting = await this.pcmOf([...(await this.greetingFor(tenant, box, reason)), this.prompt('please-leave-a-message')]);
      const key = await this.playKeys(call, greeting, (k) => (k === '#' || k === '*' || (k === '0' && operator !== undefined) ? 'return' : 'ignore'));
      if (key === '*') {
        // The owner calling their own number: log in to the mailbox.
        await this.mailbox(call, tenant, box);
        return true;
      }
      if (key === '0' && operator !== undefined) {
        log?.info(`voicemail caller for ${box} asks for the operator`);
        if (await operator()) {
          handedOver = true;
          return true;
        }
        log?.info('the operator did not answer: back to the mailbox');
      }
      if (call.hasEnded) return true;
      let draft;
      try {
        draft = await this.store.beginMessage(tenant, box, { callerId: caller.number, callerName: caller.name, reason, time: this.now() }, { maxMessages: vm.maxMessages });
      } catch (e) {
        if (e instanceof VoicemailStoreError && e.code === 'full') {
          await call.play([this.prompt('vm-mailbox-full'), this.prompt('goodbye')]);
          return true;
        }
        throw e;
      }
      await call.play(this.prompt('beep'));
      let result;
      try {
        result = await call.record(draft.wavPath, { maxSeconds: vm.maxMessageSeconds, stopOnDigits: '#', stopOnSilence: this.silenceSeconds, format: 'mulaw' });
      } catch (e) {
        await draft.abort();
        throw e;
      }
      if (result.reason === 'error') log?.warn(`recording cut short: ${result.error?.message ?? 'write error'}`);
      try {
        const msg = await draft.commit(this.kept(result.durationMs, result.reason), result.reason === 'error');
        if (msg !== undefined) log?.info(`voicemail ${msg.name} for ${box}: ${msg.durationMs} ms from ${caller.number} (${result.reason})`);
      } catch (e) {
        log?.error(`voicemail for ${box} not stored: ${(e as Error).message}`);
      }
      if (!call.hasEnded) await call.play(this.prompt('goodbye'));
      return true;
    } catch (e) {
      log?.error(`voicemail failed: ${(e as Error).message}`);
      return true;
    } finally {
      if (!handedOver) await this.hangup(call);
    }
  }

  /**
   * The mailbox menu: `any` false logs the caller in to their own extension's box (*97),
   * true asks for the box number first (*98; also when the caller has no mailbox of their
   * own). Three wrong logins end the call. Always hangs up at the end.
   */
  async menu(call: Call, caller: Caller, any: boolean): Promise<void> {
    const own = caller.extension?.voicemail ? caller.extension.number : undefined;
    if (!(await this.answer(call))) return;
    try {
      await this.login(call, caller.tenant, any ? undefined : own);
    } catch (e) {
      this.options.logger?.error(`voicemail menu failed: ${(e as Error).message}`, { tenant: caller.tenant.domain, callId: call.id });
    } finally {
      await this.hangup(call);
    }
  }

  // ------------------------------------------------------------------ login and main menu

  /** From the greeting's '*': the box is known, the PIN is asked. */
  private async mailbox(call: Call, tenant: TenantConfig, box: string): Promise<void> {
    await this.login(call, tenant, box);
  }

  private async login(call: Call, tenant: TenantConfig, knownBox: string | undefined): Promise<void> {
    for (let attempt = 0; attempt < LOGIN_ATTEMPTS; attempt++) {
      if (call.hasEnded) return;
      let box = knownBox;
      if (box === undefined) {
        box = (await this.ask(call, this.prompt('vm-enter-mailbox'), 12)).digits;
        if (call.hasEnded) return;
      }
      const pin = (await this.ask(call, this.prompt('vm-enter-pin'), 12)).digits;
      if (call.hasEnded) return;
      const ext = this.options.directory().extension(tenant, box);
      if (ext !== undefined && ext.voicemail !== null && pin !== '' && pin === (await this.pinOf(tenant, ext))) {
        await this.session({ call, tenant, box, ext, deleted: new Set(), heard: new Set() });
        return;
      }
      // The same answer for an unknown box and a wrong PIN: nobody learns which boxes exist.
      this.options.logger?.info(`voicemail login failed for ${box}`, { tenant: tenant.domain, callId: call.id });
      await call.play(this.prompt('vm-invalid-pin'));
    }
    await call.play(this.prompt('goodbye'));
  }

  private async pinOf(tenant: TenantConfig, ext: ExtensionConfig): Promise<string | undefined> {
    return (await this.store.pin(tenant, ext.number)) ?? ext.voicemail?.pin;
  }

  private async session(s: Session): Promise<void> {
    try {
      await this.announceCounts(s);
      let timeouts = 0;
      let key: string | undefined;
      for (;;) {
        if (s.call.hasEnded) return;
        if (key === undefined) {
          const r = await this.ask(s.call, this.prompt('vm-main-menu'), 1);
          if (r.reason === 'hangup') return;
          if (r.digits === '' && r.reason === 'timeout') {
            if (++timeouts >= MENU_TIMEOUTS) break;
            continue;
          }
          key = r.terminator ?? r.digits;
        }
        timeouts = 0;
        const k = key;
        key = undefined;
        if (k === '#') break;
        if (k === '*') continue; // help: the menu again
        if (k === '1') {
          const exit = await this.messages(s);
          if (exit === 'exit') break;
          continue;
        }
        if (k === '0') {
          await this.optionsMenu(s);
          continue;
        }
        await s.call.play(this.prompt('invalid-choice'));
      }
      if (!s.call.hasEnded) await s.call.play(this.prompt('goodbye'));
    } finally {
      await this.leave(s);
    }
  }

  /** Leaving the mailbox: marked messages are deleted, heard new ones become Old. */
  private async leave(s: Session): Promise<void> {
    const log = this.options.logger;
    for (const msg of await this.store.list(s.tenant, s.box)) {
      try {
        if (s.deleted.has(msg.name)) await this.store.remove(msg);
        else if (msg.folder === 'INBOX' && s.heard.has(msg.name)) await this.store.move(msg, 'Old');
      } catch (e) {
        log?.warn(`voicemail ${msg.name} of ${s.box}: ${(e as Error).message}`, { tenant: s.tenant.domain });
      }
    }
  }

  private async announceCounts(s: Session): Promise<void> {
    const c = await this.store.counts(s.tenant, s.box);
    const parts: PlaySource[] = [this.prompt('vm-you-have')];
    if (c.new === 0 && c.old === 0) parts.push(this.prompt('vm-no-messages'));
    if (c.new > 0) parts.push(...this.number(c.new), this.prompt('vm-new'), this.prompt(c.new === 1 ? 'vm-message' : 'vm-messages'));
    if (c.old > 0) {
      if (c.new > 0) parts.push(this.prompt('vm-you-have'));
      parts.push(...this.number(c.old), this.prompt('vm-saved-messages'), this.prompt(c.old === 1 ? 'vm-message' : 'vm-messages'));
    }
    await s.call.play(parts, { bargeIn: true });
  }

  // ------------------------------------------------------------------ messages

  /**
   * Plays the messages of the current folder (new ones, or the saved ones when there are no
   * new) with the message menu; returns 'exit' for #, 'menu' for the main menu.
   */
  private async messages(s: Session): Promise<'exit' | 'menu'> {
    const call = s.call;
    let list = await this.store.list(s.tenant, s.box, 'INBOX');
    if (list.length === 0) list = await this.store.list(s.tenant, s.box, 'Old');
    if (list.length === 0) {
      await call.play([this.prompt('vm-you-have'), this.prompt('vm-no-messages')]);
      return 'menu';
    }
    let i = 0;
    let key: string | undefined = await this.playMessage(s, list, i);
    let timeouts = 0;
    for (;;) {
      if (call.hasEnded) return 'exit';
      if (key === undefined) {
        const r = await this.ask(call, this.prompt('vm-message-menu'), 1);
        if (r.reason === 'hangup') return 'exit';
        if (r.digits === '' && r.reason === 'timeout') {
          if (++timeouts >= MENU_TIMEOUTS) return 'exit';
          continue;
        }
        key = r.terminator ?? r.digits;
      }
      timeouts = 0;
      const k = key;
      key = undefined;
      const msg = list[i]!;
      switch (k) {
        case '1':
          i = 0;
          key = await this.playMessage(s, list, i);
          break;
        case '5':
          key = await this.playMessage(s, list, i);
          break;
        case '4':
        case '6': {
          const next = k === '4' ? i - 1 : i + 1;
          if (next < 0 || next >= list.length) {
            await call.play(this.prompt('vm-no-more-messages'), { bargeIn: true });
            break;
          }
          i = next;
          key = await this.playMessage(s, list, i);
          break;
        }
        case '7':
          if (s.deleted.delete(msg.name)) {
            await call.play(this.prompt('vm-undeleted'), { bargeIn: true });
            break;
          }
          s.deleted.add(msg.name);
          await call.play(this.prompt('vm-deleted'), { bargeIn: true });
          if (i + 1 < list.length) key = await this.playMessage(s, list, ++i);
          break;
        case '9': {
          if (msg.folder !== 'Old') {
            try {
              list[i] = await this.store.move(msg, 'Old');
              s.heard.delete(msg.name);
              s.deleted.delete(msg.name);
            } catch (e) {
              this.options.logger?.warn(`voicemail ${msg.name} not saved: ${(e as Error).message}`, { tenant: s.tenant.domain });
            }
          }
          await call.play(this.prompt('vm-saved'), { bargeIn: true });
          if (i + 1 < list.length) key = await this.playMessage(s, list, ++i);
          break;
        }
        case '3': {
          const r = await this.ask(call, this.prompt('vm-advanced-menu'), 1);
          if (r.digits === '3') await call.play(this.envelope(msg), { bargeIn: true });
          break;
        }
        case '0':
          await this.optionsMenu(s);
          break;
        case '*':
          break; // help: the message menu again
        case '#':
          return 'exit';
        default:
          await call.play(this.prompt('invalid-choice'), { bargeIn: true });
      }
    }
  }

  /**
   * Announces and plays message `i`. Returns the key that interrupted it (a command), or
   * undefined when it played to the end (or # skipped there).
   */
  private async playMessage(s: Session, list: VoicemailMessage[], i: number): Promise<string | undefined> {
    const call = s.call;
    const msg = list[i]!;
    const intro: PlaySource[] = [];
    if (i === 0) intro.push(this.prompt('vm-first-message'));
    else if (i === list.length - 1) intro.push(this.prompt('vm-last-message'));
    else intro.push(this.prompt('vm-message-number'), ...this.number(i + 1));
    const announced = await call.play(intro, { bargeIn: true });
    if (announced.reason === 'hangup') return undefined;
    if (announced.reason === 'digit') {
      const d = await this.takeDigit(call);
      if (d !== '#' && d !== '*') return d;
    }
    let pcm: Int16Array;
    try {
      pcm = wavToPcm8k(await readFile(msg.wavPath));
    } catch (e) {
      this.options.logger?.warn(`voicemail ${msg.name} unreadable: ${(e as Error).message}`, { tenant: s.tenant.domain });
      return undefined;
    }
    if (msg.folder === 'INBOX') s.heard.add(msg.name);
    // # to the end (the message menu), * back 3 s, any other key is a command.
    return this.playKeys(call, pcm, (k) => (k === '#' ? 'end' : k === '*' ? 'rewind' : 'return'));
  }

  /**
   * Plays 8 kHz PCM that keys act on: `decide(key)` says `return` (stop and give the key back),
   * `end` (stop), `rewind` (3 s back and play on) or `ignore` (play on). The position is the
   * time played (one 20 ms frame per tick), so playing on starts where it stopped.
   */
  private async playKeys(call: Call, pcm: Int16Array, decide: (key: string) => 'return' | 'end' | 'rewind' | 'ignore'): Promise<string | undefined> {
    let position = 0;
    while (position < pcm.length) {
      const started = this.now().getTime();
      const r = await call.play(pcm.subarray(position), { bargeIn: true });
      if (r.reason !== 'digit') return undefined;
      const played = Math.round((this.now().getTime() - started) * 8);
      const key = await this.takeDigit(call);
      const action = decide(key);
      if (action === 'return') return key;
      if (action === 'end') return undefined;
      position = action === 'rewind' ? Math.max(0, position + played - REWIND_SAMPLES) : position + played;
    }
    return undefined;
  }

  /** Files as one stretch of 8 kHz PCM, each padded to whole 20 ms frames (as a list plays). */
  private async pcmOf(paths: readonly string[]): Promise<Int16Array> {
    const parts = await Promise.all(paths.map(async (p) => wavToPcm8k(await readFile(p))));
    const out = new Int16Array(parts.reduce((n, p) => n + Math.ceil(p.length / 160) * 160, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += Math.ceil(p.length / 160) * 160;
    }
    return out;
  }

  /** "Received from 1002, today at 3 oh 5 PM". */
  private envelope(msg: VoicemailMessage): PlaySource[] {
    const parts: PlaySource[] = [this.prompt('vm-received-from')];
    const digits = msg.callerId.replace(/[^0-9*#]/g, '');
    if (digits === '') parts.push(this.prompt('vm-unknown-caller'));
    else parts.push(...digitPrompts(digits, this.language));
    parts.push(...this.when(new Date(msg.time)));
    return parts;
  }

  /** The day (today, yesterday, the weekday within a week, else month and day) and the time. */
  private when(time: Date): PlaySource[] {
    const zone = this.options.timeZone;
    const fields = (d: Date): Record<string, string> => {
      const f = new Intl.DateTimeFormat('en-US', { timeZone: zone, year: 'numeric', month: 'long', day: 'numeric', weekday: 'long', hour: 'numeric', minute: '2-digit', hour12: true });
      return Object.fromEntries(f.formatToParts(d).map((p) => [p.type, p.value]));
    };
    const t = fields(time);
    const dayKey = (f: Record<string, string>): string => `${f.year}-${f.month}-${f.day}`;
    const now = this.now();
    const out: PlaySource[] = [];
    const daysAgo = [0, 1, 2, 3, 4, 5, 6].find((n) => dayKey(fields(new Date(now.getTime() - n * 86_400_000))) === dayKey(t));
    if (daysAgo === 0) out.push(this.prompt('time/today'));
    else if (daysAgo === 1) out.push(this.prompt('time/yesterday'));
    else if (daysAgo !== undefined) out.push(this.prompt(`time/${(t.weekday ?? 'monday').toLowerCase()}`));
    else out.push(this.prompt(`time/${(t.month ?? 'january').toLowerCase()}`), ...this.number(Number(t.day ?? '1')));
    const minute = Number(t.minute ?? '0');
    out.push(this.prompt('vm-received-at'), ...this.number(Number(t.hour ?? '12')));
    if (minute > 0 && minute < 10) out.push(this.prompt('numbers/oh'), ...this.number(minute));
    else if (minute >= 10) out.push(...this.number(minute));
    out.push(this.prompt((t.dayPeriod ?? 'AM').toUpperCase() === 'PM' ? 'time/pm' : 'time/am'));
    return out;
  }

  // ------------------------------------------------------------------ options

  private async optionsMenu(s: Session): Promise<void> {
    const call = s.call;
    const r = await this.ask(call, this.prompt('vm-options-menu'), 1);
    const kinds: Record<string, GreetingKind> = { '1': 'unavailable', '2': 'busy', '3': 'name' };
    const kind = kinds[r.digits];
    if (kind !== undefined) {
      await this.recordGreeting(s, kind);
      return;
    }
    if (r.digits === '4') {
      await this.changePin(s);
      return;
    }
    // '*' and '#' go back, as does silence; anything else was a wrong key.
    if (r.digits !== '' && r.digits !== '*' && r.digits !== '#') await call.play(this.prompt('invalid-choice'));
  }

  private async recordGreeting(s: Session, kind: GreetingKind): Promise<void> {
    const call = s.call;
    // The file first: recording starts the moment the beep ends.
    const draft = await this.store.beginGreeting(s.tenant, s.box, kind);
    await call.play([this.prompt('vm-record-after-tone'), this.prompt('beep')]);
    if (call.hasEnded) {
      await draft.abort();
      return;
    }
    let durationMs = 0;
    try {
      const r = await call.record(draft.wavPath, { maxSeconds: GREETING_SECONDS, stopOnDigits: '#', stopOnSilence: this.silenceSeconds, format: 'mulaw' });
      durationMs = this.kept(r.durationMs, r.reason);
    } catch (e) {
      await draft.abort();
      throw e;
    }
    if (durationMs < MIN_MESSAGE_MS) {
      await draft.abort();
      return;
    }
    await draft.commit(durationMs);
    if (!call.hasEnded) await call.play(this.prompt('vm-recording-saved'));
  }

  private async changePin(s: Session): Promise<void> {
    const call = s.call;
    const first = (await this.ask(call, this.prompt('vm-enter-new-pin'), 12)).digits;
    if (call.hasEnded) return;
    const again = (await this.ask(call, this.prompt('vm-reenter-new-pin'), 12)).digits;
    if (call.hasEnded) return;
    if (first !== again || !/^[0-9]{4,12}$/.test(first)) {
      await call.play(this.prompt('vm-pins-do-not-match'));
      return;
    }
    await this.store.setPin(s.tenant, s.box, first);
    this.options.logger?.info(`voicemail PIN of ${s.box} changed`, { tenant: s.tenant.domain, callId: call.id });
    await call.play(this.prompt('vm-pin-changed'));
  }

  // ------------------------------------------------------------------ helpers

  private async answer(call: Call): Promise<boolean> {
    if (call.hasEnded) return false;
    call.bridged?.unbridge(); // early media of a leg that rang
    if (call.state === 'answered') return true;
    try {
      await call.answer();
      return !call.hasEnded;
    } catch (e) {
      this.options.logger?.info(`voicemail caller gone before the answer: ${(e as Error).message}`, { callId: call.id });
      return false;
    }
  }

  /**
   * How much of a recording to keep: all of it, unless silence ended it — then what was said
   * and a moment after (a caller who said nothing leaves nothing).
   */
  private kept(durationMs: number, reason: string): number {
    if (reason !== 'silence') return durationMs;
    const spoken = durationMs - this.silenceSeconds * 1000;
    return spoken < MIN_MESSAGE_MS ? 0 : spoken + SILENCE_KEPT_MS;
  }

  /** Hangs up once the last prompt has had time to leave the far end's jitter buffer. */
  private async hangup(call: Call): Promise<void> {
    if (call.hasEnded) return;
    if (call.state === 'answered' && call.bridged === undefined) await call.play({ silenceMs: 300 }).catch(() => undefined);
    if (!call.hasEnded) await call.hangup();
  }

  /** Plays a prompt that a key interrupts, then collects up to `max` keys ended by #. */
  private async ask(call: Call, prompt: PlaySource, max: number): Promise<{ digits: string; reason: string; terminator?: string }> {
    await call.play(prompt, { bargeIn: true });
    const r = await call.collectDigits({ max, timeoutMs: MENU_TIMEOUT_MS, interDigitTimeoutMs: 5000, terminators: max === 1 ? '' : '#' });
    return r;
  }

  /** Consumes the key that interrupted a playback. */
  private async takeDigit(call: Call): Promise<string> {
    return (await call.collectDigits({ max: 1, timeoutMs: 50, terminators: '' })).digits;
  }

  private async greetingFor(tenant: TenantConfig, box: string, reason: VoicemailReason): Promise<string[]> {
    const recorded = await this.store.greeting(tenant, box, reason);
    if (recorded !== undefined) return [recorded];
    const tail = this.prompt(reason === 'busy' ? 'vm-is-busy' : 'vm-is-unavailable');
    const name = await this.store.greeting(tenant, box, 'name');
    if (name !== undefined) return [name, tail];
    const digits = box.replace(/[^0-9*#]/g, '');
    return [this.prompt('vm-the-person-at-extension'), ...digitPrompts(digits, this.language), tail];
  }

  private prompt(name: string): string {
    return promptPath(name, this.language);
  }

  /** A number in words: 0–19, tens, hundreds; digit by digit from 1000. */
  private number(n: number): string[] {
    if (!Number.isInteger(n) || n < 0 || n >= 1000) return digitPrompts(String(Math.max(0, Math.trunc(n))), this.language);
    const out: string[] = [];
    if (n >= 100) {
      out.push(this.prompt(`numbers/${Math.floor(n / 100)}`), this.prompt('numbers/hundred'));
      n %= 100;
      if (n === 0) return out;
    }
    if (n < 20) out.push(this.prompt(`numbers/${n}`));
    else {
      out.push(this.prompt(`numbers/${n - (n % 10)}`));
      if (n % 10 > 0) out.push(this.prompt(`numbers/${n % 10}`));
    }
    return out;
  }
}

/**
 * The B2BUA hooks of voicemail: the feature codes (`featureCodes.voicemail`, *97: your own
 * mailbox; `featureCodes.voicemailAny`, *98: any mailbox) and the mailbox destination (busy,
 * no answer, or a `voicemail` destination). A mailbox that does not exist, or an extension
 * without voicemail, is not taken (the B2BUA answers 480).
 *
 * @example
 * ```ts
 * pbx.b2bua.setFeatures({ ...voicemailHooks(app, () => pbx.directory), group: huntGroups });
 * ```
 */
export function voicemailHooks(app: VoicemailApp, directory: TenantDirectory | (() => TenantDirectory)): Pick<FeatureHooks, 'voicemail' | 'featureCode'> {
  const dir = typeof directory === 'function' ? directory : () => directory;
  return {
    featureCode: async (call, caller, dialled) => {
      if (caller.kind !== 'device') return false;
      const codes = caller.tenant.featureCodes;
      if (dialled === codes.voicemail) {
        await app.menu(call, caller, caller.extension?.voicemail == null);
        return true;
      }
      if (dialled === codes.voicemailAny) {
        await app.menu(call, caller, true);
        return true;
      }
      return false;
    },
    voicemail: async (call, tenant, mailbox, reason, pbxCall) => {
      const ext = dir().extension(tenant, mailbox);
      if (ext === undefined || ext.voicemail === null) return false;
      return app.leaveMessage(call, tenant, mailbox, reason, { number: pbxCall.caller.number, name: pbxCall.caller.name }, pbxCall);
    },
  };
}
