/**
 * The transport set under the transaction layer on both sides: a client TransactionLayer
 * sends a request through one set, a server TransactionLayer answers through another, over
 * UDP, TCP, TLS and WebSocket, on real sockets.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createResponse, type SipResponse } from '../../../src/sip/message/index.js';
import { TransactionLayer } from '../../../src/sip/transaction/index.js';
import type { TransportProtocol } from '../../../src/sip/transport/index.js';
import { closeSets, openSet, request, selfSignedCertificate } from './helpers.js';

let cert: { key: string; cert: string };
beforeAll(() => {
  cert = selfSignedCertificate();
});
const layers: TransactionLayer[] = [];
afterEach(async () => {
  for (const l of layers.splice(0)) l.close();
  await closeSets();
});

describe('TransactionLayer over SipTransportSet', () => {
  for (const protocol of ['udp', 'tcp', 'tls', 'ws', 'wss'] as TransportProtocol[]) {
    it(`completes an INVITE (180, 486, ACK) and an OPTIONS over ${protocol.toUpperCase()}`, async () => {
      const tls = protocol === 'tls' || protocol === 'wss' ? cert : undefined;
      const srvSet = await openSet({ listen: [{ protocol, address: '127.0.0.1', port: 0, ...(tls ? { tls } : {}) }] });
      const cliSet = await openSet({ listen: protocol === 'udp' ? [{ protocol: 'udp', address: '127.0.0.1', port: 0 }] : [], tlsClient: { ca: cert.cert } });
      const seen: string[] = [];
      const server = new TransactionLayer({
        transport: srvSet.set,
        tryingDelay: null,
        user: {
          onRequest(tx, inbound) {
            seen.push(`${tx.request.method} via ${inbound.source.protocol}${inbound.connectionId ? ' on a connection' : ''}`);
            if (tx.request.method === 'INVITE') {
              tx.respond(createResponse(tx.request, 180, undefined, { toTag: 'srv' }));
              tx.respond(createResponse(tx.request, 486, undefined, { toTag: 'srv' }));
            } else tx.respond(createResponse(tx.request, 200));
          },
        },
      });
      const client = new TransactionLayer({ transport: cliSet.set, user: { onRequest: (tx) => tx.respond(createResponse(tx.request, 501)) } });
      layers.push(server, client);
      srvSet.set.onMessage = (m) => server.receive(m);
      cliSet.set.onMessage = (m) => client.receive(m);
      const dest = srvSet.set.endpoints()[0]!;
      const sentBy = protocol === 'udp' ? cliSet.set.endpoints()[0]!.port : 5060;

      const invite = await new Promise<{ provisional: number[]; final: SipResponse }>((resolve, reject) => {
        const provisional: number[] = [];
        client.sendRequest(request(protocol, '127.0.0.1', sentBy, { method: 'INVITE', viaParams: ';rport' }), dest, {
          onProvisional: (r) => provisional.push(r.status),
          onFinal: (r) => resolve({ provisional, final: r }),
          onTimeout: () => reject(new Error('timeout')),
          onTransportError: (e) => reject(e),
        });
      });
      expect(invite.provisional).toEqual([180]);
      expect(invite.final.status).toBe(486);
      const options = await new Promise<SipResponse>((resolve, reject) => {
        client.sendRequest(request(protocol, '127.0.0.1', sentBy), dest, { onFinal: resolve, onTimeout: () => reject(new Error('timeout')), onTransportError: reject });
      });
      expect(options.status).toBe(200);
      expect(seen).toEqual(protocol === 'udp' ? ['INVITE via udp', 'OPTIONS via udp'] : [`INVITE via ${protocol} on a connection`, `OPTIONS via ${protocol} on a connection`]);
      // Connection-oriented: one connection carried everything (the ACK for the 486 included).
      if (protocol !== 'udp') {
        expect(cliSet.set.connections()).toHaveLength(1);
        expect(srvSet.set.connections()).toHaveLength(1);
      }
      expect(srvSet.set.stats.malformed + cliSet.set.stats.malformed).toBe(0);
      expect(srvSet.errors).toEqual([]);
    });
  }

  it('a client transaction reports a refused connection as a transport error (§17.1.4)', async () => {
    const cliSet = await openSet({ listen: [] });
    const client = new TransactionLayer({ transport: cliSet.set, user: { onRequest: () => undefined } });
    layers.push(client);
    const err = await new Promise<Error>((resolve) => {
      client.sendRequest(request('tcp'), { protocol: 'tcp', address: '127.0.0.1', port: 1 }, { onTransportError: resolve, onFinal: () => resolve(new Error('answered?')) });
    });
    expect(err.name).toBe('TransportError');
    expect(err.message).toMatch(/Cannot connect/);
  });
});
