/**
 * REFER between UserAgents over loopback UDP (RFC 3515): blind transfer with the NOTIFY
 * sipfrag progression, a declined REFER, attended transfer with Replaces (RFC 3891) where
 * the replaced call ends, and the §3 answers to an INVITE with Replaces (481, 486).
 */
import { describe, expect, it } from 'vitest';
import { DigestServer, passwordLookup } from '../../../src/sip/index.js';
import { parseSipfragStatus, referToValue, type IncomingSession } from '../../../src/sip/ua/session-index.js';
import { agent, next, sdp, uriOf } from './ua-fixtures.js';

async function connected(caller: Awaited<ReturnType<typeof agent>>, callee: Awaited<ReturnType<typeof agent>>, user: string) {
  const incoming = next(callee, 'invite');
  const call = caller.invite(uriOf(callee, user), { body: sdp(4000) });
  const [answering] = await incoming;
  const acked = answering.accept({ body: sdp(5000) });
  await call.answered;
  await acked;
  return { call, answering };
}

describe('REFER (RFC 3515)', () => {
  it('blind transfer: the transferee calls the target and NOTIFYs 100, 180, 200 as sipfrag', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    const carol = await agent('carol');
    const { call: aliceToBob, answering: bobFromAlice } = await connected(alice, bob, 'bob');
    carol.on('invite', (c) => {
      c.ringing();
      setTimeout(() => void c.accept({ body: sdp(6000) }), 20);
    });
    const seen: { referredBy?: string; target?: string; event?: string } = {};
    bobFromAlice.on('refer', (refer) => {
      seen.referredBy = refer.referredBy?.uri.toString();
      seen.target = refer.target;
      refer.accept();
      refer.track(bob.invite(refer.target, { body: sdp(7000) }));
    });
    const transfer = aliceToBob.refer(uriOf(carol, 'carol'));
    const progress: string[] = [];
    const subscriptionStates: string[] = [];
    const contentTypes = new Set<string | undefined>();
    transfer.on('notify', (status, reason, req) => {
      progress.push(`${status} ${reason}`);
      subscriptionStates.push(req.get('Subscription-State') ?? '');
      seen.event = req.get('Event');
      contentTypes.add(req.get('Content-Type'));
    });
    const accepted = next(transfer, 'accepted');
    expect((await accepted)[0].status).toBe(202);
    expect(await transfer.result).toEqual({ accepted: true, status: 200, reason: 'OK' });
    expect(progress).toEqual(['100 Trying', '180 Ringing', '200 OK']);
    expect(subscriptionStates).toEqual(['active;expires=60', 'active;expires=60', 'terminated;reason=noresource']);
    expect([...contentTypes]).toEqual(['message/sipfrag;version=2.0']);
    expect(seen).toEqual({ referredBy: 'sip:alice@127.0.0.1', target: uriOf(carol, 'carol'), event: `refer;id=${transfer.response!.cseq.seq}` });
    // The transferor hangs up; bob and carol stay connected.
    await aliceToBob.bye();
    const bobToCarol = [...bob.sessions].find((s) => s.direction === 'outgoing')!;
    expect(bobToCarol.state).toBe('established');
    expect(bobToCarol.remoteIdentity.uri.toString()).toBe(uriOf(carol, 'carol'));
  });

  it('answers a digest challenge to the REFER once', async () => {
    const auth = new DigestServer({ realm: 'pbx.test', algorithms: ['MD5'], lookup: passwordLookup((u) => (u === 'alice' ? 'secret' : undefined)) });
    const alice = await agent('alice', { credentials: { username: 'alice', password: 'secret' } });
    const bob = await agent('bob');
    const { call, answering } = await connected(alice, bob, 'bob');
    const verdicts: string[] = [];
    answering.on('refer', (refer) => {
      void auth.verify(refer.request).then((v) => {
        verdicts.push(v.ok ? 'ok' : v.reason);
        if (!v.ok) refer.reject(401, undefined, auth.challenge());
        else {
          refer.accept();
          void refer.notify(503, 'Service Unavailable');
        }
      });
    });
    const transfer = call.refer('sip:carol@127.0.0.1:9');
    expect(await transfer.result).toEqual({ accepted: true, status: 503, reason: 'Service Unavailable' });
    expect(verdicts).toEqual(['missing', 'ok']);
    expect(transfer.response?.status).toBe(202);
  });

  it('a REFER nobody listens for is declined with 603', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    const { call } = await connected(alice, bob, 'bob');
    const transfer = call.refer('sip:carol@127.0.0.1:9');
    const rejected = next(transfer, 'rejected');
    expect(await transfer.result).toEqual({ accepted: false, status: 603, reason: 'Decline' });
    expect((await rejected)[0]?.status).toBe(603);
    expect(call.state).toBe('established');
  });

  it('a transfer call that fails is reported as its final status', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    const carol = await agent('carol');
    carol.on('invite', (c) => c.reject(486));
    const { call, answering } = await connected(alice, bob, 'bob');
    answering.on('refer', (refer) => {
      refer.accept();
      refer.track(bob.invite(refer.target, { body: sdp(7000) }));
    });
    expect(await call.refer(uriOf(carol, 'carol')).result).toEqual({ accepted: true, status: 486, reason: 'Busy Here' });
  });

  it('attended transfer: Replaces in the Refer-To, the target swaps calls and the replaced one ends', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    const carol = await agent('carol');
    const { call: aliceToBob, answering: bobFromAlice } = await connected(alice, bob, 'bob');
    const { call: aliceToCarol, answering: carolFromAlice } = await connected(alice, carol, 'carol');
    let replacing: IncomingSession | undefined;
    carol.on('invite', (c) => {
      replacing = c;
      void c.accept({ body: sdp(6000) });
    });
    const got: { replaces?: unknown; header?: string; uri?: string } = {};
    bobFromAlice.on('refer', (refer) => {
      got.replaces = refer.replaces;
      refer.accept();
      const transferCall = bob.invite(refer.target, { body: sdp(7000) });
      got.header = transferCall.request.get('Replaces');
      got.uri = transferCall.request.uriString;
      refer.track(transferCall);
    });
    const transfer = aliceToBob.refer(aliceToCarol);
    expect((await transfer.result).status).toBe(200);
    const { callId } = aliceToCarol;
    const { remoteTag, localTag } = aliceToCarol.dialog!.id;
    expect(got.replaces).toMatchObject({ callId, toTag: remoteTag, fromTag: localTag, earlyOnly: false });
    expect(got.header).toBe(`${callId};to-tag=${remoteTag};from-tag=${localTag}`);
    expect(got.uri).toBe(uriOf(carol, 'carol'));
    expect(replacing?.replaces).toBe(carolFromAlice);
    // RFC 3891 §3: carol ends the replaced call (alice–carol) with BYE.
    expect((await aliceToCarol.ended).reason).toBe('remote-bye');
    expect((await carolFromAlice.ended).reason).toBe('local-bye');
    await aliceToBob.bye();
    expect(replacing?.state).toBe('established');
  });

  it('an INVITE whose Replaces names no dialog gets 481; early-only for a confirmed dialog gets 486 (RFC 3891 §3)', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    const calls: IncomingSession[] = [];
    bob.on('invite', (c) => {
      calls.push(c);
      void c.accept({ body: sdp(5000) });
    });
    const unknown = alice.invite(`${uriOf(bob)}?Replaces=${encodeURIComponent('nosuch@x;to-tag=1;from-tag=2')}`, { body: sdp(4000) });
    await expect(unknown.answered).rejects.toMatchObject({ status: 481 });
    const first = alice.invite(uriOf(bob), { body: sdp(4000) });
    await first.answered;
    const d = first.dialog!;
    const earlyOnly = alice.invite(uriOf(bob), {
      body: sdp(4000),
      headers: [['Replaces', `${d.id.callId};to-tag=${d.id.remoteTag};from-tag=${d.id.localTag};early-only`]],
    });
    await expect(earlyOnly.answered).rejects.toMatchObject({ status: 486 });
    // Require: replaces is understood (RFC 3891 §6.2); the Replaces itself still decides.
    const required = alice.invite(uriOf(bob), { body: sdp(4000), headers: [['Require', 'replaces'], ['Replaces', 'nosuch@x;to-tag=1;from-tag=2']] });
    await expect(required.answered).rejects.toMatchObject({ status: 481 });
    const malformed = alice.invite(uriOf(bob), { body: sdp(4000), headers: [['Replaces', 'nosuch@x;to-tag=1']] });
    await expect(malformed.answered).rejects.toMatchObject({ status: 400 });
    // Tags the wrong way round name no dialog of bob's either.
    const swapped = alice.invite(uriOf(bob), { body: sdp(4000), headers: [['Replaces', `${d.id.callId};to-tag=${d.id.localTag};from-tag=${d.id.remoteTag}`]] });
    await expect(swapped.answered).rejects.toMatchObject({ status: 481 });
    expect(calls).toHaveLength(1);
    expect(first.state).toBe('established');
  });

  it('refuses a REFER without a readable Refer-To (400), a NOTIFY of another event (489) or for no REFER (481)', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    const { call, answering } = await connected(alice, bob, 'bob');
    const refers: unknown[] = [];
    answering.on('refer', (r) => refers.push(r));
    expect((await call.sendRequest('REFER', { headers: [['Refer-To', '<sip:carol@127.0.0.1']] }))?.status).toBe(400);
    expect((await call.sendRequest('REFER', { headers: [['Refer-To', '<sip:a@127.0.0.1>'], ['Refer-To', '<sip:b@127.0.0.1>']] }))?.status).toBe(400);
    expect((await call.sendRequest('REFER'))?.status).toBe(400);
    expect(refers).toEqual([]);
    const notify = (event: string) =>
      call.sendRequest('NOTIFY', { headers: [['Event', event], ['Subscription-State', 'active']], contentType: 'message/sipfrag;version=2.0', body: 'SIP/2.0 200 OK\r\n' });
    expect((await notify('presence'))?.status).toBe(489);
    expect((await notify('refer;id=99'))?.status).toBe(481);
    expect(call.state).toBe('established');
  });

  it('referToValue escapes Replaces into the URI; parseSipfragStatus reads a status line', () => {
    expect(referToValue('sip:carol@192.0.2.9', { callId: 'a@b', toTag: 't1', fromTag: 'f1' })).toBe('<sip:carol@192.0.2.9?Replaces=a%40b%3Bto-tag%3Dt1%3Bfrom-tag%3Df1>');
    expect(referToValue('<sip:carol@192.0.2.9>')).toBe('<sip:carol@192.0.2.9>');
    expect(parseSipfragStatus(Buffer.from('SIP/2.0 180 Ringing\r\nContact: <sip:x@y>\r\n'))).toEqual({ status: 180, reason: 'Ringing' });
    expect(parseSipfragStatus(Buffer.from('INVITE sip:x SIP/2.0\r\n'))).toBeUndefined();
  });
});
