import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SipRequest } from '../../../src/sip/message/index.js';
import { glareRetryDelay } from '../../../src/sip/dialog/index.js';
import { call, twoParties } from './harness.js';

describe('glare (§14.1, RFC 3311 §5)', () => {
  it('the retry delay is 2.1–4 s for the Call-ID owner and 0–2 s for the other side, in 10 ms units', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.boolean(), (bytes, owner) => {
        const d = glareRetryDelay(owner, () => bytes);
        expect(d % 10).toBe(0);
        if (owner) expect(d >= 2100 && d <= 4000).toBe(true);
        else expect(d >= 0 && d <= 2000).toBe(true);
      }),
    );
    expect(glareRetryDelay(true, () => new Uint8Array([0, 0, 0, 0]))).toBe(2100);
    expect(glareRetryDelay(true, () => new Uint8Array([0, 0, 0, 190]))).toBe(4000);
    expect(glareRetryDelay(false, () => new Uint8Array([0, 0, 0, 200]))).toBe(2000);
  });

  for (const run of [1, 2, 3, 4]) {
    it(`crossing re-INVITEs both get 491 and are retried within the §14.1 windows (run ${run}, crypto random)`, () => {
      const { clock, net, alice, bob } = twoParties({ random: undefined }, {});
      call(alice, 'bob.test');
      clock.advance(100);
      const da = alice.confirmed[0]!;
      const db = bob.confirmed[0]!;
      clock.advance(run * 17);
      const finals: [string, number | undefined][] = [];
      alice.manager.request(da, 'INVITE', {}, { onFinal: (r) => finals.push(['alice', r?.status]) });
      bob.manager.request(db, 'INVITE', {}, { onFinal: (r) => finals.push(['bob', r?.status]) });
      clock.advance(10_000);
      const r491 = net.responses(491, 'INVITE');
      expect(r491.map((w) => w.from).sort()).toEqual(['alice.test', 'bob.test']);
      const invites = (from: string) => net.requests('INVITE', from).filter((w) => (w.message as SipRequest).to.tag !== undefined);
      const [, aliceRetry] = invites('alice.test');
      const [, bobRetry] = invites('bob.test');
      // 491 from bob reaches alice 5 ms (the latency) after it was sent
      const aliceGot491 = r491.find((w) => w.from === 'bob.test')!.at + net.latency;
      const bobGot491 = r491.find((w) => w.from === 'alice.test')!.at + net.latency;
      const aliceDelay = aliceRetry!.at - aliceGot491;
      const bobDelay = bobRetry!.at - bobGot491;
      expect(aliceDelay).toBeGreaterThanOrEqual(2100); // alice sent the INVITE: she owns the Call-ID
      expect(aliceDelay).toBeLessThanOrEqual(4000);
      expect(aliceDelay % 10).toBe(0);
      expect(bobDelay).toBeGreaterThanOrEqual(0);
      expect(bobDelay).toBeLessThanOrEqual(2000);
      expect(bobDelay % 10).toBe(0);
      expect(finals.sort()).toEqual([
        ['alice', 200],
        ['bob', 200],
      ]);
      // the retries carry new CSeq numbers
      expect((aliceRetry!.message as SipRequest).cseq.seq).toBe((invites('alice.test')[0]!.message as SipRequest).cseq.seq + 1);
    });
  }

  it('a re-INVITE while our UPDATE is pending gets 491, and crossing UPDATEs get 491 too', () => {
    const { clock, net, alice, bob } = twoParties();
    call(alice, 'bob.test');
    clock.advance(100);
    const finals: number[] = [];
    alice.manager.request(alice.confirmed[0]!, 'UPDATE', {}, { onFinal: (r) => finals.push(r!.status) });
    bob.manager.request(bob.confirmed[0]!, 'UPDATE', {}, { onFinal: (r) => finals.push(r!.status) });
    clock.advance(20);
    expect(net.responses(491, 'UPDATE')).toHaveLength(2);
    clock.advance(5000);
    expect(finals).toEqual([200, 200]);
    bob.answerInDialog = () => undefined; // bob sits on the next request
    alice.manager.request(alice.confirmed[0]!, 'UPDATE');
    clock.advance(10); // alice's UPDATE reached bob, who has not answered it
    bob.manager.request(bob.confirmed[0]!, 'UPDATE'); // alice's is pending at alice: 491
    clock.advance(20);
    expect(net.responses(491, 'UPDATE')).toHaveLength(3);
  });

  it('a second re-INVITE while the first is still being answered gets 500 with Retry-After (§14.2)', () => {
    const { clock, net, alice, bob } = twoParties();
    call(alice, 'bob.test');
    clock.advance(100);
    const da = alice.confirmed[0]!;
    bob.answerInDialog = () => undefined; // bob has not answered the re-INVITE yet
    alice.manager.request(da, 'INVITE');
    clock.advance(20);
    expect(() => alice.manager.request(da, 'INVITE')).toThrow(/already in progress/);
    // a peer that ignores §14.1 sends one anyway
    const second = da.createRequest('INVITE', { via: 'SIP/2.0/UDP alice.test:5060' });
    const statuses: number[] = [];
    alice.layer.sendRequest(second, { protocol: 'udp', address: 'bob.test', port: 5060 }, { onFinal: (r) => statuses.push(r.status) });
    clock.advance(20);
    expect(statuses).toEqual([500]);
    const r500 = net.responses(500, 'INVITE')[0]!.message;
    const retryAfter = Number(r500.get('Retry-After'));
    expect(retryAfter).toBeGreaterThanOrEqual(0);
    expect(retryAfter).toBeLessThanOrEqual(10);
    // once bob answers the first, a new re-INVITE is accepted
    bob.manager.respond(bob.requests[0]![1], 200);
    clock.advance(20);
    bob.answerInDialog = (_d, tx, me) => me.manager.respond(tx, 200);
    const finals: number[] = [];
    alice.manager.request(da, 'INVITE', {}, { onFinal: (r) => finals.push(r!.status) });
    clock.advance(50);
    expect(finals).toEqual([200]);
  });

  it('an INVITE in an early dialog before the first INVITE is answered gets 500 (§14.2); the UA may not send one (§14.1)', () => {
    const { clock, net, alice, bob } = twoParties();
    bob.answer = (tx, me) => me.manager.respond(tx, 180);
    call(alice, 'bob.test');
    clock.advance(20);
    const early = alice.created[0]!;
    expect(() => alice.manager.request(early, 'INVITE')).toThrow(/already in progress/);
    expect(() => bob.manager.request(bob.created[0]!, 'INVITE')).toThrow(/already in progress/);
    expect(() => bob.manager.bye(bob.created[0]!)).toThrow(/early dialog/);
    const second = early.createRequest('INVITE', { via: 'SIP/2.0/UDP alice.test:5060' });
    const statuses: number[] = [];
    alice.layer.sendRequest(second, { protocol: 'udp', address: 'bob.test', port: 5060 }, { onFinal: (r) => statuses.push(r.status) });
    clock.advance(20);
    expect(statuses).toEqual([500]);
    expect(net.responses(500, 'INVITE')[0]!.message.has('Retry-After')).toBe(true);
  });
});
