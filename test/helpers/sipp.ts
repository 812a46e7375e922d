/**
 * Arguments every sipp run in these tests shares (../shared/PEERS.md): its own SIP and media
 * ports (never the 5060/6000 defaults, which could collide with the server under test),
 * loopback only, no stdin, and a hard overall timeout that counts as an error; and
 * {@link parseSippTrace} for what a scenario sent and received (`-trace_msg`).
 *
 * Digest traps in sipp 3.6.1, found against the PBX:
 * - `[authentication]` puts `uri="sip:<remote_ip>:<remote_port>"` in the credentials unless
 *   `-auth_uri USER@HOST` is given (sipp adds the `sip:`); a server that checks the uri
 *   against the Request-URI (RFC 3261 §22.4) answers 400 otherwise.
 * - Offered `qop="auth,auth-int"` (as the PBX offers) it picks `auth-int`: the hash covers the body.
 * - `<verifyauth>` reads only the `Authorization` header: it cannot check the answer to a 407
 *   (`Proxy-Authorization`); recompute that digest from the trace instead
 *   (test/interop/sipp-pbx-trunk.test.ts).
 */
import { readFileSync } from 'node:fs';
import { freeUdpPort, freeUdpPortRange } from './ports.js';

/**
 * sipp's own ports and limits: `-p` (`port`, or a free one), `-mp` (four free ports: sipp
 * binds audio RTP/RTCP at mp, mp+1 and video at mp+2, mp+3, and fails when any is taken) and `-i` on
 * `address` (127.0.0.1 unless told, e.g. 127.0.0.2 for a carrier), `-bind_local`, `-nostdin`,
 * and `-timeout` counted as an error.
 */
export async function sippLocalArgs(timeout = '30s', options: { address?: string; port?: number } = {}): Promise<string[]> {
  const address = options.address ?? '127.0.0.1';
  const port = options.port ?? (await freeUdpPort(false, address));
  return ['-p', String(port), '-mp', String(await freeUdpPortRange(4, address)), '-i', address, '-bind_local', '-nostdin', '-timeout', timeout, '-timeout_error'];
}

/** The arguments that make sipp write every message it sends and receives into `file`. */
export function sippTraceArgs(file: string): string[] {
  return ['-trace_msg', '-message_file', file];
}

/** What sipp wrote into its `-message_file` so far, or `(no message trace)` when there is none yet. */
export function readSippTrace(file: string, encoding: BufferEncoding = 'utf8'): string {
  try {
    return readFileSync(file, encoding);
  } catch {
    return '(no message trace)';
  }
}

/** One SIP message from a sipp `-trace_msg` file. */
export interface SippTracedMessage {
  direction: 'sent' | 'received';
  /** When sipp logged it: milliseconds since midnight, from the time stamp on its dashed line (NaN without one). */
  at: number;
  /** The message text (start line, headers, body). */
  text: string;
  /** The start line: `INVITE sip:… SIP/2.0` or `SIP/2.0 407 …`. */
  startLine: string;
  /** The status of a response (undefined for a request). */
  status: number | undefined;
  /** Header value by lower-case name (the first occurrence). */
  header(name: string): string | undefined;
}

/**
 * The messages of a sipp `-trace_msg` file (`-message_file FILE`), in order. Each is preceded
 * by a line of dashes with a time stamp and a line "UDP message sent (N bytes):" or "UDP
 * message received [N] bytes :".
 *
 * @example
 * ```ts
 * const finals = parseSippTrace(readFileSync(messages, 'utf8')).filter((m) => m.direction === 'received' && (m.status ?? 0) >= 200);
 * ```
 */
export function parseSippTrace(trace: string): SippTracedMessage[] {
  const out: SippTracedMessage[] = [];
  // split() with a group: [before, stamp, block, stamp, block, …].
  const parts = trace.split(/^-{5,}([^\n]*)\n/m);
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const m = /^\s*\S+ message (sent|received)[^\n]*\n([\s\S]*)$/.exec(parts[i + 1]!);
    if (m === null) continue;
    const time = /(\d\d):(\d\d):(\d\d)\.(\d+)/.exec(parts[i]!);
    const text = m[2]!.replace(/^\s+|\s+$/g, '');
    const startLine = text.split(/\r?\n/, 1)[0]!.trim();
    const status = /^SIP\/2\.0 (\d{3})/.exec(startLine);
    out.push({
      direction: m[1] as 'sent' | 'received',
      at: time === null ? NaN : ((Number(time[1]) * 60 + Number(time[2])) * 60 + Number(time[3])) * 1000 + Number(`0.${time[4]}`) * 1000,
      text,
      startLine,
      status: status === null ? undefined : Number(status[1]),
      header(name: string) {
        const re = new RegExp(`^${name.replace(/[-]/g, '\\-')}\\s*:\\s*(.*)$`, 'im');
        return re.exec(text)?.[1]?.trim();
      },
    });
  }
  return out;
}
