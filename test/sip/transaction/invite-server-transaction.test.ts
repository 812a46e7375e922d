/** INVITE server transaction (RFC 3261 §17.2.1, Figure 7; RFC 6026 §7.1): 100 Trying, Timers G, H, I, L. */
import { describe, expect, it } from 'vitest';
import { createResponse, type SipResponse } from '../../../src/sip/message/index.js';
import type { InviteServerTransaction, ServerTransaction } from '../../../src/sip/transaction/index.js';
import { PEER, flush, inbound, request, setup } from './harness.js';
import type { Endpoint } from '../../../src/sip/transport/types.js';

const TCP: Endpoint = { protocol: 'tcp', address: '192.0.2.4', port: 5060 };

function start(opts: Parameters<typeof setup>[0] = {}, source: Endpoint = PEER, answer?: (tx: InviteServerTransaction) => void) {
  const s = setup(opts);
  const events: string[] = [];
  let tx: InviteServerTransaction | undefined;
  s.user.onRequestHook = (t) => {
    tx = t as InviteServerTransaction;
    t.user = {
      onTimeout: () => events.push('timeout'),
      onTransportError: (e) => events.push(`transport-error ${e.message}`),
      onTerminated: (x: ServerTransaction) => events.push(`terminated ${x.state}`),
    };
    answer?.(tx);
  };
  const transport = source.protocol === 'udp' ? 'UDP' : 'TCP';
  const invite = request('INVITE', { transport });
  const deliver = (): void => s.layer.receive(inbound(request('INVITE', { transport }), source, source.protocol === 'udp' ? undefined : 'conn-1'));
  s.layer.receive(inbound(invite, source, source.protocol === 'udp' ? undefined : 'conn-1'));
  const ack = (toTag = 'srv'): void =>
    s.layer.receive(inbound(request('ACK', { transport, toTag }), source, source.protocol === 'udp' ? undefined : 'conn-1'));
  const statuses = (): number[] => s.transport.responses().map((r) => r.status);
  const timesOf = (status: number): number[] => s.transport.times((m) => !m.isRequest && m.status === status);
  return { ...s, events, tx: tx!, invite, deliver, ack, statuses, timesOf, respond: (status: number): boolean => tx!.respond(createResponse(tx!.request, status, undefined, { toTag: 'srv' })) };
}

