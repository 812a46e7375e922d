import { describe, expect, it } from 'vitest';
import { parseMessage, type SipRequest, type SipResponse } from '../../../src/sip/message/index.js';
import { ReliableProvisionalReceiver } from '../../../src/sip/dialog/index.js';
import { call, twoParties, T1 } from './harness.js';

function setup() {
  const env = twoParties();
  env.bob.answer = (tx, me) => me.manager.respond(tx, 180, { reliable: true });
  return env;
}

describe('reliable provisional responses (RFC 3262)', () => {
  it('UAS sends 180 with Require: 100rel and RSeq; UAC PRACKs with RAck; the next one has RSeq + 1', () => {
    const { clock, net, alice, bob } = setup();
    const { result } = call(alice, 'bob.test');
    clock.advance(20);
    const r180 = net.responses(180, 'INVITE', 'bob.test');
    expect(r180).toHaveLength(1);
    const ringing = r180[0]!.message as SipResponse;
    expect(ringing.require).toContain('100rel');
    const rseq = ringing.rseq!;
    expect(rseq).toBeGreaterThanOrEqual(1);
    expect(rseq).toBeLessThan(2 ** 31);
    const pracks = net.requests('PRACK', 'alice.test');
    expect(pracks).toHaveLength(1);
    const prack = pracks[0]!.message as SipRequest;
    expect(prack.rack).toEqual({ rseq, cseq: 1, method: 'INVITE' });
    expect(prack.cseq).toEqual({ seq: 2, method: 'PRACK' });
    expect(prack.to.tag).toBe(ringing.to.tag);
    expect(net.responses(200, 'PRACK')).toHaveLength(1);
    expect(bob.pracks).toHaveLength(1);
    expect(result.provisional.map(([r]) => r.status)).toEqual([180]);
    // a second reliable provisional
    bob.manager.respond(bob.incoming[0]!, 183, { reliable: true });
    clock.advance(20);
    const r183 = net.responses(183, 'INVITE')[0]!.message as SipResponse;
    expect(r183.rseq).toBe(rseq + 1);
    expect((net.requests('PRACK', 'alice.test')[1]!.message as SipRequest).rack).toEqual({ rseq: rseq + 1, cseq: 1, method: 'INVITE' });
    // an UPDATE in the early dialog (RFC 3311 §5.1)
    const finals: number[] = [];
    alice.manager.request(alice.created[0]!, 'UPDATE', {}, { onFinal: (r) => finals.push(r!.status) });
    clock.advance(20);
    expect(finals).toEqual([200]);
    expect(bob.requests.map(([d, tx]) => [d.state, tx.request.method])).toEqual([['early', 'UPDATE']]);
    bob.manager.respond(bob.incoming[0]!, 200);
    clock.advance(20);
    expect(result.success).toHaveLength(1);
    // no retransmission of the acknowledged provisionals afterwards
    clock.advance(40_000);
    expect(net.responses(180, 'INVITE')).toHaveLength(1);
    expect(net.responses(183, 'INVITE')).toHaveLength(1);
    expect(bob.terminated).toEqual([]);
  });

  it('a lost PRACK: the 180 is retransmitted, the PRACK transaction retransmits, nothing is PRACKed twice', () => {
    const { clock, net, alice, bob } = setup();
    let dropped = 0;
    net.drop = (m) => m.isRequest && m.method === 'PRACK' && dropped++ === 0;
    const { result } = call(alice, 'bob.test');
    clock.advance(5000);
    const times180 = net.responses(180, 'INVITE', 'bob.test').map((w) => w.at);
    expect(times180).toEqual([5, 5 + T1]);
    const pracks = net.sent((w) => w.message.isRequest && w.message.method === 'PRACK', true);
    expect(pracks).toHaveLength(2);
    expect(new Set(pracks.map((w) => (w.message as SipRequest).topVia!.branch)).size).toBe(1); // one PRACK, retransmitted
    expect(bob.pracks).toHaveLength(1);
    expect(result.provisional).toHaveLength(1); // the retransmitted 180 was not processed again
    bob.manager.respond(bob.incoming[0]!, 200);
    clock.advance(50);
    expect(result.success).toHaveLength(1);
  });

  it('with every PRACK lost the UAS retransmits from T1, doubling, then rejects the INVITE with a 5xx after 64*T1', () => {
    const { clock, net, alice, bob } = setup();
    net.drop = (m) => m.isRequest && m.method === 'PRACK';
    const { result } = call(alice, 'bob.test');
    clock.advance(40_000);
    const t = net.responses(180, 'INVITE', 'bob.test').map((w) => w.at);
    expect(t.slice(1).map((x, i) => x - t[i]!)).toEqual([T1, 2 * T1, 4 * T1, 8 * T1, 16 * T1, 32 * T1]);
    const final = net.sent((w) => !w.message.isRequest && w.message.status >= 500 && w.message.cseq.method === 'INVITE');
    expect(final).toHaveLength(1);
    expect(final[0]!.at - t[0]!).toBe(64 * T1);
    expect(bob.terminated.map(([, r]) => r)).toEqual(['prack-timeout']);
    expect(result.failure.map(([r]) => r?.status)).toEqual([504]);
    expect(alice.manager.size).toBe(0);
  });

  it('Require: 100rel in the INVITE makes every provisional reliable; a PRACK matching nothing gets 481', () => {
    const { clock, net, alice, bob } = twoParties();
    bob.answer = (tx, me) => me.manager.respond(tx, 180);
    call(alice, 'bob.test', { require100rel: true });
    clock.advance(20);
    const rseq = (net.responses(180, 'INVITE')[0]!.message as SipResponse).rseq!;
    expect(rseq).toBeDefined();
    const early = alice.created[0]!;
    const bogus = early.createRequest('PRACK', { via: 'SIP/2.0/UDP alice.test:5060', headers: [['RAck', `${rseq + 5} 1 INVITE`]] });
    const statuses: number[] = [];
    alice.layer.sendRequest(bogus, { protocol: 'udp', address: 'bob.test', port: 5060 }, { onFinal: (r) => statuses.push(r.status) });
    clock.advance(20);
    expect(statuses).toEqual([481]);
    // and one for the RSeq already acknowledged
    const again = early.createRequest('PRACK', { via: 'SIP/2.0/UDP alice.test:5060', headers: [['RAck', `${rseq} 1 INVITE`]] });
    alice.layer.sendRequest(again, { protocol: 'udp', address: 'bob.test', port: 5060 }, { onFinal: (r) => statuses.push(r.status) });
    clock.advance(20);
    expect(statuses).toEqual([481, 481]);
    expect(bob.pracks).toHaveLength(1);
  });

  it('an INVITE without 100rel support gets ordinary provisionals', () => {
    const { clock, net, bob } = twoParties();
    bob.answer = (tx, me) => me.manager.respond(tx, 180, { reliable: true });
    // a raw INVITE without Supported: 100rel
    const invite = `INVITE sip:bob@bob.test SIP/2.0\r\nVia: SIP/2.0/UDP x.test;branch=z9hG4bKx1\r\nFrom: <sip:x@x.test>;tag=1\r\nTo: <sip:bob@bob.test>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContact: <sip:x@x.test>\r\nMax-Forwards: 70\r\n\r\n`;
    bob.layer.receive({
      message: parseMessage(Buffer.from(invite, 'latin1')),
      source: { protocol: 'udp', address: 'x.test', port: 5060 },
      local: { protocol: 'udp', address: 'bob.test', port: 5060 },
    });
    clock.advance(5000);
    const r180 = net.responses(180, 'INVITE', 'bob.test');
    expect(r180).toHaveLength(1); // not retransmitted
    expect((r180[0]!.message as SipResponse).rseq).toBeUndefined();
  });

  it('UAC ordering (§4): only the next RSeq is processed', () => {
    const r = new ReliableProvisionalReceiver();
    expect(r.accept(10)).toBe(true);
    expect(r.accept(10)).toBe(false);
    expect(r.accept(12)).toBe(false);
    expect(r.accept(11)).toBe(true);
    expect(r.accept(12)).toBe(true);
  });

  it('every message duplicated: still one PRACK transaction, one dialog per side, one success', () => {
    const { clock, net, alice, bob } = setup();
    net.duplicate = () => true;
    const { result } = call(alice, 'bob.test');
    clock.advance(50);
    bob.manager.respond(bob.incoming[0]!, 200);
    clock.advance(100);
    const pracks = net.requests('PRACK', 'alice.test');
    expect(new Set(pracks.map((w) => (w.message as SipRequest).topVia!.branch)).size).toBe(1);
    expect(bob.pracks).toHaveLength(1);
    expect(result.provisional).toHaveLength(1);
    expect(result.success).toHaveLength(1);
    expect(alice.manager.size).toBe(1);
    expect(bob.manager.size).toBe(1);
    expect(bob.incoming).toHaveLength(1); // the duplicated INVITE was absorbed by its transaction
    alice.manager.bye(alice.confirmed[0]!);
    clock.advance(100);
    expect(alice.manager.size + bob.manager.size).toBe(0);
  });

  it('a 180 overtaken by the 200 (reordering) is dropped; the dialog comes from the 2xx', () => {
    const { clock, net, alice, bob } = twoParties();
    net.delay = (m) => (!m.isRequest && m.status === 180 ? 50 : 0);
    const { result } = call(alice, 'bob.test');
    clock.advance(200);
    expect(result.success).toHaveLength(1);
    expect(result.provisional).toEqual([]);
    expect(alice.created).toHaveLength(1);
    expect(alice.created[0]!.state).toBe('confirmed');
    expect(bob.acks).toHaveLength(1);
  });

  it('a reliable provisional that skips an RSeq is neither processed nor PRACKed (§4)', () => {
    const { clock, net, alice, bob } = setup();
    const { result } = call(alice, 'bob.test');
    clock.advance(20);
    const rseq = (net.responses(180, 'INVITE')[0]!.message as SipResponse).rseq!;
    net.tamper = (m) => {
      if (!m.isRequest && m.status === 183) m.set('RSeq', String(rseq + 2)); // 181 "lost" for good
      return m;
    };
    bob.manager.respond(bob.incoming[0]!, 183, { reliable: true });
    clock.advance(10_000);
    expect(net.responses(183, 'INVITE').length).toBeGreaterThan(2); // bob keeps retransmitting
    expect(net.requests('PRACK', 'alice.test')).toHaveLength(1); // only the 180's
    expect(result.provisional.map(([r]) => r.status)).toEqual([180]);
  });
});
