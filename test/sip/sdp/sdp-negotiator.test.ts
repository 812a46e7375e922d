import { describe, expect, it } from 'vitest';
import { SdpNegotiationError, SdpNegotiator, mediaDirection, parseSdp } from '../../../src/sip/sdp/index.js';
import type { SdpDirection, SdpMedia, SdpNegotiatorOptions } from '../../../src/sip/sdp/index.js';
import { asteriskOffer, baresipOffer, ciscoOldHold, crlf, lf, polycomHold, rfc4317Offer, srtpOffer } from './fixtures.js';

const us = (options: Partial<SdpNegotiatorOptions> = {}): SdpNegotiator =>
  new SdpNegotiator({ address: '192.0.2.10', port: 40000, random: () => 0.5, ...options });

const head = ['v=0', 'o=peer 9 9 IN IP4 198.51.100.1', 's=-', 'c=IN IP4 198.51.100.1', 't=0 0'];
const offerOf = (...media: string[]): string => lf([...head, ...media]);

function negotiationError(run: () => unknown): SdpNegotiationError {
  try {
    run();
  } catch (e) {
    if (e instanceof SdpNegotiationError) return e;
    throw e;
  }
  throw new Error('negotiated without error');
}

const directionOf = (sdp: string, index = 0): SdpDirection => {
  const sd = parseSdp(sdp);
  return mediaDirection(sd, sd.media[index] as SdpMedia);
};
const versionOf = (sdp: string): bigint => parseSdp(sdp).origin.sessionVersion;

describe('SdpNegotiator: our offers', () => {
  it('writes the initial offer: codecs in preference order, telephone-event 0-16, ptime, explicit direction', () => {
    expect(us().createOffer()).toBe(
      crlf([
        'v=0',
        'o=- 140737488355328 140737488355328 IN IP4 192.0.2.10',
        's=-',
        'c=IN IP4 192.0.2.10',
        't=0 0',
        'm=audio 40000 RTP/AVP 0 8 101',
        'a=rtpmap:0 PCMU/8000',
        'a=rtpmap:8 PCMA/8000',
        'a=rtpmap:101 telephone-event/8000',
        'a=fmtp:101 0-16',
        'a=ptime:20',
        'a=sendrecv',
      ]),
    );
  });

  it('follows the options: codec order and payload types, telephone-event PT or none, ptime, names, IPv6, a=rtcp', () => {
    const offer = us({
      address: '2001:db8::10',
      rtcpPort: 40005,
      codecs: [{ encoding: 'PCMA', clockRate: 8000 }, { encoding: 'PCMU', clockRate: 8000, payloadType: 98 }, { encoding: 'L16', clockRate: 8000 }],
      telephoneEvent: { payloadType: 96 },
      ptime: 30,
      sessionName: 'call',
      username: 'switchboard',
    }).createOffer();
    const sd = parseSdp(offer);
    expect(sd.origin.username).toBe('switchboard');
    expect(sd.origin.addrType).toBe('IP6');
    expect(sd.sessionName).toBe('call');
    expect(sd.connection).toEqual({ netType: 'IN', addrType: 'IP6', address: '2001:db8::10' });
    const m = sd.media[0] as SdpMedia;
    expect(m.formats).toEqual(['8', '98', '97', '96']); // L16/8000 has no static type: first free dynamic one
    expect(m.attributes).toContainEqual({ name: 'rtpmap', value: '97 L16/8000' });
    expect(m.attributes).toContainEqual({ name: 'fmtp', value: '96 0-16' });
    expect(m.attributes).toContainEqual({ name: 'ptime', value: '30' });
    expect(m.attributes).toContainEqual({ name: 'rtcp', value: '40005' });
    const plain = parseSdp(us({ rtcpPort: 40001, telephoneEvent: false }).createOffer()).media[0] as SdpMedia;
    expect(plain.formats).toEqual(['0', '8']);
    expect(plain.attributes.map((a) => a.name)).toEqual(['rtpmap', 'rtpmap', 'ptime', 'sendrecv']);
  });

  it('offers sendonly on hold, inactive when the peer holds us too, sendrecv again on resume', () => {
    const a = us();
    a.createOffer();
    a.receiveAnswer(us({ address: '192.0.2.20', port: 50000 }).receiveOffer(a.localDescription as string).answer);
    a.hold = true;
    expect(directionOf(a.createOffer())).toBe('sendonly');
    a.receiveAnswer(offerOf('m=audio 5000 RTP/AVP 0', 'a=recvonly'));
    a.receiveOffer(offerOf('m=audio 5000 RTP/AVP 0', 'a=sendonly')); // the peer holds us as well
    expect(a.media?.remoteHold).toBe(true);
    expect(directionOf(a.createOffer())).toBe('inactive');
    expect(a.receiveAnswer(offerOf('m=audio 5000 RTP/AVP 0', 'a=inactive')).remoteHold).toBe(true);
    a.hold = false;
    expect(directionOf(a.createOffer())).toBe('sendrecv');
  });
});

