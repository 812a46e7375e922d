import { describe, expect, it } from 'vitest';
import { SipRequest, parseMessage, serializeMessage } from '../../../src/sip/index.js';
import { checkRequest, type RequestPolicy } from '../../../src/sip/ua/index.js';

function request(method: string, extra: [string, string][] = [], uri = 'sip:bob@example.com'): SipRequest {
  const req = new SipRequest(method, uri, [
    ['Via', 'SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKp1'],
    ['Max-Forwards', '70'],
    ['From', '<sip:alice@example.com>;tag=f'],
    ['To', '<sip:bob@example.com>'],
    ['Call-ID', 'c1'],
    ['CSeq', `1 ${method}`],
  ]);
  for (const [name, value] of extra) {
    if (name === 'Max-Forwards') req.set(name, value);
    else req.append(name, value);
  }
  return parseMessage(serializeMessage(req)) as SipRequest;
}

const policy: RequestPolicy = { allowedMethods: ['OPTIONS', 'MESSAGE', 'REGISTER'], supportedExtensions: ['path', 'Timer'] };

describe('checkRequest', () => {
  it('lets an acceptable request through', () => {
    expect(checkRequest(request('MESSAGE', [['Require', 'timer, PATH']]), policy)).toBeUndefined();
  });

  it('501 for an unknown method', () => {
    const res = checkRequest(request('FOO'), policy)!;
    expect(res.status).toBe(501);
    expect(res.cseq.method).toBe('FOO');
  });

  it('405 with Allow for a known method not allowed', () => {
    const res = checkRequest(request('INVITE'), policy)!;
    expect(res.status).toBe(405);
    expect(res.allow).toEqual(['OPTIONS', 'MESSAGE', 'REGISTER']);
  });

  it('knownMethods replaces the default list; methods are case-sensitive', () => {
    expect(checkRequest(request('INVITE'), { ...policy, knownMethods: ['OPTIONS'] })!.status).toBe(501);
    expect(checkRequest(request('options'), policy)!.status).toBe(501);
  });

  it('416 for a Request-URI scheme other than sip/sips (RFC 4475 unkscm)', () => {
    expect(checkRequest(request('OPTIONS', [], 'nobarrier:abcdefg'), policy)!.status).toBe(416);
    expect(checkRequest(request('MESSAGE', [], 'tel:+15551234'), policy)!.status).toBe(416);
    expect(checkRequest(request('MESSAGE', [], 'tel:+15551234'), { ...policy, uriSchemes: ['sip', 'tel'] })).toBeUndefined();
    expect(checkRequest(request('MESSAGE', [], 'sips:bob@example.com'), policy)).toBeUndefined();
  });

  it('483 for Max-Forwards 0, except OPTIONS which is answered (§11, §16.3)', () => {
    expect(checkRequest(request('MESSAGE', [['Max-Forwards', '0']]), policy)!.status).toBe(483);
    const options = request('OPTIONS');
    options.set('Max-Forwards', '0');
    expect(checkRequest(options, policy)).toBeUndefined();
  });

  it('482 when a Via carries our own sent-by (a request of ours came back)', () => {
    const looped = request('MESSAGE');
    looped.append('Via', 'SIP/2.0/UDP proxy.example.com;branch=z9hG4bKx');
    looped.append('Via', 'SIP/2.0/UDP ME.example.com:5060;branch=z9hG4bKours');
    expect(checkRequest(looped, { ...policy, loopDetection: { sentBy: ['me.example.com'] } })!.status).toBe(482);
    expect(checkRequest(looped, { ...policy, loopDetection: { sentBy: ['me.example.com:5062'] } })).toBeUndefined();
    expect(checkRequest(looped, { ...policy, loopDetection: { sentBy: ['me.example.com'], ownBranch: (b) => b === 'z9hG4bKours' } })!.status).toBe(482);
    expect(checkRequest(looped, { ...policy, loopDetection: { sentBy: ['me.example.com'], ownBranch: () => false } })).toBeUndefined();
    expect(checkRequest(looped, policy)).toBeUndefined();
  });

  it('420 with Unsupported listing every unknown Require tag (§8.2.2.3)', () => {
    const res = checkRequest(request('REGISTER', [['Require', 'path, 100rel'], ['Require', 'gruu']]), policy)!;
    expect(res.status).toBe(420);
    expect(res.unsupported).toEqual(['100rel', 'gruu']);
  });

  it('checks the method before the headers (§8.2.1 before §8.2.2)', () => {
    expect(checkRequest(request('INVITE', [['Require', 'foo'], ['Max-Forwards', '0']], 'tel:1'), policy)!.status).toBe(405);
    expect(checkRequest(request('MESSAGE', [['Require', 'foo'], ['Max-Forwards', '0']], 'tel:1'), policy)!.status).toBe(416);
  });

  it('400 with the parse error when a header it reads is malformed', () => {
    const raw = 'MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa\r\nMax-Forwards: lots\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: x\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n';
    const req = parseMessage(Buffer.from(raw), { validate: false }) as SipRequest;
    const res = checkRequest(req, policy)!;
    expect(res.status).toBe(400);
    expect(res.reason).toMatch(/Max-Forwards/);
  });
});
