import { describe, expect, it } from 'vitest';
import { parseMessage, type SipRequest, type SipResponse } from '../../../src/sip/message/index.js';
import { expiryDelay, negotiateAsUas, resolveSessionTimerConfig } from '../../../src/sip/dialog/index.js';
import { call, twoParties } from './harness.js';

const invite = (extra: string) =>
  parseMessage(
    Buffer.from(
      `INVITE sip:b@b SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:a@a>;tag=1\r\nTo: <sip:b@b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n${extra}\r\n`,
      'latin1',
    ),
  ) as SipRequest;

describe('session timer negotiation (RFC 4028)', () => {
  it('UAS rules: 422 below Min-SE, interval lowered but not below the request Min-SE, refresher choice', () => {
    const cfg = resolveSessionTimerConfig({ interval: 1800, minSE: 120 });
    expect(negotiateAsUas(invite('Session-Expires: 100\r\n'), cfg)).toEqual({ kind: 'too-small', minSE: 120 });
    expect(negotiateAsUas(invite('Session-Expires: 3600\r\nSupported: timer\r\n'), cfg)).toEqual({ kind: 'use', interval: 1800, refresher: 'uac' });
    expect(negotiateAsUas(invite('Session-Expires: 3600;refresher=uas\r\nMin-SE: 2000\r\nSupported: timer\r\n'), cfg)).toEqual({
      kind: 'use',
      interval: 2000,
      refresher: 'uas',
    });
    expect(negotiateAsUas(invite('Session-Expires: 600\r\n'), cfg)).toEqual({ kind: 'use', interval: 600, refresher: 'uas' });
    expect(negotiateAsUas(invite(''), cfg)).toEqual({ kind: 'use', interval: 1800, refresher: 'uas' });
    expect(resolveSessionTimerConfig({ interval: 10, minSE: 30 })).toEqual({ interval: 90, minSE: 90 });
    expect(expiryDelay(1800)).toBe(1768);
    expect(expiryDelay(90)).toBe(60);
  });

  it('a call negotiates Session-Expires 1800 with the UAC as refresher (Require: timer in the 2xx)', () => {
    const { clock, net, alice, bob } = twoParties();
    call(alice, 'bob.test');
    clock.advance(100);
    const inv = net.requests('INVITE')[0]!.message as SipRequest;
    expect(inv.sessionExpires?.seconds).toBe(1800);
    expect(inv.minSE).toBe(90);
    const ok = net.responses(200, 'INVITE')[0]!.message as SipResponse;
    expect(ok.get('Session-Expires')).toBe('1800;refresher=uac');
    expect(ok.require).toContain('timer');
    expect(alice.manager.sessionOf(alice.confirmed[0]!)).toEqual({ interval: 1800, weRefresh: true });
    expect(bob.manager.sessionOf(bob.confirmed[0]!)).toEqual({ interval: 1800, weRefresh: false });
  });

  it('the refresher sends UPDATE at half the interval; refreshed sessions never expire', () => {
    const { clock, net, alice, bob } = twoParties();
    call(alice, 'bob.test');
    clock.advance(100);
    const t0 = net.responses(200, 'INVITE')[0]!.at + net.latency; // alice got the 2xx
    clock.advance(3000 * 1000);
    const updates = net.requests('UPDATE', 'alice.test');
    expect(updates.map((w) => w.at - t0)).toEqual([900_000, 1_800_000 + 10, 2_700_000 + 20]);
    expect((updates[0]!.message as SipRequest).get('Session-Expires')).toBe('1800;refresher=uac');
    expect(net.requests('BYE')).toEqual([]);
    expect(alice.terminated).toEqual([]);
    expect(bob.terminated).toEqual([]);
  });

  it('the refresher re-INVITEs (with the session description the UA gives) when the peer does not allow UPDATE', () => {
    const { clock, net, alice } = twoParties(
      { events: { sessionRefreshBody: () => ({ contentType: 'application/sdp', body: 'v=0\r\n' }) } },
      { allow: ['INVITE', 'ACK', 'CANCEL', 'BYE'] },
    );
    call(alice, 'bob.test');
    clock.advance(100);
    clock.advance(901 * 1000);
    const reinvites = net.requests('INVITE', 'alice.test').filter((w) => (w.message as SipRequest).to.tag !== undefined);
    expect(reinvites).toHaveLength(1);
    expect((reinvites[0]!.message as SipRequest).body.toString()).toBe('v=0\r\n');
    expect(net.requests('UPDATE')).toEqual([]);
    expect(net.requests('ACK', 'alice.test')).toHaveLength(2);
    expect(alice.manager.size).toBe(1);
  });

  it('422 with Min-SE: the UAC retries with the larger interval (new CSeq, same Call-ID)', () => {
    const { clock, net, alice, bob } = twoParties({ sessionTimer: { interval: 300 } }, { sessionTimer: { minSE: 1000 } });
    const { result } = call(alice, 'bob.test');
    clock.advance(100);
    const r422 = net.responses(422, 'INVITE');
    expect(r422).toHaveLength(1);
    expect((r422[0]!.message as SipResponse).minSE).toBe(1000);
    const invites = net.requests('INVITE', 'alice.test').map((w) => w.message as SipRequest);
    expect(invites).toHaveLength(2);
    expect(invites[0]!.sessionExpires?.seconds).toBe(300);
    expect(invites[1]!.sessionExpires?.seconds).toBe(1000);
    expect(invites[1]!.minSE).toBe(1000);
    expect(invites[1]!.cseq.seq).toBe(invites[0]!.cseq.seq + 1);
    expect(invites[1]!.callId).toBe(invites[0]!.callId);
    expect(invites[1]!.from.tag).toBe(invites[0]!.from.tag);
    expect(result.success).toHaveLength(1);
    expect(alice.manager.sessionOf(result.success[0]![0])).toEqual({ interval: 1000, weRefresh: true });
    expect(bob.manager.size).toBe(1);
  });

  it('the other side sends BYE when no refresh arrives by interval - min(32, interval/3)', () => {
    const { clock, net, alice, bob } = twoParties();
    net.drop = (m) => m.isRequest && m.method === 'UPDATE';
    call(alice, 'bob.test');
    clock.advance(100);
    const sent2xx = net.responses(200, 'INVITE')[0]!.at;
    clock.advance(2000 * 1000);
    const byes = net.requests('BYE', 'bob.test');
    expect(byes).toHaveLength(1);
    expect(byes[0]!.at - sent2xx).toBe(1768 * 1000);
    expect((byes[0]!.message as SipRequest).get('Reason')).toContain('408');
    expect(bob.terminated.map(([, r]) => r)).toEqual(['session-expired']);
    // alice's refresh timed out (Timer F): her dialog ended as well
    expect(alice.terminated.map(([, r]) => r)).toEqual(['request-failed']);
  });

  it('session timers off: no Session-Expires, no Supported: timer; a peer requiring timer gets 420', () => {
    const { clock, net, alice, bob } = twoParties({ sessionTimer: false }, { sessionTimer: false });
    call(alice, 'bob.test');
    clock.advance(100);
    const inv = net.requests('INVITE')[0]!.message as SipRequest;
    expect(inv.has('Session-Expires')).toBe(false);
    expect(inv.supported).toEqual(['100rel']);
    expect((net.responses(200, 'INVITE')[0]!.message as SipResponse).has('Session-Expires')).toBe(false);
    const { result } = call(alice, 'bob.test', { headers: [['Require', 'timer']] });
    clock.advance(100);
    expect(result.failure.map(([r]) => [r?.status, r?.get('Unsupported')])).toEqual([[420, 'timer']]);
    expect(bob.manager.size).toBe(1);
  });
});
