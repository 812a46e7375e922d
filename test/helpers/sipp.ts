/**
 * Arguments every sipp run in these tests shares (../shared/PEERS.md): its own SIP and media
 * ports (never the 5060/6000 defaults, which could collide with the server under test),
 * loopback only, no stdin, and a hard overall timeout that counts as an error.
 */
import { freeUdpPort } from './ports.js';

export async function sippLocalArgs(timeout = '30s'): Promise<string[]> {
  return ['-p', String(await freeUdpPort()), '-mp', String(await freeUdpPort(true)), '-i', '127.0.0.1', '-bind_local', '-nostdin', '-timeout', timeout, '-timeout_error'];
}
