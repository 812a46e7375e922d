/**
 * Running baresip (Debian `baresip-core`, 1.0) from a test, the way PEERS.md says works: its
 * own config folder in a temp dir (`baresip -f DIR` with `config` and `accounts`),
 * `module_path /usr/lib/baresip/modules`, `net_interface 127.0.0.1`, SIP on an ephemeral
 * port, only the modules asked for. Optionally: audio to send (`audioSource`), a recording of
 * each call (`record`), remote control over `ctrl_tcp` (`control`: dial, DTMF, hang up, events)
 * and `-e` start-up commands. `stop()` sends SIGTERM (baresip then unregisters), waits,
 * SIGKILLs if needed, and removes the folder; `stopAll()` from peer-process.ts kills what a
 * failed test left.
 *
 * Traps in baresip 1.0, found by running it (test/interop/baresip-audio.test.ts shows them):
 * - `aufile` is a *source* only in 1.0: there is no `aufile` player, so `audio_player
 *   aufile,OUT.wav` writes nothing (and says nothing). To capture what arrived, load the
 *   `sndfile` filter (`record: true` here): per call it writes `dump-<YYYY-MM-DD-hh-mm-ss>-dec.wav`
 *   (received, decoded) and `…-enc.wav` (sent) into `snd_path`, 16-bit PCM mono at the
 *   codec's rate (8000 Hz for G.711), starting at the first packet, so the decoded file of a
 *   loss-free call matches the sent audio at lag 0. Its header is finished when the call ends:
 *   read it after CALL_CLOSED. The name has one-second resolution: two calls started in the
 *   same second overwrite each other. No player is needed for the decoder to run.
 * - The `aufile` source reads only 16-bit PCM (`input file must have format S16LE`) at the
 *   codec's rate and channel count; a µ-law WAV is refused, and the call is then torn down.
 *   `audioSource` here converts any WAV to what it needs.
 * - When the source reaches the end of the file, the `menu` module takes it as an audio error
 *   and hangs the call up (`menu: audio error (0,end of file)`; events AUDIO_ERROR with param
 *   `0,end of file`, then CALL_CLOSED with param `end of file`). The file does not loop.
 *   `audioSource` therefore appends silence (`audioSourcePadSeconds`, by default as long as the
 *   process may live); set 0 to have baresip hang up when the audio ends.
 * - DTMF: 1.0 sends RFC 4733 telephone-events only, on the payload type from the SDP
 *   (`telephone-event/8000` is in every offer and answer it makes); there is no `dtmf_mode` /
 *   `dtmfmode` account parameter yet. (Its binary also handles incoming SIP INFO
 *   `application/dtmf-relay`; not exercised here.) Send with the `sndcode` command during a
 *   call (`/sndcode 12#`, or `sendDigits('12#')` over ctrl_tcp; several digits in one command
 *   all arrive); received digits come as `CALL_DTMF_START` (param = the digit) and
 *   `CALL_DTMF_END` events.
 * - Commands (`dial`, `hangup`, `sndcode`…) live in the `menu` module: `ctrl_tcp` and `-e` need
 *   it loaded (without it `-e /dial …` silently does nothing). ctrl_tcp speaks
 *   netstring-framed JSON: `{"command","params","token"}` in, `{"response":true,"ok","data",
 *   "token"}` and `{"event":true,"type","param",…}` out.
 * - An account with `regint=0` does not register, so two baresips can call each other
 *   directly (`sip:user@127.0.0.1:PORT`); `;answermode=auto` answers at once. baresip answers
 *   404 for any user but its own, and binds SIP port + 1 too.
 * - `-e` commands are typed into the UI one character at a time (the output echoes each
 *   prefix) and run as soon as baresip is ready.
 *
 * @example
 * ```ts
 * const bs = await startBaresip({ accounts: [`<sip:1001@127.0.0.1:${port};transport=udp>;auth_pass=secret;regint=60`] });
 * await waitFor(() => location.lookup('sip:1001@127.0.0.1').length > 0, 10_000, () => bs.output());
 * await bs.stop();
 * ```
 * @example
 * ```ts
 * const b = await startBaresip({ accounts: ['<sip:b@127.0.0.1>;regint=0'], control: true, record: true, audioSource: promptPath('welcome') });
 * const ctl = await b.control();
 * await ctl.dial(`sip:service@127.0.0.1:${ua.port}`);
 * await ctl.waitForEvent('CALL_ESTABLISHED');
 * await ctl.sendDigits('123#');
 * await ctl.hangup();
 * await ctl.waitForEvent('CALL_CLOSED');
 * const [received] = b.recordings().decoded;
 * ```
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWav } from '../../src/codecs/index.js';
import { readWavPcm } from './audio-compare.js';
import { startPeer, type Peer, type PeerResult } from './peer-process.js';
import { freeTcpPort, freeUdpPort } from './ports.js';

export interface BaresipOptions {
  /** Lines of the `accounts` file. */
  accounts: string[];
  /** Modules to load (default: `g711.so`, and `account.so` as the app module that reads `accounts`). */
  modules?: string[];
  /** Extra `config` lines. */
  config?: string[];
  /** SIP port (default: a free UDP port pair: baresip also binds the next port). */
  sipPort?: number;
  /** `-s`: print SIP messages as sent and received (in `output()`). Default true. */
  sipTrace?: boolean;
  /** Hard limit before SIGKILL (default 30 s). */
  timeoutMs?: number;
  /**
   * A WAV file (µ-law, A-law or PCM; any channels; 8 kHz or a multiple of the target rate) to
   * send as each call's audio: converted by `readWavPcm` to 16-bit mono PCM at `audioSourceRate`
   * in the config folder and configured as `audio_source
   * aufile,…` (loads `aufile.so`).
   */
  audioSource?: string;
  /** Rate of the converted source, which must be the codec's: 8000 (G.711, default) or 16000. */
  audioSourceRate?: 8000 | 16000;
  /**
   * Seconds of silence before `audioSource` (default 0): the source starts with the call's
   * audio, so this places the signal later in the call (e.g. after an IVR's prompts).
   */
  audioSourceDelaySeconds?: number;
  /**
   * Seconds of silence appended to `audioSource`, because baresip hangs up when the file ends.
   * Default: as long as `timeoutMs`. 0 lets the end of the audio end the call.
   */
  audioSourcePadSeconds?: number;
  /** Record every call with the `sndfile` filter into `recordingsDir` (see {@link Baresip.recordings}). */
  record?: boolean;
  /** Load `menu.so` and `ctrl_tcp.so` on a free TCP port, for {@link Baresip.control}. */
  control?: boolean;
  /** Commands to run at start-up (`-e`, one each; loads `menu.so`), e.g. `/dial sip:a@127.0.0.1:5070`. */
  commands?: string[];
}

