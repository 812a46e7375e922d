/** loadConfig / parseConfig: the shipped configurations, defaults, paths, JSON syntax errors. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig, renderProblem, shippedMusicOnHoldFile, validateConfig, type PbxConfig } from '../../../src/pbx/config/index.js';
import { minimalConfig } from './config-fixtures.js';

const root = resolve(__dirname, '../../..');

function problemsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems.map(renderProblem);
  }
  throw new Error('expected a ConfigError');
}

describe('the shipped configurations', () => {
  it('config/demo.json: demo.local with 1001-1005, group 600 and a mailbox each', async () => {
    const c = await loadConfig(join(root, 'config/demo.json'));
    expect(c.dataDir).toBe(join(root, 'data'));
    expect(c.listen).toEqual([
      { transport: 'udp', address: '127.0.0.1', port: 5060 },
      { transport: 'tcp', address: '127.0.0.1', port: 5060 },
    ]);
    expect(c.tenants).toHaveLength(1);
    const t = c.tenants[0] as PbxConfig['tenants'][number];
    expect(t.domain).toBe('demo.local');
    expect(t.default).toBe(true);
    expect(t.extensions.map((e) => e.number)).toEqual(['1001', '1002', '1003', '1004', '1005']);
    for (const e of t.extensions) {
      expect(e.password).toBe(`demo-${e.number}-pass`);
      expect(e.voicemail?.pin).toMatch(/^[0-9]{4}$/);
    }
    expect(t.extensions[0]?.voicemail?.pin).toBe('1234');
    expect(t.groups).toEqual([
      {
        number: '600',
        name: 'Sales',
        strategy: 'ringall',
        members: ['1001', '1002', '1003'].map((number) => ({ type: 'extension', number, ringSeconds: 30, weight: 1 })),
        ringSeconds: 30,
        skipBusy: true,
        confirmCalls: false,
        callerIdNamePrefix: 'Sales: ',
        failover: { type: 'voicemail', mailbox: '1001' },
      },
    ]);
    expect(t.trunks).toEqual([]);
  });

  it('config/example-trunk.json: trunks, DIDs and outbound routes', async () => {
    const c = await loadConfig(join(root, 'config/example-trunk.json'));
    const t = c.tenants[0] as PbxConfig['tenants'][number];
    expect(t.trunks.map((tr) => tr.name)).toEqual(['carrier', 'backup']);
    expect(t.trunks[0]).toMatchObject({ register: true, authUsername: 'acct1234', fromUser: 'acct1234', fromDomain: 'sip.carrier.example', acceptFrom: ['203.0.113.0/24'] });
    expect(t.trunks[1]).toMatchObject({ port: 5060, transport: 'tcp', username: null, register: false, acceptFrom: ['198.51.100.20'] });
    expect(t.trunks[0]?.dids[0]).toEqual({ number: '+15551230000', destination: { type: 'group', number: '700' } });
    expect(t.outboundRoutes.map((r) => r.name)).toEqual(['emergency', 'local', 'national', 'dial-9', 'e164']);
    expect(t.groups[0]?.members[2]).toEqual({ type: 'external', number: '+15557654321', ringSeconds: 20, weight: 1 });
    expect(c.security.digestAlgorithms).toEqual(['SHA-256', 'MD5']);
    expect(c.rtp.advertisedAddress).toBe('203.0.113.5');
  });
});

describe('defaults', () => {
  const c = parseConfig(JSON.stringify(minimalConfig()), '/etc/switchboard/pbx.json');
  const t = c.tenants[0] as PbxConfig['tenants'][number];

  it('fills the top-level sections', () => {
    expect(c.file).toBe(resolve('/etc/switchboard/pbx.json'));
    expect(c.dataDir).toBe(resolve('/etc/switchboard/data'));
    expect(c.logLevel).toBe('info');
    expect(c.listen).toEqual([
      { transport: 'udp', address: '127.0.0.1', port: 5060 },
      { transport: 'tcp', address: '127.0.0.1', port: 5060 },
    ]);
    expect(c.rtp).toEqual({ address: '127.0.0.1', advertisedAddress: null, portMin: 20000, portMax: 29999, timeoutSeconds: 30 });
    expect(c.limits).toEqual({ maxCalls: 2000, maxCallSeconds: 14400, ringSeconds: 30 });
    expect(c.security).toEqual({ authFailureLimit: 10, authFailureWindowSeconds: 60, blockSeconds: 300, digestAlgorithms: ['MD5'], nonceSeconds: 300 });
  });

  it('fills tenants, extensions and groups', () => {
    expect(t.featureCodes).toEqual({ voicemail: '*97', voicemailAny: '*98', groupPickup: '*8', directedPickup: '**', blindTransfer: '##', attendedTransfer: '*2' });
    expect(t.musicOnHold).toEqual({ default: 'default', classes: { default: shippedMusicOnHoldFile() } });
    expect(shippedMusicOnHoldFile()).toBe(join(root, 'moh/default.wav'));
    expect(t.allowedTenants).toEqual([]);
    expect(t.operator).toBe(null);
    expect(t.transferRecallSeconds).toBe(30);
    expect(t.trunks).toEqual([]);
    expect(t.outboundRoutes).toEqual([]);
    expect(t.extensions[0]).toEqual({
      number: '1001',
      name: 'Alice',
      password: 'secret-1001',
      ha1: null,
      digestAlgorithms: ['MD5'],
      maxDevices: 3,
      callerId: { name: 'Alice', number: '1001' },
      voicemail: { pin: '1234', maxMessages: 100, maxMessageSeconds: 180 },
      pickupGroup: null,
      callWaiting: true,
      noAnswerSeconds: 20,
    });
    expect(t.extensions[1]?.voicemail).toBe(null);
    expect(t.groups[0]).toMatchObject({ strategy: 'ringall', ringSeconds: 30, skipBusy: true, confirmCalls: false, callerIdNamePrefix: '', failover: { type: 'hangup' } });
  });

  it('a TLS socket defaults to port 5061 and its files are resolved', () => {
    const doc = { ...minimalConfig(), listen: [{ transport: 'tls', certFile: 'tls/cert.pem', keyFile: '/keys/key.pem' }] };
    const tls = parseConfig(JSON.stringify(doc), '/etc/switchboard/pbx.json');
    expect(tls.listen).toEqual([{ transport: 'tls', address: '127.0.0.1', port: 5061, certFile: resolve('/etc/switchboard/tls/cert.pem'), keyFile: resolve('/keys/key.pem') }]);
  });

  it('music classes are resolved against the file, and a given "default" class replaces the shipped one', () => {
    const doc = minimalConfig();
    doc.tenants[0].musicOnHold = { default: 'jazz', classes: { jazz: '../moh/jazz.wav', default: 'moh/quiet.wav' } };
    const m = parseConfig(JSON.stringify(doc), '/etc/switchboard/pbx.json').tenants[0]?.musicOnHold;
    expect(m).toEqual({ default: 'jazz', classes: { default: resolve('/etc/switchboard/moh/quiet.wav'), jazz: resolve('/etc/moh/jazz.wav') } });
  });

  it('a member rings for its own time or the group\'s; digestAlgorithm narrows what is offered; HA1 is lower-cased', () => {
    const doc = minimalConfig();
    doc.tenants[0].groups[0] = { number: '600', name: 'S', strategy: 'linear', ringSeconds: 40, members: [{ extension: '1001', ringSeconds: 10, weight: 3 }, { extension: '1002' }] };
    doc.security = { digestAlgorithms: ['SHA-256', 'MD5'] };
    doc.tenants[0].extensions[1] = { number: '1002', name: 'Bob', ha1: { MD5: '0123456789ABCDEF0123456789ABCDEF' }, digestAlgorithm: 'MD5' };
    const t2 = parseConfig(JSON.stringify(doc), 'x.json').tenants[0];
    expect(t2?.groups[0]?.members).toEqual([
      { type: 'extension', number: '1001', ringSeconds: 10, weight: 3 },
      { type: 'extension', number: '1002', ringSeconds: 40, weight: 1 },
    ]);
    expect(t2?.extensions[0]?.digestAlgorithms).toEqual(['SHA-256', 'MD5']);
    expect(t2?.extensions[1]).toMatchObject({ password: null, ha1: { MD5: '0123456789abcdef0123456789abcdef' }, digestAlgorithms: ['MD5'] });
  });

  it('an operator is a destination like the others; the transfer recall time is kept', () => {
    const doc = minimalConfig();
    doc.tenants[0].operator = { type: 'group', number: '600' };
    doc.tenants[0].transferRecallSeconds = 12;
    const t2 = parseConfig(JSON.stringify(doc), 'x.json').tenants[0];
    expect(t2?.operator).toEqual({ type: 'group', number: '600' });
    expect(Object.isFrozen(t2?.operator)).toBe(true);
    expect(t2?.transferRecallSeconds).toBe(12);
  });

  it('is deeply frozen', () => {
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(t.extensions)).toBe(true);
    expect(Object.isFrozen(t.extensions[0]?.callerId)).toBe(true);
    expect(Object.isFrozen(t.musicOnHold.classes)).toBe(true);
  });
});

describe('JSON syntax errors', () => {
  it.each([
    ['a trailing comma', '{\n  "tenants": [\n    {"domain": "x",}\n  ]\n}', 'c.json:3:20: Unexpected token "}" in JSON (no comma after the last property)'],
    ['a misspelt literal', '{"a":tru}', 'c.json:1:9: Unexpected token "}" in JSON (expected true)'],
    ['an empty file', '', 'c.json:1:1: Unexpected end of JSON input (expected a value)'],
    ['a truncated file', '{\n  "tenants": [\n', 'c.json:3:1: Unexpected end of JSON input (expected a value)'],
    ['a repeated property', '{"a": 1,\n "a": 2}', 'c.json:2:2: Duplicate property ("a" is already set in this object)'],
    ['a line break inside a string', '{\n"a": "x\ny"}', 'c.json:2:8: Bad control character "\\n" in JSON (write \\n, \\t, ... inside strings)'],
    ['a comment', '// settings\n{}', 'c.json:1:1: Unexpected token "/" in JSON (JSON has no comments)'],
    ['a missing colon', '{\n\t"a" 1}', 'c.json:2:6: Unexpected token "1" in JSON (expected ":" after a property name)'],
    ['text after the document', '{} x', 'c.json:1:4: Unexpected token "x" in JSON (expected the end of the document)'],
    ['a bad number', '[01]', 'c.json:1:3: Unexpected token "1" in JSON (malformed number)'],
  ])('%s', (_name, text, line) => {
    expect(problemsOf(() => parseConfig(text, 'c.json'))).toEqual([line]);
  });

  it('a byte-order mark is allowed', () => {
    expect(parseConfig(`\ufeff${JSON.stringify(minimalConfig())}`, 'c.json').tenants).toHaveLength(1);
  });

  it('the error message lists every problem (semantic checks wait for a schema-valid document)', () => {
    const doc = minimalConfig();
    doc.tenants[0].extensions[0].password = 'x';
    doc.tenants[0].extensions[1].pasword = 'y';
    let error: ConfigError | undefined;
    try {
      parseConfig(JSON.stringify(doc), 'p.json');
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error?.message).toBe(
      [
        '2 configuration problems:',
        'p.json: tenants[0].extensions[0].password: must be at least 8 characters (hint: phones on the Internet are attacked within minutes: use a long random password)',
        'p.json: tenants[0].extensions[1].pasword: unknown property (did you mean "password"?)',
      ].join('\n'),
    );
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves paths against the file\'s directory', async () => {
    const file = join(dir, 'pbx.json');
    writeFileSync(file, JSON.stringify({ ...minimalConfig(), dataDir: 'state' }));
    expect((await loadConfig(file)).dataDir).toBe(join(dir, 'state'));
  });

  it('a missing file is a ConfigError', async () => {
    const file = join(dir, 'nope.json');
    await expect(loadConfig(file)).rejects.toThrow(ConfigError);
    await expect(loadConfig(file)).rejects.toThrow(`${file}: cannot read the file: no such file`);
  });
});

describe('validateConfig', () => {
  it('leaves the document it is given unfrozen and unshared', () => {
    const doc = minimalConfig();
    doc.security = { digestAlgorithms: ['MD5'] };
    doc.tenants[0].trunks = [{ name: 't', host: '192.0.2.1', acceptFrom: ['192.0.2.1'] }];
    expect(validateConfig(doc, 'x.json')).toEqual([]);
    expect(Object.isFrozen(doc.security.digestAlgorithms)).toBe(false);
    expect(Object.isFrozen(doc.tenants[0].trunks[0].acceptFrom)).toBe(false);
    expect(Object.isFrozen(doc.tenants[0])).toBe(false);
  });
});
