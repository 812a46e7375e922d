/**
 * Property: whatever arrives in Authorization, `verify` resolves and never throws — random
 * strings are refused with a reason, and mutations of valid credentials (each parameter
 * dropped, duplicated, emptied or replaced with random text, quoted or not) are refused
 * unless the mutation left them equivalent (unquoting a value, repeating a parameter).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DigestClient, DigestServer, computeHA1Set, retryWithCredentials, type DigestFailure } from '../../../src/sip/auth/index.js';
import { parseMessage, serializeMessage, type SipRequest } from '../../../src/sip/index.js';
import { SECRET, TestClock, counterRandom, request, wire } from './wire.js';

const REASONS: DigestFailure[] = ['missing', 'malformed', 'wrong-realm', 'unsupported-algorithm', 'uri-mismatch', 'unknown-user', 'bad-response', 'stale', 'replay'];

const srv = new DigestServer({
  realm: 'example.com',
  clock: new TestClock(),
  random: counterRandom(),
  secret: SECRET,
  algorithms: ['SHA-512-256', 'SHA-256', 'MD5', 'MD5-sess'],
  lookup: (u) => (u === 'alice' ? computeHA1Set('alice', 'example.com', 'wonderland') : undefined),
});

/** `req` with Authorization set to `value` (as raw wire text), parsed without validation. */
function withAuthorization(req: SipRequest, value: string): SipRequest | undefined {
  const text = serializeMessage(req).toString('latin1').replace('Content-Length:', `Authorization: ${value}\r\nContent-Length:`);
  try {
    return parseMessage(Buffer.from(text, 'latin1'), { validate: false }) as SipRequest;
  } catch {
    return undefined; // the message layer refused it: nothing for verify to see
  }
}

/** verify resolves (never throws); a refusal carries a known reason; `mayPass` allows ok. */
async function expectAnswer(req: SipRequest, mayPass: boolean): Promise<void> {
  const r = await srv.verify(req);
  if (r.ok) {
    expect(mayPass).toBe(true);
    expect(r.username).toBe('alice');
  } else expect(REASONS).toContain(r.reason);
}

/** One valid Authorization value, split into its parameters. */
function validParams(): [string, string][] {
  const client = new DigestClient({ credentials: { username: 'alice', password: 'wonderland' }, random: counterRandom() });
  const req = request();
  const creds = client.authorize(wire(srv.challengeResponse(req)), req)!;
  const h = wire(retryWithCredentials(req, creds)).authorization[0]!;
  return h.params.names.map((n, i) => [n, h.params.values[i]!] as [string, string]);
}

const printable = fc.string({ unit: fc.constantFrom(...'abcAZ09 ="\\,;:/-_.*\'%~+!`é\t'.split('')), maxLength: 80 });

describe('verify never throws', () => {
  it('on random header values', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(printable, printable.map((s) => `Digest ${s}`), fc.string({ maxLength: 120 })), async (value) => {
        const req = withAuthorization(request(), value.replace(/[\r\n]/g, ' '));
        if (req !== undefined) await expectAnswer(req, false);
      }),
      { seed: 7616, numRuns: 300 },
    );
  });

  it('on mutated valid credentials', async () => {
    const base = validParams();
    const mutation = fc.record({
      index: fc.nat({ max: base.length - 1 }),
      kind: fc.constantFrom('drop', 'duplicate', 'empty', 'random', 'quoted-random', 'unquote'),
      text: printable,
    });
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
        const params = base.map(([n, v]) => [n, v] as [string, string]);
        for (const m of mutations) {
          const i = Math.min(m.index, params.length - 1);
          if (i < 0) break;
          const [name, value] = params[i]!;
          if (m.kind === 'drop') params.splice(i, 1);
          else if (m.kind === 'duplicate') params.splice(i, 0, [name, value]);
          else if (m.kind === 'empty') params[i] = [name, '""'];
          else if (m.kind === 'random') params[i] = [name, m.text];
          else if (m.kind === 'quoted-random') params[i] = [name, `"${m.text.replace(/["\\]/g, '')}"`];
          else params[i] = [name, value.replace(/^"|"$/g, '')];
        }
        const value = `Digest ${params.map(([n, v]) => `${n}=${v}`).join(', ')}`;
        const req = withAuthorization(request(), value);
        if (req !== undefined) await expectAnswer(req, mutations.every((m) => m.kind === 'unquote' || m.kind === 'duplicate'));
      }),
      { seed: 8760, numRuns: 300 },
    );
  });
});
