/**
 * The Call API end to end between CallAgents over real UDP sockets on 127.0.0.1: answer and
 * reject, audio both ways (in-band DTMF detected at the far end proves the samples arrived),
 * RFC 4733 and INFO digits into collectDigits, recording, hold/unhold, a bridge with µ-law ↔
 * A-law transcoding, blind and attended transfer.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Call, CallAgent, CallError, type CallAgentOptions } from '../../src/call/index.js';
import { decodeWavSamples, generateDtmf, levelDbov, readWav } from '../../src/codecs/index.js';
import { connectCalls, until } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'switchboard-call-'));
const agents: CallAgent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function agent(name: string, extra: Partial<CallAgentOptions> = {}): Promise<CallAgent> {
  const a = await CallAgent.start({
    listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }],
    aor: `sip:${name}@127.0.0.1`,
    sessionTimer: false,
    ...extra,
  });
  agents.push(a);
  return a;
}

function uri(a: CallAgent, user = 'x'): string {
  return `sip:${user}@127.0.0.1:${a.port}`;
}

describe('CallAgent and Call over loopback', () => {
  it('answers, negotiates PCMU, and both sides end with the right reasons', async () => {
    const a = await agent('alice');
    const b = await agent('bob');
    const { caller, callee } = await connectCalls(a, b, uri(b));
    expect(caller.state).toBe('answered');
    expect(callee.state).toBe('answered');
    expect(caller.negotiated?.codec.encoding).toBe('PCMU');
    expect(callee.negotiated?.telephoneEvent?.payloadType).toBe(101);
    expect(callee.remoteUser).toBe('alice');
    await caller.hangup();
    expect((await callee.ended).reason).toBe('remote-hangup');
    expect(caller.end?.reason).toBe('hangup');
    expect(a.calls.size).toBe(0);
  });

  it('a rejected call rejects agent.call() with the status', async () => {
    const a = await agent('alice');
    const b = await agent('bob');
    b.on('call', (c) => c.reject(486));
    const err = await a.call(uri(b)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallError);
    expect((err as CallError).code).toBe('rejected');
    expect((err as CallError).status).toBe(486);
  });

  it('a ring timeout cancels the call and reports no-answer', async () => {
    const a = await agent('alice');
    const b = await agent('bob');
    b.on('call', (c) => c.ring());
    const call = await a.dial(uri(b), { ringTimeoutMs: 300 });
    const end = await call.ended;
    expect(end.reason).toBe('no-answer');
  });

  it('audio played on one side reaches the other: in-band DTMF tones are detected there', async () => {
    const a = await agent('alice', { media: { inbandDtmf: 'always' } });
    const b = await agent('bob');
    const { caller, callee } = await connectCalls(a, b, uri(b));
    const got: string[] = [];
    caller.on('dtmf', (d, method) => got.push(`${d}:${method}`));
    const result = await callee.play(generateDtmf('159#', { toneMs: 80, pauseMs: 80 }));
    expect(result.reason).toBe('finished');
    await until(() => got.length >= 4);
    expect(got).toEqual(['1:inband', '5:inband', '9:inband', '#:inband']);
  });

  it('RFC 4733 and INFO digits reach collectDigits; type-ahead counts', async () => {
    const a = await agent('alice');
    const b = await agent('bob');
    const { caller, callee } = await connectCalls(a, b, uri(b));
    const methods: string[] = [];
    callee.on('dtmf', (_d, m) => methods.push(m));
    const collected = callee.collectDigits({ max: 5, terminators: '#', timeoutMs: 5000 });
    await caller.sendDigits('12#', { durationMs: 60, gapMs: 60 });
    expect(await collected).toEqual({ digits: '12', reason: 'terminator', terminator: '#' });
    await caller.sendDigits('7', { method: 'info' });
    await until(() => methods.length >= 4);
    expect(methods).toEqual(['rfc4733', 'rfc4733', 'rfc4733', 'info']);
    // '7' arrived with no collector waiting: it is type-ahead for the next one.
    expect(await callee.collectDigits({ max: 1 })).toEqual({ digits: '7', reason: 'max' });
    expect(await callee.collectDigits({ max: 1, timeoutMs: 100 })).toEqual({ digits: '', reason: 'timeout' });
  });

  it('barge-in stops a prompt at the first digit and leaves the digit for collectDigits', async () => {
    const a = await agent('alice');
    const b = await agent('bob');
    const { caller, callee } = await connectCalls(a, b, uri(b));
    const playing = callee.play({ tone: 'dial', durationMs: 10_000 }, { bargeIn: true });
    await new Promise((r) => setTimeout(r, 200));
    await caller.sendDigits('4', { durationMs: 60 });
    expect(await playing).toEqual({ reason: 'digit', digit: '4' });
    expect((await callee.collectDigits({ max: 1 })).digits).toBe('4');
  });

  it('records what the peer says until # into a WAV file', async () => {
    const a = await agent('alice');
    const b = await agent('bob');
    const { caller, callee } = await connectCalls(a, b, uri(b));
    const path = join(dir, 'message.wav');
    const recording = callee.record(path, { maxSeconds: 10 });
    await caller.play({ tone: 'busy', durationMs: 1000 });
    await caller.sendDigits('#', { durationMs: 60 });
    const r = await recording;
    expect(r.reason).toBe('digit');
    expect(r.digit).toBe('#');
    expect(r.durationMs).toBeGreaterThan(900);
    const wav = readWav(new Uint8Array(readFileSync(path)));
    expect(wav.format).toBe('mulaw');
    expect(wav.sampleRate).toBe(8000);
    const pcm = decodeWavSamples(wav);
    expect(levelDbov(pcm)).toBeGreaterThan(-45); // the busy tone is in there, not silence
  });

  it('hold and unhold: the peer sees hold/unhold events and the directions of RFC 3264 §8.4', async () => {
    const a = await agent('alice');
    const b = await agent('bob');
    const { caller, callee } = await connectCalls(a, b, uri(b));
    const events: string[] = [];
    callee.on('hold', () => events.push('hold'));
    callee.on('unhold', () => events.push('unhold'));
    await caller.hold();
    expect(caller.negotiated?.localDirection).toBe('sendonly');
    expect(callee.negotiated?.localDirection).toBe('recvonly');
    await caller.unhold();
    expect(caller.negotiated?.localDirection).toBe('sendrecv');
    expect(events).toEqual(['hold', 'unhold']);
  });

  it('bridge(): audio flows both ways through a third agent, transcoding µ-law ↔ A-law', async () => {
    const a = await agent('alice', { media: { inbandDtmf: 'always' } });
    const c = await agent('carol', { media: { inbandDtmf: 'always', codecs: [{ encoding: 'PCMA', clockRate: 8000 }] } });
    const hub = await agent('hub');
    const left = await connectCalls(a, hub, uri(hub));
    const right = await connectCalls(c, hub, uri(hub));
    expect(left.callee.negotiated?.codec.encoding).toBe('PCMU');
    expect(right.callee.negotiated?.codec.encoding).toBe('PCMA');
    const bridge = left.callee.bridge(right.callee);
    const atCarol: string[] = [];
    const atAlice: string[] = [];
    right.caller.on('dtmf', (d) => atCarol.push(d));
    left.caller.on('dtmf', (d) => atAlice.push(d));
    await left.caller.play(generateDtmf('28', { toneMs: 80, pauseMs: 80 }));
    await right.caller.play(generateDtmf('3', { toneMs: 80, pauseMs: 80 }));
    await until(() => atCarol.length >= 2 && atAlice.length >= 1);
    expect(atCarol.slice(0, 2)).toEqual(['2', '8']);
    expect(atAlice[0]).toBe('3');
    // RFC 4733 events are relayed too.
    await left.caller.sendDigits('9', { method: 'rfc4733', durationMs: 60 });
    await until(() => atCarol.includes('9'));
    // One side hangs up: the bridge ends and the other leg is hung up.
    await left.caller.hangup();
    expect((await right.caller.ended).reason).toBe('remote-hangup');
    expect(bridge.bridged).toBe(false);
  });

  it('blind transfer: the transferee follows the REFER and the transferor drops out', async () => {
    const a = await agent('alice');
    const b = await agent('bob');
    const c = await agent('carol');
    const { caller, callee } = await connectCalls(a, b, uri(b));
    let followed: Promise<Call> | undefined;
    caller.on('transfer-request', (refer) => (followed = a.followTransfer(caller, refer)));
    c.on('call', (call) => void call.answer());
    const result = await callee.transfer(uri(c, 'carol'));
    expect(result.status).toBe(200);
    expect(callee.end?.reason).toBe('transferred');
    const next = await followed!;
    expect(next.state).toBe('answered');
    expect((await caller.ended).reason).toBe('transferred');
    await next.hangup();
  });

  it('attended transfer: Replaces joins the transferee and the target, both transferor calls end', async () => {
    const a = await agent('alice');
    const b = await agent('bob');
    const c = await agent('carol');
    const { caller: aliceCall, callee: bobFromAlice } = await connectCalls(a, b, uri(b));
    const { caller: bobToCarol, callee: carolCall } = await connectCalls(b, c, uri(c));
    let replacement: Call | undefined;
    c.on('call', (call) => {
      replacement = call;
      void call.answer();
    });
    aliceCall.on('transfer-request', (refer) => void a.followTransfer(aliceCall, refer));
    await bobFromAlice.hold();
    await bobFromAlice.attendedTransfer(bobToCarol);
    await until(() => replacement?.state === 'answered');
    expect(replacement!.replaces).toBe(carolCall);
    expect((await carolCall.ended).reason).toBe('replaced');
    expect((await bobToCarol.ended).reason).toBe('remote-hangup');
    expect(bobFromAlice.end?.reason).toBe('transferred');
    await replacement!.hangup();
  });
});