describe('SdpNegotiator: answering offers (RFC 3264 §6)', () => {
  it('answers the RFC 4317 offer: same m= lines in order, audio PCMU, video declined with port 0', () => {
    const { answer, media } = us().receiveOffer(crlf(rfc4317Offer));
    const sd = parseSdp(answer);
    expect(sd.media.map((m) => [m.type, m.port, m.protocol, m.formats])).toEqual([
      ['audio', 40000, 'RTP/AVP', ['0']],
      ['video', 0, 'RTP/AVP', ['31', '32']],
    ]);
    expect(sd.media[1]?.attributes).toEqual([]);
    expect(directionOf(answer)).toBe('sendrecv');
    expect(media).toEqual({
      codec: { payloadType: 0, encoding: 'PCMU', clockRate: 8000 },
      remote: { address: 'host.atlanta.example.com', port: 49170, rtcpPort: 49171 },
      localDirection: 'sendrecv',
      remoteDirection: 'sendrecv',
      remoteHold: false,
      rtcpMux: false,
      ptime: 20,
      mediaIndex: 0,
    });
  });

  it('takes our preference among the offered codecs, with the offer’s payload types', () => {
    expect(us().receiveOffer(crlf(asteriskOffer)).media.codec.encoding).toBe('PCMU');
    const pcmaFirst = us({ codecs: [{ encoding: 'PCMA', clockRate: 8000 }, { encoding: 'PCMU', clockRate: 8000 }] });
    const { answer, media } = pcmaFirst.receiveOffer(crlf(asteriskOffer));
    expect(media.codec).toEqual({ payloadType: 8, encoding: 'PCMA', clockRate: 8000 });
    expect(parseSdp(answer).media[0]?.formats).toEqual(['8', '101']);
    expect(media.telephoneEvent).toEqual({ payloadType: 101, clockRate: 8000 });
  });

  it('accepts PCMU at a dynamic payload type and telephone-event at any dynamic one, with its events', () => {
    const offer = offerOf('m=audio 5004 RTP/AVP 96 120', 'a=rtpmap:96 pcmu/8000', 'a=rtpmap:120 telephone-event/8000', 'a=fmtp:120 0-15,32-41', 'a=ptime:30');
    const { answer, media } = us().receiveOffer(offer);
    const m = parseSdp(answer).media[0] as SdpMedia;
    expect(m.formats).toEqual(['96', '120']);
    expect(m.attributes).toEqual([
      { name: 'rtpmap', value: '96 pcmu/8000' },
      { name: 'rtpmap', value: '120 telephone-event/8000' },
      { name: 'fmtp', value: '120 0-15,32-41' },
      { name: 'ptime', value: '20' },
      { name: 'sendrecv' },
    ]);
    expect(media.codec).toEqual({ payloadType: 96, encoding: 'pcmu', clockRate: 8000 });
    expect(media.telephoneEvent).toEqual({ payloadType: 120, clockRate: 8000 });
    expect(media.ptime).toBe(30);
  });

  it('leaves telephone-event out when not offered, or when we do not want it', () => {
    const { answer, media } = us().receiveOffer(offerOf('m=audio 5004 RTP/AVP 0'));
    expect(parseSdp(answer).media[0]?.formats).toEqual(['0']);
    expect(media.telephoneEvent).toBeUndefined();
    const none = us({ telephoneEvent: false }).receiveOffer(crlf(asteriskOffer));
    expect(parseSdp(none.answer).media[0]?.formats).toEqual(['0']);
    expect(none.media.telephoneEvent).toBeUndefined();
  });

  it('rejects with 488 when no codec is in common, and keeps its state', () => {
    const n = us();
    const e = negotiationError(() => n.receiveOffer(offerOf('m=audio 5004 RTP/AVP 18', 'a=rtpmap:18 G729/8000')));
    expect(e.status).toBe(488);
    expect(n.media).toBeUndefined();
    expect(n.localDescription).toBeUndefined();
  });

  it('rejects with 488 an offer of video only, SRTP only, or a port-0 audio stream', () => {
    expect(negotiationError(() => us().receiveOffer(offerOf('m=video 5006 RTP/AVP 31'))).status).toBe(488);
    expect(negotiationError(() => us().receiveOffer(crlf(srtpOffer))).status).toBe(488);
    expect(negotiationError(() => us().receiveOffer(offerOf('m=audio 0 RTP/AVP 0'))).status).toBe(488);
    expect(negotiationError(() => us().receiveOffer(offerOf('m=audio 5004 UDP/TLS/RTP/SAVPF 0'))).status).toBe(488);
  });

  it('rejects a body that is not SDP with 400', () => {
    const e = negotiationError(() => us().receiveOffer('hello'));
    expect(e.status).toBe(400);
    expect(e.cause).toBeInstanceOf(Error);
  });

  it('accepts the first acceptable audio stream only; others get port 0 with their formats', () => {
    const offer = offerOf(
      'm=audio 5000 RTP/SAVP 0',
      'm=audio 0 RTP/AVP 0',
      'm=audio 5002 RTP/AVP 18',
      'm=audio 5004 RTP/AVPF 8',
      'm=audio 5006 RTP/AVP 0',
      'm=application 5008 udp wb',
    );
    const { answer, media } = us().receiveOffer(offer);
    expect(parseSdp(answer).media.map((m) => `${m.port} ${m.protocol} ${m.formats.join(' ')}`)).toEqual([
      '0 RTP/SAVP 0',
      '0 RTP/AVP 0',
      '0 RTP/AVP 18',
      '40000 RTP/AVP 8',
      '0 RTP/AVP 0',
      '0 udp wb',
    ]);
    expect(media.mediaIndex).toBe(3);
    expect(media.remote.port).toBe(5004);
  });

  it('answers the baresip offer with PCMU, and rtcp-mux only when enabled', () => {
    const plain = us().receiveOffer(crlf(baresipOffer));
    expect(plain.media.codec.payloadType).toBe(0);
    expect(plain.media.rtcpMux).toBe(false);
    expect(plain.media.remote).toEqual({ address: '192.168.1.10', port: 10180, rtcpPort: 10181 });
    const muxed = us({ rtcpMux: true }).receiveOffer(crlf(baresipOffer));
    expect(parseSdp(muxed.answer).media[0]?.attributes).toContainEqual({ name: 'rtcp-mux' });
    expect(muxed.media.rtcpMux).toBe(true);
    expect(muxed.media.remote.rtcpPort).toBe(10180);
  });

  it('reads the remote RTCP port from a=rtcp (RFC 3605)', () => {
    const { media } = us().receiveOffer(offerOf('m=audio 5004 RTP/AVP 0', 'a=rtcp:5999'));
    expect(media.remote).toEqual({ address: '198.51.100.1', port: 5004, rtcpPort: 5999 });
  });
});

