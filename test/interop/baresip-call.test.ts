/**
 * baresip (Debian `baresip-core` 1.0) and our UserAgent: baresip registers (MD5 digest) to a
 * UserAgent that is also the registrar, then calls it through `ctrl_tcp` (netstring JSON
 * commands): we see the INVITE, accept with an SDP answer, get the ACK, and hang up with BYE;
 * baresip reports CALL_CLOSED. A second call is hung up by baresip and we see its BYE. Then
 * we call baresip at the contact it registered (it auto-answers, `answermode=auto`) and hang
 * up. Audio: an 8 kHz tone WAV generated here, sent through the `aufile` source (the helper
 * pads it with silence, since baresip 1.0 hangs up when the source file ends). Nothing is
 * played out: baresip 1.0 has no `aufile` player (see test/helpers/baresip.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DigestServer, passwordLookup, systemClock } from '../../src/sip/index.js';
import { LocationService, Registrar } from '../../src/sip/ua/index.js';
import { UserAgent, type IncomingSession } from '../../src/sip/ua/session-index.js';
import { startBaresip, waitFor, type Baresip } from '../helpers/baresip.js';
import { hasCommand, stopAll } from '../helpers/peer-process.js';
import { freeTcpPort } from '../helpers/ports.js';

beforeAll(() => {
  if (!hasCommand('baresip')) throw new Error('baresip is not installed: apt-get install baresip-core (.ci/run does this)');
});

let ua: UserAgent | undefined;
let baresip: Baresip | undefined;
let ctrl: Socket | undefined;
let audioDir: string | undefined;
afterEach(async () => {
  if (audioDir !== undefined) rmSync(audioDir, { recursive: true, force: true });
  audioDir = undefined;
  ctrl?.destroy();
  ctrl = undefined;
  await baresip?.stop();
  baresip = undefined;
  await stopAll();
  await ua?.stop();
  ua = undefined;
});

/** One second of a 440 Hz tone, 8 kHz 16-bit mono PCM WAV. */
function toneWav(path: string): void {
  const samples = 8000;
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)), i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(16000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([h, data]));
}

/** A ctrl_tcp client: netstring-framed JSON commands, responses and events. */
class BaresipControl {
  readonly events: { type: string; param?: string }[] = [];
  private buffer = '';
  private pending = new Map<string, (r: { ok: boolean; data: string }) => void>();
  private token = 0;
  constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (;;) {
        const colon = this.buffer.indexOf(':');
        if (colon < 0) return;
        const len = Number(this.buffer.slice(0, colon));
        if (this.buffer.length < colon + 1 + len + 1) return;
        const json = this.buffer.slice(colon + 1, colon + 1 + len);
        this.buffer = this.buffer.slice(colon + 2 + len);
        const msg = JSON.parse(json) as { event?: boolean; type?: string; param?: string; response?: boolean; ok?: boolean; data?: string; token?: string };
        if (msg.event === true && msg.type !== undefined) this.events.push({ type: msg.type, ...(msg.param === undefined ? {} : { param: msg.param }) });
        if (msg.response === true && msg.token !== undefined) this.pending.get(msg.token)?.({ ok: msg.ok === true, data: msg.data ?? '' });
      }
    });
  }
  static async connect(port: number, timeoutMs: number): Promise<BaresipControl> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        const s = await new Promise<Socket>((resolve, reject) => {
          const c = createConnection({ host: '127.0.0.1', port }, () => resolve(c));
          c.once('error', reject);
        });
        ctrl = s;
        return new BaresipControl(s);
      } catch (e) {
        if (Date.now() > end) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
  command(command: string, params = ''): Promise<{ ok: boolean; data: string }> {
    const token = String(++this.token);
    const json = JSON.stringify({ command, params, token });
    const got = new Promise<{ ok: boolean; data: string }>((resolve) => this.pending.set(token, resolve));
    this.socket.write(`${Buffer.byteLength(json)}:${json},`);
    return got;
  }
  has(type: string, count = 1): boolean {
    return this.events.filter((e) => e.type === type).length >= count;
  }
}

