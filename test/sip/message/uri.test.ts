/**
 * URIs: parsing, serialization and comparison of sip/sips (RFC 3261 §19.1, §25.1), tel
 * (RFC 3966) and other absolute URIs, IPv6 references (RFC 5118), and the equivalence rules
 * of RFC 3261 §19.1.4 with every example pair the RFC gives.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AbsoluteUri, SipParseError, SipUri, TelUri, parseUri, uriEquals, type Uri } from '../../../src/sip/index.js';
import { absoluteUriArb, sipUriArb, telUriArb } from './arbitraries.js';

const SEED = 42;

function sip(s: string): SipUri {
  const u = parseUri(s);
  expect(u).toBeInstanceOf(SipUri);
  return u as SipUri;
}

function tel(s: string): TelUri {
  const u = parseUri(s);
  expect(u).toBeInstanceOf(TelUri);
  return u as TelUri;
}

const params = (u: SipUri | TelUri): [string, string | null][] => u.params.names.map((n, i) => [n, u.params.values[i] ?? null]);
const headers = (u: SipUri): [string, string | null][] => u.headers.names.map((n, i) => [n, u.headers.values[i] ?? null]);

describe('SIP and SIPS URIs (RFC 3261 §19.1)', () => {
  it('parses the §19.1.3 examples', () => {
    let u = sip('sip:alice@atlanta.com');
    expect([u.scheme, u.user, u.password, u.host, u.port, u.hostKind]).toEqual(['sip', 'alice', undefined, 'atlanta.com', undefined, 'name']);

    u = sip('sip:alice:secretword@atlanta.com;transport=tcp');
    expect([u.user, u.password, u.host, u.transport]).toEqual(['alice', 'secretword', 'atlanta.com', 'tcp']);

    u = sip('sips:alice@atlanta.com?subject=project%20x&priority=urgent');
    expect(u.scheme).toBe('sips');
    expect(headers(u)).toEqual([
      ['subject', 'project x'],
      ['priority', 'urgent'],
    ]);

    u = sip('sip:+1-212-555-1212:1234@gateway.com;user=phone');
    expect([u.user, u.password, u.host]).toEqual(['+1-212-555-1212', '1234', 'gateway.com']);
    expect(u.params.get('user')).toBe('phone');

    u = sip('sips:1212@gateway.com');
    expect([u.scheme, u.user, u.host]).toEqual(['sips', '1212', 'gateway.com']);

    u = sip('sip:alice@192.0.2.4');
    expect([u.host, u.hostKind]).toEqual(['192.0.2.4', 'ipv4']);

    u = sip('sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com');
    expect(u.user).toBeUndefined();
    expect(u.params.get('method')).toBe('REGISTER');
    expect(u.headers.get('to')).toBe('alice@atlanta.com');

    u = sip('sip:alice;day=tuesday@atlanta.com');
    expect([u.user, u.host, u.params.size]).toEqual(['alice;day=tuesday', 'atlanta.com', 0]);
  });

  it('accepts the scheme in any case', () => {
    expect(sip('SIP:alice@atlanta.com').scheme).toBe('sip');
    expect(sip('SiPs:alice@atlanta.com').scheme).toBe('sips');
  });

  it('serializes what it parsed unchanged when nothing needs escaping', () => {
    for (const s of [
      'sip:alice@atlanta.com',
      'sip:alice:secretword@atlanta.com;transport=tcp',
      'sips:alice@atlanta.com?subject=project%20x&priority=urgent',
      'sip:+1-212-555-1212:1234@gateway.com;user=phone',
      'sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com',
      'sip:alice;day=tuesday@atlanta.com',
      'sip:proxy.example.com:5060;lr',
      'sips:[2001:db8::10]:5061;transport=tls',
      'sip:alice:@atlanta.com',
    ]) {
      expect(String(parseUri(s))).toBe(s);
    }
  });

  describe('hosts', () => {
    it('reads host names, IPv4 addresses and IPv6 references', () => {
      expect(sip('sip:a-b.example_1.com').hostKind).toBe('name');
      expect(sip('sip:192.0.2.255').hostKind).toBe('ipv4');
      const v6 = sip('sips:[2001:db8::10]:5070');
      expect([v6.host, v6.port, v6.hostKind, v6.hostport]).toEqual(['2001:db8::10', 5070, 'ipv6', '[2001:db8::10]:5070']);
      expect(sip('sip:bob@[::1]').host).toBe('::1');
      expect(sip('sip:[::ffff:192.0.2.1]').host).toBe('::ffff:192.0.2.1'); // IPv4-mapped (RFC 5118 §4.7)
      expect(sip('sip:[2001:db8:0:0:0:0:0:1]').host).toBe('2001:db8:0:0:0:0:0:1');
    });

    it('tolerates the three-colon IPv6 form of the RFC 3261 grammar, as RFC 5118 §4.10 asks', () => {
      expect(sip('sip:[2001:db8::192.0.2.1]').host).toBe('2001:db8::192.0.2.1'); // the correct two-colon form
      expect(sip('sip:[2001:db8:::192.0.2.1]').host).toBe('2001:db8:::192.0.2.1');
    });

    it('rejects malformed IPv6 references', () => {
      for (const s of ['sip:[2001:db8::::1]', 'sip:[2001:db8::12345]', 'sip:[2001:db8::1', 'sip:[zz::1]', 'sip:[1:2:3:4:5:6:7:8:9]', 'sip:[1:2:3]', 'sip:[]']) {
        expect(() => parseUri(s), s).toThrow(SipParseError);
      }
    });

    it('rejects an IPv6 address without brackets', () => {
      for (const s of ['sip:2001:db8::1', 'sip:alice@2001:db8::1', 'sip:::1', 'sip:alice@::1']) {
        expect(() => parseUri(s), s).toThrow(SipParseError);
      }
    });
  });

  describe('ports', () => {
    it('reads ports 0 to 65535', () => {
      expect(sip('sip:h:0').port).toBe(0);
      expect(sip('sip:h:5060').port).toBe(5060);
      expect(sip('sip:alice@h:65535;lr').port).toBe(65535);
      expect(sip('sip:[::1]:65535').port).toBe(65535);
    });

    it('rejects ports above 65535, empty ports and junk after the port', () => {
      for (const s of ['sip:h:65536', 'sip:h:99999', 'sip:h:123456', 'sip:h:', 'sip:alice@h:;lr', 'sip:[::1]:', 'sip:h:5060x', 'sip:h:-1', 'sip:h:50 60']) {
        expect(() => parseUri(s), s).toThrow(SipParseError);
      }
    });
  });

  describe('parameters and headers', () => {
    it('reads flags and values, looks names up case-insensitively', () => {
      const u = sip('sip:proxy.example.com;lr;Transport=TCP;maddr=239.255.255.1;ttl=15');
      expect(u.lr).toBe(true);
      expect(u.params.get('lr')).toBeNull();
      expect(u.transport).toBe('tcp');
      expect(u.params.get('MADDR')).toBe('239.255.255.1');
      expect(params(u)).toEqual([
        ['lr', null],
        ['Transport', 'TCP'],
        ['maddr', '239.255.255.1'],
        ['ttl', '15'],
      ]);
    });

    it('decodes %-escaped parameter names and values exactly once (RFC 4475 §3.1.1.3)', () => {
      const u = sip('sip:h;n%61me=v%61lue%25%34%31');
      expect(params(u)).toEqual([['name', 'value%41']]);
      expect(u.params.get('name')).toBe('value%41');
      // On output the `%` is escaped again, so the value survives another round.
      expect(String(u)).toBe('sip:h;name=value%2541');
      expect(sip(String(u)).params.get('name')).toBe('value%41');
    });

    it('decodes the user part once, UTF-8 included', () => {
      expect(sip('sip:%61lice@h').user).toBe('alice');
      expect(sip('sip:a%2540@h').user).toBe('a%40');
      expect(sip('sip:%C3%A9mile@h').user).toBe('émile');
      expect(String(sip('sip:%C3%A9mile@h'))).toBe('sip:%C3%A9mile@h');
      expect(sip('sip:alice:p%40ss@h').password).toBe('p@ss');
    });

    it('reads URI headers', () => {
      const u = sip('sip:alice@atlanta.com?subject=x&priority=urgent');
      expect(headers(u)).toEqual([
        ['subject', 'x'],
        ['priority', 'urgent'],
      ]);
      expect(u.headers.get('Subject')).toBe('x');
      expect(sip('sip:h?body=').headers.get('body')).toBe('');
      expect(sip('sip:h?to=sip:bob%40biloxi.com').headers.get('to')).toBe('sip:bob@biloxi.com');
    });

    it('escapes on output only what the grammar requires', () => {
      const u = new SipUri({ user: 'a b@c', password: 'p:w', host: 'example.com', params: { 'na me': 'v;1', lr: null }, headers: { subject: 'hi there&you' } });
      expect(String(u)).toBe('sip:a%20b%40c:p%3Aw@example.com;na%20me=v%3B1;lr?subject=hi%20there%26you');
      const back = sip(String(u));
      expect([back.user, back.password, back.params.get('na me'), back.headers.get('subject')]).toEqual(['a b@c', 'p:w', 'v;1', 'hi there&you']);
    });
  });

  it('parses very long URIs: a 300 KB user part with escapes (no RangeError)', () => {
    for (const n of [1_000, 100_000, 300_000]) {
      let u: SipUri | undefined;
      try {
        u = sip(`sip:${'a'.repeat(n)}%41@example.com;x=${'b'.repeat(n)}%42`);
      } catch (e) {
        expect(e).toBeInstanceOf(SipParseError);
      }
      expect(u?.user).toBe('a'.repeat(n) + 'A');
      expect(u?.params.get('x')).toBe('b'.repeat(n) + 'B');
    }
  });

  describe('errors: SipParseError', () => {
    const bad = [
      ['no scheme', 'alice@atlanta.com'],
      ['no scheme', 'atlanta.com'],
      ['empty scheme', ':alice@atlanta.com'],
      ['scheme starting with a digit', '1sip:alice@atlanta.com'],
      ['no host', 'sip:'],
      ['no host after userinfo', 'sip:alice@'],
      ['empty user', 'sip:@atlanta.com'],
      ['bad escape', 'sip:al%ice@atlanta.com'],
      ['truncated escape', 'sip:alice%4@atlanta.com'],
      ['truncated escape at the end', 'sip:atlanta.com;x=%4'],
      ['bad escape in a header', 'sip:atlanta.com?x=%G1'],
      ['space in the user', 'sip:al ice@atlanta.com'],
      ['space in the host', 'sip:alice@atl anta.com'],
      ['space in a parameter', 'sip:alice@atlanta.com;transport=t cp'],
      ['trailing space', 'sip:alice@atlanta.com '],
      ['< in the URI', 'sip:<alice@atlanta.com'],
      ['> after the URI', 'sip:alice@atlanta.com>'],
      ['< in a parameter', 'sip:atlanta.com;a=<b'],
      ['" in the user', 'sip:"alice"@atlanta.com'],
      ['non-ASCII byte', 'sip:alicé@atlanta.com'],
      ['host starting with a dash', 'sip:-atlanta.com'],
      ['empty parameter', 'sip:atlanta.com;;lr'],
      ['empty parameter name', 'sip:atlanta.com;=tcp'],
      ['empty parameter value', 'sip:atlanta.com;transport='],
      ['header without a value', 'sip:atlanta.com?subject'],
      ['empty header name', 'sip:atlanta.com?=x'],
      ['tel number with a space', 'tel:+1 201'],
      ['tel without a number', 'tel:'],
      ['tel with a second +', 'tel:+1+2'],
      ['empty absolute URI', 'http:'],
      ['space in an absolute URI', 'http://example.com/a b'],
      ['bad escape in an absolute URI', 'urn:x%zz'],
      ['< in an absolute URI', 'http:<x>'],
    ] as const;
    for (const [why, s] of bad) {
      it(`rejects ${why}: ${JSON.stringify(s)}`, () => {
        expect(() => parseUri(s)).toThrow(SipParseError);
      });
    }
  });
});

describe('tel URIs (RFC 3966)', () => {
  it('reads global and local numbers with parameters', () => {
    let t = tel('tel:+1-201-555-0123');
    expect([t.number, t.global, t.digits]).toEqual(['+1-201-555-0123', true, '+12015550123']);
    t = tel('tel:7042;phone-context=example.com');
    expect([t.number, t.global]).toEqual(['7042', false]);
    expect(t.params.get('phone-context')).toBe('example.com');
    t = tel('tel:+1-201-555-0123;ext=1234;isub=%41b');
    expect(t.params.get('ext')).toBe('1234');
    expect(t.params.get('isub')).toBe('Ab');
    t = tel('TEL:863-1234;phone-context=+1-914-555');
    expect(t.params.get('phone-context')).toBe('+1-914-555');
    expect(String(tel('tel:+1-201-555-0123;ext=1234'))).toBe('tel:+1-201-555-0123;ext=1234');
  });

  it('compares numbers without visual separators, parameters in any order (RFC 3966 §4)', () => {
    expect(uriEquals(parseUri('tel:+1-201-555-0123'), parseUri('tel:+12015550123'))).toBe(true);
    expect(uriEquals(parseUri('tel:+1(201)555.0123'), parseUri('tel:+12015550123'))).toBe(true);
    expect(uriEquals(parseUri('tel:7042;phone-context=EXAMPLE.com'), parseUri('tel:7042;Phone-Context=example.com'))).toBe(true);
    expect(uriEquals(parseUri('tel:+1;a=1;b=2'), parseUri('tel:+1;b=2;a=1'))).toBe(true);
    expect(uriEquals(parseUri('tel:+12015550123'), parseUri('tel:+12015550124'))).toBe(false);
    expect(uriEquals(parseUri('tel:+12015550123'), parseUri('tel:+12015550123;ext=1'))).toBe(false);
    expect(uriEquals(parseUri('tel:+12015550123'), parseUri('sip:+12015550123@example.com;user=phone'))).toBe(false);
  });
});

describe('absolute URIs', () => {
  it('keeps other schemes opaque, scheme lower-cased', () => {
    const u = parseUri('urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6');
    expect(u).toBeInstanceOf(AbsoluteUri);
    expect([u.scheme, (u as AbsoluteUri).rest]).toEqual(['urn', 'uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6']);
    expect(String(parseUri('HTTP://www.example.com/a?b=c&d=%20'))).toBe('http://www.example.com/a?b=c&d=%20');
    expect(parseUri('mailto:alice@example.com').kind).toBe('absolute');
    expect(uriEquals(parseUri('http://a/b'), parseUri('HTTP://a/b'))).toBe(true);
    expect(uriEquals(parseUri('http://a/b'), parseUri('http://a/c'))).toBe(false);
  });
});

describe('URI comparison (RFC 3261 §19.1.4)', () => {
  const eq = (a: string, b: string): boolean => {
    const x = parseUri(a);
    const y = parseUri(b);
    const r = uriEquals(x, y);
    // Equality is symmetric, and `equals` agrees with uriEquals.
    expect(uriEquals(y, x)).toBe(r);
    expect(x.equals(y)).toBe(r);
    return r;
  };

  // "The URIs within each of the following sets are equivalent"
  const EQUIVALENT: string[][] = [
    ['sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5', 'sip:carol@chicago.com;security=on'],
    ['sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com', 'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com'],
    ['sip:alice@atlanta.com?subject=project%20x&priority=urgent', 'sip:alice@atlanta.com?priority=urgent&subject=project%20x'],
  ];
  // "The URIs within each of the following sets are not equivalent"
  const NOT_EQUIVALENT: [string, string, string][] = [
    ['SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP', 'different usernames'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060', 'can resolve to different ports'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp', 'can resolve to different transports'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com:6000;transport=tcp', 'can resolve to different port and transports'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting', 'different header component'],
    ['sip:bob@phone21.boxesbybob.com', 'sip:bob@192.0.2.4', "even though that's what phone21.boxesbybob.com resolves to"],
  ];

  for (const set of EQUIVALENT) {
    it(`equivalent: ${set.join('  ≡  ')}`, () => {
      for (const a of set) for (const b of set) expect(eq(a, b), `${a} vs ${b}`).toBe(true);
    });
  }

  for (const [a, b, why] of NOT_EQUIVALENT) {
    it(`not equivalent (${why}): ${a}  ≢  ${b}`, () => {
      expect(eq(a, b)).toBe(false);
    });
  }

  it('is not transitive: ;security=on and ;security=off each equal the bare URI, not each other', () => {
    expect(eq('sip:carol@chicago.com', 'sip:carol@chicago.com;security=on')).toBe(true);
    expect(eq('sip:carol@chicago.com', 'sip:carol@chicago.com;security=off')).toBe(true);
    expect(eq('sip:carol@chicago.com;security=on', 'sip:carol@chicago.com;security=off')).toBe(false);
  });

  it('applies the other §19.1.4 rules', () => {
    // A SIP and a SIPS URI are never equivalent.
    expect(eq('sip:alice@atlanta.com', 'sips:alice@atlanta.com')).toBe(false);
    // userinfo is case-sensitive, passwords included; host and scheme are not.
    expect(eq('sip:alice:Secret@atlanta.com', 'sip:alice:secret@atlanta.com')).toBe(false);
    expect(eq('sip:alice@atlanta.com', 'sip:alice:x@atlanta.com')).toBe(false);
    expect(eq('SIPS:alice@ATLANTA.com', 'sips:alice@atlanta.COM')).toBe(true);
    // user, ttl, method and maddr (like transport) must match when either URI has them.
    for (const p of ['user=phone', 'ttl=15', 'method=INVITE', 'maddr=239.255.255.1', 'transport=tcp']) {
      expect(eq('sip:alice@atlanta.com', `sip:alice@atlanta.com;${p}`), p).toBe(false);
      expect(eq(`sip:alice@atlanta.com;${p}`, `sip:alice@atlanta.com;${p.toUpperCase()}`), p).toBe(true);
    }
    expect(eq('sip:alice@atlanta.com;maddr=239.255.255.1', 'sip:alice@atlanta.com;maddr=239.255.255.2')).toBe(false);
    // Other parameters only count when both URIs have them; a flag is not a value.
    expect(eq('sip:alice@atlanta.com;lr', 'sip:alice@atlanta.com')).toBe(true);
    expect(eq('sip:alice@atlanta.com;newparam=5', 'sip:alice@atlanta.com;newparam=6')).toBe(false);
    expect(eq('sip:alice@atlanta.com;newparam', 'sip:alice@atlanta.com;newparam=5')).toBe(false);
    // Headers must all match; their names are case-insensitive, their values are not.
    expect(eq('sip:carol@chicago.com?Subject=next%20meeting', 'sip:carol@chicago.com?subject=next%20meeting')).toBe(true);
    expect(eq('sip:carol@chicago.com?Subject=next%20meeting', 'sip:carol@chicago.com?Subject=another%20meeting')).toBe(false);
    expect(eq('sip:carol@chicago.com?a=1', 'sip:carol@chicago.com?a=1&b=2')).toBe(false);
    // Escaped unreserved characters equal their plain form (hosts cannot be escaped at all).
    expect(eq('sip:alice@atlanta.com;transport=%74cp', 'sip:alice@atlanta.com;transport=tcp')).toBe(true);
    expect(eq('sip:alice@atlanta.com?subject=%61', 'sip:alice@atlanta.com?subject=a')).toBe(true);
    expect(() => parseUri('sip:alice@%61tlanta.com')).toThrow(SipParseError);
    // IPv6 hosts compare case-insensitively.
    expect(eq('sip:[2001:DB8::A]', 'sip:[2001:db8::a]')).toBe(true);
  });

  it('keeps an escaped reserved character distinct from the character itself (§19.1.4: only non-reserved characters equal their escapes)', () => {
    // `;` is reserved: `a%3Bb` is a user with a semicolon in it, `a;b` a user-unreserved `;`.
    expect(eq('sip:a%3Bb@atlanta.com', 'sip:a;b@atlanta.com')).toBe(false);
  });

  it('is reflexive, even for a URI with a repeated parameter', () => {
    for (const s of ['sip:h;a=1;a=2', 'sip:h;x;X=1', 'tel:+1;a=1;a=2']) {
      const u = parseUri(s);
      expect(uriEquals(u, u), s).toBe(true);
      expect(uriEquals(u, parseUri(s)), s).toBe(true);
    }
  });
});

describe('URI round trips (fast-check)', () => {
  const sameFields = (a: SipUri, b: SipUri): void => {
    expect([b.scheme, b.user, b.password, b.host.toLowerCase(), b.port]).toEqual([a.scheme, a.user, a.password, a.host.toLowerCase(), a.port]);
    expect(params(b)).toEqual(params(a));
    expect(headers(b)).toEqual(headers(a));
  };

  it('parseUri(String(u)) equals u and re-serializes identically, for generated SIP URIs', () => {
    fc.assert(
      fc.property(sipUriArb(), (u) => {
        const s = String(u);
        const back = sip(s);
        expect(uriEquals(back, u)).toBe(true);
        expect(uriEquals(u, back)).toBe(true);
        sameFields(u, back);
        expect(String(back)).toBe(s);
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it('the same holds for tel and absolute URIs', () => {
    fc.assert(
      fc.property(fc.oneof(telUriArb as fc.Arbitrary<Uri>, absoluteUriArb as fc.Arbitrary<Uri>), (u) => {
        const s = String(u);
        const back = parseUri(s);
        expect(back.kind).toBe(u.kind);
        expect(uriEquals(back, u)).toBe(true);
        expect(String(back)).toBe(s);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('case changes in scheme, host and parameter names do not change equality', () => {
    const asciiCase = (s: string, upper: boolean): string => (upper ? s.replace(/[a-z]+/g, (m) => m.toUpperCase()) : s.replace(/[A-Z]+/g, (m) => m.toLowerCase()));
    fc.assert(
      fc.property(sipUriArb(), fc.boolean(), (u, upper) => {
        const v = u.clone();
        v.host = asciiCase(u.host, upper);
        for (let i = 0; i < v.params.names.length; i++) v.params.names[i] = asciiCase(v.params.names[i]!, upper);
        const s = String(v);
        const w = sip(upper ? s.replace(/^sips?/, (m) => m.toUpperCase()) : s);
        expect(uriEquals(u, w)).toBe(true);
        expect(uriEquals(w, u)).toBe(true);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('any change of user, port or transport breaks equality', () => {
    fc.assert(
      fc.property(sipUriArb(), fc.constantFrom('user', 'port', 'transport' as const), (u, what) => {
        const v = u.clone();
        if (what === 'user') v.user = (u.user ?? '') + 'x';
        else if (what === 'port') v.port = u.port === undefined ? 5060 : (u.port + 1) % 65536;
        else v.params.setRaw('transport', u.transport === 'tcp' ? 'udp' : 'tcp');
        expect(uriEquals(u, sip(String(v)))).toBe(false);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});
