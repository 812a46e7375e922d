import { describe, expect, it } from 'vitest';
import { SipStreamFramer, serializeMessage, type FramerEvent } from '../../../src/sip/index.js';
import { corpusBuffers } from '../../../bench/sip-corpus.js';

function messages(events: FramerEvent[]): Buffer[] {
  return events.flatMap((e) => (e.type === 'message' ? [serializeMessage(e.message)] : []));
}

const stream = Buffer.concat(corpusBuffers);

describe('SipStreamFramer', () => {
  it('frames a stream delivered in one chunk', () => {
    const events = new SipStreamFramer().push(stream);
    expect(events.every((e) => e.type === 'message')).toBe(true);
    expect(messages(events).map((b) => b.toString('latin1'))).toEqual(corpusBuffers.map((b) => b.toString('latin1')));
  });

  it('frames a stream delivered byte by byte', () => {
    const f = new SipStreamFramer();
    const events: FramerEvent[] = [];
    for (let i = 0; i < stream.length; i++) events.push(...f.push(stream.subarray(i, i + 1)));
    expect(messages(events).length).toBe(corpusBuffers.length);
    expect(Buffer.concat(messages(events)).equals(stream)).toBe(true);
    expect(f.buffered).toBe(0);
  });

  it('reports CRLF keep-alives: CRLFCRLF is a ping, CRLF a pong (RFC 5626 §4.4.1)', () => {
    const f = new SipStreamFramer();
    const one = corpusBuffers[4]!;
    const types = [
      ...f.push(Buffer.from('\r\n\r\n')),
      ...f.push(one),
      ...f.push(Buffer.from('\r\n')),
      ...f.push(Buffer.concat([Buffer.from('\r\n\r\n'), one])),
    ].map((e) => e.type);
    expect(types).toEqual(['ping', 'message', 'pong', 'ping', 'message']);
  });

  it('waits for the rest of a body', () => {
    const f = new SipStreamFramer();
    const inv = corpusBuffers[0]!;
    expect(f.push(inv.subarray(0, inv.length - 10))).toEqual([]);
    expect(f.buffered).toBe(inv.length - 10);
    const ev = f.push(inv.subarray(inv.length - 10));
    expect(ev.length).toBe(1);
    expect(ev[0]!.type).toBe('message');
  });

  it('treats a missing Content-Length as an empty body', () => {
    const f = new SipStreamFramer();
    const text = 'OPTIONS sip:a@b.example.com SIP/2.0\r\nVia: SIP/2.0/TCP h.example.com;branch=z9hG4bK1\r\nFrom: <sip:x@y.example.com>;tag=1\r\nTo: <sip:a@b.example.com>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n';
    const ev = f.push(Buffer.from(text + text));
    expect(ev.map((e) => e.type)).toEqual(['message', 'message']);
  });

  it('a negative or repeated Content-Length is fatal: the stream cannot be framed', () => {
    for (const cl of ['Content-Length: -999', 'Content-Length: 5\r\nContent-Length: 6', 'Content-Length: 12a']) {
      const f = new SipStreamFramer();
      const ev = f.push(Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\n${cl}\r\n\r\nhello`));
      expect(ev).toHaveLength(1);
      expect(ev[0]).toMatchObject({ type: 'error', fatal: true });
      expect(f.failed).toBe(true);
      expect(f.push(corpusBuffers[0]!)).toEqual([]);
    }
  });

  it('a well-framed but invalid message is a non-fatal error and the stream goes on', () => {
    const f = new SipStreamFramer();
    const bad = Buffer.from('OPTIONS sip:a@b.example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n');
    const ev = f.push(Buffer.concat([bad, corpusBuffers[5]!]));
    expect(ev.map((e) => e.type)).toEqual(['error', 'message']);
    expect(ev[0]).toMatchObject({ fatal: false });
    const err = ev[0]!.type === 'error' ? ev[0]!.error : undefined;
    expect(err?.message).toBe('Missing From header');
    expect(err?.partial?.isRequest).toBe(true);
  });

  it('bounds what it buffers: a header section that never ends is fatal past the limit', () => {
    const f = new SipStreamFramer({ limits: { maxMessageBytes: 4096 } });
    const events: FramerEvent[] = [];
    events.push(...f.push(Buffer.from('INVITE sip:a@b SIP/2.0\r\n')));
    for (let i = 0; i < 200 && !f.failed; i++) events.push(...f.push(Buffer.from(`X-Filler-${i}: ${'x'.repeat(40)}\r\n`)));
    expect(f.failed).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'error', fatal: true });
    expect(f.buffered).toBe(0);
  });

  it('a Content-Length over the limit is fatal before the body is buffered', () => {
    const f = new SipStreamFramer({ limits: { maxMessageBytes: 1000 } });
    const ev = f.push(Buffer.from('MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 5000\r\n\r\n'));
    expect(ev[0]).toMatchObject({ type: 'error', fatal: true });
  });
});
