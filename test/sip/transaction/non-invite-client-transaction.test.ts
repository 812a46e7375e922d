/** Non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6): Timers E, F, K. */
import { describe, expect, it } from 'vitest';
import type { ClientTransaction } from '../../../src/sip/transaction/index.js';
import type { SipResponse } from '../../../src/sip/message/index.js';
import { PEER, PEER_TCP, flush, inbound, outgoing, responseTo, setup } from './harness.js';

function start(opts: Parameters<typeof setup>[0] = {}, dest = PEER, method = 'OPTIONS') {
  const s = setup(opts);
  const events: string[] = [];
  const callbacks = {
    onProvisional: (r: SipResponse) => events.push(`provisional ${r.status}`),
    onFinal: (r: SipResponse) => events.push(`final ${r.status}`),
    onTimeout: () => events.push('timeout'),
    onTransportError: (e: Error) => events.push(`transport-error ${e.message}`),
    onTerminated: (tx: ClientTransaction) => events.push(`terminated ${tx.state}`),
  };
  const tx = s.layer.sendRequest(outgoing(method), dest, callbacks);
  const sends = (): number[] => s.transport.times((m) => m.isRequest && m.method === method);
  return { ...s, events, tx, sends };
}

describe('NonInviteClientTransaction', () => {
  it('retransmits on Timer E: T1, doubling, capped at T2 = 4 s', () => {
    const t = start();
    expect(t.tx.kind).toBe('non-invite-client');
    expect(t.tx.state).toBe('trying');
    t.clock.advance(499);
    expect(t.sends()).toEqual([0]);
    t.clock.advance(1);
    expect(t.sends()).toEqual([0, 500]);
    t.clock.advance(31_000 - 500 - 1);
    // Intervals 500, 1000, 2000, 4000, 4000, 4000…
    expect(t.sends()).toEqual([0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500]);
  });

  it('times out on Timer F at 64*T1 = 32 s', () => {
    const t = start();
    t.clock.advance(31_999);
    expect(t.tx.state).toBe('trying');
    t.clock.advance(1);
    expect(t.tx.state).toBe('terminated');
    expect(t.events).toEqual(['timeout', 'terminated terminated']);
    expect(t.sends()).toEqual([0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]);
    expect(t.layer.clientTransactionCount).toBe(0);
    expect(t.clock.pending).toBe(0);
  });

  it('after a provisional, Timer E fires next as scheduled and then every T2', () => {
    const t = start();
    t.clock.advance(700); // sent at 0 and 500; E next due at 1500
    t.layer.receive(inbound(responseTo(t.tx.request, 100)));
    expect(t.tx.state).toBe('proceeding');
    t.clock.advance(1500 - 700);
    expect(t.sends()).toEqual([0, 500, 1500]);
    t.clock.advance(12_000);
    expect(t.sends()).toEqual([0, 500, 1500, 5500, 9500, 13_500]);
    // Timer F still applies in Proceeding.
    t.clock.advance(32_000 - 13_500 - 1);
    expect(t.tx.state).toBe('proceeding');
    t.clock.advance(1);
    expect(t.events).toEqual(['provisional 100', 'timeout', 'terminated terminated']);
  });

  it('configurable T1 and T2 change the schedule: T1 = 200, T2 = 1000', () => {
    const t = start({ timers: { T1: 200, T2: 1000 } });
    t.clock.advance(12_799);
    expect(t.sends().slice(0, 6)).toEqual([0, 200, 600, 1400, 2400, 3400]);
    expect(t.tx.state).toBe('trying');
    t.clock.advance(1); // F = 64 * 200
    expect(t.tx.state).toBe('terminated');
  });

  it('a final response goes to the TU once; Completed absorbs retransmissions; Timer K = T4 = 5 s', () => {
    const t = start();
    t.clock.advance(600);
    t.layer.receive(inbound(responseTo(t.tx.request, 200)));
    expect(t.tx.state).toBe('completed');
    t.layer.receive(inbound(responseTo(t.tx.request, 200)));
    t.layer.receive(inbound(responseTo(t.tx.request, 500)));
    t.layer.receive(inbound(responseTo(t.tx.request, 180)));
    expect(t.events).toEqual(['final 200']);
    t.clock.advance(4999);
    expect(t.tx.state).toBe('completed');
    expect(t.sends()).toEqual([0, 500]); // no retransmission in Completed
    t.clock.advance(1);
    expect(t.tx.state).toBe('terminated');
    expect(t.events).toEqual(['final 200', 'terminated terminated']);
    expect(t.layer.clientTransactionCount).toBe(0);
    expect(t.clock.pending).toBe(0);
  });

  it('Timer K follows T4', () => {
    const t = start({ timers: { T4: 2500 } });
    t.layer.receive(inbound(responseTo(t.tx.request, 404)));
    t.clock.advance(2499);
    expect(t.tx.state).toBe('completed');
    t.clock.advance(1);
    expect(t.tx.state).toBe('terminated');
  });

  it('on a reliable transport: no Timer E, Timer F still, and Timer K = 0', () => {
    const t = start({}, PEER_TCP);
    t.clock.advance(31_999);
    expect(t.sends()).toEqual([0]);
    t.clock.advance(1);
    expect(t.events).toEqual(['timeout', 'terminated terminated']);

    const u = start({}, PEER_TCP, 'BYE');
    u.layer.receive(inbound(responseTo(u.tx.request, 100), PEER_TCP));
    u.layer.receive(inbound(responseTo(u.tx.request, 200), PEER_TCP));
    expect(u.tx.state).toBe('terminated');
    expect(u.events).toEqual(['provisional 100', 'final 200', 'terminated terminated']);
    expect(u.clock.pending).toBe(0);
  });

  it('a transport error terminates it and is reported (§17.1.4)', async () => {
    const t = start();
    t.transport.failAll = true;
    t.clock.advance(500);
    await flush();
    expect(t.tx.state).toBe('terminated');
    expect(t.events).toEqual(['transport-error ECONNREFUSED', 'terminated terminated']);
    expect(t.clock.pending).toBe(0);
    expect(t.layer.clientTransactionCount).toBe(0);
  });
});
