/**
 * Real-world SDP bodies: the RFC 4317 offer/answer examples, the RFC 8866 §5 example, and
 * bodies in the shape baresip, Asterisk, Cisco gateways and Polycom phones send. Written one
 * line per array element; `crlf`/`lf` join them the way the wire does.
 */
export const crlf = (lines: string[]): string => lines.join('\r\n') + '\r\n';
export const lf = (lines: string[]): string => lines.join('\n') + '\n';

/** RFC 4317 §2.1: Alice offers audio (PCMU, PCMA, iLBC) and video (H261, MPV). */
export const rfc4317Offer = [
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com',
  's=',
  'c=IN IP4 host.atlanta.example.com',
  't=0 0',
  'm=audio 49170 RTP/AVP 0 8 97',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:97 iLBC/8000',
  'm=video 51372 RTP/AVP 31 32',
  'a=rtpmap:31 H261/90000',
  'a=rtpmap:32 MPV/90000',
];

/** RFC 4317 §2.1: Bob's answer (PCMU, MPV). */
export const rfc4317Answer = [
  'v=0',
  'o=bob 2808844564 2808844564 IN IP4 host.biloxi.example.com',
  's=',
  'c=IN IP4 host.biloxi.example.com',
  't=0 0',
  'm=audio 49174 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  'm=video 49170 RTP/AVP 32',
  'a=rtpmap:32 MPV/90000',
];

/** RFC 4317 §2.2 shape: audio with telephone-event at a dynamic payload type, events 0-11. */
export const rfc4317TelephoneEvent = [
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com',
  's=',
  'c=IN IP4 host.atlanta.example.com',
  't=0 0',
  'm=audio 49170 RTP/AVP 0 97',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:97 telephone-event/8000',
  'a=fmtp:97 0-11',
];

/** RFC 8866 §5 example shape: all the session-level text lines, three media, IP6 media c=. */
export const rfc8866Example = [
  'v=0',
  'o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1',
  's=Call to John Smith',
  'i=SDP Offer #1',
  'u=http://www.jdoe.example.com/home.html',
  'e=Jane Doe <jane@jdoe.example.com>',
  'p=+1 617 555-6011',
  'c=IN IP4 198.51.100.1',
  't=0 0',
  'm=audio 49170 RTP/AVP 0',
  'm=audio 49180 RTP/AVP 0',
  'm=video 51372 RTP/AVP 99',
  'c=IN IP6 2001:db8::2',
  'a=rtpmap:99 h263-1998/90000',
];

/** baresip-style offer: opus first, G722, G.711, telephone-event, rtcp-mux, bandwidth, ssrc. */
export const baresipOffer = [
  'v=0',
  'o=- 1830925893 2135591637 IN IP4 192.168.1.10',
  's=-',
  'c=IN IP4 192.168.1.10',
  't=0 0',
  'm=audio 10180 RTP/AVP 96 9 0 8 101',
  'b=AS:64',
  'a=rtpmap:96 opus/48000/2',
  'a=fmtp:96 stereo=1;sprop-stereo=1',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=rtcp-rsize',
  'a=rtcp-mux',
  'a=sendrecv',
  'a=label:1',
  'a=ssrc:1450273384 cname:6b5f9d3c-7ac8-4c4a-9a5c-8e3d3b1f0a11',
];

/** Asterisk-style offer: G.711 and GSM without dynamic types, ptime/maxptime, events 0-16. */
export const asteriskOffer = [
  'v=0',
  'o=- 1649155536 1649155536 IN IP4 203.0.113.5',
  's=Asterisk',
  'c=IN IP4 203.0.113.5',
  't=0 0',
  'm=audio 17448 RTP/AVP 8 0 3 101',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:3 GSM/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=maxptime:150',
  'a=sendrecv',
];

/** Cisco gateway re-INVITE putting the call on hold the RFC 2543 way: c=0.0.0.0, no direction. */
export const ciscoOldHold = [
  'v=0',
  'o=CiscoSystemsSIP-GW-UserAgent 4521 7285 IN IP4 10.1.1.1',
  's=SIP Call',
  'c=IN IP4 0.0.0.0',
  't=0 0',
  'm=audio 18362 RTP/AVP 0 101',
  'c=IN IP4 0.0.0.0',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
];

/** Polycom-style hold: session-level a=sendonly, G722 preferred, G729 with annexb=no. */
export const polycomHold = [
  'v=0',
  'o=- 1234567890 1234567891 IN IP4 192.168.1.50',
  's=Polycom IP Phone',
  'c=IN IP4 192.168.1.50',
  't=0 0',
  'a=sendonly',
  'm=audio 2222 RTP/AVP 9 0 8 18 101',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:18 G729/8000',
  'a=fmtp:18 annexb=no',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
];

/** An SRTP (SDES) offer: RTP/SAVP with a=crypto, which we cannot accept without SRTP. */
export const srtpOffer = [
  'v=0',
  'o=- 20518 0 IN IP4 198.51.100.7',
  's=-',
  'c=IN IP4 198.51.100.7',
  't=0 0',
  'm=audio 4000 RTP/SAVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32',
  'a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32 KDR=1',
];
