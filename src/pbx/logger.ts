/**
 * The PBX's one logger: levels, one line per event, and a SIP trace channel.
 *
 * ```
 * 2026-11-22T06:00:00.123Z INFO  [demo.local] [a84b4c76e66710] call from 201 to 202 trunk=carrier status=486
 * 2026-11-22T06:00:00.125Z >>> sent to udp 127.0.0.1:5062 (812 bytes)
 * INVITE sip:202@127.0.0.1:5062 SIP/2.0
 * …
 * ```
 *
 * Event lines: timestamp (ISO 8601 UTC), level padded to five characters, `[tenant]` and
 * `[call-id]` when known, the message, then the other fields logfmt-style (`key=value`,
 * `key="quoted value"`). Anything from the network — a Call-ID, a reason phrase, a display
 * name — can carry control characters: they are escaped (`\n`, `\x1b`…), so one event is
 * always one line and a peer cannot forge log lines or drive the terminal.
 *
 * The SIP trace (`--sip-trace`) prints each message as sent or received — a header line, the
 * message text (latin1), a blank line — as sngrep and `sipp -trace_msg` users expect. Wire it
 * to the transports with `SipTransportSetOptions.trace`.
 */
import type { LogLevel } from './config/types.js';

export type { LogLevel };

/** Fields of an event; `tenant` and `callId` are printed in brackets before the message. */
export interface LogFields {
  tenant?: string;
  callId?: string;
  [key: string]: string | number | boolean | undefined;
}

/** Options of {@link Logger}. */
export interface LoggerOptions {
  /** The most verbose level printed (default `info`). */
  level?: LogLevel;
  /** Where lines go; each call gets one whole event ending in `\n` (default: stderr). */
  sink?: (line: string) => void;
  /** The time stamped on lines (default: now). */
  clock?: () => Date;
  /** Print SIP messages through {@link Logger.sip} (default false). */
  sipTrace?: boolean;
}

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };
const LABEL: Record<LogLevel, string> = { error: 'ERROR', warn: 'WARN ', info: 'INFO ', debug: 'DEBUG' };

/** What a logger and its children share: changing the level of one changes it for all. */
interface LoggerState {
  level: LogLevel;
  sipTrace: boolean;
  sink: (line: string) => void;
  clock: () => Date;
}

// C0 controls, DEL, C1 controls, and the Unicode line and paragraph separators.
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;
const CONTROL_TEST = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;
// Printable text of a SIP trace: everything but the line structure (CR, LF, TAB) and latin1.
const TRACE_CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/g;

