import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseMessage, parseNameAddr, parseUri, type SipRequest, type SipResponse } from '../../../src/sip/message/index.js';
import { Dialog, dialogIdOfIncoming, dialogKey, isTargetRefresh } from '../../../src/sip/dialog/index.js';
import { toContact } from '../../../src/sip/dialog/dialog.js';

function parse<T>(text: string): T {
  return parseMessage(Buffer.from(text.replace(/\n/g, '\r\n'), 'latin1')) as T;
}

const INVITE = `INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8
Record-Route: <sip:p2.example.com;lr>
Record-Route: <sip:p1.example.com;lr>
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.atlanta.example.com>
Content-Length: 0

`;

const OK = `SIP/2.0 200 OK
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8
Record-Route: <sip:p2.example.com;lr>
Record-Route: <sip:p1.example.com;lr>
To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Contact: <sip:bob@192.0.2.4>
Content-Length: 0

`;

const contact = toContact('<sip:me@192.0.2.1:5060>');

describe('dialog ids (§12)', () => {
  it('takes local and remote tags from To/From by direction', () => {
    const ok = parse<SipResponse>(OK);
    expect(dialogIdOfIncoming(ok)).toEqual({ callId: 'a84b4c76e66710', localTag: '1928301774', remoteTag: 'a6c85cf' });
    const bye = parse<SipRequest>(OK.replace('SIP/2.0 200 OK', 'BYE sip:bob@192.0.2.4 SIP/2.0').replace('314159 INVITE', '314160 BYE'));
    expect(dialogIdOfIncoming(bye)).toEqual({ callId: 'a84b4c76e66710', localTag: 'a6c85cf', remoteTag: '1928301774' });
    expect(dialogIdOfIncoming(parse<SipRequest>(INVITE))).toBeUndefined();
    expect(dialogKey({ callId: 'a', localTag: 'b', remoteTag: 'c' })).not.toBe(dialogKey({ callId: 'a', localTag: 'c', remoteTag: 'b' }));
  });
});

describe('Dialog', () => {
  it('UAS: route set is Record-Route in order, remote target the Contact, remote CSeq the INVITE (§12.1.1)', () => {
    const d = Dialog.fromUasResponse(parse<SipRequest>(INVITE), parse<SipResponse>(OK), contact);
    expect(d.role).toBe('uas');
    expect(d.state).toBe('confirmed');
    expect(d.routeSet.map(String)).toEqual(['<sip:p2.example.com;lr>', '<sip:p1.example.com;lr>']);
    expect(String(d.remoteTarget)).toBe('sip:alice@pc33.atlanta.example.com');
    expect(d.remoteSeq).toBe(314159);
    expect(d.localSeq).toBeUndefined();
    expect(d.id).toEqual({ callId: 'a84b4c76e66710', localTag: 'a6c85cf', remoteTag: '1928301774' });
    const bye = d.createRequest('BYE', { via: 'SIP/2.0/UDP me' }, () => 777);
    expect(bye.cseq).toEqual({ seq: 777, method: 'BYE' });
    expect(bye.uriString).toBe('sip:alice@pc33.atlanta.example.com');
    expect(bye.getAll('Route')).toEqual(['<sip:p2.example.com;lr>', '<sip:p1.example.com;lr>']);
    expect(bye.from.tag).toBe('a6c85cf');
    expect(bye.to.tag).toBe('1928301774');
    expect(String(d.nextHop())).toBe('sip:p2.example.com;lr');
    expect(d.createRequest('INFO', {}, () => 1).cseq.seq).toBe(778);
  });

  it('UAC: route set is Record-Route reversed, local CSeq the INVITE (§12.1.2); loose routing', () => {
    const d = Dialog.fromUacResponse(parse<SipRequest>(INVITE), parse<SipResponse>(OK), contact);
    expect(d.role).toBe('uac');
    expect(d.routeSet.map(String)).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    expect(d.localSeq).toBe(314159);
    expect(d.remoteSeq).toBeUndefined();
    const reinvite = d.createRequest('INVITE');
    expect(reinvite.cseq.seq).toBe(314160);
    expect(reinvite.uriString).toBe('sip:bob@192.0.2.4');
    expect(reinvite.getAll('Route')).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    expect(reinvite.contacts.map((c) => String(c.uri))).toEqual(['sip:me@192.0.2.1:5060']);
    const ack = d.createRequest('ACK', { cseq: 314159 });
    expect(ack.cseq).toEqual({ seq: 314159, method: 'ACK' });
    expect(d.localSeq).toBe(314160); // ACK does not count
    expect(d.createRequest('BYE').has('Contact')).toBe(false);
  });

  it('strict routing: first route becomes the Request-URI, the remote target the last Route (§12.2.1.1)', () => {
    const ok = parse<SipResponse>(
      OK.replace('Record-Route: <sip:p2.example.com;lr>\nRecord-Route: <sip:p1.example.com;lr>', 'Record-Route: <sip:p2.example.com;lr>, <sip:strict.example.com;method=INVITE?X=1>'),
    );
    const d = Dialog.fromUacResponse(parse<SipRequest>(INVITE), ok, contact);
    expect(d.strictRouting).toBe(true);
    const bye = d.createRequest('BYE');
    expect(bye.uriString).toBe('sip:strict.example.com');
    expect(bye.getAll('Route')).toEqual(['<sip:p2.example.com;lr>', '<sip:bob@192.0.2.4>']);
    expect(String(d.nextHop())).toBe('sip:strict.example.com;method=INVITE?X=1');
  });

  it('CSeq: lower than the remote CSeq is out of order (§12.2.2); ACK is not checked', () => {
    const d = Dialog.fromUasResponse(parse<SipRequest>(INVITE), parse<SipResponse>(OK), contact);
    const req = (seq: number, method = 'INFO') =>
      parse<SipRequest>(INVITE.replace('INVITE sip', `${method} sip`).replace('314159 INVITE', `${seq} ${method}`));
    expect(d.receiveRequest(req(314158))).toBe('out-of-order');
    expect(d.receiveRequest(req(314160))).toBe('in-order');
    expect(d.remoteSeq).toBe(314160);
    expect(d.receiveRequest(req(314159, 'ACK'))).toBe('in-order');
    expect(d.remoteSeq).toBe(314160);
    expect(d.receiveRequest(req(314159))).toBe('out-of-order');
  });

  it('target refresh replaces the remote target with the Contact; early dialogs recompute the route set on 2xx', () => {
    const ringing = parse<SipResponse>(OK.replace('200 OK', '180 Ringing').replace(/Record-Route: [^\n]*\n/g, ''));
    const d = Dialog.fromUacResponse(parse<SipRequest>(INVITE), ringing, contact);
    expect(d.state).toBe('early');
    expect(d.routeSet).toEqual([]);
    d.confirm(parse<SipResponse>(OK.replace('sip:bob@192.0.2.4', 'sip:bob@192.0.2.5')));
    expect(d.state).toBe('confirmed');
    expect(d.routeSet.map(String)).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    expect(String(d.remoteTarget)).toBe('sip:bob@192.0.2.5');
    expect(d.refreshTarget(parse<SipResponse>(OK.replace('Contact: <sip:bob@192.0.2.4>\n', '')))).toBe(false);
    const update = parse<SipRequest>(INVITE.replace('INVITE sip', 'UPDATE sip').replace('314159 INVITE', '314160 UPDATE'));
    const info = parse<SipRequest>(INVITE.replace('INVITE sip', 'INFO sip').replace('314159 INVITE', '314161 INFO'));
    const moved = parse<SipResponse>(OK.replace('sip:bob@192.0.2.4', 'sip:bob@192.0.2.6'));
    expect(d.receiveResponse(info, moved)).toBe(false); // INFO is no target refresh
    expect(d.receiveResponse(update, parse<SipResponse>(OK.replace('200 OK', '488 Not Acceptable Here').replace('sip:bob@192.0.2.4', 'sip:bob@192.0.2.6')))).toBe(false);
    expect(String(d.remoteTarget)).toBe('sip:bob@192.0.2.5');
    expect(d.receiveResponse(update, moved)).toBe(true);
    expect(String(d.remoteTarget)).toBe('sip:bob@192.0.2.6');
    expect(isTargetRefresh('UPDATE')).toBe(true);
    expect(isTargetRefresh('INFO')).toBe(false);
    d.state = 'terminated';
    expect(() => d.createRequest('BYE')).toThrow(RangeError);
  });
});

