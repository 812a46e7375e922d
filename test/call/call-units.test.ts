/**
 * The Call layer's pure pieces: INFO DTMF bodies (with fast-check), audio sources, the media
 * ticker, the µ-law/A-law relay tables, and RtpSession.relay's continuity rewriting.
 */
import { createSocket } from 'node:dgram';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { A_TO_MU, MU_TO_A, ManualTicker, PcmSource, SequenceSource, StreamSource, ToneSource, formatDtmfInfo, g711Of, parseDtmfInfo } from '../../src/call/index.js';
import { NORTH_AMERICAN_TONES, aLawToMuLaw, muLawToALaw } from '../../src/codecs/index.js';
import { RtpPacket, RtpSession, serializeRtp } from '../../src/rtp/index.js';

describe('INFO DTMF bodies', () => {
  it('reads the Cisco dtmf-relay form and the bare application/dtmf form', () => {
    expect(parseDtmfInfo('application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n')).toEqual({ digit: '5', durationMs: 160 });
    expect(parseDtmfInfo('Application/DTMF-Relay', 'signal= #\nduration=250')).toEqual({ digit: '#', durationMs: 250 });
    expect(parseDtmfInfo('application/dtmf-relay', 'Signal=11\r\n')).toEqual({ digit: '#' });
    expect(parseDtmfInfo('application/dtmf-relay', 'Signal=10\r\n')).toEqual({ digit: '*' });
    expect(parseDtmfInfo('application/dtmf', '7')).toEqual({ digit: '7' });
    expect(parseDtmfInfo('application/dtmf', 'x')).toBeUndefined();
    expect(parseDtmfInfo('text/plain', 'Signal=5')).toBeUndefined();
    expect(parseDtmfInfo('application/dtmf-relay', 'Duration=100')).toBeUndefined();
  });
  it('round-trips every digit through formatDtmfInfo', () => {
    fc.assert(
      fc.property(fc.constantFrom(...'0123456789*#ABCD'), fc.integer({ min: 1, max: 59_999 }), (digit, ms) => {
        expect(parseDtmfInfo('application/dtmf-relay', formatDtmfInfo(digit, ms))).toEqual({ digit, durationMs: ms });
      }),
    );
  });
  it('never throws on arbitrary bodies and content types', () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ maxLength: 2000 }), (type, body) => {
        const r = parseDtmfInfo(type, body);
        if (r !== undefined) expect('0123456789*#ABCD').toContain(r.digit);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('audio sources', () => {
  it('PcmSource fills frames, pads the last one, then reports the end; loop wraps around', () => {
    const pcm = Int16Array.from({ length: 250 }, (_, i) => i + 1);
    const s = new PcmSource(pcm);
    const f = new Int16Array(160);
    expect(s.read(f)).toBe(true);
    expect(f[159]).toBe(160);
    expect(s.read(f)).toBe(true);
    expect(f[89]).toBe(250);
    expect(f[90]).toBe(0);
    expect(s.read(f)).toBe(false);
    const loop = new PcmSource(pcm, true);
    loop.read(f);
    loop.read(f);
    expect(f[89]).toBe(250);
    expect(f[90]).toBe(1); // wrapped without a gap
  });
  it('SequenceSource plays its parts in order', () => {
    const s = new SequenceSource([new PcmSource(new Int16Array(160).fill(1)), new PcmSource(new Int16Array(160).fill(2))]);
    const f = new Int16Array(160);
    expect(s.read(f) && f[0]).toBe(1);
    expect(s.read(f) && f[0]).toBe(2);
    expect(s.read(f)).toBe(false);
  });
  it('ToneSource stops after its duration', () => {
    const s = new ToneSource(NORTH_AMERICAN_TONES.busy, 100);
    const f = new Int16Array(160);
    let frames = 0;
    while (s.read(f)) frames++;
    expect(frames).toBe(5);
  });
  it('StreamSource plays what the stream yields, silence while it is late, then ends', async () => {
    async function* gen(): AsyncGenerator<Int16Array> {
      yield new Int16Array(100).fill(3);
      await new Promise((r) => setTimeout(r, 30));
      yield new Int16Array(100).fill(4);
    }
    const s = new StreamSource(gen());
    const f = new Int16Array(160);
    await new Promise((r) => setTimeout(r, 5));
    expect(s.read(f)).toBe(true);
    expect([f[0], f[99], f[100]]).toEqual([3, 3, 0]);
    expect(s.read(f)).toBe(true); // still open: silence
    await new Promise((r) => setTimeout(r, 50));
    expect(s.read(f)).toBe(true);
    expect(f[0]).toBe(4);
    expect(s.read(f)).toBe(false);
  });
});

describe('ManualTicker', () => {
  it('runs each listener once per frame and stops calling removed ones', () => {
    const t = new ManualTicker();
    const seen: number[] = [];
    const stop = t.add((now) => seen.push(now));
    t.tick(3);
    stop();
    t.tick(2);
    expect(seen).toEqual([20, 40, 60]);
  });
});

describe('relay tables', () => {
  it('MU_TO_A and A_TO_MU are the codec layer transcoders as byte maps', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const a = new Uint8Array(256);
    const u = new Uint8Array(256);
    muLawToALaw(all, a);
    aLawToMuLaw(all, u);
    expect([...MU_TO_A]).toEqual([...a]);
    expect([...A_TO_MU]).toEqual([...u]);
    expect(g711Of({ encoding: 'pcma' })).toBe('PCMA');
    expect(g711Of({ encoding: 'G722' })).toBeUndefined();
  });
});

describe('RtpSession.relay', () => {
  it('continues our SSRC, sequence and timestamps; keeps gaps; marks a new source; transcodes', async () => {
    const sink = createSocket('udp4');
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
    const got: RtpPacket[] = [];
    sink.on('message', (m) => got.push(RtpPacket.parse(Buffer.from(m))));
    const session = await RtpSession.open({ address: '127.0.0.1', remote: { address: '127.0.0.1', port: sink.address().port }, mediaTimeoutMs: 0 });
    try {
      session.sendFrame(new Uint8Array(160).fill(0xff));
      const packet = (ssrc: number, seq: number, ts: number, fill: number): RtpPacket => {
        const buf = Buffer.alloc(12 + 160);
        serializeRtp({ payloadType: 0, marker: false, sequenceNumber: seq, timestamp: ts, ssrc }, new Uint8Array(160).fill(fill), buf);
        return RtpPacket.parse(buf);
      };
      session.relay(packet(1111, 65535, 4294967136, 0x10), 8, MU_TO_A);
      session.relay(packet(1111, 0, 0, 0x10), 8, MU_TO_A);
      session.relay(packet(1111, 2, 320, 0x10), 8, MU_TO_A); // seq 1 lost on the way in
      session.relay(packet(2222, 500, 9000, 0x10), 8); // a new source
      const deadline = Date.now() + 2000;
      while (got.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(got).toHaveLength(5);
      const [own, r1, r2, r3, r4] = got as [RtpPacket, RtpPacket, RtpPacket, RtpPacket, RtpPacket];
      for (const p of got) expect(p.ssrc).toBe(session.ssrc);
      expect(r1.sequenceNumber).toBe((own.sequenceNumber + 1) & 0xffff);
      expect(r1.timestamp).toBe((own.timestamp + 160) >>> 0);
      expect(r1.marker).toBe(true); // a new source starts a talkspurt
      expect(r2.sequenceNumber).toBe((r1.sequenceNumber + 1) & 0xffff); // across the wrap
      expect(r2.timestamp).toBe((r1.timestamp + 160) >>> 0);
      expect(r3.sequenceNumber).toBe((r1.sequenceNumber + 3) & 0xffff); // the gap stays visible
      expect(r3.timestamp).toBe((r1.timestamp + 480) >>> 0);
      expect(r3.payloadType).toBe(8);
      expect(r3.payload[0]).toBe(MU_TO_A[0x10]);
      expect(r4.marker).toBe(true);
      expect(r4.sequenceNumber).toBe((r3.sequenceNumber + 1) & 0xffff);
      expect(r4.payload[0]).toBe(0x10); // no table: untouched
    } finally {
      await session.close();
      sink.close();
    }
  });
});
