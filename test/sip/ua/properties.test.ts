/**
 * Nothing a peer sends throws out of the registrar or the request policy, and the location
 * service stays within its bounds: REGISTERs built from random and hostile header values,
 * parsed without validation (as the stack would see a request whose headers are read late).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DigestServer, ManualClock, SipRequest, parseMessage, passwordLookup, serializeMessage } from '../../../src/sip/index.js';
import { LocationService, Registrar, checkRequest } from '../../../src/sip/ua/index.js';

const hostile = fc.oneof(
  fc.constantFrom(
    '*',
    '<sip:a@h1>;expires=0',
    '<sip:a@h1>;expires=4294967296',
    '<sip:a@h1>;q=2',
    '<sip:a@h1>;q=0.5, <sip:a@h2>;q=0.7;expires=10',
    '<tel:+1555>',
    '<sip:@>',
    '"x" <sip:a@[::1]:5060;transport=tcp>;+sip.instance="<urn:uuid:1>";reg-id=99999999999',
    'sip:a@h;expires=-1',
    '<sip:a@h\u0000>',
    '',
    ',,,',
  ),
  fc.string({ maxLength: 40 }),
);

const headerName = fc.constantFrom('Contact', 'Expires', 'Require', 'Path', 'Supported', 'To', 'Authorization', 'Call-ID', 'CSeq', 'Max-Forwards');

function build(headers: [string, string][], aor: string): Buffer | undefined {
  const lines = [
    'REGISTER sip:example.com SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKprop',
    `From: <${aor}>;tag=1`,
    ...headers.map(([n, v]) => `${n}: ${v.replace(/[\r\n]/g, ' ')}`),
  ];
  if (!headers.some(([n]) => n === 'To')) lines.push(`To: <${aor}>`);
  if (!headers.some(([n]) => n === 'Call-ID')) lines.push('Call-ID: prop');
  if (!headers.some(([n]) => n === 'CSeq')) lines.push('CSeq: 1 REGISTER');
  return Buffer.from(`${lines.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`);
}

describe('robustness', () => {
  it('Registrar.process resolves with a response for any REGISTER, and the location stays bounded', async () => {
    const clock = new ManualClock();
    const location = new LocationService({ clock, maxBindingsPerAor: 3, maxAors: 5 });
    const registrar = new Registrar({
      location,
      domains: ['example.com'],
      auth: new DigestServer({ realm: 'example.com', lookup: passwordLookup(() => 'pw') }),
    });
    const open = new Registrar({ location, domains: ['example.com'] });
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(headerName, hostile), { maxLength: 8 }),
        fc.constantFrom('sip:alice@example.com', 'sip:bob@example.com', 'sip:u1@example.com', 'sip:u2@example.com', 'sip:u3@example.com', 'sip:u4@example.com', 'sip:u5@example.com', 'sip:u6@example.com'),
        async (headers, aor) => {
          const bytes = build(headers, aor);
          let req: SipRequest;
          try {
            req = parseMessage(bytes!, { validate: false }) as SipRequest;
          } catch {
            return; // framing errors are the transport's (400 or drop)
          }
          for (const r of [registrar, open]) {
            const { response } = await r.process(req);
            expect(response.status).toBeGreaterThanOrEqual(200);
            expect(response.status).toBeLessThan(700);
            statuses.add(response.status);
            // The response always serializes and parses back.
            parseMessage(serializeMessage(response), { validate: false });
          }
          expect(location.size).toBeLessThanOrEqual(5);
          for (const a of location.addresses()) expect(location.lookup(a).length).toBeLessThanOrEqual(3);
          clock.advance(1000);
        },
      ),
      { numRuns: 400 },
    );
    // The inputs reach every branch that matters, not only the parser's 400.
    expect([...statuses].sort()).toEqual(expect.arrayContaining([200, 400, 401, 404, 420]));
  });

  it('checkRequest never throws', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('Require', 'Max-Forwards', 'Via', 'Supported'), hostile), { maxLength: 6 }), fc.constantFrom('OPTIONS', 'MESSAGE', 'FOO', 'INVITE'), (headers, method) => {
        const raw = `${method} sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: x\r\nCSeq: 1 ${method}\r\n${headers.map(([n, v]) => `${n}: ${v.replace(/[\r\n]/g, ' ')}\r\n`).join('')}\r\n`;
        let req: SipRequest;
        try {
          req = parseMessage(Buffer.from(raw), { validate: false }) as SipRequest;
        } catch {
          return;
        }
        const res = checkRequest(req, { allowedMethods: ['OPTIONS', 'MESSAGE'], supportedExtensions: ['path'], loopDetection: { sentBy: ['192.0.2.9:5060'] } });
        if (res !== undefined) expect(res.status).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: 500 },
    );
  });
});
