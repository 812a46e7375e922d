/**
 * The `externalDialogs` hook of the DialogManager: requests for dialogs the manager does not
 * hold, and non-INVITE requests outside any dialog, are offered to it before the manager's own
 * handling (481, onIncomingRequest); INVITEs and the manager's own dialogs never are.
 */
import { describe, expect, it } from 'vitest';
import { createResponse, SipRequest } from '../../../src/sip/message/index.js';
import type { ServerTransaction } from '../../../src/sip/transaction/index.js';
import { call, twoParties } from './harness.js';

function request(method: string, toTag: string | undefined, callId = 'ext-1'): SipRequest {
  const r = new SipRequest(method, 'sip:bob@bob.test');
  r.append('Via', 'SIP/2.0/UDP alice.test:5060;branch=z9hG4bK-' + method + callId + (toTag ?? ''));
  r.append('Max-Forwards', '70');
  r.append('From', '<sip:alice@alice.test>;tag=f1');
  r.append('To', '<sip:bob@bob.test>' + (toTag === undefined ? '' : `;tag=${toTag}`));
  r.append('Call-ID', callId);
  r.append('CSeq', `1 ${method}`);
  r.append('Contact', '<sip:alice@alice.test:5060>');
  return r;
}

describe('DialogManager externalDialogs', () => {
  it('offers an in-dialog request for an unknown dialog to the hook before answering 481', () => {
    const seen: string[] = [];
    const { clock, net, alice } = twoParties(
      {},
      {
        externalDialogs: {
          handle(tx: ServerTransaction) {
            seen.push(tx.request.method);
            if (tx.request.method !== 'NOTIFY') return false;
            tx.respond(createResponse(tx.request, 200));
            return true;
          },
        },
      },
    );
    alice.layer.sendRequest(request('NOTIFY', 'known-to-hook'), { protocol: 'udp', address: 'bob.test', port: 5060 });
    alice.layer.sendRequest(request('INFO', 'unknown', 'ext-2'), { protocol: 'udp', address: 'bob.test', port: 5060 });
    clock.advance(100);
    expect(seen).toEqual(['NOTIFY', 'INFO']);
    expect(net.responses(200, 'NOTIFY', 'bob.test')).toHaveLength(1);
    expect(net.responses(481, 'INFO', 'bob.test')).toHaveLength(1); // declined: the manager's 481
  });

  it('offers out-of-dialog non-INVITE requests first, and falls back to onIncomingRequest', () => {
    const seen: string[] = [];
    const { clock, net, alice, bob } = twoParties(
      {},
      {
        externalDialogs: {
          handle(tx: ServerTransaction) {
            seen.push(tx.request.method);
            if (tx.request.method !== 'SUBSCRIBE') return false;
            tx.respond(createResponse(tx.request, 489));
            return true;
          },
        },
      },
    );
    alice.layer.sendRequest(request('SUBSCRIBE', undefined), { protocol: 'udp', address: 'bob.test', port: 5060 });
    alice.layer.sendRequest(request('OPTIONS', undefined, 'ext-3'), { protocol: 'udp', address: 'bob.test', port: 5060 });
    clock.advance(100);
    expect(seen).toEqual(['SUBSCRIBE', 'OPTIONS']);
    expect(net.responses(489, 'SUBSCRIBE', 'bob.test')).toHaveLength(1);
    expect(bob.incoming.map((tx) => tx.request.method)).toEqual(['OPTIONS']);
  });

  it('never sees INVITEs nor requests inside the manager’s own dialogs', () => {
    const seen: string[] = [];
    const { clock, alice, bob } = twoParties({}, { externalDialogs: { handle: (tx) => (seen.push(tx.request.method), true) } });
    const { result } = call(alice, 'bob.test');
    clock.advance(100);
    expect(result.success).toHaveLength(1);
    alice.manager.request(result.success[0]![0], 'INFO', {}, {});
    clock.advance(100);
    expect(bob.requests.map(([, tx]) => tx.request.method)).toEqual(['INFO']);
    expect(seen).toEqual([]);
  });
});
