/**
 * BLF on the wire against sipp (Debian `sip-tester`): `scenarios/blf-watch.xml` registers as
 * 1003 (digest), subscribes to the dialog events of 1002 on a real PBX serving the
 * {@link DialogEventPackage}, and checks one NOTIFY per step of the call the test makes
 * (regexp on the dialog-info body: `trying`, `early` with both tags, `confirmed`,
 * `terminated`): a plain UserAgent registered as 1001 calls 1002, a CallAgent that rings,
 * answers and is hung up on; the test waits for each NOTIFY in sipp's trace before the next
 * step, so none is coalesced with another. Then sipp unsubscribes and gets the final NOTIFY. sipp's message trace tells what the
 * PBX sent: no challenge to the SUBSCRIBE (the notifier does not authenticate; the package
 * admits registered devices of the tenant only), the call-id and tags of 1002's leg.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DialogEventPackage } from '../../src/pbx/features/dialog-events.js';
import { UserAgent } from '../../src/sip/index.js';
import { startTestPbx, testConfig, type TestPbx } from '../helpers/pbx.js';
import { hasCommand, startPeer, stopAll } from '../helpers/peer-process.js';
import { parseSippTrace, readSippTrace, sippLocalArgs, sippTraceArgs, type SippTracedMessage } from '../helpers/sipp.js';
import { nextCall, until } from '../helpers/wait.js';

const scenarios = join(__dirname, 'scenarios');

beforeAll(() => {
  if (!hasCommand('sipp')) throw new Error('sipp is not installed: apt-get install sip-tester (.ci/run does this)');
});

let t: TestPbx | undefined;
let dir: string | undefined;
const agents: UserAgent[] = [];
afterEach(async () => {
  await stopAll();
  for (const a of agents.splice(0)) await a.stop();
  await t?.stop();
  t = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('BLF with sipp as the watching phone', () => {
  it('REGISTER, SUBSCRIBE Event: dialog to 1002, NOTIFYs early → confirmed → terminated with 1002’s call-id and tags, unsubscribe', { timeout: 45_000 }, async () => {
    const blf = new DialogEventPackage();
    t = await startTestPbx(testConfig(), { eventPackages: { dialog: blf } });
    blf.attach(t.pbx);
    dir = mkdtempSync(join(tmpdir(), 'sipp-blf-'));
    const messagesFile = join(dir, 'messages.log');
    const sipp = startPeer(
      'sipp',
      [
        `127.0.0.1:${t.pbx.port}`,
        '-sf', join(scenarios, 'blf-watch.xml'),
        '-s', '1003',
        '-au', '1003',
        '-ap', 'password-1003',
        // The digest uri must be the Request-URI (sip:demo.test); sipp's default is remote_ip:port.
        '-auth_uri', t.domain,
        '-key', 'domain', t.domain,
        '-key', 'watched', '1002',
        '-m', '1',
        ...(await sippLocalArgs('30s')),
        ...sippTraceArgs(messagesFile),
        '-trace_err',
        '-error_file', join(dir, 'errors.log'),
      ],
      { timeoutMs: 40_000, cwd: dir },
    );
    const trace = (): SippTracedMessage[] => parseSippTrace(readSippTrace(messagesFile, 'latin1'));
    const notifies = (): SippTracedMessage[] => trace().filter((m) => m.direction === 'received' && m.startLine.startsWith('NOTIFY '));
    const sawState = (state: string): boolean => notifies().some((m) => m.text.includes(`>${state}</state>`));
    const notifier = t.pbx.ua.notifier!;
    await until(() => notifier.size === 1 || sipp.child.exitCode !== null, 10_000, () => `sipp to subscribe: ${sipp.output().stdout.slice(-1500)}`, 20);
    expect(sipp.child.exitCode, sipp.output().stderr).toBeNull();

    // The call sipp watches: 1001 (a plain UserAgent) calls 1002, which rings, answers, is hung up on.
    const alice = await UserAgent.start({
      listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }],
      aor: `sip:1001@${t.domain}`,
      credentials: { username: '1001', password: 'password-1001' },
      outboundProxy: `sip:127.0.0.1:${t.pbx.port};lr`,
      stopTimeoutMs: 500,
    });
    agents.push(alice);
    await alice.register({ registrar: `sip:${t.domain}`, expires: 300 });
    const bob = await t.phone('1002', 'password-1002');
    const rings = nextCall(bob);
    const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40010 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n';
    const call = alice.invite(t.uri('1002'), { body: sdp });
    const atBob = await rings;
    await until(() => sawState('trying'), 5000, 'a trying NOTIFY at sipp', 20);
    atBob.ring();
    await until(() => sawState('early'), 5000, 'an early NOTIFY at sipp', 20);
    await atBob.answer();
    await call.answered;
    await until(() => sawState('confirmed'), 5000, 'a confirmed NOTIFY at sipp', 20);
    await call.bye();

    const result = await sipp.done;
    expect(result.code, `${result.stdout.slice(-2000)}\n${result.stderr}`).toBe(0);

    const messages = trace();
    // The PBX does not challenge SUBSCRIBE: the first answer to it is the 200.
    const subscribeAnswers = messages.filter((m) => m.direction === 'received' && m.status !== undefined && /SUBSCRIBE/.test(m.header('CSeq') ?? ''));
    expect(subscribeAnswers[0]?.status).toBe(200);
    expect(subscribeAnswers.some((m) => m.status === 401 || m.status === 407)).toBe(false);
    // Every dialog in the NOTIFYs is 1002's leg, seen from 1002's phone.
    const bobDialog = atBob.session.dialog!.id;
    const bodies = notifies().map((m) => m.text);
    const dialogs = bodies.flatMap((b) => [...b.matchAll(/<dialog ([^>]*)>/g)].map((x) => x[1]!));
    expect(dialogs).toHaveLength(4); // trying, early, confirmed, terminated: one NOTIFY each
    for (const d of dialogs) {
      expect(d).toContain(`call-id="${atBob.id}"`);
      expect(d).toContain('direction="recipient"');
    }
    expect(dialogs.some((d) => d.includes(`local-tag="${bobDialog.localTag}"`) && d.includes(`remote-tag="${bobDialog.remoteTag}"`))).toBe(true);
    // The final NOTIFY after the unsubscribe.
    expect(notifies().at(-1)!.header('Subscription-State')).toMatch(/^terminated/);
    expect(notifier.size).toBe(0);
  });
});
