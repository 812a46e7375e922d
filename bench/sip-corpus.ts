/**
 * A mixed corpus of realistic SIP messages for the parser benchmark (and tests): a call's
 * worth of traffic through a proxy, a registration with digest auth, and a dialog NOTIFY.
 */
const sdp = [
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 192.0.2.10',
  's=-',
  'c=IN IP4 192.0.2.10',
  't=0 0',
  'm=audio 49170 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=sendrecv',
  '',
].join('\r\n');

function msg(lines: string[], body = ''): string {
  const withLength = [...lines, `Content-Length: ${Buffer.byteLength(body)}`];
  return withLength.join('\r\n') + '\r\n\r\n' + body;
}

const callVias = [
  'Via: SIP/2.0/UDP proxy2.example.net:5060;branch=z9hG4bK2d4790.1;received=192.0.2.3',
  'Via: SIP/2.0/UDP proxy1.example.com:5060;branch=z9hG4bK77ef4c2312983.1;rport=5060;received=192.0.2.2',
  'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds8;rport=5060;received=192.0.2.10',
];
const dialog = [
  'From: "Alice Liddell" <sip:alice@atlanta.example.com>;tag=9fxced76sl',
  'To: Bob <sip:bob@biloxi.example.com>',
  'Call-ID: 3848276298220188511@atlanta.example.com',
];
const rr = ['Record-Route: <sip:proxy2.example.net;lr>', 'Record-Route: <sip:proxy1.example.com;lr>'];

export const corpus: { name: string; text: string }[] = [
  {
    name: 'INVITE+SDP',
    text: msg(
      [
        'INVITE sip:bob@biloxi.example.com SIP/2.0',
        ...callVias,
        'Max-Forwards: 68',
        ...rr,
        ...dialog,
        'CSeq: 1 INVITE',
        'Contact: <sip:alice@192.0.2.10:5060;transport=udp>',
        'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, UPDATE, PRACK',
        'Supported: replaces, timer, 100rel',
        'User-Agent: Switchboard-bench/1.0',
        'Content-Type: application/sdp',
      ],
      sdp,
    ),
  },
  { name: '100 Trying', text: msg(['SIP/2.0 100 Trying', ...callVias, ...dialog, 'CSeq: 1 INVITE']) },
  {
    name: '180 Ringing',
    text: msg(['SIP/2.0 180 Ringing', ...callVias, ...rr, dialog[0]!, `${dialog[1]};tag=8321234356`, dialog[2]!, 'CSeq: 1 INVITE', 'Contact: <sip:bob@192.0.2.4:5060>']),
  },
  {
    name: '200 OK+SDP',
    text: msg(
      ['SIP/2.0 200 OK', ...callVias, ...rr, dialog[0]!, `${dialog[1]};tag=8321234356`, dialog[2]!, 'CSeq: 1 INVITE', 'Contact: <sip:bob@192.0.2.4:5060>', 'Content-Type: application/sdp'],
      sdp.replace(/192\.0\.2\.10/g, '192.0.2.4'),
    ),
  },
  {
    name: 'ACK',
    text: msg(['ACK sip:bob@192.0.2.4:5060 SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds9;rport', 'Route: <sip:proxy1.example.com;lr>, <sip:proxy2.example.net;lr>', 'Max-Forwards: 70', dialog[0]!, `${dialog[1]};tag=8321234356`, dialog[2]!, 'CSeq: 1 ACK']),
  },
  {
    name: 'BYE',
    text: msg(['BYE sip:alice@192.0.2.10:5060 SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKnashds10;rport', 'Route: <sip:proxy2.example.net;lr>, <sip:proxy1.example.com;lr>', 'Max-Forwards: 70', 'From: Bob <sip:bob@biloxi.example.com>;tag=8321234356', 'To: "Alice Liddell" <sip:alice@atlanta.example.com>;tag=9fxced76sl', dialog[2]!, 'CSeq: 231 BYE']),
  },
  {
    name: 'REGISTER+auth',
    text: msg([
      'REGISTER sip:pbx.example.com SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bK1a2b3c4d;rport',
      'Max-Forwards: 70',
      'From: <sip:1001@pbx.example.com>;tag=a73kszlfl',
      'To: <sip:1001@pbx.example.com>',
      'Call-ID: 1j9FpLxk3uxtm8tn@192.0.2.50',
      'CSeq: 2 REGISTER',
      'Contact: <sip:1001@192.0.2.50:5060;transport=udp>;expires=3600;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"',
      'Authorization: Digest username="1001", realm="pbx.example.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", uri="sip:pbx.example.com", response="dfe56131d1958046689d83306477ecc", algorithm=MD5, cnonce="0a4f113b", qop=auth, nc=00000001',
      'User-Agent: Yealink SIP-T46S 66.86.0.15',
      'Expires: 3600',
    ]),
  },
  {
    name: '401',
    text: msg([
      'SIP/2.0 401 Unauthorized',
      'Via: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bK1a2b3c4c;rport=5060;received=192.0.2.50',
      'From: <sip:1001@pbx.example.com>;tag=a73kszlfl',
      'To: <sip:1001@pbx.example.com>;tag=1410948204',
      'Call-ID: 1j9FpLxk3uxtm8tn@192.0.2.50',
      'CSeq: 1 REGISTER',
      'WWW-Authenticate: Digest realm="pbx.example.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", opaque="", algorithm=SHA-256, qop="auth"',
      'WWW-Authenticate: Digest realm="pbx.example.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", opaque="", algorithm=MD5, qop="auth"',
    ]),
  },
  {
    name: 'NOTIFY',
    text: msg(
      [
        'NOTIFY sip:1002@192.0.2.51:5060 SIP/2.0',
        'Via: SIP/2.0/UDP pbx.example.com:5060;branch=z9hG4bK4b43c2ff8.1',
        'Max-Forwards: 70',
        'From: <sip:1001@pbx.example.com>;tag=4fe1',
        'To: <sip:1002@pbx.example.com>;tag=98b2',
        'Call-ID: blf-1001-1002@pbx.example.com',
        'CSeq: 7 NOTIFY',
        'Contact: <sip:pbx.example.com:5060>',
        'Event: dialog',
        'Subscription-State: active;expires=3599',
        'Content-Type: application/dialog-info+xml',
      ],
      '<?xml version="1.0"?>\r\n<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="3" state="full" entity="sip:1001@pbx.example.com">\r\n<dialog id="3848276298220188511" call-id="3848276298220188511@atlanta.example.com" local-tag="8321234356" remote-tag="9fxced76sl" direction="recipient"><state>confirmed</state></dialog>\r\n</dialog-info>\r\n',
    ),
  },
];

export const corpusBuffers: Buffer[] = corpus.map((m) => Buffer.from(m.text, 'utf8'));
