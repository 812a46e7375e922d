import { describe, expect, it } from 'vitest';
import { ManualClock, parseNameAddr, parseUri } from '../../../src/sip/index.js';
import { LocationService, addressOfRecord } from '../../../src/sip/ua/index.js';

const AOR = 'sip:alice@example.com';
const contact = (s: string) => parseNameAddr(s);

describe('addressOfRecord (§10.3 step 5)', () => {
  it('keeps scheme, user and lower-cased host; drops port, parameters and headers', () => {
    expect(addressOfRecord(parseUri('sip:Alice@Example.COM:5070;transport=tcp?subject=x'))).toBe('sip:Alice@example.com');
    expect(addressOfRecord(parseUri('sips:bob@[2001:DB8::1]:5061'))).toBe('sips:bob@[2001:db8::1]');
    expect(addressOfRecord(parseUri('sip:%61lice@example.com'))).toBe('sip:alice@example.com');
  });
  it('has none for URIs without a user or not SIP', () => {
    expect(addressOfRecord(parseUri('sip:example.com'))).toBeUndefined();
    expect(addressOfRecord(parseUri('tel:+15551234'))).toBeUndefined();
    expect(addressOfRecord(parseUri('mailto:a@b.c'))).toBeUndefined();
  });
});

describe('LocationService', () => {
  it('adds bindings with absolute expiries and forgets them when they expire', () => {
    const clock = new ManualClock(1000);
    const loc = new LocationService({ clock });
    expect(loc.apply(AOR, [{ contact: contact('<sip:alice@192.0.2.1>;expires=99'), expires: 60, callId: 'c', cseq: 1 }])).toBe('ok');
    const [b] = loc.lookup(AOR);
    expect(b!.expiresAt).toBe(61_000);
    expect(b!.contact.params.has('expires')).toBe(false);
    expect(loc.remaining(b!)).toBe(60);
    clock.advance(59_500);
    expect(loc.remaining(loc.lookup(AOR)[0]!)).toBe(1);
    clock.advance(500);
    expect(loc.lookup(AOR)).toEqual([]);
    expect(loc.size).toBe(0);
  });

  it('orders lookup by q, then most recently updated', () => {
    const clock = new ManualClock();
    const loc = new LocationService({ clock });
    loc.apply(AOR, [
      { contact: contact('<sip:a@192.0.2.1>'), expires: 60, q: 0.5, callId: 'c', cseq: 1 },
      { contact: contact('<sip:b@192.0.2.2>'), expires: 60, callId: 'c', cseq: 1 },
    ]);
    clock.advance(1000);
    loc.apply(AOR, [{ contact: contact('<sip:c@192.0.2.3>'), expires: 60, q: 0.5, callId: 'd', cseq: 1 }]);
    expect(loc.lookup(AOR).map((b) => String(b.contact.uri))).toEqual(['sip:b@192.0.2.2', 'sip:c@192.0.2.3', 'sip:a@192.0.2.1']);
    expect(loc.lookup(AOR).map((b) => b.q)).toEqual([1, 0.5, 0.5]);
  });

  it('matches contacts by URI equality, refreshes in place and removes with expires 0', () => {
    const clock = new ManualClock();
    const loc = new LocationService({ clock });
    loc.apply(AOR, [{ contact: contact('<sip:alice@HOST.example:5060;transport=udp>'), expires: 60, callId: 'c', cseq: 1 }]);
    loc.apply(AOR, [{ contact: contact('<sip:alice@host.example:5060;transport=UDP>'), expires: 120, callId: 'c', cseq: 2 }]);
    expect(loc.bindingCount).toBe(1);
    expect(loc.lookup(AOR)[0]!.cseq).toBe(2);
    expect(loc.find(AOR, contact('<sip:alice@host.example:5060;transport=udp>'))?.expiresAt).toBe(120_000);
    loc.apply(AOR, [{ contact: contact('<sip:alice@host.example:5060;transport=udp>'), expires: 0, callId: 'c', cseq: 3 }]);
    expect(loc.size).toBe(0);
  });

  it('keeps Path, instance-id, reg-id, source and connection', () => {
    const loc = new LocationService({ clock: new ManualClock() });
    loc.apply(AOR, [
      {
        contact: contact('<sip:alice@10.0.0.1>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";reg-id=1'),
        expires: 60,
        callId: 'c',
        cseq: 1,
        path: ['<sip:edge.example.com;lr>'],
        source: { protocol: 'tcp', address: '198.51.100.7', port: 40000 },
        connectionId: 'tcp-1',
      },
    ]);
    const b = loc.lookup(AOR)[0]!;
    expect(b.instanceId).toBe('<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>');
    expect(b.regId).toBe(1);
    expect(b.path).toEqual(['<sip:edge.example.com;lr>']);
    expect(b.source).toEqual({ protocol: 'tcp', address: '198.51.100.7', port: 40000 });
    expect(b.connectionId).toBe('tcp-1');
  });

  it('refuses, atomically, more bindings per AoR than allowed', () => {
    const loc = new LocationService({ clock: new ManualClock(), maxBindingsPerAor: 2 });
    expect(loc.apply(AOR, [{ contact: contact('<sip:a@h1>'), expires: 60, callId: 'c', cseq: 1 }])).toBe('ok');
    expect(
      loc.apply(AOR, [
        { contact: contact('<sip:a@h1>'), expires: 0, callId: 'c', cseq: 2 },
        { contact: contact('<sip:a@h2>'), expires: 60, callId: 'c', cseq: 2 },
        { contact: contact('<sip:a@h3>'), expires: 60, callId: 'c', cseq: 2 },
        { contact: contact('<sip:a@h4>'), expires: 60, callId: 'c', cseq: 2 },
      ]),
    ).toBe('too-many-bindings');
    expect(loc.lookup(AOR).map((b) => String(b.contact.uri))).toEqual(['sip:a@h1']);
    // Removing one while adding one stays within the bound.
    expect(
      loc.apply(AOR, [
        { contact: contact('<sip:a@h1>'), expires: 0, callId: 'c', cseq: 2 },
        { contact: contact('<sip:a@h2>'), expires: 60, callId: 'c', cseq: 2 },
        { contact: contact('<sip:a@h3>'), expires: 60, callId: 'c', cseq: 2 },
      ]),
    ).toBe('ok');
    expect(loc.bindingCount).toBe(2);
  });

  it('refuses new AoRs past maxAors, after sweeping expired ones', () => {
    const clock = new ManualClock();
    const loc = new LocationService({ clock, maxAors: 2 });
    const add = (aor: string, expires = 60) => loc.apply(aor, [{ contact: contact('<sip:x@h>'), expires, callId: aor, cseq: 1 }]);
    expect(add('sip:a@d', 10)).toBe('ok');
    expect(add('sip:b@d')).toBe('ok');
    expect(add('sip:c@d')).toBe('too-many-aors');
    expect(add('sip:b@d')).toBe('ok'); // an existing AoR may still change
    clock.advance(10_000);
    expect(add('sip:c@d')).toBe('ok'); // a@d expired and was swept
    expect(loc.addresses().sort()).toEqual(['sip:b@d', 'sip:c@d']);
  });

  it('sweep() drops every expired binding; removeAll() and clear() empty', () => {
    const clock = new ManualClock();
    const loc = new LocationService({ clock });
    for (let i = 0; i < 5; i++) loc.apply(`sip:u${i}@d`, [{ contact: contact('<sip:x@h>'), expires: i + 1, callId: 'c', cseq: 1 }]);
    clock.advance(3000);
    expect(loc.sweep()).toBe(3);
    expect(loc.size).toBe(2);
    loc.removeAll('sip:u4@d');
    expect(loc.size).toBe(1);
    loc.clear();
    expect(loc.bindingCount).toBe(0);
  });

  it('rejects bad bounds', () => {
    expect(() => new LocationService({ clock: new ManualClock(), maxAors: 0 })).toThrow(RangeError);
    expect(() => new LocationService({ clock: new ManualClock(), maxBindingsPerAor: 1.5 })).toThrow(RangeError);
  });

  it('restore() puts back a saved binding with its own expiry, update time and source; bounded; expired ones refused', () => {
    const clock = new ManualClock(50_000);
    const loc = new LocationService({ clock, maxBindingsPerAor: 2, maxAors: 1 });
    const source = { protocol: 'udp' as const, address: '203.0.113.9', port: 40000 };
    expect(loc.restore(AOR, { contact: contact('<sip:alice@10.0.0.2:5060>;+sip.instance="<urn:uuid:1>";reg-id=1;expires=9'), expiresAt: 80_000, updatedAt: 20_000, q: 0.5, callId: 'c1', cseq: 4, path: ['<sip:p1>'], source })).toBe('ok');
    const [b] = loc.lookup(AOR);
    expect(b).toMatchObject({ expiresAt: 80_000, updatedAt: 20_000, q: 0.5, callId: 'c1', cseq: 4, path: ['<sip:p1>'], source, instanceId: '<urn:uuid:1>', regId: 1 });
    expect(b!.contact.params.has('expires')).toBe(false);
    expect(loc.remaining(b!)).toBe(30);
    // Same contact: replaced. A time in the future is clamped to now.
    expect(loc.restore(AOR, { contact: contact('<sip:alice@10.0.0.2:5060>'), expiresAt: 90_000, updatedAt: 99_999, callId: 'c2', cseq: 1 })).toBe('ok');
    expect(loc.lookup(AOR).map((x) => [x.callId, x.updatedAt, x.source])).toEqual([['c2', 50_000, undefined]]);
    expect(loc.restore(AOR, { contact: contact('<sip:alice@10.0.0.3>'), expiresAt: 50_000, callId: 'c3', cseq: 1 })).toBe('expired');
    expect(loc.restore(AOR, { contact: contact('<sip:alice@10.0.0.4>'), expiresAt: 60_000, callId: 'c4', cseq: 1 })).toBe('ok');
    expect(loc.restore(AOR, { contact: contact('<sip:alice@10.0.0.5>'), expiresAt: 60_000, callId: 'c5', cseq: 1 })).toBe('too-many-bindings');
    expect(loc.restore('sip:bob@example.com', { contact: contact('<sip:bob@10.0.0.6>'), expiresAt: 60_000, callId: 'c6', cseq: 1 })).toBe('too-many-aors');
    expect(loc.bindingCount).toBe(2);
    clock.advance(10_000);
    expect(loc.lookup(AOR).map((x) => x.callId)).toEqual(['c2']);
  });
});