describe('SdpNegotiator: directions (RFC 3264 §6.1, §8.4)', () => {
  it.each<[SdpDirection, boolean, SdpDirection, boolean]>([
    ['sendrecv', false, 'sendrecv', false],
    ['sendrecv', true, 'sendonly', false],
    ['sendonly', false, 'recvonly', true],
    ['sendonly', true, 'inactive', true],
    ['recvonly', false, 'sendonly', false],
    ['recvonly', true, 'inactive', false],
    ['inactive', false, 'inactive', true],
    ['inactive', true, 'inactive', true],
  ])('offer %s, hold=%s → answer %s (remoteHold %s)', (offered, hold, answered, remoteHold) => {
    const n = us();
    n.hold = hold;
    const { answer, media } = n.receiveOffer(offerOf('m=audio 5004 RTP/AVP 0', `a=${offered}`));
    expect(directionOf(answer)).toBe(answered);
    expect(media.localDirection).toBe(answered);
    expect(media.remoteDirection).toBe(offered);
    expect(media.remoteHold).toBe(remoteHold);
  });

  it('takes the old-style hold c=0.0.0.0 (Cisco) as sendonly: remoteHold, answer recvonly or inactive', () => {
    const { answer, media } = us().receiveOffer(crlf(ciscoOldHold));
    expect(directionOf(answer)).toBe('recvonly');
    expect(media.remoteHold).toBe(true);
    expect(media.remoteDirection).toBe('sendrecv');
    expect(media.remote.address).toBe('0.0.0.0');
    const held = us();
    held.hold = true;
    expect(directionOf(held.receiveOffer(crlf(ciscoOldHold)).answer)).toBe('inactive');
  });

  it('reads a session-level direction (Polycom hold)', () => {
    const { answer, media } = us().receiveOffer(crlf(polycomHold));
    expect(directionOf(answer)).toBe('recvonly');
    expect(media.remoteHold).toBe(true);
    expect(media.codec).toEqual({ payloadType: 0, encoding: 'PCMU', clockRate: 8000 });
  });
});

