/** Non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8): Trying, Proceeding, Completed, Timer J. */
import { describe, expect, it } from 'vitest';
import { createResponse } from '../../../src/sip/message/index.js';
import type { NonInviteServerTransaction } from '../../../src/sip/transaction/index.js';
import type { Endpoint } from '../../../src/sip/transport/types.js';
import { PEER, flush, inbound, request, setup } from './harness.js';

const TCP: Endpoint = { protocol: 'tcp', address: '192.0.2.4', port: 5060 };

function start(opts: Parameters<typeof setup>[0] = {}, source: Endpoint = PEER) {
  const s = setup(opts);
  const events: string[] = [];
  let tx: NonInviteServerTransaction | undefined;
  s.user.onRequestHook = (t) => {
    tx = t as NonInviteServerTransaction;
    t.user = { onTransportError: (e) => events.push(`transport-error ${e.message}`), onTerminated: (x) => events.push(`terminated ${x.state}`) };
  };
  const transport = source.protocol === 'udp' ? 'UDP' : 'TCP';
  const conn = source.protocol === 'udp' ? undefined : 'c7';
  const deliver = (): void => s.layer.receive(inbound(request('BYE', { transport, toTag: 'x' }), source, conn));
  deliver();
  const statuses = (): number[] => s.transport.responses().map((r) => r.status);
  const respond = (status: number): boolean => tx!.respond(createResponse(tx!.request, status));
  return { ...s, events, tx: tx!, deliver, statuses, respond };
}

describe('NonInviteServerTransaction', () => {
  it('starts in Trying, passes the request to the TU once, absorbs retransmissions silently', () => {
    const t = start();
    expect(t.tx.kind).toBe('non-invite-server');
    expect(t.tx.state).toBe('trying');
    t.deliver();
    t.deliver();
    expect(t.user.requests).toHaveLength(1);
    expect(t.statuses()).toEqual([]);
    t.clock.advance(10_000);
    expect(t.statuses()).toEqual([]); // no 100 for non-INVITE
  });

  it('1xx: Proceeding, retransmissions answered with the last provisional', () => {
    const t = start();
    t.respond(100);
    expect(t.tx.state).toBe('proceeding');
    t.respond(183);
    t.deliver();
    expect(t.statuses()).toEqual([100, 183, 183]);
  });

  it('final: Completed, retransmissions answered with it, later responses discarded, Timer J = 64*T1', () => {
    const t = start();
    t.clock.advance(100);
    t.respond(200);
    expect(t.tx.state).toBe('completed');
    expect(t.respond(500)).toBe(false);
    t.clock.advance(1000);
    t.deliver();
    t.clock.advance(1000);
    t.deliver();
    expect(t.transport.times()).toEqual([100, 1100, 2100]);
    expect(t.transport.responses().every((r) => r.status === 200)).toBe(true);
    expect(t.transport.responses()[1]).toBe(t.transport.responses()[0]);
    t.clock.advance(32_000 - 2000 - 1);
    expect(t.tx.state).toBe('completed');
    t.clock.advance(1);
    expect(t.tx.state).toBe('terminated');
    expect(t.events).toEqual(['terminated terminated']);
    expect(t.layer.serverTransactionCount).toBe(0);
    expect(t.clock.pending).toBe(0);
    // A late retransmission now is a new request.
    t.deliver();
    expect(t.user.requests).toHaveLength(2);
  });

  it('Timer J follows T1', () => {
    const t = start({ timers: { T1: 20 } });
    t.respond(200);
    t.clock.advance(1279);
    expect(t.tx.state).toBe('completed');
    t.clock.advance(1);
    expect(t.tx.state).toBe('terminated');
  });

  it('Timer J = 0 on a reliable transport; responses go back on the connection', () => {
    const t = start({}, TCP);
    t.respond(200);
    expect(t.tx.state).toBe('terminated');
    expect(t.transport.sent[0]!.destination).toEqual({ protocol: 'tcp', address: '192.0.2.4', port: 5060, connectionId: 'c7' });
    expect(t.clock.pending).toBe(0);
    expect(t.layer.serverTransactionCount).toBe(0);
  });

  it('a transport error is reported and the transaction stays in its state (RFC 6026 §8.8)', async () => {
    const t = start();
    t.transport.failNext = 1;
    t.respond(180);
    await flush();
    expect(t.tx.state).toBe('proceeding');
    expect(t.events).toEqual(['transport-error ECONNREFUSED']);
    t.deliver(); // the retransmission still matches: it is answered, not taken for a new request
    expect(t.user.requests).toHaveLength(1);
    t.respond(200);
    t.clock.advance(32_000);
    expect(t.events).toEqual(['transport-error ECONNREFUSED', 'terminated terminated']);
    expect(t.layer.serverTransactionCount).toBe(0);
  });
});
