import { describe, expect, it } from 'vitest';
import { MAX_SDP_MEDIA, SdpParseError, parseSdp, serializeSdp } from '../../../src/sip/sdp/index.js';
import {
  asteriskOffer,
  baresipOffer,
  ciscoOldHold,
  crlf,
  lf,
  polycomHold,
  rfc4317Answer,
  rfc4317Offer,
  rfc8866Example,
  srtpOffer,
} from './fixtures.js';

const minimal = ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 4000 RTP/AVP 0'];

function parseError(text: string | Uint8Array): SdpParseError {
  try {
    parseSdp(text);
  } catch (e) {
    if (e instanceof SdpParseError) return e;
    throw e;
  }
  throw new Error('parsed without error');
}

describe('parseSdp: fixtures', () => {
  it('reads the RFC 8866 §5 example field by field', () => {
    const sd = parseSdp(crlf(rfc8866Example));
    expect(sd.version).toBe(0);
    expect(sd.origin).toEqual({
      username: 'jdoe',
      sessionId: '3724394400',
      sessionVersion: 3724394405n,
      netType: 'IN',
      addrType: 'IP4',
      address: '198.51.100.1',
    });
    expect(sd.sessionName).toBe('Call to John Smith');
    expect(sd.information).toBe('SDP Offer #1');
    expect(sd.uri).toBe('http://www.jdoe.example.com/home.html');
    expect(sd.emails).toEqual(['Jane Doe <jane@jdoe.example.com>']);
    expect(sd.phones).toEqual(['+1 617 555-6011']);
    expect(sd.connection).toEqual({ netType: 'IN', addrType: 'IP4', address: '198.51.100.1' });
    expect(sd.timings).toEqual([{ start: 0n, stop: 0n, repeats: [] }]);
    expect(sd.media.map((m) => [m.type, m.port, m.protocol, m.formats])).toEqual([
      ['audio', 49170, 'RTP/AVP', ['0']],
      ['audio', 49180, 'RTP/AVP', ['0']],
      ['video', 51372, 'RTP/AVP', ['99']],
    ]);
    expect(sd.media[2]?.connections).toEqual([{ netType: 'IN', addrType: 'IP6', address: '2001:db8::2' }]);
    expect(sd.media[2]?.attributes).toEqual([{ name: 'rtpmap', value: '99 h263-1998/90000' }]);
    expect(sd.otherLines).toBeUndefined();
  });

  it('reads the RFC 4317 offer and answer (empty s=)', () => {
    const offer = parseSdp(crlf(rfc4317Offer));
    expect(offer.sessionName).toBe('');
    expect(offer.media).toHaveLength(2);
    expect(offer.media[1]?.formats).toEqual(['31', '32']);
    const answer = parseSdp(crlf(rfc4317Answer));
    expect(answer.origin.username).toBe('bob');
    expect(answer.media[0]?.port).toBe(49174);
  });

  it('keeps baresip attributes in order, bandwidth typed, property attributes without value', () => {
    const m = parseSdp(crlf(baresipOffer)).media[0];
    expect(m?.bandwidths).toEqual([{ type: 'AS', value: 64 }]);
    expect(m?.attributes.map((a) => a.name)).toEqual([
      'rtpmap', 'fmtp', 'rtpmap', 'rtpmap', 'rtpmap', 'rtpmap', 'fmtp', 'rtcp-rsize', 'rtcp-mux', 'sendrecv', 'label', 'ssrc',
    ]);
    expect(m?.attributes[7]).toEqual({ name: 'rtcp-rsize' });
    expect(m?.attributes[11]).toEqual({ name: 'ssrc', value: '1450273384 cname:6b5f9d3c-7ac8-4c4a-9a5c-8e3d3b1f0a11' });
  });

  it('reads Asterisk, Cisco, Polycom and SRTP bodies', () => {
    expect(parseSdp(crlf(asteriskOffer)).sessionName).toBe('Asterisk');
    const cisco = parseSdp(crlf(ciscoOldHold));
    expect(cisco.connection?.address).toBe('0.0.0.0');
    expect(cisco.media[0]?.connections[0]?.address).toBe('0.0.0.0');
    expect(parseSdp(crlf(polycomHold)).attributes).toEqual([{ name: 'sendonly' }]);
    expect(parseSdp(crlf(srtpOffer)).media[0]?.protocol).toBe('RTP/SAVP');
  });

  it.each([
    ['RFC 8866', rfc8866Example],
    ['baresip', baresipOffer],
    ['Asterisk', asteriskOffer],
    ['Cisco', ciscoOldHold],
    ['Polycom', polycomHold],
    ['SRTP', srtpOffer],
  ])('serializes the %s body back byte for byte', (_name, lines) => {
    expect(serializeSdp(parseSdp(crlf(lines)))).toBe(crlf(lines));
  });

  it('writes an empty s= as "s= " (RFC 8866 §5.3) and reads it back as empty (RFC 4317 bodies)', () => {
    expect(serializeSdp(parseSdp(crlf(rfc4317Answer)))).toBe(crlf(rfc4317Answer).replace('\r\ns=\r\n', '\r\ns= \r\n'));
    const text = serializeSdp(parseSdp(crlf(rfc4317Offer)));
    expect(text).toContain('\r\ns= \r\n');
    expect(parseSdp(text)).toEqual(parseSdp(crlf(rfc4317Offer)));
  });

  it('reads bytes as UTF-8, and as ISO 8859-1 when they are not UTF-8', () => {
    const utf8 = new TextEncoder().encode(crlf([...minimal.slice(0, 2), 's=Café', ...minimal.slice(3)]));
    expect(parseSdp(utf8).sessionName).toBe('Café');
    const latin = Uint8Array.from(Buffer.from(crlf([...minimal.slice(0, 2), 's=Caf\u00e9', ...minimal.slice(3)]), 'latin1'));
    expect(parseSdp(latin).sessionName).toBe('Café');
  });
});

