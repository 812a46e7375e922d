import { describe, expect, it } from 'vitest';
import type { SipRequest, SipResponse } from '../../../src/sip/message/index.js';
import type { Dialog } from '../../../src/sip/dialog/index.js';
import { call, party, twoParties, FakeNetwork, T1, T2, type Party } from './harness.js';
import { ManualClock } from '../../../src/sip/timer-clock.js';

const req = (w: { message: unknown }) => w.message as SipRequest;
const res = (w: { message: unknown }) => w.message as SipResponse;

describe('UAC and UAS dialogs', () => {
  it('180 with a tag makes early dialogs on both sides; 200 confirms them; the ACK for the 2xx is its own request (§13.2.2.4)', () => {
    const { clock, net, alice, bob } = twoParties();
    const { out, result } = call(alice, 'bob.test');
    clock.advance(3); // INVITE in flight
    expect(alice.created).toEqual([]);
    bob.answer = (tx, me) => me.manager.respond(tx, 180);
    clock.advance(10); // INVITE arrives, 180 back
    expect(bob.created).toHaveLength(1);
    expect(bob.created[0]!.state).toBe('early');
    expect(alice.created).toHaveLength(1);
    const early = alice.created[0]!;
    expect(early.state).toBe('early');
    expect(result.provisional.map(([r, d]) => [r.status, d])).toEqual([[180, early]]);
    expect(out.earlyDialogs.get(early.id.remoteTag)).toBe(early);
    // both sides name the same dialog, mirrored
    const b = bob.created[0]!;
    expect([early.id.callId, early.id.localTag, early.id.remoteTag]).toEqual([b.id.callId, b.id.remoteTag, b.id.localTag]);

    bob.manager.respond(bob.incoming[0]!, 200, { headers: [['Content-Type', 'application/sdp']], body: 'v=0\r\n' });
    clock.advance(20);
    expect(alice.confirmed).toEqual([early]);
    expect(early.state).toBe('confirmed');
    expect(result.success.map(([d, r]) => [d, r.status])).toEqual([[early, 200]]);
    expect(b.state).toBe('confirmed');
    const acks = net.requests('ACK', 'alice.test');
    expect(acks).toHaveLength(1);
    const ack = req(acks[0]!);
    expect(ack.cseq).toEqual({ seq: 1, method: 'ACK' });
    expect(ack.uriString).toBe('sip:bob@bob.test:5060'); // the remote target (Bob's Contact)
    expect(ack.topVia!.branch).not.toBe(out.request.topVia!.branch);
    expect(bob.acks).toHaveLength(1);
    // Supported and Contact were advertised
    const invite = req(net.requests('INVITE')[0]!);
    expect(invite.supported).toEqual(['100rel', 'timer']);
    expect(res(net.responses(200, 'INVITE')[0]!).contacts.map((c) => String(c.uri))).toEqual(['sip:bob@bob.test:5060']);

    alice.manager.bye(early);
    clock.advance(20);
    expect(alice.terminated).toEqual([[early, 'local-bye']]);
    expect(bob.terminated).toEqual([[b, 'remote-bye']]);
    expect(net.responses(200, 'BYE')).toHaveLength(1);
    expect(alice.manager.size + bob.manager.size).toBe(0);
  });

  it('late offer: the ACK carries the answer the UA gives, for the INVITE and for a re-INVITE', () => {
    const { clock, net, alice, bob } = twoParties();
    const result: string[] = [];
    alice.manager.invite(
      { requestUri: 'sip:bob@bob.test', from: '<sip:alice@alice.test>', to: '<sip:bob@bob.test>', destination: { protocol: 'udp', address: 'bob.test', port: 5060 } },
      { ackBody: (_d, ok) => ({ contentType: 'application/sdp', body: `answer to ${ok.body.toString().trim()}` }), onSuccess: () => result.push('ok') },
    );
    clock.advance(100);
    expect(result).toEqual(['ok']);
    const ack = req(net.requests('ACK', 'alice.test')[0]!);
    expect(ack.get('Content-Type')).toBe('application/sdp');
    expect(ack.body.toString()).toBe('answer to v=0');
    expect(bob.acks[0]!.body.toString()).toBe('answer to v=0');
    alice.manager.request(alice.confirmed[0]!, 'INVITE', {}, { ackBody: () => ({ contentType: 'application/sdp', body: 'second answer' }) });
    clock.advance(100);
    expect(bob.acks.map((a) => a.body.toString())).toEqual(['answer to v=0', 'second answer']);
  });

  it('the UAS retransmits its 2xx (T1 doubling) until the ACK; each retransmission gets the ACK again', () => {
    const { clock, net, alice, bob } = twoParties();
    let acksDropped = 0;
    net.drop = (m, from) => from === 'alice.test' && m.isRequest && m.method === 'ACK' && acksDropped++ < 2;
    call(alice, 'bob.test');
    clock.advance(10_000);
    const oks = net.responses(200, 'INVITE', 'bob.test');
    const first = oks[0]!.at;
    expect(oks.map((w) => w.at - first)).toEqual([0, T1, 3 * T1]); // ACKs for the first two were lost
    expect(net.sent((w) => w.message.isRequest && w.message.method === 'ACK', true)).toHaveLength(3);
    expect(bob.acks).toHaveLength(1);
    expect(bob.terminated).toEqual([]);
    // all three ACKs are the same request
    const acks = net.sent((w) => w.message.isRequest && w.message.method === 'ACK', true).map((w) => req(w).topVia!.branch);
    expect(new Set(acks).size).toBe(1);
  });

  it('a 2xx retransmitted after the INVITE transaction ended (it arrives as a stray) gets the same ACK again', () => {
    const { clock, net, alice } = twoParties();
    call(alice, 'bob.test');
    clock.advance(100);
    clock.advance(64 * T1 + 100); // Timer M: alice's INVITE transaction is gone
    expect(alice.layer.clientTransactionCount).toBe(0);
    const ok = net.responses(200, 'INVITE', 'bob.test')[0]!.message;
    alice.layer.receive({ message: ok, source: { protocol: 'udp', address: 'bob.test', port: 5060 }, local: { protocol: 'udp', address: 'alice.test', port: 5060 } });
    const acks = net.requests('ACK', 'alice.test').map((w) => req(w));
    expect(acks).toHaveLength(2);
    expect(acks[1]!.toBuffer().equals(acks[0]!.toBuffer())).toBe(true);
  });

  it('without an ACK the UAS gives up after 64*T1 (intervals capped at T2) and sends BYE (§13.3.1.4)', () => {
    const { clock, net, alice, bob } = twoParties();
    net.drop = (m) => m.isRequest && m.method === 'ACK';
    call(alice, 'bob.test');
    clock.advance(40_000);
    const oks = net.responses(200, 'INVITE', 'bob.test');
    const t0 = oks[0]!.at;
    const gaps = oks.slice(1).map((w, i) => w.at - oks[i]!.at);
    expect(gaps.slice(0, 4)).toEqual([T1, 2 * T1, 4 * T1, T2]);
    expect(gaps.every((g) => g <= T2)).toBe(true);
    const byes = net.requests('BYE', 'bob.test');
    expect(byes).toHaveLength(1);
    expect(byes[0]!.at - t0).toBe(64 * T1);
    expect(bob.terminated.map(([, r]) => r)).toEqual(['no-ack']);
    expect(alice.terminated.map(([, r]) => r)).toEqual(['remote-bye']);
  });

  it('forking: two 2xx — the first confirms, the second is ACKed and then BYEd (§13.2.2.4)', () => {
    const clock = new ManualClock();
    const net = new FakeNetwork(clock);
    const alice = party(net, 'alice.test', 1);
    const bob = party(net, 'bob.test', 2);
    const carol = party(net, 'carol.test', 3);
    net.alias('fork.test', ['bob.test', 'carol.test']);
    bob.answer = (tx, me) => {
      me.manager.respond(tx, 180);
      clock.setTimer(() => me.manager.respond(tx, 200), 50);
    };
    carol.answer = (tx, me) => {
      me.manager.respond(tx, 180);
      clock.setTimer(() => me.manager.respond(tx, 200), 100);
    };
    const { out, result } = call(alice, 'fork.test');
    clock.advance(30);
    expect(alice.created).toHaveLength(2); // an early dialog per fork (bob's 180 and carol's 180)
    expect(out.earlyDialogs.size).toBe(2);
    clock.advance(1000);
    expect(result.success).toHaveLength(1);
    const [winner] = result.success[0]!;
    expect(winner.remoteTarget.toString()).toBe('sip:bob@bob.test:5060');
    expect(out.dialog).toBe(winner);
    expect(alice.manager.size).toBe(1);
    const carolAcks = net.requests('ACK', 'alice.test').filter((w) => w.destination.address === 'carol.test');
    const carolByes = net.requests('BYE', 'alice.test').filter((w) => w.destination.address === 'carol.test');
    expect(carolAcks).toHaveLength(1);
    expect(carolByes).toHaveLength(1);
    expect(carolAcks[0]!.at).toBeLessThanOrEqual(carolByes[0]!.at);
    expect(carol.terminated.map(([, r]) => r)).toEqual(['remote-bye']);
    expect(alice.terminated.map(([d, r]) => [d.remoteTarget.toString(), r])).toEqual([['sip:carol@carol.test:5060', 'forked']]);
    expect(bob.manager.size).toBe(1);
    expect(carol.manager.size).toBe(0);
    // Carol's retransmitted 2xx (her ACK arrived, so none) — and after Timer M nothing is left early
    clock.advance(64 * T1);
    expect(alice.manager.size).toBe(1);
  });

  it('route set from Record-Route: Route headers and Request-URI on both sides (loose routing)', () => {
    const { clock, net, alice, bob } = twoParties();
    // alice -> p1 -> p2 -> bob: each proxy adds itself on top of Record-Route
    net.alias('p1.test', ['alice.test', 'bob.test']);
    net.alias('p2.test', ['alice.test', 'bob.test']);
    net.tamper = (m, from) => {
      if (m.isRequest && m.method === 'INVITE' && from === 'alice.test' && !m.has('Record-Route')) {
        m.append('Record-Route', '<sip:p2.test;lr>');
        m.append('Record-Route', '<sip:p1.test;lr>');
      }
      return m;
    };
    call(alice, 'p1.test');
    clock.advance(100);
    const da = alice.confirmed[0]!;
    const db = bob.confirmed[0]!;
    expect(db.routeSet.map(String)).toEqual(['<sip:p2.test;lr>', '<sip:p1.test;lr>']);
    expect(da.routeSet.map(String)).toEqual(['<sip:p1.test;lr>', '<sip:p2.test;lr>']);
    // ACK and an INFO from alice, an INFO from bob
    alice.manager.request(da, 'INFO');
    bob.manager.request(db, 'INFO');
    clock.advance(100);
    const ack = net.requests('ACK', 'alice.test')[0]!;
    expect(req(ack).getAll('Route')).toEqual(['<sip:p1.test;lr>', '<sip:p2.test;lr>']);
    expect(ack.destination.address).toBe('p1.test');
    const infoA = net.requests('INFO', 'alice.test')[0]!;
    expect(req(infoA).uriString).toBe('sip:bob@bob.test:5060');
    expect(req(infoA).getAll('Route')).toEqual(['<sip:p1.test;lr>', '<sip:p2.test;lr>']);
    expect(infoA.destination.address).toBe('p1.test');
    const infoB = net.requests('INFO', 'bob.test')[0]!;
    expect(req(infoB).uriString).toBe('sip:alice@alice.test:5060');
    expect(req(infoB).getAll('Route')).toEqual(['<sip:p2.test;lr>', '<sip:p1.test;lr>']);
    expect(infoB.destination.address).toBe('p2.test');
    expect(net.responses(200, 'INFO')).toHaveLength(2);
  });

  it('strict routing: the strict router is the Request-URI and the remote target the last Route', () => {
    const { clock, net, alice, bob } = twoParties();
    net.alias('strict.test', ['alice.test', 'bob.test']);
    net.tamper = (m, from) => {
      if (m.isRequest && m.method === 'INVITE' && from === 'alice.test' && !m.has('Record-Route')) m.append('Record-Route', '<sip:strict.test>');
      return m;
    };
    call(alice, 'strict.test');
    clock.advance(100);
    alice.manager.bye(alice.confirmed[0]!);
    clock.advance(100);
    const bye = net.requests('BYE', 'alice.test')[0]!;
    expect(req(bye).uriString).toBe('sip:strict.test');
    expect(req(bye).getAll('Route')).toEqual(['<sip:bob@bob.test:5060>']);
    expect(bye.destination.address).toBe('strict.test');
    expect(bob.terminated.map(([, r]) => r)).toEqual(['remote-bye']);
  });

  it('remote target refresh by re-INVITE and by UPDATE (§12.2, RFC 3311)', () => {
    const { clock, net, alice, bob } = twoParties();
    net.alias('bob2.test', ['bob.test']);
    net.alias('alice2.test', ['alice.test']);
    call(alice, 'bob.test');
    clock.advance(100);
    const da = alice.confirmed[0]!;
    const db = bob.confirmed[0]!;
    // Bob moves: re-INVITE with a new Contact
    db.localContact = db.localContact.clone();
    (db.localContact.uri as { host: string }).host = 'bob2.test';
    const finals: number[] = [];
    bob.manager.request(db, 'INVITE', {}, { onFinal: (r) => finals.push(r?.status ?? 0) });
    clock.advance(100);
    expect(finals).toEqual([200]);
    expect(da.remoteTarget.toString()).toBe('sip:bob@bob2.test:5060');
    expect(alice.requests.map(([, tx]) => tx.request.method)).toEqual(['INVITE']);
    expect(net.requests('ACK', 'bob.test')).toHaveLength(1); // bob ACKs the 2xx to his re-INVITE
    expect(alice.acks).toHaveLength(1);
    // Alice moves: UPDATE with a new Contact; the 2xx's Contact refreshes her side too
    da.localContact = da.localContact.clone();
    (da.localContact.uri as { host: string }).host = 'alice2.test';
    alice.manager.request(da, 'UPDATE');
    clock.advance(100);
    expect(db.remoteTarget.toString()).toBe('sip:alice@alice2.test:5060');
    expect(da.remoteTarget.toString()).toBe('sip:bob@bob2.test:5060');
    alice.manager.bye(da);
    clock.advance(100);
    expect(net.requests('BYE', 'alice.test')[0]!.destination.address).toBe('bob2.test');
    expect(bob.terminated.map(([, r]) => r)).toEqual(['remote-bye']);
  });

  it('CSeq lower than the remote CSeq gets 500; an unknown To tag gets 481 (§12.2.2)', () => {
    const { clock, net, alice, bob } = twoParties();
    call(alice, 'bob.test');
    clock.advance(100);
    const da = alice.confirmed[0]!;
    alice.manager.request(da, 'INFO'); // CSeq 2
    clock.advance(100);
    const stale = da.createRequest('INFO', { via: 'SIP/2.0/UDP alice.test:5060' });
    stale.set('CSeq', '1 INFO');
    const statuses: number[] = [];
    alice.layer.sendRequest(stale, { protocol: 'udp', address: 'bob.test', port: 5060 }, { onFinal: (r) => statuses.push(r.status) });
    const ghost = da.createRequest('BYE', { via: 'SIP/2.0/UDP alice.test:5060' });
    ghost.set('To', '<sip:bob@bob.test>;tag=nosuchtag');
    alice.layer.sendRequest(ghost, { protocol: 'udp', address: 'bob.test', port: 5060 }, { onFinal: (r) => statuses.push(r.status) });
    clock.advance(100);
    expect(statuses).toEqual([500, 481]);
    expect(bob.manager.size).toBe(1);
    expect(bob.requests.map(([, tx]) => tx.request.cseq.seq)).toEqual([2]);
    // a BYE out of a dialog (no To tag) gets 481 too
    const noTag = da.createRequest('BYE', { via: 'SIP/2.0/UDP alice.test:5060' });
    noTag.set('To', '<sip:bob@bob.test>');
    alice.layer.sendRequest(noTag, { protocol: 'udp', address: 'bob.test', port: 5060 }, { onFinal: (r) => statuses.push(r.status) });
    clock.advance(100);
    expect(statuses).toEqual([500, 481, 481]);
    expect(net.responses(481)).toHaveLength(2);
  });

  it('an in-dialog request answered 481 ends the dialog (§12.2.1.2)', () => {
    const { clock, alice, bob } = twoParties();
    call(alice, 'bob.test');
    clock.advance(100);
    bob.manager.close();
    expect(bob.terminated.map(([, r]) => r)).toEqual(['closed']);
    const finals: (number | undefined)[] = [];
    alice.manager.request(alice.confirmed[0]!, 'INFO', {}, { onFinal: (r) => finals.push(r?.status) });
    clock.advance(100);
    expect(finals).toEqual([481]);
    expect(alice.terminated.map(([, r]) => r)).toEqual(['request-failed']);
  });

  it('CANCEL of a ringing call ends the early dialogs on both sides with 487', () => {
    const { clock, alice, bob } = twoParties();
    bob.answer = (tx, me) => me.manager.respond(tx, 180);
    const { out, result } = call(alice, 'bob.test');
    clock.advance(50);
    expect(out.cancel()).toBe(true);
    clock.advance(100);
    expect(result.failure.map(([r, why]) => [r?.status, why])).toEqual([[487, 'rejected']]);
    expect(bob.terminated.map(([, r]) => r)).toEqual(['cancelled']);
    expect(alice.terminated.map(([, r]) => r)).toEqual(['rejected']);
    expect(alice.manager.size + bob.manager.size).toBe(0);
  });
});

