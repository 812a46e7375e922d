/**
 * Digest authentication on the wire against sipp (Debian `sip-tester`): sipp registers with
 * its `[authentication]` keyword (`-au`/`-ap`) to a small UDP registrar built on DigestServer
 * and the message layer. sipp's digest support is MD5 only, so the registrar offers MD5.
 */
import { createSocket, type Socket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DigestServer, passwordLookup, type DigestFailure } from '../../src/sip/auth/index.js';
import { createResponse, parseMessage, serializeMessage, SipParseError, type SipRequest } from '../../src/sip/index.js';
import { freeUdpPort, freeUdpPortRange } from '../helpers/ports.js';
import { hasCommand, startPeer, stopAll } from '../helpers/peer-process.js';

const scenarios = join(__dirname, 'scenarios');

beforeAll(() => {
  if (!hasCommand('sipp')) throw new Error('sipp is not installed: apt-get install sip-tester (.ci/run does this)');
});

interface Registrar {
  port: number;
  stats: { challenged: number; registered: number; qop: Record<string, number>; refused: Partial<Record<DigestFailure, number>>; malformed: number };
  close(): Promise<void>;
}

/** A registrar that answers REGISTER with a 401 challenge until the credentials verify, then 200. */
async function startRegistrar(auth: DigestServer): Promise<Registrar> {
  const socket: Socket = createSocket('udp4');
  const stats: Registrar['stats'] = { challenged: 0, registered: 0, qop: {}, refused: {}, malformed: 0 };
  socket.on('message', (data, rinfo) => {
    let msg;
    try {
      msg = parseMessage(data);
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      stats.malformed++;
      return;
    }
    if (!msg.isRequest) return;
    const req: SipRequest = msg;
    const send = (bytes: Buffer): void => {
      socket.send(bytes, rinfo.port, rinfo.address);
    };
    if (req.method !== 'REGISTER') {
      send(serializeMessage(createResponse(req, 405, undefined, { headers: [['Allow', 'REGISTER']] })));
      return;
    }
    void auth.verify(req).then((result) => {
      if (result.ok) {
        stats.registered++;
        const qop = result.qop ?? 'none';
        stats.qop[qop] = (stats.qop[qop] ?? 0) + 1;
        const contact = req.get('Contact');
        send(serializeMessage(createResponse(req, 200, 'OK', { headers: contact === undefined ? [] : [['Contact', `${contact};expires=300`]] })));
        return;
      }
      stats.refused[result.reason] = (stats.refused[result.reason] ?? 0) + 1;
      if (result.reason === 'missing') stats.challenged++;
      send(serializeMessage(result.reason === 'malformed' ? createResponse(req, 400) : auth.challengeResponse(req, { stale: result.reason === 'stale' })));
    });
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return {
    port: socket.address().port,
    stats,
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}

let registrar: Registrar | undefined;
afterEach(async () => {
  await stopAll();
  await registrar?.close();
  registrar = undefined;
});

describe('sipp registers with digest to a DigestServer registrar', () => {
  it('100 registrations: 401 challenge, MD5 credentials, 200 — no failures', async () => {
    const auth = new DigestServer({
      realm: 'switchboard.test',
      algorithms: ['MD5'],
      lookup: passwordLookup((user) => (user === 'sippuser' ? 'sipp-s3cret' : undefined)),
    });
    registrar = await startRegistrar(auth);
    const calls = 100;
    const sipp = startPeer(
      'sipp',
      [
        `127.0.0.1:${registrar.port}`,
        '-sf', join(scenarios, 'register-digest.xml'),
        '-s', 'sippuser',
        '-au', 'sippuser',
        '-ap', 'sipp-s3cret',
        '-m', String(calls),
        '-r', '50',
        '-p', String(await freeUdpPort()),
        '-mp', String(await freeUdpPortRange(4)),
        '-i', '127.0.0.1',
        '-bind_local',
        '-nostdin',
        '-trace_err',
        '-timeout', '30s',
        '-timeout_error',
      ],
      { timeoutMs: 40_000, cwd: tmpdir() },
    );
    const r = await sipp.done;
    expect(r.code, r.stderr + r.stdout.slice(-2000) + JSON.stringify(registrar.stats)).toBe(0);
    // Offered qop="auth,auth-int", sipp picks auth-int: H(entity-body) of the empty body.
    expect(registrar.stats).toEqual({ challenged: calls, registered: calls, qop: { 'auth-int': calls }, refused: { missing: calls }, malformed: 0 });
  });
});