/**
 * A ctrl_tcp event (baresip's `event_encode_dict`), e.g. `{ type: 'CALL_DTMF_START', class:
 * 'call', accountaor: 'sip:a@127.0.0.1', direction: 'incoming', peeruri: 'sip:b@127.0.0.1',
 * id: '<Call-ID>', param: '1' }`. Types seen: CALL_INCOMING, CALL_RINGING, CALL_PROGRESS,
 * CALL_ESTABLISHED, CALL_CLOSED (param = reason), CALL_DTMF_START (param = digit),
 * CALL_DTMF_END, CALL_RTPESTAB, CALL_RTCP, CALL_LOCAL_SDP / CALL_REMOTE_SDP (param = offer or
 * answer), AUDIO_ERROR (param e.g. `0,end of file`), REGISTER_OK…
 */
export interface BaresipEvent {
  type: string;
  param?: string;
  class?: string;
  accountaor?: string;
  direction?: 'incoming' | 'outgoing';
  peeruri?: string;
  /** The SIP Call-ID. */
  id?: string;
}

export interface BaresipResponse {
  ok: boolean;
  data: string;
}

export interface Baresip {
  dir: string;
  sipPort: number;
  peer: Peer;
  /** Where `record: true` puts the `sndfile` dumps. */
  recordingsDir: string;
  /** The ctrl_tcp port, when started with `control: true`. */
  controlPort: number | undefined;
  /** stdout and stderr so far, for failure messages. */
  output(): string;
  /**
   * The `sndfile` dumps so far, oldest first: `decoded` is what baresip received, `encoded`
   * what it sent. Read them after the call closed (the header is finished then), before `stop()`.
   */
  recordings(): { decoded: string[]; encoded: string[] };
  /** Connects (once) to ctrl_tcp, retrying until baresip listens. Needs `control: true`. */
  control(timeoutMs?: number): Promise<BaresipControl>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 3000); removes the config folder. */
  stop(graceMs?: number): Promise<PeerResult>;
}