describe('SdpNegotiator: answers to our offers', () => {
  it('completes the offer with the RFC 4317-style answer, sending with the answer’s payload type', () => {
    const n = us();
    n.createOffer();
    const media = n.receiveAnswer(
      offerOf('m=audio 49174 RTP/AVP 97 8 100', 'a=rtpmap:97 PCMU/8000', 'a=rtpmap:100 telephone-event/8000', 'a=ptime:40', 'a=rtcp:49999'),
    );
    expect(media).toEqual({
      codec: { payloadType: 97, encoding: 'PCMU', clockRate: 8000 },
      telephoneEvent: { payloadType: 100, clockRate: 8000 },
      remote: { address: '198.51.100.1', port: 49174, rtcpPort: 49999 },
      localDirection: 'sendrecv',
      remoteDirection: 'sendrecv',
      remoteHold: false,
      rtcpMux: false,
      ptime: 40,
      mediaIndex: 0,
    });
    expect(n.media).toBe(media);
  });

  it('rejects answers that do not fit: no offer pending (500), not SDP (400), m= count, port 0, codec not offered, no c= (488)', () => {
    expect(negotiationError(() => us().receiveAnswer(offerOf('m=audio 1 RTP/AVP 0'))).status).toBe(500);
    const cases: [string, number][] = [
      ['garbage', 400],
      [offerOf('m=audio 5004 RTP/AVP 0', 'm=video 0 RTP/AVP 31'), 488],
      [offerOf('m=audio 0 RTP/AVP 0'), 488],
      [offerOf('m=audio 5004 RTP/AVP 18'), 488],
      [lf(['v=0', 'o=- 1 1 IN IP4 h', 's=-', 't=0 0', 'm=audio 5004 RTP/AVP 0']), 488],
    ];
    for (const [answer, status] of cases) {
      const n = us();
      n.createOffer();
      expect(negotiationError(() => n.receiveAnswer(answer)).status).toBe(status);
      expect(n.media).toBeUndefined();
      // The pending offer is gone.
      expect(negotiationError(() => n.receiveAnswer(offerOf('m=audio 5004 RTP/AVP 0'))).status).toBe(500);
    }
  });

  it('offers rtcp-mux when enabled and uses it when the answer keeps it', () => {
    const n = us({ rtcpMux: true, rtcpPort: 40007 });
    const offer = parseSdp(n.createOffer()).media[0] as SdpMedia;
    expect(offer.attributes).toContainEqual({ name: 'rtcp-mux' });
    expect(offer.attributes.some((a) => a.name === 'rtcp')).toBe(false);
    expect(n.receiveAnswer(offerOf('m=audio 5004 RTP/AVP 0', 'a=rtcp-mux')).remote).toEqual({ address: '198.51.100.1', port: 5004, rtcpPort: 5004 });
    expect(n.media?.rtcpMux).toBe(true);
  });
});

