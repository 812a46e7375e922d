/** INVITE client transaction (RFC 3261 §17.1.1, Figure 5; RFC 6026 §8.4): every timer and transition. */
import { describe, expect, it } from 'vitest';
import type { InviteClientTransaction, ClientTransaction } from '../../../src/sip/transaction/index.js';
import type { SipResponse } from '../../../src/sip/message/index.js';
import { PEER, PEER_TCP, flush, inbound, outgoing, responseTo, setup } from './harness.js';

function record() {
  const events: string[] = [];
  const finals: SipResponse[] = [];
  const user = {
    onProvisional: (r: SipResponse) => events.push(`provisional ${r.status}`),
    onFinal: (r: SipResponse) => {
      finals.push(r);
      events.push(`final ${r.status}`);
    },
    onTimeout: () => events.push('timeout'),
    onTransportError: (e: Error) => events.push(`transport-error ${e.message}`),
    onTerminated: (tx: ClientTransaction) => events.push(`terminated ${tx.state}`),
  };
  return { events, finals, callbacks: user };
}

function start(opts: Parameters<typeof setup>[0] = {}, dest = PEER) {
  const s = setup(opts);
  const r = record();
  const tx = s.layer.sendRequest(outgoing('INVITE'), dest, r.callbacks) as InviteClientTransaction;
  const isInvite = (m: { isRequest: boolean }): boolean => m.isRequest && (m as { method?: string }).method === 'INVITE';
  return { ...s, ...r, tx, inviteTimes: () => s.transport.times(isInvite) };
}

