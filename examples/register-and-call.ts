/**
 * The README's first example: register to a PBX, call an extension, hang up after 10 s.
 *
 *   npm run examples && node .examples-build/examples/register-and-call.js \
 *     192.0.2.10 sip:1001@pbx.example.com secret sip:1002@pbx.example.com
 */
import { UserAgent } from '../src/sip/index.js';

const [localAddress = '127.0.0.1', aor = 'sip:1001@pbx.example.com', password = 'secret', target = 'sip:1002@pbx.example.com'] = process.argv.slice(2);
const user = aor.slice(4, aor.indexOf('@'));
const registrar = `sip:${aor.slice(aor.indexOf('@') + 1)}`;
// An offer for one PCMU stream that sends no media (the SDP engine comes with the Call API).
const offerSdp = ['v=0', `o=- 1 1 IN IP4 ${localAddress}`, 's=-', `c=IN IP4 ${localAddress}`, 't=0 0', 'm=audio 9 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'a=inactive', ''].join('\r\n');

const ua = await UserAgent.start({
  listen: [{ protocol: 'udp', address: localAddress, port: 5060 }],
  aor,
  credentials: { username: user, password },
});
await ua.register({ registrar, expires: 600 }); // refreshed until stop()

const call = ua.invite(target, { body: offerSdp });
call.on('progress', (res) => console.log(res.status, res.reason)); // 100, 180, 183…
call.on('terminated', (end) => console.log('call ended:', end.reason));
await call.answered; // rejects with SessionFailedError on 4xx–6xx
console.log('answer:', call.remoteBody?.body.toString());
setTimeout(() => void call.bye().then(() => ua.stop()), 10_000);
