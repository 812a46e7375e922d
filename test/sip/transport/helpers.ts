/**
 * Shared pieces of the transport tests: SIP request text, a self-signed certificate made
 * at test time with openssl, waiting for a condition, and sets that are closed after each test.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMessage, type SipRequest } from '../../../src/sip/message/index.js';
import { SipTransportSet, type SipTransportSetOptions } from '../../../src/sip/transport/index.js';
import type { InboundMessage } from '../../../src/sip/transport/types.js';

let branchSeq = 0;

/** The text of a small request; `via` is the top Via value. */
export function requestText(opts: { method?: string; via: string; callId?: string; body?: string; extra?: string[] }): string {
  const method = opts.method ?? 'OPTIONS';
  const body = opts.body ?? '';
  return (
    `${method} sip:bob@127.0.0.1 SIP/2.0\r\n` +
    `Via: ${opts.via}\r\n` +
    'Max-Forwards: 70\r\n' +
    'From: <sip:alice@127.0.0.1>;tag=a1\r\n' +
    'To: <sip:bob@127.0.0.1>\r\n' +
    `Call-ID: ${opts.callId ?? `call-${++branchSeq}@test`}\r\n` +
    `CSeq: 1 ${method}\r\n` +
    (opts.extra ?? []).map((h) => `${h}\r\n`).join('') +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** A fresh RFC 3261 branch. */
export function branch(): string {
  return `z9hG4bK-test-${++branchSeq}-${Math.random().toString(36).slice(2)}`;
}

/** A parsed request with a Via for `protocol` and sent-by `host:port`. */
export function request(protocol: string, host = '127.0.0.1', port = 5060, opts: { method?: string; body?: string; extra?: string[]; viaParams?: string } = {}): SipRequest {
  const msg = parseMessage(Buffer.from(requestText({ ...opts, via: `SIP/2.0/${protocol.toUpperCase()} ${host}:${port};branch=${branch()}${opts.viaParams ?? ''}` })));
  if (!msg.isRequest) throw new Error('not a request');
  return msg;
}

/** Polls `cond` every 5 ms until true, or throws after `ms`. */
export async function waitFor(cond: () => boolean, ms = 1500, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A self-signed certificate for localhost and 127.0.0.1, made by openssl. */
export function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sb-tls-'));
  try {
    const r = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Transport sets opened by a test; `closeSets()` in afterEach closes them all. */
const open: SipTransportSet[] = [];

/** Opens a set that records what it receives in `inbox`. */
export async function openSet(options: Partial<SipTransportSetOptions> & Pick<SipTransportSetOptions, 'listen'>): Promise<{ set: SipTransportSet; inbox: InboundMessage[]; errors: string[] }> {
  const inbox: InboundMessage[] = [];
  const errors: string[] = [];
  const set = await SipTransportSet.listen({
    onMessage: (m) => inbox.push(m),
    onError: (e, c) => errors.push(`${c}: ${e instanceof Error ? e.message : String(e)}`),
    ...options,
  });
  open.push(set);
  return { set, inbox, errors };
}

export async function closeSets(): Promise<void> {
  await Promise.all(open.splice(0).map((s) => s.close()));
}
