import { describe, expect, it } from 'vitest';
import { SdpSerializeError, parseSdp, serializeSdp } from '../../../src/sip/sdp/index.js';
import type { SdpMedia, SessionDescription } from '../../../src/sip/sdp/index.js';

function base(): SessionDescription {
  return {
    version: 0,
    origin: { username: '-', sessionId: '42', sessionVersion: 7n, netType: 'IN', addrType: 'IP4', address: '192.0.2.1' },
    sessionName: '-',
    emails: [],
    phones: [],
    connection: { netType: 'IN', addrType: 'IP4', address: '192.0.2.1' },
    bandwidths: [],
    timings: [{ start: 0n, stop: 0n, repeats: [] }],
    attributes: [],
    media: [audio()],
  };
}

function audio(): SdpMedia {
  return { type: 'audio', port: 4000, protocol: 'RTP/AVP', formats: ['0'], connections: [], bandwidths: [], attributes: [{ name: 'sendrecv' }] };
}

function serializeError(sd: SessionDescription): SdpSerializeError {
  try {
    serializeSdp(sd);
  } catch (e) {
    if (e instanceof SdpSerializeError) return e;
    throw e;
  }
  throw new Error('serialized without error');
}

describe('serializeSdp', () => {
  it('writes CRLF lines in RFC 8866 §5 order whatever the object order', () => {
    const sd: SessionDescription = {
      ...base(),
      information: 'info',
      uri: 'https://example.com/',
      emails: ['a@example.com'],
      phones: ['+1 555 0100'],
      bandwidths: [{ type: 'CT', value: 128 }],
      timings: [{ start: 1n, stop: 2n, repeats: ['1d 1h 0'] }],
      zone: '1 -1h',
      key: 'prompt',
      attributes: [{ name: 'tool', value: 'switchboard' }],
      otherLines: [{ type: 'y', value: '1' }],
      media: [{ ...audio(), information: 'voice', connections: [{ netType: 'IN', addrType: 'IP4', address: '233.252.0.1', ttl: 16, count: 2 }], bandwidths: [{ type: 'AS', value: 64 }], key: 'clear:x', portCount: 2 }],
    };
    expect(serializeSdp(sd)).toBe(
      [
        'v=0',
        'o=- 42 7 IN IP4 192.0.2.1',
        's=-',
        'i=info',
        'u=https://example.com/',
        'e=a@example.com',
        'p=+1 555 0100',
        'c=IN IP4 192.0.2.1',
        'b=CT:128',
        't=1 2',
        'r=1d 1h 0',
        'z=1 -1h',
        'k=prompt',
        'a=tool:switchboard',
        'y=1',
        'm=audio 4000/2 RTP/AVP 0',
        'i=voice',
        'c=IN IP4 233.252.0.1/16/2',
        'b=AS:64',
        'k=clear:x',
        'a=sendrecv',
        '',
      ].join('\r\n'),
    );
    expect(parseSdp(serializeSdp(sd))).toEqual(sd);
  });

  it('writes an attribute with an empty value as "a=name:"', () => {
    const sd = { ...base(), attributes: [{ name: 'x', value: '' }] };
    expect(serializeSdp(sd)).toContain('\r\na=x:\r\n');
    expect(parseSdp(serializeSdp(sd)).attributes).toEqual([{ name: 'x', value: '' }]);
  });

  it.each<[string, (sd: SessionDescription) => void, string]>([
    ['CR LF in the session name', (sd) => (sd.sessionName = 'a\r\nm=video 1 RTP/AVP 0'), 'sessionName'],
    ['LF in an attribute value', (sd) => (sd.attributes = [{ name: 'x', value: 'a\nb' }]), 'attributes[0].value'],
    ['NUL in information', (sd) => (sd.information = 'a\0'), 'information'],
    ['a trailing space in a value', (sd) => (sd.attributes = [{ name: 'x', value: 'a ' }]), 'attributes[0].value'],
    ['a space in the username', (sd) => (sd.origin.username = 'a b'), 'origin.username'],
    ['an empty session id', (sd) => (sd.origin.sessionId = ''), 'origin.sessionId'],
    ['a negative version', (sd) => (sd.origin.sessionVersion = -1n), 'origin.sessionVersion'],
    ['a colon in an attribute name', (sd) => (sd.attributes = [{ name: 'a:b' }]), 'attributes[0].name'],
    ['an empty attribute name', (sd) => (sd.attributes = [{ name: '' }]), 'attributes[0].name'],
    ['a colon in a bandwidth type', (sd) => (sd.bandwidths = [{ type: 'A:S', value: 1 }]), 'bandwidths[0].type'],
    ['a fractional bandwidth', (sd) => (sd.bandwidths = [{ type: 'AS', value: 1.5 }]), 'bandwidths[0].value'],
    ['port 65536', (sd) => ((sd.media[0] as SdpMedia).port = 65536), 'media[0].port'],
    ['port count 0', (sd) => ((sd.media[0] as SdpMedia).portCount = 0), 'media[0].portCount'],
    ['no formats', (sd) => ((sd.media[0] as SdpMedia).formats = []), 'media[0].formats'],
    ['a space in a format', (sd) => ((sd.media[0] as SdpMedia).formats = ['0 8']), 'media[0].formats[0]'],
    ['a TTL over 255', (sd) => (sd.connection = { netType: 'IN', addrType: 'IP4', address: '233.252.0.1', ttl: 256 }), 'connection.ttl'],
    ['an IP6 TTL', (sd) => (sd.connection = { netType: 'IN', addrType: 'IP6', address: 'ff15::1', ttl: 1 }), 'connection.ttl'],
    ['an IP4 count without TTL', (sd) => (sd.connection = { netType: 'IN', addrType: 'IP4', address: '233.252.0.1', count: 2 }), 'connection.count'],
    ['a slash in an IP4 address', (sd) => (sd.connection = { netType: 'IN', addrType: 'IP4', address: '233.252.0.1/2' }), 'connection.address'],
    ['a known letter as other line', (sd) => (sd.otherLines = [{ type: 'a', value: 'x' }]), 'otherLines[0].type'],
    ['a two-letter other line', (sd) => (sd.otherLines = [{ type: 'xy', value: 'x' }]), 'otherLines[0].type'],
    ['v=-1', (sd) => (sd.version = -1), 'version'],
    ['a 41-digit version', (sd) => (sd.origin.sessionVersion = 10n ** 40n), 'origin.sessionVersion'],
  ])('refuses %s', (_name, change, field) => {
    const sd = base();
    change(sd);
    const e = serializeError(sd);
    expect(e.field).toBe(field);
    expect(e.name).toBe('SdpSerializeError');
  });
});
