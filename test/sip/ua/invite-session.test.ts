/**
 * INVITE sessions between two UserAgents in one process over real loopback sockets: early
 * media, answer, BYE both ways, CANCEL, reject, redirect, hold/unhold re-INVITEs, digest,
 * TCP, and (on a ManualClock) an INVITE nobody answers.
 */
import { describe, expect, it } from 'vitest';
import { DigestServer, ManualClock, passwordLookup } from '../../../src/sip/index.js';
import { SessionFailedError, answerDirection, sdpDirection, setSdpDirection } from '../../../src/sip/ua/session-index.js';
import { agent, answeredCall, next, sdp, uriOf } from './ua-fixtures.js';

describe('INVITE sessions between two user agents', () => {
  it('rings with early media, answers, and the caller hangs up', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    const incoming = next(bob, 'invite');
    const call = alice.invite(uriOf(bob, 'bob'), { body: sdp(4000) });
    const seen: number[] = [];
    call.on('progress', (r) => seen.push(r.status));
    const early = next(call, 'early-media');
    const [callee] = await incoming;
    expect(callee.offer?.body.toString()).toContain('m=audio 4000');
    expect(callee.remoteIdentity.uri.toString()).toBe('sip:alice@127.0.0.1');
    callee.ringing();
    callee.progress({ body: sdp(5000, 'sendonly') });
    const [earlyRes] = await early;
    expect(earlyRes).toMatchObject({ status: 183 });
    expect(call.state).toBe('early');
    expect(callee.state).toBe('early');
    const established = next(call, 'established');
    const confirmed = next(callee, 'confirmed');
    const acked = callee.accept({ body: sdp(5000) });
    await call.answered;
    const [ok] = await established;
    expect(ok.status).toBe(200);
    expect(call.remoteBody?.body.toString()).toContain('m=audio 5000');
    expect(call.state).toBe('established');
    await acked;
    const [ack] = await confirmed;
    expect(ack.method).toBe('ACK');
    expect(seen).toEqual([180, 183]);
    const byeRes = await call.bye();
    expect(byeRes?.status).toBe(200);
    expect(await callee.ended).toEqual({ reason: 'remote-bye' });
    expect(await call.ended).toEqual({ reason: 'local-bye' });
    expect(alice.sessions.size + bob.sessions.size).toBe(0);
    expect(alice.dialogs.size + bob.dialogs.size).toBe(0);
  });

  it('the callee hangs up', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    const { call, callee } = await answeredCall(alice, bob);
    await next(callee!, 'confirmed');
    expect((await callee!.bye())?.status).toBe(200);
    expect((await call.ended).reason).toBe('remote-bye');
  });

  it('CANCEL before the answer: 487 on both sides', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    bob.on('invite', (c) => c.ringing());
    const call = alice.invite(uriOf(bob), { body: sdp(4000) });
    call.cancel(); // before any provisional: sent once the 180 arrives (§9.1)
    const [callee] = await next(bob, 'invite');
    const cancelled = next(callee, 'cancel');
    await expect(call.answered).rejects.toMatchObject({ reason: 'cancelled', status: 487 });
    await cancelled;
    expect((await callee.ended).reason).toBe('cancelled');
    expect((await call.ended).reason).toBe('cancelled');
  });

  it('reject: the caller sees 486 as failed and answered rejects', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    bob.on('invite', (c) => c.reject(486));
    const call = alice.invite(uriOf(bob), { body: sdp(4000) });
    const failed = next(call, 'failed');
    const error = await call.answered.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionFailedError);
    expect((error as SessionFailedError).status).toBe(486);
    expect((await failed)[0].reason).toBe('rejected');
    expect(await call.ended).toMatchObject({ reason: 'rejected', status: 486 });
  });

  it('redirect: a 302 reaches the caller as a redirect event with its contacts', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    const carol = await agent('carol');
    bob.on('invite', (c) => c.redirect([uriOf(carol, 'carol')]));
    carol.on('invite', (c) => void c.accept({ body: sdp(6000) }));
    const call = alice.invite(uriOf(bob), { body: sdp(4000) });
    const [contacts, res] = await next(call, 'redirect');
    expect(res.status).toBe(302);
    expect(contacts.map((c) => c.uri.toString())).toEqual([uriOf(carol, 'carol')]);
    expect((await call.ended).reason).toBe('redirected');
    const followed = alice.invite(contacts[0]!.uri.toString(), { body: sdp(4000) });
    await followed.answered;
    expect(followed.state).toBe('established');
  });

  it('late offer: the INVITE has no body, the 2xx offers, the ACK answers (RFC 3264 §5)', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    const [callee] = await Promise.all([
      next(bob, 'invite').then(([c]) => c),
      Promise.resolve(alice.invite(uriOf(bob), { answerLateOffer: (offer) => offer.body.toString().replace('m=audio 5000', 'm=audio 4000') })),
    ]);
    expect(callee.offer).toBeUndefined();
    await callee.accept({ body: sdp(5000) });
    expect(callee.remoteBody?.contentType).toBe('application/sdp');
    expect(callee.remoteBody?.body.toString()).toContain('m=audio 4000');
    const [call] = [...alice.sessions];
    expect(call!.localBody?.body.toString()).toContain('m=audio 4000');
  });

  it('reliable provisionals (RFC 3262): a 183 with early media sent reliably is PRACKed before the answer', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    const call = alice.invite(uriOf(bob), { body: sdp(4000), require100rel: true });
    const [callee] = await next(bob, 'invite');
    expect(callee.request.require).toEqual(['100rel']);
    const pracked = new Promise<string | undefined>((resolve) => {
      bob.dialogs.events.onPrack = (_dialog, prack) => resolve(prack.get('RAck'));
    });
    const early = next(call, 'early-media');
    callee.progress({ body: sdp(5000, 'sendonly'), reliable: true });
    const [res] = await early;
    expect([res.status, res.require, typeof res.rseq]).toEqual([183, ['100rel'], 'number']);
    expect(await pracked).toBe(`${res.rseq} ${call.request.cseq.seq} INVITE`);
    await callee.accept({ body: sdp(5000) });
    await call.answered;
    expect(call.state).toBe('established');
  });

  it('an INVITE nobody listens for gets 480', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    const call = alice.invite(uriOf(bob), { body: sdp(4000) });
    await expect(call.answered).rejects.toMatchObject({ status: 480 });
  });

  it('hold and unhold with re-INVITEs: the callee sees remote-hold and answers with the mirrored direction', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    const { call, callee } = await answeredCall(alice, bob);
    const holds: boolean[] = [];
    callee!.on('remote-hold', (h) => holds.push(h));
    const held = await call.hold();
    expect(held.status).toBe(200);
    expect(call.onHold).toBe(true);
    expect(sdpDirection(call.localBody!.body.toString())).toBe('sendonly');
    expect(sdpDirection(call.remoteBody!.body.toString())).toBe('recvonly');
    expect(call.localBody!.body.toString()).toContain('o=- 1 2 IN IP4');
    await call.unhold();
    expect(sdpDirection(call.remoteBody!.body.toString())).toBe('sendrecv');
    expect(holds).toEqual([true, false]);
    // The callee answers a re-INVITE itself when it listens.
    callee!.on('reinvite', (r) => r.reject(488));
    await expect(call.hold()).rejects.toMatchObject({ status: 488 });
    expect(call.state).toBe('established');
  });

  it('the callee can put the caller on hold too', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    const { call, callee } = await answeredCall(alice, bob);
    await next(callee!, 'confirmed');
    const remoteHold = next(call, 'remote-hold');
    await callee!.hold();
    expect(await remoteHold).toEqual([true]);
    expect(sdpDirection(callee!.remoteBody!.body.toString())).toBe('recvonly');
  });

  it('answers a digest challenge to the INVITE once (a DigestServer-guarded callee)', async () => {
    const auth = new DigestServer({ realm: 'pbx.test', lookup: passwordLookup((u) => (u === 'alice' ? 'secret' : undefined)), algorithms: ['MD5'] });
    const alice = await agent('alice', { credentials: { username: 'alice', password: 'secret' } });
    const bob = await agent('bob');
    const statuses: string[] = [];
    bob.on('invite', async (c) => {
      const v = await auth.verify(c.request, { proxy: true });
      statuses.push(v.ok ? 'ok' : v.reason);
      if (v.ok) void c.accept({ body: sdp(5000) });
      else c.reject(407, { headers: auth.challenge({ proxy: true }) });
    });
    const call = alice.invite(uriOf(bob), { body: sdp(4000) });
    await call.answered;
    expect(statuses).toEqual(['missing', 'ok']);
    expect(call.request.cseq.seq).toBe(2);
    expect(call.request.get('Proxy-Authorization')).toContain('username="alice"');

    // Wrong password: one retry, then the 407 is final.
    const mallory = await agent('alice', { credentials: { username: 'alice', password: 'wrong' } });
    const bad = mallory.invite(uriOf(bob), { body: sdp(4000) });
    await expect(bad.answered).rejects.toMatchObject({ status: 407 });
    expect(statuses.slice(2)).toEqual(['missing', 'bad-response']);
  });

  it('works over TCP', async () => {
    const alice = await agent('alice', {}, 'tcp');
    const bob = await agent('bob', {}, 'tcp');
    bob.on('invite', (c) => {
      c.ringing();
      void c.accept({ body: sdp(5000) });
    });
    const call = alice.invite(uriOf(bob), { body: sdp(4000) });
    expect(call.request.topVia?.transport).toBe('TCP');
    await call.answered;
    const [callee] = [...bob.sessions];
    await next(callee!, 'confirmed');
    await call.hold();
    expect((await call.bye())?.status).toBe(200);
    expect((await callee!.ended).reason).toBe('remote-bye');
  });

  it('an INVITE to nobody times out after 64*T1 (ManualClock)', async () => {
    const clock = new ManualClock();
    const alice = await agent('alice', { transaction: { clock } });
    const dead = await agent('dead');
    const target = uriOf(dead);
    await dead.stop();
    const call = alice.invite(target, { body: sdp(4000) });
    clock.advance(31_999);
    await new Promise((r) => setImmediate(r));
    expect(call.state).toBe('calling');
    clock.advance(1);
    await expect(call.answered).rejects.toMatchObject({ reason: 'timeout' });
    expect((await call.ended).reason).toBe('timeout');
  });

  it('stop() cancels a call still ringing, and a call ringing here gets 480', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    const carol = await agent('carol');
    bob.on('invite', (c) => c.ringing());
    alice.on('invite', (c) => c.ringing());
    const toBob = alice.invite(uriOf(bob), { body: sdp(4000) });
    const [atBob] = await next(bob, 'invite');
    await next(toBob, 'progress');
    const fromCarol = carol.invite(uriOf(alice), { body: sdp(6000) });
    await next(fromCarol, 'progress');
    await alice.stop();
    expect((await atBob.ended).reason).toBe('cancelled');
    expect((await toBob.ended).reason).toBe('cancelled');
    expect(await fromCarol.ended).toMatchObject({ reason: 'rejected', status: 480 });
  });

  it('stop() ends every session: BYE for established calls', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    const { call, callee } = await answeredCall(alice, bob);
    await alice.stop();
    expect((await call.ended).reason).toBe('local-bye');
    expect((await callee!.ended).reason).toBe('remote-bye');
  });
});

