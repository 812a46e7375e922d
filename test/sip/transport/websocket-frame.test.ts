/** RFC 6455 framing: byte vectors from the RFC, limits, violations, and fast-check properties. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  serializeWebSocketFrame,
  WebSocketCloseCode as CloseCode,
  WebSocketFrameParser,
  WebSocketOpcode as Opcode,
  WebSocketProtocolError,
  webSocketClosePayload,
  websocketAccept,
  type WebSocketEvent,
} from '../../../src/sip/transport/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function expectViolation(parser: WebSocketFrameParser, bytes: Buffer, code: number): void {
  let err: unknown;
  try {
    parser.push(bytes);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(WebSocketProtocolError);
  expect((err as WebSocketProtocolError).closeCode).toBe(code);
}

describe('RFC 6455 §5.7 examples', () => {
  it('a single-frame unmasked text message', () => {
    expect(serializeWebSocketFrame({ fin: true, opcode: Opcode.text, payload: Buffer.from('Hello') })).toEqual(hex('81 05 48 65 6c 6c 6f'));
    const p = new WebSocketFrameParser({ role: 'client' });
    expect(p.push(hex('81 05 48 65 6c 6c 6f'))).toEqual([{ type: 'message', binary: false, data: Buffer.from('Hello') }]);
  });

  it('a single-frame masked text message', () => {
    const wire = hex('81 85 37 fa 21 3d 7f 9f 4d 51 58');
    expect(serializeWebSocketFrame({ fin: true, opcode: Opcode.text, payload: Buffer.from('Hello'), mask: hex('37 fa 21 3d') })).toEqual(wire);
    expect(new WebSocketFrameParser({ role: 'server' }).push(wire)).toEqual([{ type: 'message', binary: false, data: Buffer.from('Hello') }]);
  });

  it('a fragmented unmasked text message', () => {
    const p = new WebSocketFrameParser({ role: 'client' });
    expect(p.push(hex('01 03 48 65 6c'))).toEqual([]);
    expect(p.push(hex('80 02 6c 6f'))).toEqual([{ type: 'message', binary: false, data: Buffer.from('Hello') }]);
  });

  it('ping and pong, with a ping between fragments', () => {
    const p = new WebSocketFrameParser({ role: 'client' });
    expect(p.push(Buffer.concat([hex('01 03 48 65 6c'), hex('89 05 48 65 6c 6c 6f'), hex('80 02 6c 6f'), hex('8a 00')]))).toEqual([
      { type: 'ping', data: Buffer.from('Hello') },
      { type: 'message', binary: false, data: Buffer.from('Hello') },
      { type: 'pong', data: Buffer.alloc(0) },
    ]);
  });

  it('16-bit and 64-bit lengths (256 bytes, 64 KiB binary)', () => {
    const f256 = serializeWebSocketFrame({ fin: true, opcode: Opcode.binary, payload: Buffer.alloc(256, 1) });
    expect(f256.subarray(0, 4)).toEqual(hex('82 7e 01 00'));
    const f64k = serializeWebSocketFrame({ fin: true, opcode: Opcode.binary, payload: Buffer.alloc(65536, 2) });
    expect(f64k.subarray(0, 10)).toEqual(hex('82 7f 00 00 00 00 00 01 00 00'));
    const p = new WebSocketFrameParser({ role: 'client', maxFrameBytes: 70_000, maxMessageBytes: 70_000 });
    const ev = p.push(Buffer.concat([f256, f64k]));
    expect(ev.map((e) => (e.type === 'message' ? [e.binary, e.data.length] : e.type))).toEqual([
      [true, 256],
      [true, 65536],
    ]);
  });

  it('the handshake accept value', () => {
    expect(websocketAccept('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });
});

describe('close frames', () => {
  it('parse code and reason; an empty close has no code', () => {
    const p = new WebSocketFrameParser({ role: 'client' });
    const close = serializeWebSocketFrame({ fin: true, opcode: Opcode.close, payload: webSocketClosePayload(1001, 'bye') });
    expect(p.push(close)).toEqual([{ type: 'close', code: 1001, reason: 'bye' }]);
    expect(p.push(hex('88 00'))).toEqual([{ type: 'close', code: undefined, reason: '' }]);
  });

  it('reject a 1-byte body, reserved codes and a non-UTF-8 reason', () => {
    expectViolation(new WebSocketFrameParser({ role: 'client' }), hex('88 01 03'), CloseCode.protocolError);
    expectViolation(new WebSocketFrameParser({ role: 'client' }), hex('88 02 03 ed'), CloseCode.protocolError); // 1005
    expectViolation(new WebSocketFrameParser({ role: 'client' }), hex('88 02 03 e7'), CloseCode.protocolError); // 999
    expectViolation(new WebSocketFrameParser({ role: 'client' }), hex('88 04 03 e8 c3 28'), CloseCode.invalidPayload);
  });
});

describe('violations (§5.1, §5.2, §5.4, §5.5)', () => {
  it('a server requires masked frames; a client refuses masked ones', () => {
    expectViolation(new WebSocketFrameParser({ role: 'server' }), hex('81 05 48 65 6c 6c 6f'), CloseCode.protocolError);
    expectViolation(new WebSocketFrameParser({ role: 'client' }), hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'), CloseCode.protocolError);
  });

  it('reserved bits, unknown opcodes, fragmented or long control frames', () => {
    expectViolation(new WebSocketFrameParser({ role: 'client' }), hex('c1 00'), CloseCode.protocolError);
    expectViolation(new WebSocketFrameParser({ role: 'client' }), hex('83 00'), CloseCode.protocolError);
    expectViolation(new WebSocketFrameParser({ role: 'client' }), hex('8b 00'), CloseCode.protocolError);
    expectViolation(new WebSocketFrameParser({ role: 'client' }), hex('09 00'), CloseCode.protocolError);
    expectViolation(new WebSocketFrameParser({ role: 'client' }), hex('89 7e 00 7e'), CloseCode.protocolError);
  });

  it('continuation without a start, and a new message inside a fragmented one', () => {
    expectViolation(new WebSocketFrameParser({ role: 'client' }), hex('80 01 41'), CloseCode.protocolError);
    const p = new WebSocketFrameParser({ role: 'client' });
    p.push(hex('01 01 41'));
    expectViolation(p, hex('81 01 41'), CloseCode.protocolError);
  });

  it('length limits: frame, message, 64-bit MSB, non-minimal encodings', () => {
    expectViolation(new WebSocketFrameParser({ role: 'client', maxFrameBytes: 10 }), hex('82 0b'), CloseCode.messageTooBig);
    const p = new WebSocketFrameParser({ role: 'client', maxMessageBytes: 10 });
    p.push(hex('02 06 00 00 00 00 00 00'));
    expectViolation(p, hex('80 06'), CloseCode.messageTooBig);
    expectViolation(new WebSocketFrameParser({ role: 'client' }), hex('82 7f 80 00 00 00 00 00 00 00'), CloseCode.protocolError);
    expectViolation(new WebSocketFrameParser({ role: 'client' }), hex('82 7f 00 00 00 01 00 00 00 00'), CloseCode.messageTooBig);
    expectViolation(new WebSocketFrameParser({ role: 'client' }), hex('82 7e 00 05'), CloseCode.protocolError);
  });

  it('invalid UTF-8 in a text message is 1007; binary is taken as is', () => {
    expectViolation(new WebSocketFrameParser({ role: 'client' }), hex('81 02 c3 28'), CloseCode.invalidPayload);
    expect(new WebSocketFrameParser({ role: 'client' }).push(hex('82 02 c3 28'))).toEqual([{ type: 'message', binary: true, data: hex('c3 28') }]);
  });

  it('stays failed after a violation', () => {
    const p = new WebSocketFrameParser({ role: 'client' });
    expectViolation(p, hex('c1 00'), CloseCode.protocolError);
    expectViolation(p, hex('81 00'), CloseCode.protocolError);
  });
});

const frameArb = fc.record({
  binary: fc.boolean(),
  text: fc.string({ maxLength: 300, unit: 'grapheme' }),
  bytes: fc.uint8Array({ maxLength: 70_000 }),
  masked: fc.boolean(),
  pieces: fc.integer({ min: 1, max: 5 }),
});

describe('properties', () => {
  it('random messages round-trip, masked or not, fragmented into continuation frames, fed in random chunks', () => {
    fc.assert(
      fc.property(frameArb, fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 20 }), (m, cuts) => {
        const payload = m.binary ? Buffer.from(m.bytes) : Buffer.from(m.text, 'utf8');
        // Fragments: split the payload into `pieces` parts (text fragments may split a UTF-8 sequence: allowed, §5.6).
        const parts: Buffer[] = [];
        const step = Math.ceil(payload.length / m.pieces) || 1;
        for (let i = 0; i < payload.length; i += step) parts.push(payload.subarray(i, i + step));
        if (parts.length === 0) parts.push(Buffer.alloc(0));
        const wire = Buffer.concat(
          parts.map((part, i) =>
            serializeWebSocketFrame({
              fin: i === parts.length - 1,
              opcode: i === 0 ? (m.binary ? Opcode.binary : Opcode.text) : Opcode.continuation,
              payload: part,
              mask: m.masked ? Buffer.from([i, 0x5a, 0xa5, 0xff]) : undefined,
            }),
          ),
        );
        const parser = new WebSocketFrameParser({ role: m.masked ? 'server' : 'client', maxFrameBytes: 100_000, maxMessageBytes: 100_000 });
        const events: WebSocketEvent[] = [];
        let at = 0;
        let k = 0;
        while (at < wire.length) {
          const n = cuts[k++ % cuts.length]!;
          events.push(...parser.push(wire.subarray(at, at + n)));
          at += n;
        }
        expect(events).toEqual([{ type: 'message', binary: m.binary, data: payload }]);
        expect(parser.buffered).toBe(0);
      }),
      { numRuns: 150 },
    );
  });

  it('random bytes never throw anything but WebSocketProtocolError, and memory stays bounded', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }), fc.constantFrom<'server' | 'client'>('server', 'client'), (chunks, role) => {
        const parser = new WebSocketFrameParser({ role, maxFrameBytes: 1000, maxMessageBytes: 2000 });
        for (const c of chunks) {
          try {
            parser.push(c);
          } catch (e) {
            expect(e).toBeInstanceOf(WebSocketProtocolError);
            expect([1002, 1007, 1009]).toContain((e as WebSocketProtocolError).closeCode);
            return;
          }
          expect(parser.buffered).toBeLessThanOrEqual(2000 + 1000 + 14 + 300);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('mutated valid frames never throw anything but WebSocketProtocolError', () => {
    fc.assert(
      fc.property(frameArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (m, flips) => {
        const wire = serializeWebSocketFrame({ fin: true, opcode: m.binary ? Opcode.binary : Opcode.text, payload: Buffer.from(m.text), mask: m.masked ? Buffer.from([1, 2, 3, 4]) : undefined });
        for (const [i, v] of flips) wire[i % wire.length] = v;
        try {
          new WebSocketFrameParser({ role: m.masked ? 'server' : 'client' }).push(wire);
        } catch (e) {
          expect(e).toBeInstanceOf(WebSocketProtocolError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