/**
 * A ctrl_tcp client: netstring-framed JSON commands, their responses, and the events baresip
 * pushes (collected in `events`).
 */
export class BaresipControl {
  readonly events: BaresipEvent[] = [];
  private buffer = '';
  private readonly pending = new Map<string, (r: BaresipResponse) => void>();
  private token = 0;

  constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.drain();
    });
    socket.on('close', () => {
      for (const resolve of this.pending.values()) resolve({ ok: false, data: 'ctrl_tcp connection closed' });
      this.pending.clear();
    });
  }

  /** Connects to ctrl_tcp on 127.0.0.1:`port`, retrying every 50 ms until `timeoutMs`. */
  static async connect(port: number, timeoutMs: number): Promise<BaresipControl> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        const s = await new Promise<Socket>((resolve, reject) => {
          const c = createConnection({ host: '127.0.0.1', port }, () => resolve(c));
          c.once('error', reject);
        });
        s.on('error', () => undefined);
        return new BaresipControl(s);
      } catch (e) {
        if (Date.now() > end) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  private drain(): void {
    for (;;) {
      const colon = this.buffer.indexOf(':');
      if (colon < 0) return;
      const len = Number(this.buffer.slice(0, colon));
      if (this.buffer.length < colon + 1 + len + 1) return;
      const json = this.buffer.slice(colon + 1, colon + 1 + len);
      this.buffer = this.buffer.slice(colon + 2 + len);
      const msg = JSON.parse(json) as { event?: boolean; response?: boolean; ok?: boolean; data?: string; token?: string } & Partial<BaresipEvent>;
      if (msg.event === true && msg.type !== undefined) {
        const { event: _e, ...fields } = msg;
        this.events.push(fields as BaresipEvent);
      }
      if (msg.response === true && msg.token !== undefined) {
        this.pending.get(msg.token)?.({ ok: msg.ok === true, data: msg.data ?? '' });
        this.pending.delete(msg.token);
      }
    }
  }

  /** Runs a long command (`dial`, `hangup`, `sndcode`, `listcalls`…) and resolves with its response. */
  command(command: string, params = ''): Promise<BaresipResponse> {
    const token = String(++this.token);
    const json = JSON.stringify({ command, params, token });
    const got = new Promise<BaresipResponse>((resolve) => this.pending.set(token, resolve));
    this.socket.write(`${Buffer.byteLength(json)}:${json},`);
    return got;
  }

  /** `dial URI`; throws if baresip refuses the command. */
  async dial(uri: string): Promise<void> {
    await this.ok('dial', uri);
  }

  /** Sends `digits` (0-9, *, #, A-D) as RFC 4733 telephone-events on the current call (`sndcode`). */
  async sendDigits(digits: string): Promise<void> {
    await this.ok('sndcode', digits);
  }

  /** Hangs up the current call. */
  async hangup(): Promise<void> {
    await this.ok('hangup');
  }

  /** Whether at least `count` events of `type` arrived. */
  has(type: string, count = 1): boolean {
    return this.count(type) >= count;
  }

  /** How many events of `type` arrived. */
  count(type: string): number {
    return this.events.filter((e) => e.type === type).length;
  }

  /**
   * Resolves with the `count`-th event of `type` once it has arrived; rejects after `timeoutMs`
   * listing the events seen and `context()` (e.g. both peers' output).
   */
  async waitForEvent(type: string, count = 1, timeoutMs = 10_000, context: () => string = () => ''): Promise<BaresipEvent> {
    await waitFor(() => this.has(type, count), timeoutMs, () => `waiting for ${type} #${count}; events: ${JSON.stringify(this.events)}\n${context()}`);
    return this.events.filter((e) => e.type === type)[count - 1]!;
  }

  /** The digits received so far, from `CALL_DTMF_START` events. */
  receivedDigits(): string {
    return this.events
      .filter((e) => e.type === 'CALL_DTMF_START')
      .map((e) => e.param ?? '')
      .join('');
  }

  close(): void {
    this.socket.destroy();
  }

  private async ok(command: string, params = ''): Promise<void> {
    const r = await this.command(command, params);
    if (!r.ok) throw new Error(`baresip refused ${command} ${params}: ${r.data}`);
  }
}

