/** The transaction layer: matching (§17.1.3, §17.2.3, RFC 2543), CANCEL (§9), the limit, clean-up. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SipRequest, createResponse, parseMessage, serializeMessage, type SipResponse } from '../../../src/sip/message/index.js';
import {
  TransactionError,
  TransactionLayer,
  type InviteClientTransaction,
  type InviteServerTransaction,
  type ServerTransaction,
} from '../../../src/sip/transaction/index.js';
import { PEER, PEER_TCP, inbound, outgoing, parseRequest, request, responseTo, setup } from './harness.js';

const fixtures = join(__dirname, '../../fixtures/rfc4475');
const fixture = (path: string): SipRequest => {
  const m = parseMessage(readFileSync(join(fixtures, path)));
  if (!m.isRequest) throw new Error('fixture is not a request');
  return m;
};

describe('client side', () => {
  it('adds an RFC 3261 branch from the injected randomness when the top Via has none', () => {
    const { layer, transport } = setup();
    const req = outgoing('OPTIONS');
    expect(req.topVia!.branch).toBeUndefined();
    const tx = layer.sendRequest(req, PEER);
    const via = transport.requests('OPTIONS')[0]!.topVia!;
    expect(via.hasRfc3261Branch).toBe(true);
    expect(via.branch).toBe('z9hG4bK1f262d343b424950');
    expect(req.via).toHaveLength(2); // only the top value changed
    expect(req.via[1]!.host).toBe('bigbox3.site3.atlanta.example.com');
    expect(tx.key).toContain(via.branch!);
  });

  it('keeps a branch the TU chose', () => {
    const { layer, transport } = setup();
    layer.sendRequest(outgoing('OPTIONS', { branch: 'z9hG4bKmine' }), PEER);
    expect(transport.requests()[0]!.topVia!.branch).toBe('z9hG4bKmine');
  });

  it('refuses an ACK, a request without Via, and a branch already in use', () => {
    const { layer } = setup();
    expect(() => layer.sendRequest(outgoing('ACK'), PEER)).toThrow(TransactionError);
    const noVia = new SipRequest('OPTIONS', 'sip:bob@example.com', [['CSeq', '1 OPTIONS']]);
    expect(() => layer.sendRequest(noVia, PEER)).toThrow(/no Via/);
    layer.sendRequest(outgoing('OPTIONS', { branch: 'z9hG4bKdup' }), PEER);
    expect(() => layer.sendRequest(outgoing('OPTIONS', { branch: 'z9hG4bKdup' }), PEER)).toThrow(/already running/);
    expect(layer.clientTransactionCount).toBe(1);
  });

  it('matches responses by branch and CSeq method (§17.1.3); others are stray', () => {
    const { layer, user } = setup();
    const finals: string[] = [];
    const inv = layer.sendRequest(outgoing('INVITE'), PEER, { onFinal: (r) => finals.push(`INVITE ${r.status}`) });
    const opt = layer.sendRequest(outgoing('OPTIONS'), PEER, { onFinal: (r) => finals.push(`OPTIONS ${r.status}`) });
    // Same branch as the INVITE, CSeq method CANCEL: not the INVITE's.
    const cancelResponse = responseTo(layer.createCancel(inv as InviteClientTransaction), 200);
    layer.receive(inbound(cancelResponse));
    expect(user.strays).toHaveLength(1);
    // Another branch: stray.
    layer.receive(inbound(responseTo(outgoing('OPTIONS', { branch: 'z9hG4bKunknown' }), 200)));
    expect(user.strays).toHaveLength(2);
    // A response without a branch: stray.
    layer.receive(inbound(responseTo(request('OPTIONS', { branch: null }), 200)));
    expect(user.strays).toHaveLength(3);
    layer.receive(inbound(responseTo(opt.request, 200)));
    layer.receive(inbound(responseTo(inv.request, 404)));
    expect(finals).toEqual(['OPTIONS 200', 'INVITE 404']);
  });

  it('builds the ACK for a non-2xx per §17.1.1.3, byte for byte', () => {
    const { layer, transport } = setup();
    const invite = parseRequest(`INVITE sip:bob@biloxi.example.com;transport=udp SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKnashds8;rport
Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKinner
Max-Forwards: 69
To: "Bob" <sip:bob@biloxi.example.com>
From: "Alice" <sip:alice@atlanta.example.com>;tag=9fxced76sl
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 31862 INVITE
Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>
Route: <sip:p3.example.com;lr>
Contact: <sip:alice@pc33.atlanta.example.com>
Content-Type: application/sdp
Content-Length: 4

v=0
`);
    layer.sendRequest(invite, PEER);
    // The response as a peer wrote it: To with the tag it added, spacing of its own.
    const busy = parseMessage(
      Buffer.from(
        [
          'SIP/2.0 486 Busy Here',
          'v: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKnashds8;rport=5060;received=192.0.2.1',
          'Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKinner',
          't:   "Bob"  <sip:bob@biloxi.example.com> ;tag=bobtag77',
          'From: "Alice" <sip:alice@atlanta.example.com>;tag=9fxced76sl',
          'Call-ID: 3848276298220188511@atlanta.example.com',
          'CSeq: 31862 INVITE',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
        'latin1',
      ),
    );
    layer.receive(inbound(busy));
    const ack = transport.requests('ACK')[0]!;
    expect(serializeMessage(ack).toString('latin1')).toBe(
      [
        'ACK sip:bob@biloxi.example.com;transport=udp SIP/2.0',
        'Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKnashds8;rport',
        'Max-Forwards: 69',
        'From: "Alice" <sip:alice@atlanta.example.com>;tag=9fxced76sl',
        'To: "Bob"  <sip:bob@biloxi.example.com> ;tag=bobtag77',
        'Call-ID: 3848276298220188511@atlanta.example.com',
        'CSeq: 31862 ACK',
        'Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>',
        'Route: <sip:p3.example.com;lr>',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
  });

  it('the ACK takes only the top value of a Via line holding several', () => {
    const { layer, transport } = setup();
    const invite = parseRequest(`INVITE sip:bob@b.example.com SIP/2.0
Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKtop, SIP/2.0/UDP c.example.com;branch=z9hG4bKnext
To: <sip:bob@b.example.com>
From: <sip:alice@a.example.com>;tag=1
Call-ID: multi-via
CSeq: 1 INVITE
Content-Length: 0

`);
    layer.sendRequest(invite, PEER);
    layer.receive(inbound(responseTo(invite, 500)));
    const ack = transport.requests('ACK')[0]!;
    expect(ack.getAll('Via')).toEqual(['SIP/2.0/UDP a.example.com;branch=z9hG4bKtop']);
    expect(ack.has('Route')).toBe(false);
  });

  it('creates the CANCEL per §9.1, byte for byte, and runs it as its own transaction', () => {
    const { layer, transport } = setup();
    const events: string[] = [];
    const inv = layer.sendRequest(request('INVITE', { sentBy: '192.0.2.1:5060', branch: 'z9hG4bKinv1' }), PEER, {
      onFinal: (r) => events.push(`INVITE ${r.status}`),
    }) as InviteClientTransaction;
    layer.receive(inbound(responseTo(inv.request, 180)));
    const cancel = layer.createCancel(inv);
    expect(serializeMessage(cancel).toString('latin1')).toBe(
      [
        'CANCEL sip:bob@biloxi.example.com SIP/2.0',
        'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKinv1',
        'Max-Forwards: 70',
        'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
        'To: Bob <sip:bob@biloxi.example.com>',
        'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
        'CSeq: 314159 CANCEL',
        'Route: <sip:p1.example.com;lr>',
        'Route: <sip:p2.example.com;lr>',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
    const ctx = layer.sendRequest(cancel, inv.destination, { onFinal: (r) => events.push(`CANCEL ${r.status}`) });
    expect(ctx.kind).toBe('non-invite-client');
    expect(layer.clientTransactionCount).toBe(2);
    layer.receive(inbound(responseTo(cancel, 200)));
    layer.receive(inbound(responseTo(inv.request, 487)));
    expect(events).toEqual(['CANCEL 200', 'INVITE 487']);
    expect(transport.requests('ACK')).toHaveLength(1);
    expect(() => layer.createCancel({ request: outgoing('BYE') } as InviteClientTransaction)).toThrow(TypeError);
  });

  it('sendStateless hands a message straight to the transport', async () => {
    const { layer, transport } = setup();
    await layer.sendStateless(outgoing('ACK', { branch: 'z9hG4bKack' }), PEER);
    expect(transport.requests('ACK')).toHaveLength(1);
    expect(layer.clientTransactionCount).toBe(0);
    transport.failNext = 1;
    await expect(layer.sendStateless(outgoing('ACK', { branch: 'z9hG4bKack' }), PEER)).rejects.toThrow('ECONNREFUSED');
  });
});

describe('server side matching (§17.2.3)', () => {
  it('a request with the same branch but another sent-by or method is a new transaction', () => {
    const { layer, user } = setup({ tryingDelay: null });
    layer.receive(inbound(request('OPTIONS')));
    layer.receive(inbound(request('OPTIONS', { sentBy: 'PC33.ATLANTA.example.com' }))); // host case-insensitive
    expect(user.requests).toHaveLength(1);
    layer.receive(inbound(request('OPTIONS', { sentBy: 'pc33.atlanta.example.com:5070' })));
    layer.receive(inbound(request('INFO')));
    layer.receive(inbound(request('OPTIONS', { branch: 'z9hG4bKother' })));
    expect(user.requests).toHaveLength(4);
    expect(layer.serverTransactionCount).toBe(4);
  });

  it('an ACK with the INVITE branch belongs to the INVITE transaction; others are stray', () => {
    const { layer, user } = setup({ tryingDelay: null });
    let ist: InviteServerTransaction | undefined;
    user.onRequestHook = (tx) => {
      ist = tx as InviteServerTransaction;
      tx.respond(createResponse(tx.request, 603, undefined, { toTag: 't' }));
    };
    layer.receive(inbound(request('INVITE')));
    layer.receive(inbound(request('ACK', { branch: 'z9hG4bKnew', toTag: 't' })));
    expect(user.strays).toHaveLength(1);
    expect(ist!.state).toBe('completed');
    layer.receive(inbound(request('ACK', { toTag: 't' })));
    expect(ist!.state).toBe('confirmed');
    expect(user.strays).toHaveLength(1);
    expect(user.requests).toHaveLength(1); // ACKs never reach onRequest
  });

  it('a CANCEL matching a pending INVITE: 200 (with the INVITE responses\u2019 To tag), onCancel, the TU answers 487', () => {
    const { layer, user, transport } = setup({ tryingDelay: null });
    let ist: InviteServerTransaction | undefined;
    user.onRequestHook = (tx) => {
      ist = tx as InviteServerTransaction;
      tx.respond(createResponse(tx.request, 180, undefined, { toTag: 'ring1' }));
    };
    const cancelled: string[] = [];
    user.onCancel = (tx, cancel) => {
      cancelled.push(cancel.message.isRequest ? cancel.message.method : '');
      tx.respond(createResponse(tx.request, 487, undefined, { toTag: 'ring1' }));
    };
    layer.receive(inbound(request('INVITE')));
    layer.receive(inbound(request('CANCEL')));
    expect(cancelled).toEqual(['CANCEL']);
    const ok = transport.responses(200)[0]!;
    expect(ok.cseq).toEqual({ seq: 314159, method: 'CANCEL' });
    expect(ok.to.tag).toBe('ring1');
    expect(transport.responses(487)).toHaveLength(1);
    expect(ist!.state).toBe('completed');
    // A retransmitted CANCEL matches the CANCEL's own transaction: 200 again, no second onCancel.
    layer.receive(inbound(request('CANCEL')));
    expect(transport.responses(200)).toHaveLength(2);
    expect(cancelled).toHaveLength(1);
    expect(user.requests).toHaveLength(1); // CANCEL is handled by the layer, not onRequest
    expect(layer.serverTransactionCount).toBe(2);
  });

  it('without onCancel the layer answers the INVITE 487 itself', () => {
    const { layer, transport } = setup({ tryingDelay: null });
    layer.receive(inbound(request('INVITE')));
    layer.receive(inbound(request('CANCEL')));
    expect(transport.responses().map((r) => [r.status, r.cseq.method])).toEqual([
      [200, 'CANCEL'],
      [487, 'INVITE'],
    ]);
    const [ok, terminated] = transport.responses() as [SipResponse, SipResponse];
    expect(ok.to.tag).toBe(terminated.to.tag);
  });

  it('a CANCEL after the final response gets 200 but has no effect; one for nothing gets 481', () => {
    const { layer, user, transport } = setup({ tryingDelay: null });
    user.onRequestHook = (tx) => tx.respond(createResponse(tx.request, 200, undefined, { toTag: 'ok' }));
    let called = false;
    user.onCancel = () => {
      called = true;
    };
    layer.receive(inbound(request('INVITE')));
    layer.receive(inbound(request('CANCEL')));
    expect(called).toBe(false);
    expect(transport.responses().map((r) => `${r.status} ${r.cseq.method} ${r.to.tag}`)).toEqual(['200 INVITE ok', '200 CANCEL ok']);
    layer.receive(inbound(request('CANCEL', { branch: 'z9hG4bKnothing' })));
    expect(transport.responses().at(-1)!.status).toBe(481);
  });

  it('RFC 2543 fallback: badbranch.dat (branch is only the cookie) matches by the 2543 tuple', () => {
    const { layer, user, transport } = setup();
    const req = fixture('transaction/badbranch.dat');
    expect(req.topVia!.hasRfc3261Branch).toBe(false);
    user.onRequestHook = (tx) => tx.respond(createResponse(tx.request, 200, undefined, { toTag: 'bb' }));
    layer.receive(inbound(req));
    layer.receive(inbound(fixture('transaction/badbranch.dat'))); // a retransmission
    expect(user.requests).toHaveLength(1);
    expect(transport.responses(200)).toHaveLength(2);
    // Anything in the tuple differs: a new transaction.
    const text = readFileSync(join(fixtures, 'transaction/badbranch.dat'), 'latin1');
    for (const [from, to] of [
      ['tag=33242', 'tag=33243'],
      ['CSeq: 8', 'CSeq: 9'],
      ['Call-ID: badbranch.', 'Call-ID: xbadbranch.'],
      ['OPTIONS sip:user@example.com', 'OPTIONS sip:user2@example.com'],
      ['To: sip:user@example.com', 'To: sip:user@example.com;tag=x'],
      ['192.0.2.1;branch', '192.0.2.2;branch'],
    ] as const) {
      layer.receive(inbound(parseMessage(Buffer.from(text.replace(from, to), 'latin1'))));
    }
    expect(user.requests).toHaveLength(7);
  });

  it('RFC 2543 fallback: inv2543.dat, its retransmission, its ACK (by the response To tag) and its CANCEL', () => {
    const { layer, user, transport } = setup({ tryingDelay: null });
    const text = readFileSync(join(fixtures, 'compat/inv2543.dat'), 'latin1');
    let ist: InviteServerTransaction | undefined;
    user.onRequestHook = (tx) => {
      ist = tx as InviteServerTransaction;
      tx.respond(createResponse(tx.request, 180, undefined, { toTag: 'x2543' }));
    };
    layer.receive(inbound(fixture('compat/inv2543.dat')));
    expect(ist!.request.topVia!.branch).toBeUndefined();
    layer.receive(inbound(fixture('compat/inv2543.dat')));
    expect(transport.responses().map((r) => r.status)).toEqual([180, 180]);
    // CANCEL: same tuple, method CANCEL.
    const cancelText = text
      .replace('INVITE sip:UserB', 'CANCEL sip:UserB')
      .replace('CSeq: 56 INVITE', 'CSeq: 56 CANCEL')
      .replace(/Content-Type[^]*$/, 'Content-Length: 0\r\n\r\n');
    layer.receive(inbound(parseMessage(Buffer.from(cancelText, 'latin1'))));
    expect(transport.responses().map((r) => `${r.status} ${r.cseq.method}`)).toEqual(['180 INVITE', '180 INVITE', '200 CANCEL', '487 INVITE']);
    expect(ist!.state).toBe('completed');
    const ackText = (tag: string): string =>
      text
        .replace('INVITE sip:UserB', 'ACK sip:UserB')
        .replace('CSeq: 56 INVITE', 'CSeq: 56 ACK')
        .replace('To: sip:+16505552222@ss1.example.net;user=phone', `To: sip:+16505552222@ss1.example.net;user=phone;tag=${tag}`)
        .replace(/Content-Type[^]*$/, 'Content-Length: 0\r\n\r\n');
    // The 487 carries the To tag of the 180 (§9.2); an ACK with another tag matches nothing.
    expect(transport.responses(487)[0]!.to.tag).toBe('x2543');
    layer.receive(inbound(parseMessage(Buffer.from(ackText('wrong'), 'latin1'))));
    expect(user.strays).toHaveLength(1);
    expect(ist!.state).toBe('completed');
    layer.receive(inbound(parseMessage(Buffer.from(ackText('x2543'), 'latin1'))));
    expect(ist!.state).toBe('confirmed');
    expect(user.strays).toHaveLength(1);
  });

  it('RFC 2543: an ACK for a 2xx matching the INVITE in Accepted goes to onAck', () => {
    const { layer, user } = setup({ tryingDelay: null });
    user.onRequestHook = (tx) => tx.respond(createResponse(tx.request, 200, undefined, { toTag: 'acc' }));
    layer.receive(inbound(request('INVITE', { branch: null })));
    layer.receive(inbound(request('ACK', { branch: null, toTag: 'acc' })));
    expect(user.acks).toHaveLength(1);
    expect(user.strays).toHaveLength(0);
    // A re-INVITE (To tag present) and its ACK.
    layer.receive(inbound(request('INVITE', { branch: null, toTag: 'acc', seq: 314160 })));
    layer.receive(inbound(request('ACK', { branch: null, toTag: 'acc', seq: 314160 })));
    expect(user.requests).toHaveLength(2);
    expect(user.acks).toHaveLength(2);
  });
});

describe('limits and robustness', () => {
  it('a full table answers new requests 503 with Retry-After, statelessly; retransmissions still match', () => {
    const { layer, user, transport } = setup({ maxTransactions: 2, retryAfter: 30, tryingDelay: null });
    const held: ServerTransaction[] = [];
    user.onRequestHook = (tx) => held.push(tx);
    layer.receive(inbound(request('INVITE', { branch: 'z9hG4bK1' })));
    layer.receive(inbound(request('OPTIONS', { branch: 'z9hG4bK2' })));
    layer.receive(inbound(request('OPTIONS', { branch: 'z9hG4bK3' })));
    layer.receive(inbound(request('CANCEL', { branch: 'z9hG4bK4' })));
    expect(layer.serverTransactionCount).toBe(2);
    expect(user.requests).toHaveLength(2);
    const busy = transport.responses(503);
    expect(busy).toHaveLength(2);
    expect(busy[0]!.get('Retry-After')).toBe('30');
    expect(busy[0]!.topVia!.branch).toBe('z9hG4bK3');
    expect(busy[1]!.cseq.method).toBe('CANCEL');
    // A CANCEL for the call in progress is still honoured, statelessly (no transaction stored).
    layer.receive(inbound(request('CANCEL', { branch: 'z9hG4bK1' })));
    expect(transport.responses().slice(-2).map((r) => `${r.status} ${r.cseq.method}`)).toEqual(['200 CANCEL', '487 INVITE']);
    expect(layer.serverTransactionCount).toBe(2);
    expect(held[0]!.state).toBe('completed');
    // An existing transaction still absorbs its retransmission.
    held[1]!.respond(createResponse(held[1]!.request, 200));
    layer.receive(inbound(request('OPTIONS', { branch: 'z9hG4bK2' })));
    expect(transport.responses(200).filter((r) => r.cseq.method === 'OPTIONS')).toHaveLength(2);
    // ACKs create nothing, full or not.
    layer.receive(inbound(request('ACK', { branch: 'z9hG4bK9' })));
    expect(user.strays).toHaveLength(1);
    expect(transport.responses(503)).toHaveLength(2);
  });

  it('malformed requests get a stateless 400 with the reason; malformed responses and ACKs are dropped', () => {
    const { layer, user, transport } = setup();
    const raw = (text: string) => parseMessage(Buffer.from(text.replace(/\n/g, '\r\n'), 'latin1'), { validate: false });
    layer.receive(
      inbound(raw('OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bKm\nFrom: <sip:x@y>;tag=1\nTo: <sip:a@b>\nCall-ID: c\nCSeq: nope\n\n')),
    );
    expect(transport.responses(400)).toHaveLength(1);
    expect(transport.responses(400)[0]!.reason).toMatch(/CSeq/);
    layer.receive(inbound(raw('OPTIONS sip:a@b SIP/2.0\nFrom: <sip:x@y>;tag=1\nTo: <sip:a@b>\nCall-ID: c\nCSeq: 1 OPTIONS\n\n')));
    expect(transport.responses(400)).toHaveLength(2);
    layer.receive(inbound(raw('ACK sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\nFrom: <sip:x@y>;tag=1\nTo: <<<\nCall-ID: c\nCSeq: 1 ACK\n\n')));
    layer.receive(inbound(raw('SIP/2.0 200 OK\nVia: SIP/2.0/UDP h;branch=z9hG4bKm\nCSeq: x\n\n')));
    layer.receive(inbound(raw('SIP/2.0 200 OK\nVia: ;;;\nCSeq: 1 OPTIONS\n\n')));
    expect(transport.sent).toHaveLength(2);
    expect(layer.serverTransactionCount).toBe(0);
    expect(user.requests).toHaveLength(0);
  });

  it('the maps return to empty once every transaction has run its timers', () => {
    const { layer, user, clock } = setup();
    user.onRequestHook = (tx) => {
      const status = tx.request.method === 'INVITE' ? (tx.request.callId.startsWith('ok') ? 200 : 486) : 200;
      tx.respond(createResponse(tx.request, status, undefined, { toTag: 'z' }));
    };
    for (let i = 0; i < 20; i++) {
      layer.receive(inbound(request('INVITE', { branch: `z9hG4bKi${i}`, callId: `${i % 2 ? 'ok' : 'no'}${i}` })));
      layer.receive(inbound(request('BYE', { branch: `z9hG4bKb${i}` })));
      layer.receive(inbound(request('MESSAGE', { branch: `z9hG4bKm${i}` }), PEER_TCP, 'c'));
      const inv = layer.sendRequest(outgoing('INVITE'), PEER);
      const opt = layer.sendRequest(outgoing('OPTIONS'), PEER_TCP);
      if (i % 3 === 0) layer.receive(inbound(responseTo(inv.request, 200)));
      if (i % 3 === 1) layer.receive(inbound(responseTo(inv.request, 486)));
      if (i % 2 === 0) layer.receive(inbound(responseTo(opt.request, 200)));
    }
    expect(layer.serverTransactionCount).toBe(40); // TCP MESSAGE transactions ended at once (J = 0)
    expect(layer.clientTransactionCount).toBeGreaterThan(0);
    clock.advance(64 * 500);
    clock.advance(64 * 500);
    expect(layer.serverTransactionCount).toBe(0);
    expect(layer.clientTransactionCount).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('close() terminates everything silently and cancels every timer', () => {
    const { layer, clock } = setup();
    let terminated = 0;
    layer.sendRequest(outgoing('INVITE'), PEER, { onTerminated: () => terminated++ });
    layer.receive(inbound(request('INVITE')));
    expect(clock.pending).toBeGreaterThan(0);
    layer.close();
    expect(layer.clientTransactionCount + layer.serverTransactionCount).toBe(0);
    expect(clock.pending).toBe(0);
    expect(terminated).toBe(0);
  });

  it('checks its options', () => {
    const { transport, user, clock } = setup();
    expect(() => new TransactionLayer({ transport, user, clock, maxTransactions: 0 })).toThrow(RangeError);
    expect(() => new TransactionLayer({ transport, user, clock, timers: { T1: 0 } })).toThrow(RangeError);
    expect(() => new TransactionLayer({ transport, user, clock, timers: { T2: Number.NaN } })).toThrow(RangeError);
    expect(() => new TransactionLayer({ transport, user, clock, tryingDelay: -1 })).toThrow(RangeError);
  });
});
