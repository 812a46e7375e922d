/** Broken configurations and the exact lines `switchboard check-config` prints for them. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderProblem, validateConfig } from '../../../src/pbx/config/index.js';
import { minimalConfig } from './config-fixtures.js';

type Case = [name: string, mutate: (c: Record<string, any>) => void, lines: string[]];

const F = 'config/demo.json';
function linesFor(mutate: (c: Record<string, any>) => void): string[] {
  const c = minimalConfig();
  mutate(c);
  return validateConfig(c, F).map(renderProblem);
}

describe('validateConfig', () => {
  it('accepts the minimal configuration', () => {
    expect(validateConfig(minimalConfig(), F)).toEqual([]);
  });

  it('accepts an operator of each kind that answers, and a transfer recall time', () => {
    for (const operator of [{ type: 'extension', number: '1002' }, { type: 'group', number: '600' }]) {
      const c = minimalConfig();
      c.tenants[0].operator = operator;
      c.tenants[0].transferRecallSeconds = 5;
      expect(validateConfig(c, F)).toEqual([]);
    }
    const c = minimalConfig();
    c.tenants[0].trunks = [{ name: 'carrier', host: '192.0.2.1' }];
    c.tenants[0].outboundRoutes = [{ name: 'all', patterns: ['_+X.'], trunks: ['carrier'] }];
    c.tenants[0].operator = { type: 'external', number: '+15551230000' };
    c.tenants[0].transferRecallSeconds = 600;
    expect(validateConfig(c, F)).toEqual([]);
  });

  const schemaCases: Case[] = [
    [
      'a short password, with the hint from x-hint',
      (c) => (c.tenants[0].extensions[1].password = 'short'),
      ['config/demo.json: tenants[0].extensions[1].password: must be at least 8 characters (hint: phones on the Internet are attacked within minutes: use a long random password)'],
    ],
    ['a misspelt property', (c) => (c.tenants[0].extensions[1].pasword = 'long-enough'), ['config/demo.json: tenants[0].extensions[1].pasword: unknown property (did you mean "password"?)']],
    ['a misspelt array', (c) => (c.tenants[0].extenssions = []), ['config/demo.json: tenants[0].extenssions: unknown property (did you mean "extensions"?)']],
    ['an unknown property, nothing close', (c) => (c.foo = 1), ['config/demo.json: foo: unknown property (allowed: listen, dataDir, logLevel, rtp, limits, security, tenants)']],
    ['an extension number of one digit', (c) => (c.tenants[0].extensions[0].number = '1'), ['config/demo.json: tenants[0].extensions[0].number: must be 2 to 8 digits (got "1")']],
    ['a port written as a string', (c) => (c.listen = [{ transport: 'udp', port: '5060' }]), ['config/demo.json: listen[0].port: must be an integer (got "5060")']],
    ['a fraction where an integer goes', (c) => (c.limits = { maxCalls: 1.5 }), ['config/demo.json: limits.maxCalls: must be an integer (got 1.5)']],
    ['null', (c) => (c.logLevel = null), ['config/demo.json: logLevel: must be a string (got null)']],
    ['an object where an array goes', (c) => (c.tenants = {}), ['config/demo.json: tenants: must be an array (got an object)']],
    ['no tenants', (c) => delete c.tenants, ['config/demo.json: tenants: is required']],
    ['an empty tenant list', (c) => (c.tenants = []), ['config/demo.json: tenants: must not be empty']],
    ['a port out of range', (c) => (c.listen = [{ transport: 'tcp', port: 70000 }]), ['config/demo.json: listen[0].port: must be at most 65535 (got 70000)']],
    [
      'an enum value in the wrong case',
      (c) => (c.listen = [{ transport: 'UDP' }]),
      ['config/demo.json: listen[0].transport: must be one of "udp", "tcp", "tls" (got "UDP"; did you mean "udp"?)'],
    ],
    [
      'a TLS socket without its files: the tls branch is chosen by transport',
      (c) => (c.listen = [{ transport: 'tls' }]),
      ['config/demo.json: listen[0].certFile: is required', 'config/demo.json: listen[0].keyFile: is required'],
    ],
    [
      'a misspelt destination type',
      (c) => (c.tenants[0].groups[0].failover = { type: 'extention', number: '1001' }),
      ['config/demo.json: tenants[0].groups[0].failover.type: must be one of "extension", "group", "voicemail", "hangup", "external" (got "extention"; did you mean "extension"?)'],
    ],
    [
      'a destination without a type',
      (c) => (c.tenants[0].groups[0].failover = { number: '1001' }),
      ['config/demo.json: tenants[0].groups[0].failover.type: is required: one of "extension", "group", "voicemail", "hangup", "external"'],
    ],
    [
      'a voicemail destination with the extension shape: that branch\'s problems only',
      (c) => (c.tenants[0].groups[0].failover = { type: 'voicemail', number: '1001' }),
      ['config/demo.json: tenants[0].groups[0].failover.mailbox: is required', 'config/demo.json: tenants[0].groups[0].failover.number: unknown property (allowed: type, mailbox)'],
    ],
    [
      'a destination written as a string',
      (c) => (c.tenants[0].groups[0].failover = 'hangup'),
      ['config/demo.json: tenants[0].groups[0].failover: must be an object with "type": one of "extension", "group", "voicemail", "hangup", "external"'],
    ],
    [
      'voicemail: true',
      (c) => (c.tenants[0].extensions[0].voicemail = true),
      ['config/demo.json: tenants[0].extensions[0].voicemail: must be false (hint: false for no mailbox, or an object such as {"pin": "1234"})'],
    ],
    [
      'a mailbox with a misspelt pin',
      (c) => (c.tenants[0].extensions[0].voicemail = { pni: '1234' }),
      ['config/demo.json: tenants[0].extensions[0].voicemail.pin: is required', 'config/demo.json: tenants[0].extensions[0].voicemail.pni: unknown property (did you mean "pin"?)'],
    ],
    [
      'a group member that is neither kind',
      (c) => (c.tenants[0].groups[0].members[0] = { ringSeconds: 5 }),
      ['config/demo.json: tenants[0].groups[0].members[0]: needs "extension" or "external" (hint: e.g. {"extension": "1001"} or {"external": "+15551230000"})'],
    ],
    [
      'a group member that is both kinds',
      (c) => (c.tenants[0].groups[0].members[0] = { extension: '1001', external: '+15551230000' }),
      ['config/demo.json: tenants[0].groups[0].members[0].external: unknown property (allowed: extension, ringSeconds, weight)'],
    ],
    [
      'a group member written as a string',
      (c) => (c.tenants[0].groups[0].members[0] = '1001'),
      ['config/demo.json: tenants[0].groups[0].members[0]: must be an object (hint: e.g. {"extension": "1001"} or {"external": "+15551230000"})'],
    ],
    [
      'a strategy with a dash',
      (c) => (c.tenants[0].groups[0].strategy = 'ring-all'),
      ['config/demo.json: tenants[0].groups[0].strategy: must be one of "ringall", "linear", "roundrobin", "leastrecent", "fewestcalls", "random", "weightedrandom" (got "ring-all"; did you mean "ringall"?)'],
    ],
    ['a repeated digest algorithm', (c) => (c.security = { digestAlgorithms: ['MD5', 'MD5'] }), ['config/demo.json: security.digestAlgorithms[1]: repeats security.digestAlgorithms[0] ("MD5")']],
    [
      'an upper-case domain',
      (c) => (c.tenants[0].domain = 'Demo.Local'),
      ['config/demo.json: tenants[0].domain: must be a lower-case domain name (got "Demo.Local") (hint: e.g. "pbx.example.com"; phones register as 1001@pbx.example.com)'],
    ],
    ['a non-hex HA1', (c) => (c.tenants[0].extensions[1] = { number: '1002', name: 'Bob', ha1: { MD5: 'xyz' } }), ['config/demo.json: tenants[0].extensions[1].ha1.MD5: must be hexadecimal (got "xyz")']],
    ['an HA1 for an unknown algorithm', (c) => (c.tenants[0].extensions[1] = { number: '1002', name: 'Bob', ha1: { 'SHA-512': 'ab' } }), ['config/demo.json: tenants[0].extensions[1].ha1["SHA-512"]: unknown property (allowed: MD5, SHA-256)']],
    ['a transfer recall time too short', (c) => (c.tenants[0].transferRecallSeconds = 3), ['config/demo.json: tenants[0].transferRecallSeconds: must be at least 5 (got 3)']],
    ['a transfer recall time too long', (c) => (c.tenants[0].transferRecallSeconds = 601), ['config/demo.json: tenants[0].transferRecallSeconds: must be at most 600 (got 601)']],
    ['a transfer recall time with a fraction', (c) => (c.tenants[0].transferRecallSeconds = 7.5), ['config/demo.json: tenants[0].transferRecallSeconds: must be an integer (got 7.5)']],
    [
      'an operator written as a bare number',
      (c) => (c.tenants[0].operator = '1001'),
      ['config/demo.json: tenants[0].operator: must be an object with "type": one of "extension", "group", "voicemail", "hangup", "external"'],
    ],
    ['an operator extension without its number', (c) => (c.tenants[0].operator = { type: 'extension' }), ['config/demo.json: tenants[0].operator.number: is required']],
    ['several problems at once, in document order (logLevel is added after tenants)', (c) => {
      c.logLevel = 'verbose';
      c.tenants[0].extensions[0].number = 'abc';
    }, [
      'config/demo.json: tenants[0].extensions[0].number: must be 2 to 8 digits (got "abc")',
      'config/demo.json: logLevel: must be one of "error", "warn", "info", "debug" (got "verbose")',
    ]],
  ];

  const semanticCases: Case[] = [
    ['a repeated domain', (c) => c.tenants.push({ domain: 'demo.local', name: 'Again' }), ['config/demo.json: tenants[1].domain: "demo.local" is also tenants[0].domain']],
    ['two default tenants', (c) => c.tenants.push({ domain: 'b.example', name: 'B', default: true }), ['config/demo.json: tenants[1].default: only one tenant may be the default; tenants[0] already is']],
    ['a repeated extension number', (c) => (c.tenants[0].extensions.push({ number: '1002', name: 'Bob again', password: 'secret-bob2' })), ['config/demo.json: tenants[0].extensions[2].number: "1002" is already used by tenants[0].extensions[1]']],
    ['a group with an extension\'s number', (c) => (c.tenants[0].groups[0].number = '1002'), ['config/demo.json: tenants[0].groups[0].number: "1002" is already used by tenants[0].extensions[1]']],
    ['a member that does not exist', (c) => c.tenants[0].groups[0].members.push({ extension: '1009' }), ['config/demo.json: tenants[0].groups[0].members[2].extension: no extension "1009" in demo.local']],
    ['a member listed twice', (c) => c.tenants[0].groups[0].members.push({ extension: '1001' }), ['config/demo.json: tenants[0].groups[0].members[2]: repeats tenants[0].groups[0].members[0]']],
    ['failover to a missing group', (c) => (c.tenants[0].groups[0].failover = { type: 'group', number: '601' }), ['config/demo.json: tenants[0].groups[0].failover.number: no group "601" in demo.local']],
    [
      'failover to a group written as an extension',
      (c) => c.tenants[0].groups.push({ number: '601', name: 'B', members: [{ extension: '1001' }], failover: { type: 'extension', number: '600' } }),
      ['config/demo.json: tenants[0].groups[1].failover.number: "600" is a group: write {"type": "group", "number": "600"}'],
    ],
    [
      'failover to a mailbox that is switched off',
      (c) => (c.tenants[0].groups[0].failover = { type: 'voicemail', mailbox: '1002' }),
      ['config/demo.json: tenants[0].groups[0].failover.mailbox: extension "1002" has no mailbox (its voicemail is false or missing)'],
    ],
    ['an external destination no route reaches', (c) => (c.tenants[0].groups[0].failover = { type: 'external', number: '+15551230000' }), ['config/demo.json: tenants[0].groups[0].failover.number: "+15551230000" matches no outbound route of demo.local']],
    [
      'a route through an unknown trunk, and a pattern without "_"',
      (c) => (c.tenants[0].outboundRoutes = [{ name: 'r', patterns: ['_9.', 'NXX'], trunks: ['nope'] }]),
      [
        'config/demo.json: tenants[0].outboundRoutes[0].patterns[1]: "NXX" at position 0: unexpected character "N" in a literal number (patterns start with "_", e.g. "_NXX") (hint: patterns start with "_": X is 0-9, Z 1-9, N 2-9, [1-5,7] a class, "." or "!" at the end)',
        'config/demo.json: tenants[0].outboundRoutes[0].trunks[0]: no trunk named "nope" in demo.local (hint: trunks here: none)',
      ],
    ],
    [
      'a strip that removes the whole number',
      (c) => {
        c.tenants[0].trunks = [{ name: 'carrier', host: '192.0.2.1' }];
        c.tenants[0].outboundRoutes = [{ name: 'r', patterns: ['911'], strip: 3, trunks: ['carrier'] }];
      },
      ['config/demo.json: tenants[0].outboundRoutes[0].strip: removes every digit of numbers matching "911" (they can be 3 long)'],
    ],
    [
      'a repeated trunk name, a registration without credentials, a bad CIDR',
      (c) => (c.tenants[0].trunks = [
        { name: 't', host: 'sip.example', register: true, acceptFrom: ['192.0.2.0/40'] },
        { name: 't', host: '192.0.2.9', username: 'u', password: 'p' },
      ]),
      [
        'config/demo.json: tenants[0].trunks[1].name: "t" is also tenants[0].trunks[0].name',
        'config/demo.json: tenants[0].trunks[0].register: needs "username" and "password"',
        'config/demo.json: tenants[0].trunks[0].acceptFrom[0]: must be an IP address or a CIDR block (got "192.0.2.0/40")',
      ],
    ],
    [
      'a DID on two trunks',
      (c) => (c.tenants[0].trunks = [
        { name: 'a', host: '192.0.2.1', dids: [{ number: '+15551230000', destination: { type: 'extension', number: '1001' } }] },
        { name: 'b', host: '192.0.2.2', dids: [{ number: '+15551230000', destination: { type: 'hangup' } }] },
      ]),
      ['config/demo.json: tenants[0].trunks[1].dids[0].number: "+15551230000" is also tenants[0].trunks[0].dids[0].number'],
    ],
    ['odd and inverted RTP ports', (c) => (c.rtp = { portMin: 20001, portMax: 20000 }), [
      'config/demo.json: rtp.portMin: must be even (got 20001) (hint: RTP uses even ports, RTCP the odd port above)',
      'config/demo.json: rtp.portMax: must be greater than rtp.portMin (20001)',
    ]],
    ['an address the schema lets through', (c) => (c.rtp = { address: '1.2.3' }), ['config/demo.json: rtp.address: must be an IPv4 or IPv6 address (got "1.2.3")']],
    ['a repeated socket', (c) => (c.listen = [{ transport: 'udp' }, { transport: 'udp', address: '127.0.0.1', port: 5060 }]), ['config/demo.json: listen[1]: repeats listen[0] (udp 127.0.0.1:5060)']],
    ['an MD5 HA1 of the wrong length', (c) => (c.tenants[0].extensions[1] = { number: '1002', name: 'Bob', ha1: { MD5: 'abc' } }), ['config/demo.json: tenants[0].extensions[1].ha1.MD5: must be 32 hex digits for MD5 (got 3)']],
    [
      'an HA1 missing for an offered algorithm',
      (c) => {
        c.security = { digestAlgorithms: ['SHA-256', 'MD5'] };
        c.tenants[0].extensions[1] = { number: '1002', name: 'Bob', ha1: { MD5: '0123456789abcdef0123456789abcdef' } };
      },
      ['config/demo.json: tenants[0].extensions[1].ha1: has no SHA-256 entry, but SHA-256 is offered to this extension (hint: add it, or set "digestAlgorithm" to an algorithm you have the HA1 for)'],
    ],
    ['both password and HA1', (c) => (c.tenants[0].extensions[1].ha1 = { MD5: '0123456789abcdef0123456789abcdef' }), ['config/demo.json: tenants[0].extensions[1]: give "password" or "ha1", not both']],
    ['neither password nor HA1', (c) => delete c.tenants[0].extensions[1].password, ['config/demo.json: tenants[0].extensions[1].password: is required (or "ha1")']],
    [
      'feature codes that collide with each other and with the directed pickup prefix',
      (c) => (c.tenants[0].featureCodes = { voicemail: '*8', directedPickup: '*9' }),
      [
        'config/demo.json: tenants[0].featureCodes.groupPickup: "*8" is also featureCodes.voicemail',
        'config/demo.json: tenants[0].featureCodes.voicemailAny: "*98" starts with featureCodes.directedPickup ("*9"), so it would be read as a pickup',
      ],
    ],
    ['a feature code that is a group number', (c) => (c.tenants[0].featureCodes = { groupPickup: '600' }), ['config/demo.json: tenants[0].featureCodes.groupPickup: "600" is also the number of tenants[0].groups[0]']],
    [
      'a numeric directed pickup prefix that starts an extension number',
      (c) => (c.tenants[0].featureCodes = { directedPickup: '10' }),
      [
        'config/demo.json: tenants[0].featureCodes.directedPickup: "10" is the start of "1001" (tenants[0].extensions[0]), which would be read as a pickup',
        'config/demo.json: tenants[0].featureCodes.directedPickup: "10" is the start of "1002" (tenants[0].extensions[1]), which would be read as a pickup',
      ],
    ],
    ['in-call codes where one starts the other', (c) => (c.tenants[0].featureCodes = { blindTransfer: '#', attendedTransfer: '#1' }), ['config/demo.json: tenants[0].featureCodes.attendedTransfer: "#1" and featureCodes.blindTransfer ("#") start alike, so the shorter one always wins']],
    [
      'allowed tenants that do not exist, or are itself',
      (c) => (c.tenants[0].allowedTenants = ['nowhere.example', 'demo.local']),
      ['config/demo.json: tenants[0].allowedTenants[0]: no tenant has the domain "nowhere.example"', 'config/demo.json: tenants[0].allowedTenants[1]: is this tenant itself'],
    ],
    ['an operator extension that does not exist', (c) => (c.tenants[0].operator = { type: 'extension', number: '1009' }), ['config/demo.json: tenants[0].operator.number: no extension "1009" in demo.local']],
    ['an operator group written as an extension', (c) => (c.tenants[0].operator = { type: 'extension', number: '600' }), ['config/demo.json: tenants[0].operator.number: "600" is a group: write {"type": "group", "number": "600"}']],
    ['an external operator no route reaches', (c) => (c.tenants[0].operator = { type: 'external', number: '+15551230000' }), ['config/demo.json: tenants[0].operator.number: "+15551230000" matches no outbound route of demo.local']],
    [
      'an operator that is a mailbox or a hang-up',
      (c) => {
        c.tenants[0].operator = { type: 'voicemail', mailbox: '1001' };
        c.tenants.push({ domain: 'b.example', name: 'B', operator: { type: 'hangup' } });
      },
      [
        'config/demo.json: tenants[0].operator.type: must be "extension", "group" or "external" (got "voicemail") (hint: the operator is who a caller reaches by pressing 0 in a voicemail greeting; leave it out for none)',
        'config/demo.json: tenants[1].operator.type: must be "extension", "group" or "external" (got "hangup") (hint: the operator is who a caller reaches by pressing 0 in a voicemail greeting; leave it out for none)',
      ],
    ],
    ['a music class that does not exist', (c) => (c.tenants[0].musicOnHold = { default: 'jazz' }), ['config/demo.json: tenants[0].musicOnHold.default: no class "jazz" in musicOnHold.classes (hint: classes: default)']],
  ];

  it.each(schemaCases)('schema: %s', (_name, mutate, lines) => {
    expect(linesFor(mutate)).toEqual(lines);
  });
  it.each(semanticCases)('semantics: %s', (_name, mutate, lines) => {
    expect(linesFor(mutate)).toEqual(lines);
  });

  it('runs the semantic checks only on a document that passed the schema', () => {
    expect(
      linesFor((c) => {
        c.tenants[0].extensions[1].number = '1001'; // semantic
        c.tenants[0].extensions[1].password = 'short'; // schema
      }),
    ).toEqual(['config/demo.json: tenants[0].extensions[1].password: must be at least 8 characters (hint: phones on the Internet are attacked within minutes: use a long random password)']);
  });

  it('a "__proto__" key is an unknown property, not a prototype', () => {
    const c = minimalConfig();
    Object.defineProperty(c, '__proto__', { value: { polluted: true }, enumerable: true });
    expect(validateConfig(c, F).map(renderProblem)).toEqual(['config/demo.json: __proto__: unknown property (allowed: listen, dataDir, logLevel, rtp, limits, security, tenants)']);
  });

  it('reports values JSON cannot hold instead of throwing', () => {
    expect(validateConfig(undefined, F).map(renderProblem)).toEqual(['config/demo.json: must be an object (got undefined)']);
    const c = minimalConfig();
    c.limits = { maxCalls: 10n };
    expect(validateConfig(c, F).map(renderProblem)).toEqual(['config/demo.json: limits.maxCalls: must be an integer (got 10)']);
  });

  it('never throws on arbitrary values (JSON or not), whole or grafted into a valid document', () => {
    const paths: ((c: Record<string, any>, v: unknown) => void)[] = [
      (c, v) => (c.tenants[0] = v),
      (c, v) => (c.tenants[0].extensions[0] = v),
      (c, v) => (c.tenants[0].groups[0].failover = v),
      (c, v) => (c.tenants[0].groups[0].members[0] = v),
      (c, v) => (c.tenants[0].extensions[0].voicemail = v),
      (c, v) => (c.tenants[0].trunks = v),
      (c, v) => (c.tenants[0].outboundRoutes = [{ name: 'r', patterns: [v], trunks: ['t'] }]),
      (c, v) => (c.rtp = v),
      (c, v) => (c.listen = [v]),
    ];
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.anything()), fc.integer({ min: -1, max: paths.length - 1 }), (v, i) => {
        let doc: unknown = v;
        if (i >= 0) {
          const c = minimalConfig();
          (paths[i] as (c: Record<string, any>, v: unknown) => void)(c, v);
          doc = c;
        }
        const problems = validateConfig(doc, F);
        for (const p of problems) expect(typeof renderProblem(p)).toBe('string');
      }),
      { numRuns: 1500 },
    );
  });
});