describe('interim SDP direction helpers', () => {
  it('rewrites every media section, adds a missing direction, drops the session-level one, bumps o= version', () => {
    const two = 'v=0\r\no=- 7 41 IN IP4 192.0.2.1\r\ns=-\r\na=sendrecv\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\nm=video 4002 RTP/AVP 96\r\na=recvonly\r\n';
    const held = setSdpDirection(two, 'inactive');
    expect(held).toBe('v=0\r\no=- 7 42 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=inactive\r\na=rtpmap:0 PCMU/8000\r\nm=video 4002 RTP/AVP 96\r\na=inactive\r\n');
    expect(sdpDirection(held)).toBe('inactive');
    expect(sdpDirection('v=0\na=sendonly\nm=audio 1 RTP/AVP 0\n')).toBe('sendonly');
    expect(sdpDirection('v=0\r\nm=audio 1 RTP/AVP 0\r\n')).toBe('sendrecv');
    expect(setSdpDirection('v=0\nm=audio 1 RTP/AVP 0\n', 'sendonly')).toBe('v=0\nm=audio 1 RTP/AVP 0\na=sendonly\n');
    expect([answerDirection('sendonly'), answerDirection('recvonly'), answerDirection('inactive'), answerDirection('sendrecv')]).toEqual(['recvonly', 'sendonly', 'inactive', 'sendrecv']);
  });
});
