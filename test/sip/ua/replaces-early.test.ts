/**
 * RFC 3891 §3 for call pickup: an INVITE with `Replaces: …;early-only` naming an early dialog
 * that we initiated (our INVITE is ringing somewhere) is matched — with its tags in RFC order
 * or swapped, as BLF phones build them from dialog-info — and accepting it cancels the ringing
 * call. An early dialog we did not initiate still gets 481.
 */
import { describe, expect, it } from 'vitest';
import type { IncomingSession, OutgoingSession } from '../../../src/sip/ua/session-index.js';
import { agent, next, sdp, uriOf } from './ua-fixtures.js';

/** alice calls bob, who rings (180) without answering; resolves with alice's ringing session and bob's. */
async function ringing(): Promise<{ alice: Awaited<ReturnType<typeof agent>>; call: OutgoingSession; atBob: IncomingSession; bob: Awaited<ReturnType<typeof agent>> }> {
  const alice = await agent('alice');
  const bob = await agent('bob');
  const incoming = next(bob, 'invite');
  const call = alice.invite(uriOf(bob), { body: sdp(4000) });
  const [atBob] = await incoming;
  const progressed = next(call, 'progress');
  atBob.ringing();
  await progressed;
  return { alice, call, atBob, bob };
}

describe('Replaces for an early dialog we initiated (pickup)', () => {
  for (const order of ['rfc', 'swapped'] as const) {
    it(`matches our early dialog with the tags in ${order} order; accepting it cancels the ringing call`, async () => {
      const { alice, call, atBob } = await ringing();
      const carol = await agent('carol');
      const callId = call.request.callId;
      const ours = call.request.from.tag!; // alice's tag: her local tag
      const bobs = atBob.dialog!.id.localTag; // bob's tag: the 180's To tag
      const [toTag, fromTag] = order === 'rfc' ? [ours, bobs] : [bobs, ours];
      const replacing = next(alice, 'invite');
      const pickup = carol.invite(uriOf(alice), { body: sdp(4100), headers: [['Replaces', `${callId};to-tag=${toTag};from-tag=${fromTag};early-only`]] });
      const [session] = await replacing;
      expect(session.replaces).toBe(call);
      const cancelled = next(atBob, 'cancel');
      void session.accept({ body: sdp(5100) });
      await pickup.answered;
      await cancelled;
      expect((await call.ended).reason).toBe('cancelled');
      expect(atBob.end?.reason).toBe('cancelled');
      await pickup.bye();
    });
  }

  it('a ringing call cancelled already (a B2BUA settling its forks) is replaced without a second CANCEL', async () => {
    const { alice, call, atBob } = await ringing();
    const carol = await agent('carol');
    const replacing = next(alice, 'invite');
    const pickup = carol.invite(uriOf(alice), { body: sdp(4100), headers: [['Replaces', `${call.request.callId};to-tag=${call.request.from.tag!};from-tag=${atBob.dialog!.id.localTag};early-only`]] });
    const [session] = await replacing;
    let cancels = 0;
    atBob.on('cancel', () => cancels++);
    call.cancel([['Reason', 'SIP;cause=200;text="Call completed elsewhere"']]);
    call.cancel(); // twice: still one CANCEL
    void session.accept({ body: sdp(5100) }); // ends the replaced call: no CANCEL again
    await pickup.answered;
    expect((await call.ended).reason).toBe('cancelled');
    expect(cancels).toBe(1);
    await pickup.bye();
  });

  it('an early dialog we did not initiate is not replaced (481), in either tag order', async () => {
    const { bob, call, atBob } = await ringing();
    const carol = await agent('carol');
    const callId = call.request.callId;
    const bobs = atBob.dialog!.id.localTag;
    const alices = atBob.dialog!.id.remoteTag;
    let offered = 0;
    bob.on('invite', () => offered++);
    for (const [toTag, fromTag] of [
      [bobs, alices],
      [alices, bobs],
    ]) {
      const attempt = carol.invite(uriOf(bob), { body: sdp(4100), headers: [['Replaces', `${callId};to-tag=${toTag};from-tag=${fromTag};early-only`]] });
      await expect(attempt.answered).rejects.toMatchObject({ status: 481 });
    }
    expect(offered).toBe(0);
    expect(call.state).toBe('early');
    call.cancel();
    await call.ended;
  });

  it('a Replaces with swapped tags naming one of our confirmed dialogs still gets 481', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    const carol = await agent('carol');
    bob.on('invite', (c) => void c.accept({ body: sdp(5000) }));
    const call = alice.invite(uriOf(bob), { body: sdp(4000) });
    await call.answered;
    const d = call.dialog!;
    const attempt = carol.invite(uriOf(alice), { body: sdp(4100), headers: [['Replaces', `${d.id.callId};to-tag=${d.id.remoteTag};from-tag=${d.id.localTag}`]] });
    await expect(attempt.answered).rejects.toMatchObject({ status: 481 });
    expect(call.state).toBe('established');
  });
});