describe('InviteServerTransaction', () => {
  it('passes the INVITE to the TU in Proceeding and sends 100 Trying after 200 ms', () => {
    const t = start();
    expect(t.user.requests).toHaveLength(1);
    expect(t.tx.kind).toBe('invite-server');
    expect(t.tx.state).toBe('proceeding');
    t.clock.advance(199);
    expect(t.statuses()).toEqual([]);
    t.clock.advance(1);
    expect(t.statuses()).toEqual([100]);
    const trying = t.transport.responses(100)[0]!;
    expect(trying.to.tag).toBeUndefined(); // §8.2.6.2: no To tag on 100
    expect(trying.topVia!.branch).toBe('z9hG4bK776asdhds');
    expect(t.transport.sent[0]!.destination).toEqual({ protocol: 'udp', address: '192.0.2.4', port: 5060 });
  });

  it('sends no 100 when the TU answers within 200 ms', () => {
    const t = start();
    t.clock.advance(150);
    t.respond(180);
    t.clock.advance(1000);
    expect(t.statuses()).toEqual([180]);
  });

  it('sends no 100 when the TU answers synchronously, even with a final', () => {
    const t = start({}, PEER, (tx) => tx.respond(createResponse(tx.request, 486, undefined, { toTag: 'srv' })));
    t.clock.advance(300);
    expect(t.statuses()).toEqual([486]);
  });

  it('the 100 delay is configurable: 0 sends it at once, null never', () => {
    const a = start({ tryingDelay: 0 });
    expect(a.statuses()).toEqual([100]);
    const b = start({ tryingDelay: null });
    b.clock.advance(10_000);
    expect(b.statuses()).toEqual([]);
    const c = start({ tryingDelay: 50 });
    c.clock.advance(50);
    expect(c.statuses()).toEqual([100]);
  });

  it('copies a Timestamp into the 100 (§8.2.6.1)', () => {
    const s = setup({ tryingDelay: 0 });
    s.layer.receive(inbound(request('INVITE', { extra: 'Timestamp: 54.2\n' })));
    expect(s.transport.responses(100)[0]!.get('Timestamp')).toBe('54.2');
  });

  it('answers a retransmitted INVITE in Proceeding with the last provisional (none yet: nothing)', () => {
    const t = start({ tryingDelay: null });
    t.deliver();
    expect(t.statuses()).toEqual([]);
    t.respond(180);
    t.respond(183);
    t.deliver();
    expect(t.statuses()).toEqual([180, 183, 183]);
    expect(t.user.requests).toHaveLength(1); // the retransmission is not a new request
  });

  it('the 100 it sent itself is the last provisional for retransmissions', () => {
    const t = start();
    t.clock.advance(500);
    t.deliver();
    expect(t.statuses()).toEqual([100, 100]);
  });

  it('300-699: Completed, retransmits on Timer G (T1 doubling, capped at T2) until Timer H = 64*T1', () => {
    const t = start();
    t.clock.advance(1000); // 100 at 200
    t.respond(486);
    expect(t.tx.state).toBe('completed');
    expect(t.respond(500)).toBe(false); // discarded in Completed
    t.clock.advance(31_999);
    // G: 500, 1000, 2000, 4000, 4000… after the first send at 1000
    expect(t.timesOf(486)).toEqual([1000, 1500, 2500, 4500, 8500, 12_500, 16_500, 20_500, 24_500, 28_500, 32_500]);
    expect(t.tx.state).toBe('completed');
    t.clock.advance(1); // H at 1000 + 32000
    expect(t.tx.state).toBe('terminated');
    expect(t.events).toEqual(['timeout', 'terminated terminated']);
    expect(t.layer.serverTransactionCount).toBe(0);
    expect(t.clock.pending).toBe(0);
  });

  it('configurable T1/T2 change Timers G and H', () => {
    const t = start({ timers: { T1: 100, T2: 400 }, tryingDelay: null });
    t.respond(404);
    t.clock.advance(6399);
    expect(t.timesOf(404).slice(0, 7)).toEqual([0, 100, 300, 700, 1100, 1500, 1900]);
    t.clock.advance(1);
    expect(t.tx.state).toBe('terminated');
  });

  it('a retransmitted INVITE in Completed gets the final response again', () => {
    const t = start({ tryingDelay: null });
    t.respond(486);
    t.clock.advance(100);
    t.deliver();
    expect(t.timesOf(486)).toEqual([0, 100]);
  });

  it('the ACK moves Completed to Confirmed: G and H stop; ACKs and INVITEs absorbed; Timer I = T4', () => {
    const t = start({ tryingDelay: null });
    t.respond(486);
    t.clock.advance(700); // G at 500
    t.ack();
    expect(t.tx.state).toBe('confirmed');
    t.ack();
    t.deliver();
    expect(t.user.acks).toHaveLength(0); // ACK for non-2xx is the transaction's
    expect(t.user.strays).toHaveLength(0);
    t.clock.advance(4999);
    expect(t.tx.state).toBe('confirmed');
    expect(t.timesOf(486)).toEqual([0, 500]);
    t.clock.advance(1);
    expect(t.tx.state).toBe('terminated');
    expect(t.events).toEqual(['terminated terminated']);
    expect(t.layer.serverTransactionCount).toBe(0);
    // After the transaction, an ACK matches nothing: stray.
    t.ack();
    expect(t.user.strays).toHaveLength(1);
  });

  it('Timer I follows T4', () => {
    const t = start({ tryingDelay: null, timers: { T4: 1000 } });
    t.respond(486);
    t.ack();
    t.clock.advance(999);
    expect(t.tx.state).toBe('confirmed');
    t.clock.advance(1);
    expect(t.tx.state).toBe('terminated');
  });

  it('on a reliable transport: no Timer G, Timer H still, Timer I = 0', () => {
    const t = start({ tryingDelay: null }, TCP);
    t.respond(486);
    t.clock.advance(31_999);
    expect(t.timesOf(486)).toEqual([0]);
    expect(t.transport.sent[0]!.destination).toEqual({ protocol: 'tcp', address: '192.0.2.4', port: 5060, connectionId: 'conn-1' });
    t.clock.advance(1);
    expect(t.events).toEqual(['timeout', 'terminated terminated']);

    const u = start({ tryingDelay: null }, TCP);
    u.respond(486);
    u.ack();
    expect(u.tx.state).toBe('terminated');
    expect(u.clock.pending).toBe(0);
  });

  it('2xx: Accepted (RFC 6026), INVITE retransmissions absorbed, 2xx from the TU sent, ACK to the TU, Timer L = 64*T1', () => {
    const t = start({ tryingDelay: null });
    t.respond(180);
    t.clock.advance(1000);
    expect(t.respond(200)).toBe(true);
    expect(t.tx.state).toBe('accepted');
    t.deliver();
    t.deliver();
    expect(t.statuses()).toEqual([180, 200]); // absorbed, not answered
    t.clock.advance(500);
    expect(t.respond(200)).toBe(true); // the TU's §13.3.1.4 retransmission passes
    expect(t.respond(486)).toBe(false);
    expect(t.statuses()).toEqual([180, 200, 200]);
    // An ACK with the INVITE's branch matches the transaction and goes to the TU (not absorbed).
    t.ack();
    t.ack();
    expect(t.user.acks).toHaveLength(2);
    expect(t.tx.state).toBe('accepted');
    t.clock.advance(32_000 - 500 - 1);
    expect(t.tx.state).toBe('accepted');
    t.clock.advance(1);
    expect(t.tx.state).toBe('terminated');
    expect(t.events).toEqual(['terminated terminated']);
    expect(t.layer.serverTransactionCount).toBe(0);
    expect(t.clock.pending).toBe(0);
  });

  it('Timer L follows T1', () => {
    const t = start({ tryingDelay: null, timers: { T1: 10 } });
    t.respond(200);
    t.clock.advance(639);
    expect(t.tx.state).toBe('accepted');
    t.clock.advance(1);
    expect(t.tx.state).toBe('terminated');
  });

  it('refuses a status outside 100-699', () => {
    const t = start();
    expect(() => t.tx.respond(createResponse(t.tx.request, 99))).toThrow(RangeError);
  });

  it('a transport error on the final response is reported; it stays Completed (RFC 6026 §8.8) and Timer G retries', async () => {
    const t = start({ tryingDelay: null });
    t.transport.failNext = 1;
    t.respond(486);
    await flush();
    expect(t.tx.state).toBe('completed');
    expect(t.events).toEqual(['transport-error ECONNREFUSED']);
    expect(t.layer.serverTransactionCount).toBe(1);
    t.clock.advance(500); // Timer G's retransmission gets through
    await flush();
    expect(t.timesOf(486)).toEqual([0, 500]);
    t.ack();
    expect(t.tx.state).toBe('confirmed');
    t.clock.advance(5000);
    expect(t.events).toEqual(['transport-error ECONNREFUSED', 'terminated terminated']);
    expect(t.layer.serverTransactionCount).toBe(0);
  });

  it('transport errors in Accepted are reported and the INVITE retransmissions still absorbed until Timer L', async () => {
    const t = start({ tryingDelay: null });
    t.transport.failAll = true;
    t.respond(200);
    await flush();
    expect(t.tx.state).toBe('accepted');
    t.respond(200);
    await flush();
    expect(t.events).toEqual(['transport-error ECONNREFUSED', 'transport-error ECONNREFUSED']);
    t.deliver();
    expect(t.user.requests).toHaveLength(1);
    t.clock.advance(32_000);
    expect(t.events.at(-1)).toBe('terminated terminated');
    expect(t.layer.serverTransactionCount).toBe(0);
  });

  it('a transport error on the 100 Trying is reported; the TU can still answer', async () => {
    const u = setup({ tryingDelay: 200 });
    const events: string[] = [];
    let tx: InviteServerTransaction | undefined;
    u.user.onRequestHook = (t) => {
      tx = t as InviteServerTransaction;
      t.user = { onTransportError: () => events.push('error'), onTerminated: () => events.push('terminated') };
    };
    u.layer.receive(inbound(request('INVITE')));
    u.transport.failNext = 1;
    u.clock.advance(200);
    await flush();
    expect(events).toEqual(['error']);
    expect(tx!.state).toBe('proceeding');
    expect(tx!.respond(createResponse(tx!.request, 486, undefined, { toTag: 'x' }))).toBe(true);
    expect(u.transport.responses().map((r) => r.status)).toEqual([100, 486]);
  });

  it('the final response keeps its bytes (the same object is re-sent)', () => {
    const t = start({ tryingDelay: null });
    t.respond(486);
    t.clock.advance(500);
    const [a, b] = t.transport.responses(486) as [SipResponse, SipResponse];
    expect(b).toBe(a);
  });
});
