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
import { freeUdpPort } from './ports.js';

export async function sippLocalArgs(timeout = '30s'): Promise<string[]> {
  return ['-p', String(await freeUdpPort()), '-mp', String(await freeUdpPort(true)), '-i', '127.0.0.1', '-bind_local', '-nostdin', '-timeout', timeout, '-timeout_error'];
}

/** One SIP message from a sipp `-trace_msg` file. */
export interface SippTracedMessage {
  direction: 'sent' | 'received';
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
  for (const block of trace.split(/^-{5,}[^\n]*\n/m)) {
    const m = /^\s*\S+ message (sent|received)[^\n]*\n([\s\S]*)$/.exec(block);
    if (m === null) continue;
    const text = m[2]!.replace(/^\s+|\s+$/g, '');
    const startLine = text.split(/\r?\n/, 1)[0]!.trim();
    const status = /^SIP\/2\.0 (\d{3})/.exec(startLine);
    out.push({
      direction: m[1] as 'sent' | 'received',
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