describe('bounds', () => {
  it('the UAS refuses dialogs beyond maxDialogs with 503', () => {
    const { clock, alice, bob } = twoParties({}, { maxDialogs: 2 });
    const calls = [call(alice, 'bob.test'), call(alice, 'bob.test'), call(alice, 'bob.test')];
    clock.advance(100);
    expect(calls.map((c) => c.result.success.length)).toEqual([1, 1, 0]);
    expect(calls[2]!.result.failure.map(([r]) => r?.status)).toEqual([503]);
    expect(bob.manager.size).toBe(2);
  });

  it('the UAC keeps at most maxEarlyDialogsPerInvite early dialogs per INVITE, and maxDialogs overall', () => {
    const clock = new ManualClock();
    const net = new FakeNetwork(clock);
    const alice = party(net, 'alice.test', 1, { maxEarlyDialogsPerInvite: 2, maxDialogs: 3 });
    const uas: Party[] = [];
    for (let i = 0; i < 4; i++) {
      const p = party(net, `u${i}.test`, 10 + i);
      p.answer = (tx, me) => {
        me.manager.respond(tx, 180);
        me.manager.respond(tx, 183);
      };
      uas.push(p);
    }
    net.alias('fork.test', uas.map((p) => p.address));
    const a = call(alice, 'fork.test');
    clock.advance(50);
    expect(a.out.earlyDialogs.size).toBe(2);
    expect(alice.manager.size).toBe(2);
    expect(a.result.provisional).toHaveLength(8); // every 1xx is still reported
    expect(a.result.provisional.filter(([, d]) => d === undefined)).toHaveLength(4);
    const b = call(alice, 'fork.test');
    clock.advance(50);
    expect(b.out.earlyDialogs.size).toBe(1); // the table (3) is full
    expect(alice.manager.size).toBe(3);
    // Timer B fires for nobody (the UASes never answer); CANCEL both and everything goes away
    a.out.cancel();
    b.out.cancel();
    clock.advance(40_000);
    expect(alice.manager.size).toBe(0);
    expect(uas.every((p) => p.manager.size === 0)).toBe(true);
  });
});

export type { Dialog };