describe('SdpNegotiator: versions and re-offers (RFC 3264 §8)', () => {
  it('keeps the session id and steps the version by one only when the SDP changes', () => {
    const n = us();
    const first = n.createOffer();
    expect(n.createOffer()).toBe(first); // the same SDP again: same version
    const v0 = versionOf(first);
    n.receiveAnswer(offerOf('m=audio 5004 RTP/AVP 0'));
    n.hold = true;
    const hold = n.createOffer();
    expect(versionOf(hold)).toBe(v0 + 1n);
    expect(parseSdp(hold).origin.sessionId).toBe(parseSdp(first).origin.sessionId);
    n.receiveAnswer(offerOf('m=audio 5004 RTP/AVP 0', 'a=recvonly'));
    n.hold = false;
    const resume = n.createOffer();
    expect(versionOf(resume)).toBe(v0 + 2n);
    n.receiveAnswer(offerOf('m=audio 5004 RTP/AVP 0'));
    n.setLocal('192.0.2.11', 41000);
    const moved = n.createOffer();
    expect(versionOf(moved)).toBe(v0 + 3n);
    expect(parseSdp(moved).connection?.address).toBe('192.0.2.11');
    expect(parseSdp(moved).media[0]?.port).toBe(41000);
    expect(n.sessionVersion).toBe(v0 + 3n);
  });

  it('answers a repeated offer with the same answer and version; a changed one with version + 1', () => {
    const n = us();
    const offer = crlf(asteriskOffer);
    const a1 = n.receiveOffer(offer).answer;
    expect(n.receiveOffer(offer).answer).toBe(a1);
    const a2 = n.receiveOffer(offer.replace('a=sendrecv', 'a=sendonly')).answer;
    expect(versionOf(a2)).toBe(versionOf(a1) + 1n);
  });

  it('re-offers the m= lines of the previous exchange: declined ones stay port 0, agreed payload types stay', () => {
    const n = us();
    n.receiveOffer(offerOf('m=video 5006 RTP/AVP 31', 'm=audio 5004 RTP/AVP 96 8', 'a=rtpmap:96 PCMU/8000'));
    const reOffer = parseSdp(n.createOffer());
    expect(reOffer.media.map((m) => `${m.type} ${m.port} ${m.formats.join(' ')}`)).toEqual(['video 0 31', 'audio 40000 96 8 101']);
    expect(reOffer.media[1]?.attributes).toContainEqual({ name: 'rtpmap', value: '96 PCMU/8000' });
    const media = n.receiveAnswer(offerOf('m=video 0 RTP/AVP 31', 'm=audio 5004 RTP/AVP 96', 'a=rtpmap:96 PCMU/8000'));
    expect(media.mediaIndex).toBe(1);
    expect(media.codec.payloadType).toBe(96);
  });

  it('a new offer from the peer replaces our pending one', () => {
    const n = us();
    n.createOffer();
    n.receiveOffer(crlf(asteriskOffer));
    expect(negotiationError(() => n.receiveAnswer(offerOf('m=audio 5004 RTP/AVP 0'))).status).toBe(500);
  });

  it('checks its options', () => {
    expect(() => us({ port: 0 })).toThrow(RangeError);
    expect(() => us({ address: 'a b' })).toThrow(RangeError);
    expect(() => us({ codecs: [] })).toThrow(RangeError);
    expect(() => us({ telephoneEvent: { payloadType: 128 } })).toThrow(RangeError);
    expect(() => us().setLocal('192.0.2.1', 70000)).toThrow(RangeError);
  });
});
