/** The PBX logger: line format, levels, children, escaping, and the SIP trace channel. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Logger, type LogLevel } from '../../src/pbx/logger.js';

const T = new Date('2026-11-22T06:00:00.123Z');

function capture(options: { level?: LogLevel; sipTrace?: boolean } = {}): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = new Logger({ ...options, sink: (l) => lines.push(l), clock: () => T });
  return { log, lines };
}

describe('Logger', () => {
  it('prints one line per event: time, padded level, [tenant] [call-id], message, logfmt fields', () => {
    const { log, lines } = capture();
    log.info('call from 201 to 202', { tenant: 'demo.local', callId: 'a84b4c76e66710', trunk: 'carrier', status: 486, early: false, reason: 'Busy Here', skipped: undefined });
    log.warn('no tenant');
    log.error('boom', { path: 'C:\\data "x"', empty: '' });
    expect(lines).toEqual([
      '2026-11-22T06:00:00.123Z INFO  [demo.local] [a84b4c76e66710] call from 201 to 202 trunk=carrier status=486 early=false reason="Busy Here"\n',
      '2026-11-22T06:00:00.123Z WARN  no tenant\n',
      '2026-11-22T06:00:00.123Z ERROR boom path="C:\\\\data \\"x\\"" empty=""\n',
    ]);
  });

  it('filters by level; the level can change at run time and enabled() tells', () => {
    const { log, lines } = capture({ level: 'warn' });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(lines.map((l) => l.slice(25, 30))).toEqual(['WARN ', 'ERROR']);
    expect(log.enabled('info')).toBe(false);
    log.level = 'debug';
    expect(log.enabled('debug')).toBe(true);
    log.debug('now');
    expect(lines[2]).toBe('2026-11-22T06:00:00.123Z DEBUG now\n');
  });

  it('child() adds fields to every line; its fields and per-call fields win; level is shared with the parent', () => {
    const { log, lines } = capture();
    const tenant = log.child({ tenant: 'demo.local' });
    const call = tenant.child({ callId: 'c1', leg: 'a' });
    call.info('ringing', { leg: 'b', target: '202' });
    tenant.info('reload');
    log.level = 'error';
    call.info('hidden');
    expect(call.level).toBe('error');
    call.error('shown');
    expect(lines).toEqual([
      '2026-11-22T06:00:00.123Z INFO  [demo.local] [c1] ringing leg=b target=202\n',
      '2026-11-22T06:00:00.123Z INFO  [demo.local] reload\n',
      '2026-11-22T06:00:00.123Z ERROR [demo.local] [c1] shown leg=a\n',
    ]);
  });

  it('keeps an event on one line whatever a peer puts in a Call-ID, a message or a field', () => {
    const { log, lines } = capture();
    const forged = 'x\n2026-11-22T06:00:00.124Z ERROR [other.tenant] forged';
    log.child({ callId: forged, tenant: 'a]\r\nb' }).warn(`refused INVITE: ${forged}\u001b[31m`, { ua: forged, u: 'a\u2028b' });
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(line).not.toContain('\r');
    expect(line).not.toContain('\u001b');
    expect(line).not.toContain('\u2028');
    expect(line).toBe(
      '2026-11-22T06:00:00.123Z WARN  [a]\\r\\nb] [x\\n2026-11-22T06:00:00.124Z ERROR [other.tenant] forged] refused INVITE: x\\n2026-11-22T06:00:00.124Z ERROR [other.tenant] forged\\x1b[31m' +
        ' ua="x\\n2026-11-22T06:00:00.124Z ERROR [other.tenant] forged" u="a\\u2028b"' +
        '\n',
    );
  });

  it('any string in any place stays on one line (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (callId, message, key, value) => {
        const { log, lines } = capture();
        log.child({ callId }).info(message, { [key]: value });
        expect(lines).toHaveLength(1);
        const line = lines[0]!;
        expect(/[\n\r\u2028\u2029\u0000-\u001f\u007f-\u009f]/.test(line.slice(0, -1))).toBe(false);
        expect(line.endsWith('\n')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('quotes and escapes logfmt values so that they read back', () => {
    const unquote = (v: string): string => (v.startsWith('"') ? (JSON.parse(v.replace(/\\x([0-9a-f]{2})/g, '\\u00$1')) as string) : v);
    fc.assert(
      fc.property(fc.string(), (value) => {
        const { log, lines } = capture();
        log.info('m', { k: value });
        const raw = lines[0]!.slice('2026-11-22T06:00:00.123Z INFO  m k='.length, -1);
        expect(unquote(raw)).toBe(value);
      }),
      { numRuns: 300 },
    );
  });

  it('a sink that throws does not throw out of the logger', () => {
    const log = new Logger({
      sink: () => {
        throw new Error('EPIPE');
      },
      sipTrace: true,
    });
    expect(() => log.error('x')).not.toThrow();
    expect(() => log.sip('in', 'udp', { address: '127.0.0.1', port: 1 }, new Uint8Array([0x41]))).not.toThrow();
  });

  it('silent() prints nothing, SIP trace included', () => {
    const log = Logger.silent();
    expect(log.sipTrace).toBe(false);
    expect(() => log.error('nothing')).not.toThrow();
  });
});

describe('Logger.sip (the --sip-trace channel)', () => {
  const invite = 'INVITE sip:202@127.0.0.1:5062 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nContent-Length: 4\r\n\r\nv=0\n';

  it('prints a header line, the message and a blank line, as one write', () => {
    const { log, lines } = capture({ sipTrace: true });
    log.sip('out', 'udp', { address: '127.0.0.1', port: 5062 }, Buffer.from(invite, 'latin1'));
    const ok = 'SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n';
    log.sip('in', 'tcp', { address: '::1', port: 5060 }, Buffer.from(ok, 'latin1'));
    log.sip('in', 'ws', { address: '192.0.2.1', port: 4000 }, Buffer.from('OPTIONS x SIP/2.0', 'latin1'));
    expect(lines).toEqual([
      `2026-11-22T06:00:00.123Z >>> sent to udp 127.0.0.1:5062 (${invite.length} bytes)\n${invite}\n`,
      `2026-11-22T06:00:00.123Z <<< received from tcp [::1]:5060 (${ok.length} bytes)\n${ok}\n`,
      '2026-11-22T06:00:00.123Z <<< received from ws 192.0.2.1:4000 (17 bytes)\nOPTIONS x SIP/2.0\n\n',
    ]);
  });

  it('prints nothing unless sipTrace is on, whatever the level; it can be turned on later', () => {
    const { log, lines } = capture({ level: 'debug' });
    log.sip('out', 'udp', { address: '127.0.0.1', port: 5062 }, Buffer.from(invite, 'latin1'));
    expect(lines).toEqual([]);
    log.child({ tenant: 't' }).sipTrace = true;
    log.level = 'error';
    log.sip('out', 'udp', { address: '127.0.0.1', port: 5062 }, Buffer.from(invite, 'latin1'));
    expect(lines).toHaveLength(1);
  });

  it('shows bytes as latin1, escaping control characters other than CR, LF and TAB', () => {
    const { log, lines } = capture({ sipTrace: true });
    const bytes = Uint8Array.from([...Buffer.from('MESSAGE x SIP/2.0\r\n\r\n', 'latin1'), 0x1b, 0x5b, 0x32, 0x4a, 0x09, 0x00, 0xe9, 0x85, 0x0d, 0x0a]);
    log.sip('in', 'udp', { address: '127.0.0.1', port: 1 }, bytes);
    expect(lines[0]).toBe('2026-11-22T06:00:00.123Z <<< received from udp 127.0.0.1:1 (31 bytes)\nMESSAGE x SIP/2.0\r\n\r\n\\x1b[2J\t\\x00\u00e9\\x85\r\n\n');
  });

  it('reads a view into a larger buffer correctly', () => {
    const { log, lines } = capture({ sipTrace: true });
    const big = Buffer.from('xxxxSIP/2.0 100 Trying\r\n\r\nyyyy', 'latin1');
    log.sip('in', 'udp', { address: '127.0.0.1', port: 1 }, big.subarray(4, big.length - 4));
    expect(lines[0]).toBe('2026-11-22T06:00:00.123Z <<< received from udp 127.0.0.1:1 (22 bytes)\nSIP/2.0 100 Trying\r\n\r\n\n');
  });
});
