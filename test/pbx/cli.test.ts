/** The `switchboard` command line: parsing, listen specs, the softphone help text. */
import { describe, expect, it } from 'vitest';
import { UsageError, demoConfigPath, parseCommandLine, parseListen, softphoneHelp } from '../../src/pbx/cli.js';
import { parseConfig } from '../../src/pbx/config/index.js';
import { readFileSync } from 'node:fs';
import { bestFailureStatus } from '../../src/pbx/b2bua.js';

describe('parseCommandLine', () => {
  it('no arguments: start on the shipped demo configuration', () => {
    const c = parseCommandLine([], '/tmp');
    expect(c).toMatchObject({ command: 'start', demo: true, sipTrace: false, graceSeconds: 5, listen: undefined, dataDir: undefined });
    if (c.command === 'start') expect(c.config).toBe(demoConfigPath());
  });
  it('start with every option, paths resolved against the working directory', () => {
    const c = parseCommandLine(['start', '--config', 'pbx.json', '--data', 'var', '--listen', 'udp:0.0.0.0:5070', '--listen', 'tcp:[::1]:5071', '--log-level', 'debug', '--sip-trace', '--grace', '2'], '/srv');
    expect(c).toEqual({
      command: 'start',
      config: '/srv/pbx.json',
      demo: false,
      dataDir: '/srv/var',
      listen: [
        { transport: 'udp', address: '0.0.0.0', port: 5070 },
        { transport: 'tcp', address: '::1', port: 5071 },
      ],
      logLevel: 'debug',
      sipTrace: true,
      graceSeconds: 2,
    });
  });
  it('a listen spec without transport means UDP and TCP', () => {
    expect(parseListen('127.0.0.1:5060')).toEqual([
      { transport: 'udp', address: '127.0.0.1', port: 5060 },
      { transport: 'tcp', address: '127.0.0.1', port: 5060 },
    ]);
  });
  it.each([
    [['--listen', 'nonsense'], /expected \[udp:\|tcp:\]ADDRESS:PORT/],
    [['--listen', '1.2.3.4:99999'], /out of range/],
    [['--log-level', 'loud'], /must be one of/],
    [['--config'], /needs a value/],
    [['--frobnicate'], /unknown option '--frobnicate'/],
    [['launch'], /unknown command 'launch'/],
    [['check-config'], /needs a FILE/],
  ])('%j is a usage error', (args, message) => {
    expect(() => parseCommandLine(args)).toThrow(UsageError);
    expect(() => parseCommandLine(args)).toThrow(message);
  });
  it('help, version, check-config', () => {
    expect(parseCommandLine(['help'])).toEqual({ command: 'help' });
    expect(parseCommandLine(['--version'])).toEqual({ command: 'version' });
    expect(parseCommandLine(['check-config', 'x.json'])).toEqual({ command: 'check-config', file: 'x.json' });
  });
});

describe('softphoneHelp', () => {
  const config = parseConfig(readFileSync(demoConfigPath(), 'utf8'), demoConfigPath());
  it('names the server, the domain and the demo accounts with their passwords', () => {
    const text = softphoneHelp(config, config.listen, true);
    expect(text).toContain('server (proxy/registrar): 127.0.0.1:5060 over UDP/TCP');
    expect(text).toContain('domain: demo.local (or the server address)');
    expect(text).toContain('user 1001 (Alice Archer), password demo-1001-pass');
  });
  it('never prints passwords of a configuration that is not the demo', () => {
    expect(softphoneHelp(config, config.listen, false)).not.toContain('password');
  });
});

describe('bestFailureStatus (the status a forked call returns when every leg failed)', () => {
  it.each([
    [[], 480],
    [[486, 480], 486],
    [[404, 603], 603],
    [[408, 487], 480],
    [[503, 408], 503],
    [[480, 404], 404],
  ])('%j → %i', (statuses, expected) => expect(bestFailureStatus(statuses)).toBe(expected));
});
