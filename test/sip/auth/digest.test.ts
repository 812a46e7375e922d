/**
 * Digest computation against the published vectors: RFC 7616 §3.9.1 (MD5 and SHA-256),
 * RFC 2617 §3.5 (MD5, qop=auth) and the SIP examples of draft-smith-sipping-auth-examples
 * (MD5 HA1, MD5-sess with qop=auth).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  algorithmStrength,
  computeHA1,
  computeHA1Set,
  computeResponse,
  formatNc,
  hashAvailable,
  hashHex,
  parseAlgorithm,
} from '../../../src/sip/auth/index.js';

describe('RFC 7616 §3.9.1: Mufasa / "Circle of Life" at http-auth@example.org', () => {
  const common = {
    method: 'GET',
    uri: '/dir/index.html',
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    nc: '00000001',
    qop: 'auth' as const,
  };
  it('MD5 response is 8ca523f5e9506fed4657c9700eebdbec', () => {
    const ha1 = computeHA1('MD5', 'Mufasa', 'http-auth@example.org', 'Circle of Life');
    expect(computeResponse({ ...common, algorithm: 'MD5', ha1 })).toBe('8ca523f5e9506fed4657c9700eebdbec');
  });
  it('SHA-256 response is 753927fa…56cb6c1', () => {
    const ha1 = computeHA1('SHA-256', 'Mufasa', 'http-auth@example.org', 'Circle of Life');
    expect(computeResponse({ ...common, algorithm: 'SHA-256', ha1 })).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });
  it('nc given as a number gives the same response as its 8 hex digits', () => {
    const ha1 = computeHA1('SHA-256', 'Mufasa', 'http-auth@example.org', 'Circle of Life');
    expect(computeResponse({ ...common, nc: 1, algorithm: 'SHA-256', ha1 })).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });
});

describe('RFC 2617 §3.5: Mufasa / "Circle Of Life" at testrealm@host.com', () => {
  it('MD5, qop=auth response is 6629fae49393a05397450978507c4ef1', () => {
    const ha1 = computeHA1('MD5', 'Mufasa', 'testrealm@host.com', 'Circle Of Life');
    expect(
      computeResponse({
        algorithm: 'MD5',
        ha1,
        method: 'GET',
        uri: '/dir/index.html',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        nc: 1,
        cnonce: '0a4f113b',
        qop: 'auth',
      }),
    ).toBe('6629fae49393a05397450978507c4ef1');
  });
});

describe('SIP examples (draft-smith-sipping-auth-examples): bob / zanzibar at biloxi.com', () => {
  const ha1 = computeHA1('MD5', 'bob', 'biloxi.com', 'zanzibar');
  it('HA1 is 12af60467a33e8518da5c68bbff12b11', () => {
    expect(ha1).toBe('12af60467a33e8518da5c68bbff12b11');
  });
  it('MD5-sess, qop=auth INVITE response is e4e4ea61d186d07a92c9e1f6919902e9', () => {
    expect(
      computeResponse({
        algorithm: 'MD5-sess',
        ha1,
        method: 'INVITE',
        uri: 'sip:bob@biloxi.com',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        nc: 1,
        cnonce: '0a4f113b',
        qop: 'auth',
      }),
    ).toBe('e4e4ea61d186d07a92c9e1f6919902e9');
  });
});

describe('the formulas for the cases without a published vector', () => {
  const md5 = (s: string | Buffer): string => createHash('md5').update(s).digest('hex');
  const ha1 = md5('bob:biloxi.com:zanzibar');
  const base = { ha1, method: 'INVITE', uri: 'sip:bob@biloxi.com', nonce: 'n0nce' };
  it('no qop (RFC 2069 form): KD(HA1, nonce:HA2)', () => {
    expect(computeResponse({ ...base, algorithm: 'MD5' })).toBe(md5(`${ha1}:n0nce:${md5('INVITE:sip:bob@biloxi.com')}`));
  });
  it('auth-int hashes the body into HA2, and an absent body as empty', () => {
    const body = Buffer.from('v=0\r\no=bob 1 1 IN IP4 192.0.2.4\r\n');
    const ha2 = md5(`INVITE:sip:bob@biloxi.com:${md5(body)}`);
    expect(computeResponse({ ...base, algorithm: 'MD5', qop: 'auth-int', nc: 7, cnonce: 'c', body })).toBe(md5(`${ha1}:n0nce:00000007:c:auth-int:${ha2}`));
    const empty = md5(`INVITE:sip:bob@biloxi.com:${md5('')}`);
    expect(computeResponse({ ...base, algorithm: 'MD5', qop: 'auth-int', nc: 1, cnonce: 'c' })).toBe(md5(`${ha1}:n0nce:00000001:c:auth-int:${empty}`));
  });
  it('SHA-512-256 is FIPS 180-4 SHA-512/256, not truncated SHA-512', () => {
    expect(hashAvailable('SHA-512-256')).toBe(true);
    // FIPS 180-4 example "abc" (NIST CSRC SHA512_256.pdf).
    expect(hashHex('SHA-512-256', 'abc')).toBe('53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23');
    expect(hashHex('SHA-512-256', 'abc')).not.toBe(createHash('sha512').update('abc').digest('hex').slice(0, 64));
  });
  it('UTF-8 user names are hashed as UTF-8', () => {
    expect(computeHA1('SHA-256', 'Jäsøn Doe', 'api@example.org', 'pw')).toBe(
      createHash('sha256').update(Buffer.from('Jäsøn Doe:api@example.org:pw', 'utf8')).digest('hex'),
    );
  });
  it('qop or -sess without a cnonce is refused', () => {
    expect(() => computeResponse({ ...base, algorithm: 'MD5', qop: 'auth', nc: 1 })).toThrow(TypeError);
    expect(() => computeResponse({ ...base, algorithm: 'SHA-256-sess' })).toThrow(TypeError);
  });
});

describe('algorithm tokens', () => {
  it('parse case-insensitively, absent means MD5, unknown is undefined', () => {
    expect(parseAlgorithm('sha-256')).toBe('SHA-256');
    expect(parseAlgorithm('SHA-512-256-SESS')).toBe('SHA-512-256-sess');
    expect(parseAlgorithm(undefined)).toBe('MD5');
    expect(parseAlgorithm('AKAv1-MD5')).toBeUndefined();
    expect(parseAlgorithm('SHA-1')).toBeUndefined();
  });
  it('rank SHA-512-256 > SHA-256 > MD5 (RFC 8760)', () => {
    expect(algorithmStrength('SHA-512-256')).toBeGreaterThan(algorithmStrength('SHA-256'));
    expect(algorithmStrength('SHA-256-sess')).toBeGreaterThan(algorithmStrength('MD5'));
  });
  it('nc is 8 hex digits', () => {
    expect(formatNc(1)).toBe('00000001');
    expect(formatNc(0xabc)).toBe('00000abc');
    expect(() => formatNc(2 ** 32)).toThrow(RangeError);
  });
  it('an HA1 set has one HA1 per hash', () => {
    const set = computeHA1Set('bob', 'biloxi.com', 'zanzibar');
    expect(set.MD5).toBe('12af60467a33e8518da5c68bbff12b11');
    expect(set['SHA-256']).toHaveLength(64);
    expect(set['SHA-512-256']).toHaveLength(64);
  });
});