const answer = 'v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n';

describe('baresip and our UserAgent', () => {
  it('registers to our registrar, calls our UAS both ways of hanging up, and answers our call', async () => {
    const location = new LocationService({ clock: systemClock });
    const auth = new DigestServer({ realm: 'switchboard.test', algorithms: ['MD5'], lookup: passwordLookup((u) => (u === '1001' ? 'secret' : undefined)) });
    const agent = await UserAgent.start({
      listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }],
      aor: 'sip:service@127.0.0.1',
      registrar: new Registrar({ location, auth, domains: ['127.0.0.1'] }),
      stopTimeoutMs: 1000,
    });
    ua = agent;
    const calls: IncomingSession[] = [];
    agent.on('invite', (call) => {
      calls.push(call);
      call.ringing();
      void call.accept({ body: answer }).catch(() => undefined);
    });
    const ctrlPort = await freeTcpPort();
    audioDir = mkdtempSync(join(tmpdir(), 'baresip-audio-'));
    const wav = join(audioDir, 'tone.wav');
    toneWav(wav);
    const bs = await startBaresip({
      accounts: [`<sip:1001@127.0.0.1:${agent.port};transport=udp>;auth_pass=secret;regint=60;answermode=auto`],
      modules: ['g711.so', 'ctrl_tcp.so', 'menu.so'],
      config: [`ctrl_tcp_listen 127.0.0.1:${ctrlPort}`],
      audioSource: wav,
    });
    baresip = bs;
    const context = () => `${JSON.stringify(control?.events ?? [])}\n${bs.output().slice(-5000)}`;
    let control: BaresipControl | undefined;
    await waitFor(() => location.lookup('sip:1001@127.0.0.1').length > 0, 10_000, context);
    control = await BaresipControl.connect(ctrlPort, 5000);
    const c = control;

    // 1. baresip calls us; we accept, get the ACK, and hang up.
    expect((await c.command('dial', `sip:service@127.0.0.1:${agent.port}`)).ok, context()).toBe(true);
    await waitFor(() => calls.length === 1 && calls[0]!.state === 'established', 10_000, context);
    const first = calls[0]!;
    expect(first.offer?.contentType).toBe('application/sdp');
    expect(first.offer?.body.toString()).toMatch(/m=audio \d+ RTP\/AVP/);
    expect(first.remoteIdentity.uri.toString()).toMatch(/^sip:1001@127\.0\.0\.1/);
    await waitFor(() => c.has('CALL_ESTABLISHED'), 10_000, context);
    expect((await first.bye())?.status, context()).toBe(200);
    await waitFor(() => c.has('CALL_CLOSED'), 10_000, context);
    expect(first.end?.reason).toBe('local-bye');

    // 2. baresip calls again and hangs up itself: we see its BYE.
    expect((await c.command('dial', `sip:service@127.0.0.1:${agent.port}`)).ok, context()).toBe(true);
    await waitFor(() => calls.length === 2 && calls[1]!.state === 'established' && c.has('CALL_ESTABLISHED', 2), 10_000, context);
    expect((await c.command('hangup')).ok, context()).toBe(true);
    expect((await calls[1]!.ended).reason).toBe('remote-bye');

    // 3. We call baresip at the contact it registered; it answers by itself.
    const [binding] = location.lookup('sip:1001@127.0.0.1');
    const out = agent.invite(binding!.contact.uri.toString(), { body: answer });
    await out.answered;
    expect(out.remoteBody?.body.toString()).toMatch(/m=audio \d+ RTP\/AVP 0/);
    await waitFor(() => c.has('CALL_ESTABLISHED', 3), 10_000, context);
    expect((await out.bye())?.status, context()).toBe(200);
    await waitFor(() => c.has('CALL_CLOSED', 3), 10_000, context);
  }, 40_000);
});
