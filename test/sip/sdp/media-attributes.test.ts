import { describe, expect, it } from 'vitest';
import {
  STATIC_PAYLOAD_TYPES,
  connectionOf,
  cryptoAttributes,
  formatParameters,
  hasRtcpMux,
  maxptime,
  mediaDirection,
  parseSdp,
  ptime,
  rtcpAttribute,
  rtpMaps,
} from '../../../src/sip/sdp/index.js';
import type { SdpMedia } from '../../../src/sip/sdp/index.js';
import { asteriskOffer, baresipOffer, crlf, lf, polycomHold, rfc8866Example, srtpOffer } from './fixtures.js';

const head = ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0'];
const media = (...lines: string[]): SdpMedia => parseSdp(lf([...head, ...lines])).media[0] as SdpMedia;

describe('rtpMaps', () => {
  it('maps every format in m= order: rtpmap, else the RFC 3551 static type', () => {
    const m = parseSdp(crlf(baresipOffer)).media[0] as SdpMedia;
    expect([...rtpMaps(m).values()]).toEqual([
      { payloadType: 96, encoding: 'opus', clockRate: 48000, channels: 2 },
      { payloadType: 9, encoding: 'G722', clockRate: 8000 },
      { payloadType: 0, encoding: 'PCMU', clockRate: 8000 },
      { payloadType: 8, encoding: 'PCMA', clockRate: 8000 },
      { payloadType: 101, encoding: 'telephone-event', clockRate: 8000 },
    ]);
  });

  it('fills static payload types without rtpmap and drops unknown dynamic ones', () => {
    const m = media('m=audio 4000 RTP/AVP 0 8 3 4 9 18 13 97 x');
    expect([...rtpMaps(m).entries()].map(([pt, r]) => `${pt} ${r.encoding}/${r.clockRate}`)).toEqual([
      '0 PCMU/8000', '8 PCMA/8000', '3 GSM/8000', '4 G723/8000', '9 G722/8000', '18 G729/8000', '13 CN/8000',
    ]);
  });

  it('lets an rtpmap rename a static type, ignores rtpmaps of unlisted types and malformed ones', () => {
    const m = media('m=audio 4000 RTP/AVP 0 96 97', 'a=rtpmap:0 PCMA/8000', 'a=rtpmap:96 PCMU', 'a=rtpmap:97 PCMU/x', 'a=rtpmap:98 PCMU/8000');
    expect([...rtpMaps(m).values()]).toEqual([{ payloadType: 0, encoding: 'PCMA', clockRate: 8000 }]);
  });

  it('has the RFC 3551 table entries the codecs need', () => {
    expect(STATIC_PAYLOAD_TYPES.get(0)).toEqual({ payloadType: 0, encoding: 'PCMU', clockRate: 8000 });
    expect(STATIC_PAYLOAD_TYPES.get(10)).toEqual({ payloadType: 10, encoding: 'L16', clockRate: 44100, channels: 2 });
    expect(STATIC_PAYLOAD_TYPES.has(96)).toBe(false);
  });
});

describe('typed attributes', () => {
  it('formatParameters finds the a=fmtp of one payload type only', () => {
    const m = parseSdp(crlf(polycomHold)).media[0] as SdpMedia;
    expect(formatParameters(m, 18)).toBe('annexb=no');
    expect(formatParameters(m, 101)).toBe('0-15');
    expect(formatParameters(m, 1)).toBeUndefined(); // '101' and '18' start with '1'
    expect(formatParameters(m, 0)).toBeUndefined();
    expect(formatParameters(media('m=audio 1 RTP/AVP 96', 'a=fmtp:96'), 96)).toBe('');
  });

  it('ptime and maxptime read numbers, fractions too, and ignore garbage', () => {
    const m = parseSdp(crlf(asteriskOffer)).media[0] as SdpMedia;
    expect(ptime(m)).toBe(20);
    expect(maxptime(m)).toBe(150);
    expect(ptime(media('m=audio 1 RTP/AVP 0', 'a=ptime:2.5'))).toBe(2.5);
    expect(ptime(media('m=audio 1 RTP/AVP 0', 'a=ptime:twenty'))).toBeUndefined();
    expect(ptime(media('m=audio 1 RTP/AVP 0', 'a=ptime:0'))).toBeUndefined();
    expect(ptime(media('m=audio 1 RTP/AVP 0'))).toBeUndefined();
  });

  it('mediaDirection: media level, else session level, else sendrecv', () => {
    const polycom = parseSdp(crlf(polycomHold));
    expect(mediaDirection(polycom, polycom.media[0] as SdpMedia)).toBe('sendonly');
    const mixed = parseSdp(lf([...head, 'a=inactive', 'm=audio 1 RTP/AVP 0', 'a=recvonly', 'm=audio 2 RTP/AVP 0']));
    expect(mediaDirection(mixed, mixed.media[0] as SdpMedia)).toBe('recvonly');
    expect(mediaDirection(mixed, mixed.media[1] as SdpMedia)).toBe('inactive');
    const plain = parseSdp(crlf(rfc8866Example));
    expect(mediaDirection(plain, plain.media[0] as SdpMedia)).toBe('sendrecv');
  });

  it('rtcpAttribute reads RFC 3605 with and without an address', () => {
    expect(rtcpAttribute(media('m=audio 1 RTP/AVP 0', 'a=rtcp:53020'))).toEqual({ port: 53020 });
    expect(rtcpAttribute(media('m=audio 1 RTP/AVP 0', 'a=rtcp:53020 IN IP4 126.16.64.4'))).toEqual({ port: 53020, address: '126.16.64.4' });
    expect(rtcpAttribute(media('m=audio 1 RTP/AVP 0', 'a=rtcp:x'))).toBeUndefined();
    expect(rtcpAttribute(media('m=audio 1 RTP/AVP 0', 'a=rtcp:70000'))).toBeUndefined();
    expect(rtcpAttribute(media('m=audio 1 RTP/AVP 0'))).toBeUndefined();
  });

  it('hasRtcpMux', () => {
    expect(hasRtcpMux(parseSdp(crlf(baresipOffer)).media[0] as SdpMedia)).toBe(true);
    expect(hasRtcpMux(parseSdp(crlf(asteriskOffer)).media[0] as SdpMedia)).toBe(false);
  });

  it('cryptoAttributes reads RFC 4568 lines with session parameters', () => {
    expect(cryptoAttributes(parseSdp(crlf(srtpOffer)).media[0] as SdpMedia)).toEqual([
      { tag: 1, suite: 'AES_CM_128_HMAC_SHA1_80', keyParams: 'inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32' },
      { tag: 2, suite: 'AES_CM_128_HMAC_SHA1_32', keyParams: 'inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32', sessionParams: 'KDR=1' },
    ]);
    expect(cryptoAttributes(media('m=audio 1 RTP/SAVP 0', 'a=crypto:x AES'))).toEqual([]);
  });

  it('connectionOf: the media c=, else the session c=', () => {
    const sd = parseSdp(crlf(rfc8866Example));
    expect(connectionOf(sd, sd.media[0] as SdpMedia)?.address).toBe('198.51.100.1');
    expect(connectionOf(sd, sd.media[2] as SdpMedia)?.address).toBe('2001:db8::2');
    const bare = parseSdp(lf(['v=0', 'o=- 1 1 IN IP4 h', 'm=audio 1 RTP/AVP 0']));
    expect(connectionOf(bare, bare.media[0] as SdpMedia)).toBeUndefined();
  });
});