describe('InviteClientTransaction', () => {
  it('sends the INVITE at once and retransmits it on Timer A: T1, 2T1, 4T1… (no T2 cap)', () => {
    const t = start();
    expect(t.tx.kind).toBe('invite-client');
    expect(t.tx.state).toBe('calling');
    expect(t.inviteTimes()).toEqual([0]);
    t.clock.advance(499);
    expect(t.inviteTimes()).toEqual([0]);
    t.clock.advance(1);
    expect(t.inviteTimes()).toEqual([0, 500]);
    t.clock.advance(31_000);
    // A doubles past T2 = 4 s: 500, 1000, 2000, 4000, 8000, 16000 ms intervals.
    expect(t.inviteTimes()).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(t.tx.state).toBe('calling');
  });

  it('times out on Timer B at 64*T1 = 32 s in Calling, reports it and stops retransmitting', () => {
    const t = start();
    t.clock.advance(31_999);
    expect(t.tx.state).toBe('calling');
    expect(t.events).toEqual([]);
    t.clock.advance(1);
    expect(t.tx.state).toBe('terminated');
    expect(t.events).toEqual(['timeout', 'terminated terminated']);
    expect(t.layer.clientTransactionCount).toBe(0);
    t.clock.advance(100_000);
    expect(t.inviteTimes()).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(t.clock.pending).toBe(0);
  });

  it('follows configurable T1: A at 100, 200, 400 ms…, B at 6.4 s', () => {
    const t = start({ timers: { T1: 100 } });
    t.clock.advance(6399);
    expect(t.inviteTimes()).toEqual([0, 100, 300, 700, 1500, 3100, 6300]);
    expect(t.tx.state).toBe('calling');
    t.clock.advance(1);
    expect(t.tx.state).toBe('terminated');
    expect(t.events).toContain('timeout');
  });

  it('never retransmits over a reliable transport, but still times out on Timer B', () => {
    const t = start({}, PEER_TCP);
    t.clock.advance(31_999);
    expect(t.inviteTimes()).toEqual([0]);
    expect(t.tx.state).toBe('calling');
    t.clock.advance(1);
    expect(t.events).toEqual(['timeout', 'terminated terminated']);
  });

  it('a provisional response moves to Proceeding: no more retransmissions and no Timer B', () => {
    const t = start();
    t.clock.advance(600);
    t.layer.receive(inbound(responseTo(t.tx.request, 100)));
    expect(t.tx.state).toBe('proceeding');
    t.layer.receive(inbound(responseTo(t.tx.request, 180)));
    expect(t.events).toEqual(['provisional 100', 'provisional 180']);
    t.clock.advance(120_000);
    expect(t.inviteTimes()).toEqual([0, 500]);
    expect(t.tx.state).toBe('proceeding');
    expect(t.clock.pending).toBe(0);
  });

  it('2xx moves to Accepted (RFC 6026): further 2xx go to the TU, Timer M = 64*T1 ends it', () => {
    const t = start();
    t.layer.receive(inbound(responseTo(t.tx.request, 180)));
    t.clock.advance(1000);
    t.layer.receive(inbound(responseTo(t.tx.request, 200)));
    expect(t.tx.state).toBe('accepted');
    t.clock.advance(10_000);
    t.layer.receive(inbound(responseTo(t.tx.request, 200))); // a retransmission
    t.layer.receive(inbound(responseTo(t.tx.request, 200, 'other-fork'))); // another fork
    t.layer.receive(inbound(responseTo(t.tx.request, 486))); // dropped in Accepted
    t.layer.receive(inbound(responseTo(t.tx.request, 183))); // dropped in Accepted
    expect(t.finals.map((r) => [r.status, r.to.tag])).toEqual([
      [200, 'a6c85cf'],
      [200, 'a6c85cf'],
      [200, 'other-fork'],
    ]);
    expect(t.transport.requests('ACK')).toHaveLength(0); // the ACK for 2xx is the TU's
    t.clock.advance(32_000 - 10_000 - 1);
    expect(t.tx.state).toBe('accepted');
    t.clock.advance(1);
    expect(t.tx.state).toBe('terminated');
    expect(t.events.at(-1)).toBe('terminated terminated');
    expect(t.layer.clientTransactionCount).toBe(0);
    // After Timer M a 2xx matches nothing: it is stray (RFC 6026: a UA drops it).
    t.layer.receive(inbound(responseTo(t.tx.request, 200)));
    expect(t.user.strays).toHaveLength(1);
  });

  it('2xx straight from Calling also goes to Accepted and stops Timer A and B', () => {
    const t = start();
    t.layer.receive(inbound(responseTo(t.tx.request, 200)));
    expect(t.tx.state).toBe('accepted');
    t.clock.advance(31_999);
    expect(t.inviteTimes()).toEqual([0]);
    expect(t.events).toEqual(['final 200']);
    t.clock.advance(1);
    expect(t.tx.state).toBe('terminated');
  });

  it('Timer M follows T1 and applies on reliable transports too', () => {
    const t = start({ timers: { T1: 50 } }, PEER_TCP);
    t.layer.receive(inbound(responseTo(t.tx.request, 200)));
    t.clock.advance(3199);
    expect(t.tx.state).toBe('accepted');
    t.clock.advance(1);
    expect(t.tx.state).toBe('terminated');
  });

  it('300-699: ACKs it, reports it once, absorbs retransmissions with the same ACK, Timer D = 32 s', () => {
    const t = start();
    t.layer.receive(inbound(responseTo(t.tx.request, 180)));
    t.clock.advance(2000);
    t.layer.receive(inbound(responseTo(t.tx.request, 486)));
    expect(t.tx.state).toBe('completed');
    expect(t.transport.requests('ACK')).toHaveLength(1);
    expect(t.transport.sent.at(-1)!.destination).toEqual(PEER);
    t.clock.advance(1000);
    t.layer.receive(inbound(responseTo(t.tx.request, 486)));
    t.layer.receive(inbound(responseTo(t.tx.request, 486)));
    t.layer.receive(inbound(responseTo(t.tx.request, 180))); // ignored in Completed
    expect(t.events).toEqual(['provisional 180', 'final 486']);
    const acks = t.transport.requests('ACK');
    expect(acks).toHaveLength(3);
    expect(acks[1]).toBe(acks[0]);
    expect(t.transport.times((m) => m.isRequest && m.method === 'ACK')).toEqual([2000, 3000, 3000]);
    t.clock.advance(32_000 - 1000 - 1);
    expect(t.tx.state).toBe('completed');
    t.clock.advance(1);
    expect(t.tx.state).toBe('terminated');
    expect(t.events.at(-1)).toBe('terminated terminated');
    expect(t.layer.clientTransactionCount).toBe(0);
  });

  it('Timer D is 0 on a reliable transport: ACK sent, then Terminated at once', () => {
    const t = start({}, PEER_TCP);
    t.layer.receive(inbound(responseTo(t.tx.request, 603)));
    expect(t.tx.state).toBe('terminated');
    expect(t.events).toEqual(['final 603', 'terminated terminated']);
    expect(t.transport.requests('ACK')).toHaveLength(1);
    expect(t.clock.pending).toBe(0);
  });

  it('Timer D is configurable', () => {
    const t = start({ timers: { D: 40_000 } });
    t.layer.receive(inbound(responseTo(t.tx.request, 404)));
    t.clock.advance(39_999);
    expect(t.tx.state).toBe('completed');
    t.clock.advance(1);
    expect(t.tx.state).toBe('terminated');
  });

  it('a transport error terminates the transaction and is reported (§17.1.4)', async () => {
    const s = setup();
    s.transport.failNext = 1;
    const r = record();
    const tx = s.layer.sendRequest(outgoing('INVITE'), PEER, r.callbacks);
    await flush();
    expect(tx.state).toBe('terminated');
    expect(r.events).toEqual(['transport-error ECONNREFUSED', 'terminated terminated']);
    expect(s.layer.clientTransactionCount).toBe(0);
    expect(s.clock.pending).toBe(0);
  });

  it('a transport error on a Timer A retransmission terminates it too', async () => {
    const t = start();
    t.transport.failNext = 1;
    t.clock.advance(500);
    await flush();
    expect(t.tx.state).toBe('terminated');
    expect(t.events).toEqual(['transport-error ECONNREFUSED', 'terminated terminated']);
    t.clock.advance(60_000);
    expect(t.inviteTimes()).toEqual([0, 500]);
  });
});