function escapeControl(c: string): string {
  switch (c) {
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    default: {
      const code = c.charCodeAt(0);
      return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`;
    }
  }
}

/** Text on one line: control characters escaped. */
function oneLine(text: string): string {
  return CONTROL_TEST.test(text) ? text.replace(CONTROL, escapeControl) : text;
}

const BARE_VALUE = /^[^\s"=\\\x00-\x1f\x7f-\x9f\u2028\u2029]+$/;

/** A logfmt value: bare when it can be, else double-quoted with `\"`, `\\` and controls escaped. */
function logfmtValue(value: string | number | boolean): string {
  const s = String(value);
  if (BARE_VALUE.test(s)) return s;
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`).replace(CONTROL, escapeControl)}"`;
}

/** A logfmt key: letters, digits, `_`, `.`, `-` (anything else becomes `_`). */
function logfmtKey(key: string): string {
  const k = key.replace(/[^A-Za-z0-9_.-]/g, '_');
  return k === '' ? '_' : k;
}

/** `address:port`, with IPv6 addresses in brackets. */
function hostPort(remote: { address: string; port: number }): string {
  return remote.address.includes(':') ? `[${remote.address}]:${remote.port}` : `${remote.address}:${remote.port}`;
}

const stderrSink = (line: string): void => {
  process.stderr.write(line);
};

/**
 * Levels, fields, children, and the SIP trace.
 *
 * @example
 * ```ts
 * const log = new Logger({ level: 'info', sipTrace: cli.sipTrace });
 * const call = log.child({ tenant: 'demo.local', callId: invite.callId });
 * call.info('call from 201 to 202', { trunk: 'carrier' });
 * // 2026-11-22T06:00:00.123Z INFO  [demo.local] [a84b4c76e66710] call from 201 to 202 trunk=carrier
 * ```
 */
export class Logger {
  private state: LoggerState;
  private fields: LogFields;

  constructor(options: LoggerOptions = {}) {
    this.state = {
      level: options.level ?? 'info',
      sipTrace: options.sipTrace ?? false,
      sink: options.sink ?? stderrSink,
      clock: options.clock ?? (() => new Date()),
    };
    this.fields = {};
  }

  /** A logger that prints nothing (tests). */
  static silent(): Logger {
    return new Logger({ level: 'error', sink: () => undefined, sipTrace: false });
  }

  /** The most verbose level printed; shared with children (a reload can change it). */
  get level(): LogLevel {
    return this.state.level;
  }

  set level(level: LogLevel) {
    this.state.level = level;
  }

  /** Whether {@link sip} prints; shared with children. */
  get sipTrace(): boolean {
    return this.state.sipTrace;
  }

  set sipTrace(on: boolean) {
    this.state.sipTrace = on;
  }

  /** Whether events of a level are printed (to skip building an expensive message). */
  enabled(level: LogLevel): boolean {
    return RANK[level] <= RANK[this.state.level];
  }

  error(message: string, fields?: LogFields): void {
    this.log('error', message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.log('warn', message, fields);
  }

  info(message: string, fields?: LogFields): void {
    this.log('info', message, fields);
  }

  debug(message: string, fields?: LogFields): void {
    this.log('debug', message, fields);
  }

  /** A logger that adds `fields` to every line (its own fields win over the parent's). Level and sink are shared. */
  child(fields: LogFields): Logger {
    const c = new Logger();
    c.state = this.state;
    c.fields = { ...this.fields, ...fields };
    return c;
  }

  /** One event, if its level is enabled. */
  log(level: LogLevel, message: string, fields?: LogFields): void {
    if (RANK[level] > RANK[this.state.level]) return;
    const all = fields === undefined ? this.fields : { ...this.fields, ...fields };
    let line = `${this.state.clock().toISOString()} ${LABEL[level]}`;
    if (all.tenant !== undefined) line += ` [${oneLine(String(all.tenant))}]`;
    if (all.callId !== undefined) line += ` [${oneLine(String(all.callId))}]`;
    line += ` ${oneLine(message)}`;
    for (const key of Object.keys(all)) {
      if (key === 'tenant' || key === 'callId') continue;
      const value = all[key];
      if (value === undefined) continue;
      line += ` ${logfmtKey(key)}=${logfmtValue(value)}`;
    }
    this.emit(`${line}\n`);
  }

  /**
   * The SIP trace channel (`--sip-trace`): a message as sent or received. Prints, when
   * {@link sipTrace} is on, a header line (`… >>> sent to udp 127.0.0.1:5062 (812 bytes)` or
   * `… <<< received from …`), the message as latin1 text (control characters other than CR,
   * LF and TAB escaped as `\xNN`), and a blank line — as one write to the sink.
   */
  sip(direction: 'in' | 'out', protocol: string, remote: { address: string; port: number }, bytes: Uint8Array): void {
    if (!this.state.sipTrace) return;
    const head = `${this.state.clock().toISOString()} ${direction === 'out' ? '>>> sent to' : '<<< received from'} ${oneLine(protocol)} ${oneLine(hostPort(remote))} (${bytes.length} bytes)`;
    let text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    text = text.replace(TRACE_CONTROL, escapeControl);
    this.emit(`${head}\n${text}${text.endsWith('\n') ? '' : '\n'}\n`);
  }

  private emit(text: string): void {
    try {
      this.state.sink(text);
    } catch {
      // Logging must never take the caller down (a closed stderr, a sink that throws).
    }
  }
}
