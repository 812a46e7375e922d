/** Shared set-up for the UserAgent tests: user agents on loopback, torn down after each test. */
import { afterEach } from 'vitest';
import { UserAgent, type EventMap, type TypedEmitter, type UserAgentOptions } from '../../../src/sip/ua/session-index.js';

const agents: UserAgent[] = [];
/** Errors the agents reported (a listener that threw, a socket error): any fails the test. */
const errors: string[] = [];
afterEach(async () => {
  // Last started first, one at a time: a UA unregisters or BYEs while its peers still answer.
  for (const a of agents.splice(0).reverse()) await a.stop();
  const reported = errors.splice(0);
  if (reported.length > 0) throw new Error(`user agents reported errors:\n${reported.join('\n')}`);
});

/** A UserAgent on 127.0.0.1, an ephemeral port, stopped after the test. */
export async function agent(name: string, options: Partial<UserAgentOptions> = {}, protocol: 'udp' | 'tcp' = 'udp'): Promise<UserAgent> {
  const ua = await UserAgent.start({
    listen: [{ protocol, address: '127.0.0.1', port: 0 }],
    aor: `sip:${name}@127.0.0.1`,
    stopTimeoutMs: 500,
    ...options,
  });
  agents.push(ua);
  ua.on('error', (e, context) => errors.push(`${name} (${context}): ${e instanceof Error ? e.stack : String(e)}`));
  return ua;
}

/** The URI to call `ua` at. */
export function uriOf(ua: UserAgent, user = 'x'): string {
  const e = ua.endpoint.transports.endpoints()[0]!;
  return `sip:${user}@127.0.0.1:${e.port}${e.protocol === 'udp' ? '' : `;transport=${e.protocol}`}`;
}

/** A minimal SDP body with one audio stream, direction `dir`. */
export function sdp(port: number, dir = 'sendrecv'): string {
  return `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=${dir}\r\n`;
}

/** Resolves with the next emission of `event`. */
export function next<E extends EventMap, K extends keyof E & string>(emitter: TypedEmitter<E>, event: K): Promise<E[K]> {
  return new Promise((resolve) => emitter.once(event, (...args: E[K]) => resolve(args)));
}

/**
 * `caller` calls `callee`, which accepts with an SDP answer; resolves once the call is
 * answered, with both ends of it (the callee's session may not have seen the ACK yet).
 */
export async function answeredCall(caller: UserAgent, callee: UserAgent) {
  callee.on('invite', (c) => void c.accept({ body: sdp(5000) }));
  const call = caller.invite(uriOf(callee), { body: sdp(4000) });
  await call.answered;
  const [incoming] = [...callee.sessions];
  return { call, callee: incoming };
}