/** Converts a WAV file to 16-bit mono PCM at `rate`, after `delaySeconds` and before `padSeconds` of silence. */
function writeSourceWav(from: string, to: string, rate: 8000 | 16000, delaySeconds: number, padSeconds: number): void {
  const pcm = readWavPcm(from, rate);
  const delay = Math.round(delaySeconds * rate);
  const padded = new Int16Array(delay + pcm.length + Math.round(padSeconds * rate));
  padded.set(pcm, delay);
  writeFileSync(to, encodeWav(padded, { format: 'pcm16', sampleRate: rate }));
}

/** Writes the config folder and starts baresip. */
export async function startBaresip(options: BaresipOptions): Promise<Baresip> {
  const dir = mkdtempSync(join(tmpdir(), 'baresip-'));
  try {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const sipPort = options.sipPort ?? (await freeUdpPort(true));
    const modules = [...(options.modules ?? ['g711.so'])];
    const extra: string[] = [];
    const need = (m: string) => {
      if (!modules.includes(m)) modules.push(m);
    };
    if (options.audioSource !== undefined) {
      need('aufile.so');
      const source = join(dir, 'source.wav');
      writeSourceWav(
        options.audioSource,
        source,
        options.audioSourceRate ?? 8000,
        options.audioSourceDelaySeconds ?? 0,
        options.audioSourcePadSeconds ?? timeoutMs / 1000,
      );
      extra.push(`audio_source aufile,${source}`);
    }
    const recordingsDir = join(dir, 'recordings');
    if (options.record === true) {
      need('sndfile.so');
      mkdirSync(recordingsDir);
      extra.push(`snd_path ${recordingsDir}`);
    }
    if ((options.commands ?? []).length > 0) need('menu.so');
    let controlPort: number | undefined;
    if (options.control === true) {
      need('menu.so');
      need('ctrl_tcp.so');
      controlPort = await freeTcpPort();
      extra.push(`ctrl_tcp_listen 127.0.0.1:${controlPort}`);
    }
    const config = [
      'poll_method epoll',
      `sip_listen 127.0.0.1:${sipPort}`,
      'net_interface 127.0.0.1',
      'module_path /usr/lib/baresip/modules',
      ...modules.map((m) => `module ${m}`),
      'module_app account.so',
      ...extra,
      ...(options.config ?? []),
    ];
    writeFileSync(join(dir, 'config'), `${config.join('\n')}\n`);
    writeFileSync(join(dir, 'accounts'), `${options.accounts.join('\n')}\n`);
    const args = ['-f', dir];
    if (options.sipTrace ?? true) args.push('-s');
    for (const c of options.commands ?? []) args.push('-e', c);
    const peer = startPeer('baresip', args, { timeoutMs, cwd: dir, env: { ...process.env, HOME: dir } });
    let stopped: Promise<PeerResult> | undefined;
    let control: Promise<BaresipControl> | undefined;
    const dumps = (suffix: string) => {
      if (options.record !== true) return [];
      return readdirSync(recordingsDir)
        .filter((f) => f.startsWith('dump-') && f.endsWith(`-${suffix}.wav`))
        .sort()
        .map((f) => join(recordingsDir, f));
    };
    return {
      dir,
      sipPort,
      peer,
      recordingsDir,
      controlPort,
      output: () => {
        const o = peer.output();
        return `${o.stdout}\n${o.stderr}`;
      },
      recordings: () => ({ decoded: dumps('dec'), encoded: dumps('enc') }),
      control: (connectTimeoutMs = 5000) => {
        if (controlPort === undefined) return Promise.reject(new Error('startBaresip({ control: true }) is needed for control()'));
        control ??= BaresipControl.connect(controlPort, connectTimeoutMs);
        return control;
      },
      stop: (graceMs = 3000) => {
        stopped ??= (async () => {
          if (control !== undefined) (await control.catch(() => undefined))?.close();
          peer.kill('SIGTERM');
          const timer = setTimeout(() => peer.kill('SIGKILL'), graceMs);
          const result = await peer.done;
          clearTimeout(timer);
          rmSync(dir, { recursive: true, force: true });
          return result;
        })();
        return stopped;
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Polls `cond` every 20 ms until it holds; rejects after `timeoutMs` with `context()` in the message. */
export async function waitFor(cond: () => boolean, timeoutMs: number, context: () => string = () => ''): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms\n${context()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