describe('Dialog.createRequest routing (property)', () => {
  it('loose or strict, the wire form carries the route set and the remote target as §12.2.1.1 says', () => {
    const route = fc.record({ host: fc.constantFrom('p1.test', 'p2.test', '192.0.2.9', '[2001:db8::1]'), lr: fc.boolean(), port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(route, { maxLength: 5 }), fc.constantFrom('sip:bob@192.0.2.4', 'sips:bob@example.com:5061;transport=tcp'), (routes, target) => {
        const rs = routes.map((r) => parseNameAddr(`<sip:${r.host}${r.port === undefined ? '' : `:${r.port}`}${r.lr ? ';lr' : ''}>`));
        const d = new Dialog({
          id: { callId: 'c', localTag: 'l', remoteTag: 'r' },
          role: 'uac',
          state: 'confirmed',
          localUri: parseNameAddr('<sip:alice@example.com>'),
          remoteUri: parseNameAddr('<sip:bob@example.com>'),
          localSeq: 5,
          remoteSeq: undefined,
          routeSet: rs,
          remoteTarget: parseUri(target),
          secure: false,
          localContact: contact,
        });
        const wire = parseMessage(d.createRequest('INFO', { via: 'SIP/2.0/UDP a.test;branch=z9hG4bK1' }).toBuffer()) as SipRequest;
        const routeValues = wire.routes.map((r) => r.uri.toString());
        const first = routes[0];
        if (first === undefined || first.lr) {
          expect(wire.uriString).toBe(target);
          expect(routeValues).toEqual(rs.map((r) => r.uri.toString()));
          expect(d.nextHop().toString()).toBe(first === undefined ? target : rs[0]!.uri.toString());
        } else {
          expect(wire.uriString).toBe(rs[0]!.uri.toString());
          expect(routeValues).toEqual([...rs.slice(1).map((r) => r.uri.toString()), target]);
          expect(d.nextHop().toString()).toBe(wire.uriString);
        }
        expect(wire.cseq).toEqual({ seq: 6, method: 'INFO' });
        expect([wire.from.tag, wire.to.tag, wire.callId]).toEqual(['l', 'r', 'c']);
      }),
    );
  });
});