describe('parseSdp: tolerant input', () => {
  it('takes LF-only lines the same as CRLF', () => {
    expect(parseSdp(lf(asteriskOffer))).toEqual(parseSdp(crlf(asteriskOffer)));
  });

  it('trims trailing spaces and tabs, skips blank lines, ignores a BOM, no final line end', () => {
    const messy = '\ufeff' + asteriskOffer.map((l, i) => (i % 2 === 0 ? `${l}  ` : `${l}\t`)).join('\r\n\r\n');
    expect(parseSdp(messy)).toEqual(parseSdp(crlf(asteriskOffer)));
  });

  it('accepts a missing s= and t=', () => {
    const sd = parseSdp(lf(['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 'c=IN IP4 192.0.2.1', 'm=audio 4000 RTP/AVP 0']));
    expect(sd.sessionName).toBe('');
    expect(sd.timings).toEqual([]);
    expect(sd.media).toHaveLength(1);
  });

  it('keeps lines of unknown types, per section, in order', () => {
    const sd = parseSdp(lf([...minimal.slice(0, 5), 'y=0123456789', 'x=one', ...minimal.slice(5), 'x=two', 'a=x-custom:1']));
    expect(sd.otherLines).toEqual([{ type: 'y', value: '0123456789' }, { type: 'x', value: 'one' }]);
    expect(sd.media[0]?.otherLines).toEqual([{ type: 'x', value: 'two' }]);
    expect(sd.media[0]?.attributes).toEqual([{ name: 'x-custom', value: '1' }]);
    expect(parseSdp(serializeSdp(sd))).toEqual(sd);
  });

  it('accepts runs of spaces between fields, r= repeats, z=, k=, multicast c=', () => {
    const sd = parseSdp(
      lf([
        'v=0',
        'o=-  7   8 IN  IP4 192.0.2.1',
        's=Seminar',
        'c=IN IP4 233.252.0.1/127/3',
        't=3034423619 3042462419',
        'r=7d 1h 0 25h',
        'z=2882844526 -1h 2898848070 0',
        'k=prompt',
        'm=audio 49170/2 RTP/AVP 0',
        'c=IN IP6 ff15::101/3',
        'k=clear:secret',
      ]),
    );
    expect(sd.origin.sessionVersion).toBe(8n);
    expect(sd.connection).toEqual({ netType: 'IN', addrType: 'IP4', address: '233.252.0.1', ttl: 127, count: 3 });
    expect(sd.timings).toEqual([{ start: 3034423619n, stop: 3042462419n, repeats: ['7d 1h 0 25h'] }]);
    expect(sd.zone).toBe('2882844526 -1h 2898848070 0');
    expect(sd.key).toBe('prompt');
    expect(sd.media[0]?.portCount).toBe(2);
    expect(sd.media[0]?.connections[0]).toEqual({ netType: 'IN', addrType: 'IP6', address: 'ff15::101', count: 3 });
    expect(sd.media[0]?.key).toBe('clear:secret');
  });

  it('keeps the address of an unknown address type as written', () => {
    const sd = parseSdp(lf([...minimal.slice(0, 3), 'c=ATM NSAP 47.0005.80.ffe100.0000.f21a.01/x', 't=0 0']));
    expect(sd.connection).toEqual({ netType: 'ATM', addrType: 'NSAP', address: '47.0005.80.ffe100.0000.f21a.01/x' });
  });
});

describe('parseSdp: errors', () => {
  it.each<[string, string, SdpParseError['reason'], number | undefined]>([
    ['a line before v=', lf(['o=- 1 1 IN IP4 h', 'v=0']), 'no-version', 1],
    ['an empty body', '', 'no-version', undefined],
    ['no o=', lf(['v=0', 's=-']), 'missing-field', undefined],
    ['a line without =', lf(['v=0', 'o=- 1 1 IN IP4 h', 'garbage']), 'bad-line', 3],
    ['a non-letter type', lf(['v=0', 'o=- 1 1 IN IP4 h', '1=x']), 'bad-line', 3],
    ['v= not a number', lf(['v=zero']), 'bad-field', 1],
    ['o= with 5 fields', lf(['v=0', 'o=- 1 1 IN IP4']), 'bad-field', 2],
    ['o= version not a number', lf(['v=0', 'o=- 1 x IN IP4 h']), 'bad-field', 2],
    ['a second o=', lf(['v=0', 'o=- 1 1 IN IP4 h', 'o=- 1 1 IN IP4 h']), 'duplicate-field', 3],
    ['a second v=', lf(['v=0', 'v=0']), 'duplicate-field', 2],
    ['a second s=', lf(['v=0', 'o=- 1 1 IN IP4 h', 's=a', 's=b']), 'duplicate-field', 4],
    ['a second session c=', lf([...minimal.slice(0, 4), 'c=IN IP4 192.0.2.2']), 'duplicate-field', 5],
    ['c= with 2 fields', lf([...minimal.slice(0, 3), 'c=IN IP4']), 'bad-field', 4],
    ['c= TTL over 255', lf([...minimal.slice(0, 3), 'c=IN IP4 233.252.0.1/256']), 'bad-field', 4],
    ['c= IP6 with a TTL and count', lf([...minimal.slice(0, 3), 'c=IN IP6 ff15::1/1/2']), 'bad-field', 4],
    ['b= without a colon', lf([...minimal, 'b=AS64']), 'bad-field', 7],
    ['b= not a number', lf([...minimal, 'b=AS:lots']), 'bad-field', 7],
    ['t= with one field', lf([...minimal.slice(0, 4), 't=0']), 'bad-field', 5],
    ['r= before t=', lf([...minimal.slice(0, 4), 'r=7d 1h 0 25h']), 'misplaced-field', 5],
    ['s= in a media section', lf([...minimal, 's=late']), 'misplaced-field', 7],
    ['t= in a media section', lf([...minimal, 't=0 0']), 'misplaced-field', 7],
    ['m= port over 65535', lf([...minimal.slice(0, 5), 'm=audio 65536 RTP/AVP 0']), 'bad-field', 6],
    ['m= port count 0', lf([...minimal.slice(0, 5), 'm=audio 4000/0 RTP/AVP 0']), 'bad-field', 6],
    ['m= with two fields', lf([...minimal.slice(0, 5), 'm=audio 4000']), 'bad-field', 6],
    ['an attribute without a name', lf([...minimal, 'a=:x']), 'bad-field', 7],
    ['a second media i=', lf([...minimal, 'i=a', 'i=b']), 'duplicate-field', 8],
  ])('rejects %s', (_name, text, reason, line) => {
    const e = parseError(text);
    expect(e.reason).toBe(reason);
    expect(e.line).toBe(line);
    expect(e.name).toBe('SdpParseError');
  });

  it('rejects bodies over 64 KB, as string or bytes', () => {
    const big = crlf([...minimal, `a=x:${'y'.repeat(65536)}`]);
    expect(parseError(big).reason).toBe('too-large');
    expect(parseError(new TextEncoder().encode(big)).reason).toBe('too-large');
    // Multi-byte characters count as their UTF-8 length.
    expect(parseError(crlf([...minimal, `a=x:${'é'.repeat(33000)}`])).reason).toBe('too-large');
  });

  it(`rejects more than ${MAX_SDP_MEDIA} media sections`, () => {
    const lines = [...minimal.slice(0, 5)];
    for (let i = 0; i < MAX_SDP_MEDIA; i++) lines.push(`m=audio ${4000 + 2 * i} RTP/AVP 0`);
    expect(parseSdp(lf(lines)).media).toHaveLength(MAX_SDP_MEDIA);
    lines.push('m=audio 6000 RTP/AVP 0');
    expect(parseError(lf(lines)).reason).toBe('too-many-media');
  });
});
