/**
 * A stateless SIP responder over UDP, built only on the message layer: it parses each
 * datagram, answers OPTIONS with 200 and the methods it allows, accepts INVITE with 200 OK
 * (and an SDP answer that sends no media), answers BYE and CANCEL, absorbs ACK, answers any
 * other method with 501, and answers a malformed request with 400 and the parser's reason.
 *
 * Run it: `npm run examples && node .examples-build/examples/stateless-uas.js 5070`, then for
 * example `sipp 127.0.0.1:5070 -sn uac -m 10 -p 5071 -mp 6100`.
 * `test/interop/sipp-message.test.ts` points sipp at it.
 */
import { createHash } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { SipParseError, createResponse, parseMessage, serializeMessage, type SipRequest } from '../src/sip/index.js';

export interface StatelessUas {
  port: number;
  /** Requests answered, by method, and datagrams rejected as malformed. */
  stats: { requests: Record<string, number>; malformed: number };
  close(): Promise<void>;
}

const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS';

/** A To tag derived from the Call-ID and From tag, so a retransmitted request gets the same one. */
function stableTag(req: SipRequest): string {
  return createHash('sha256').update(`${req.callId};${req.from.tag ?? ''}`).digest('hex').slice(0, 12);
}

function answerSdp(host: string): string {
  return ['v=0', `o=- 1 1 IN IP4 ${host}`, 's=-', `c=IN IP4 ${host}`, 't=0 0', 'm=audio 9 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'a=inactive', ''].join('\r\n');
}

export function startStatelessUas(port = 0, host = '127.0.0.1'): Promise<StatelessUas> {
  const socket: Socket = createSocket('udp4');
  const stats = { requests: {} as Record<string, number>, malformed: 0 };
  const reply = (bytes: Buffer, to: RemoteInfo): void => {
    socket.send(bytes, to.port, to.address);
  };
  socket.on('message', (data, rinfo) => {
    let req: SipRequest;
    try {
      const msg = parseMessage(data);
      if (!msg.isRequest) return; // a stateless UAS has no client transactions: drop responses
      req = msg;
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      stats.malformed++;
      const partial = e.partial;
      // §8.2: answer what can be answered (a request whose essential headers were read);
      // drop the rest, and never answer a response.
      if (partial?.isRequest) {
        try {
          reply(serializeMessage(createResponse(partial, e.status, e.message)), rinfo);
        } catch {
          // Its From, To, Call-ID or CSeq cannot even be copied: nothing to answer with.
        }
      }
      return;
    }
    stats.requests[req.method] = (stats.requests[req.method] ?? 0) + 1;
    switch (req.method) {
      case 'ACK':
        return;
      case 'OPTIONS':
        reply(serializeMessage(createResponse(req, 200, 'OK', { toTag: stableTag(req), headers: [['Allow', ALLOW], ['Accept', 'application/sdp']] })), rinfo);
        return;
      case 'INVITE':
        reply(
          serializeMessage(
            createResponse(req, 200, 'OK', {
              toTag: stableTag(req),
              headers: [['Contact', `<sip:uas@${host}:${(socket.address()).port}>`], ['Allow', ALLOW], ['Content-Type', 'application/sdp']],
              body: answerSdp(host),
            }),
          ),
          rinfo,
        );
        return;
      case 'BYE':
      case 'CANCEL':
        reply(serializeMessage(createResponse(req, 200, 'OK', { toTag: stableTag(req) })), rinfo);
        return;
      default:
        reply(serializeMessage(createResponse(req, 501, 'Not Implemented', { toTag: stableTag(req), headers: [['Allow', ALLOW]] })), rinfo);
    }
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve({
        port: socket.address().port,
        stats,
        close: () => new Promise<void>((r) => socket.close(() => r())),
      });
    });
  });
}

if (process.argv[1] !== undefined && import.meta.url === new URL(process.argv[1], 'file://').href) {
  const uas = await startStatelessUas(Number(process.argv[2] ?? 5060));
  console.log(`stateless UAS listening on udp 127.0.0.1:${uas.port}`);
  process.on('SIGINT', () => {
    console.log(JSON.stringify(uas.stats));
    void uas.close();
  });
}
