/**
 * BLF against a real PBX: plain UserAgents subscribe to `dialog` events of extension 1002
 * (RFC 4235) and follow 1001's call to it — trying, early, confirmed, terminated — with the
 * call-id and tags of the leg between the PBX and 1002's phone; full state first, then
 * partial documents with versions counting up by one. Subscribers from another tenant or not
 * registered are refused before any state leaves; bodies are bounded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Call } from '../../src/call/index.js';
import { UserAgent, parseMessage, type ClientSubscription, type InboundMessage, type NotifyEvent, type SipRequest } from '../../src/sip/index.js';
import { DialogEventPackage, dialogInfoXml } from '../../src/pbx/features/dialog-events.js';
import { startTestPbx, testConfig, type TestPbx } from '../helpers/pbx.js';
import { nextCall, until } from '../helpers/wait.js';

let t: TestPbx | undefined;
const agents: UserAgent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
  await t?.stop();
  t = undefined;
});

/** One `<dialog>` of a NOTIFY body, as attributes and state. */
interface SeenDialog {
  id: string;
  callId?: string;
  localTag?: string;
  remoteTag?: string;
  direction?: string;
  state: string;
  event?: string;
  remote?: string;
}

/** Reads a dialog-info body (just enough XML for what the PBX writes). */
function parseDialogInfo(body: string): { version: number; state: string; entity: string; dialogs: SeenDialog[] } {
  const head = /<dialog-info [^>]*version="(\d+)" state="(\w+)" entity="([^"]*)"/.exec(body);
  if (head === null) throw new Error(`not a dialog-info body: ${body}`);
  const dialogs: SeenDialog[] = [];
  for (const m of body.matchAll(/<dialog ([^>]*)>(.*?)<\/dialog>/g)) {
    const attrs = Object.fromEntries([...m[1]!.matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!]));
    const state = /<state( event="([^"]*)")?>(\w+)<\/state>/.exec(m[2]!);
    const remote = /<remote><identity[^>]*>([^<]*)<\/identity>/.exec(m[2]!);
    const d: SeenDialog = { id: attrs.id!, state: state?.[3] ?? '' };
    if (attrs['call-id'] !== undefined) d.callId = attrs['call-id'];
    if (attrs['local-tag'] !== undefined) d.localTag = attrs['local-tag'];
    if (attrs['remote-tag'] !== undefined) d.remoteTag = attrs['remote-tag'];
    if (attrs.direction !== undefined) d.direction = attrs.direction;
    if (state?.[2] !== undefined) d.event = state[2];
    if (remote !== null) d.remote = remote[1]!;
    dialogs.push(d);
  }
  return { version: Number(head[1]), state: head[2]!, entity: head[3]!, dialogs };
}

/** A minimal SDP offer (the caller is a plain UserAgent: the B2BUA answers with its own SDP). */
function sdp(port: number): string {
  return `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n`;
}

/** A plain UserAgent registered as `number` (digest) through the PBX. */
async function device(t: TestPbx, number: string, password: string, domain = t.domain, register = true): Promise<UserAgent> {
  const ua = await UserAgent.start({
    listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }],
    aor: `sip:${number}@${domain}`,
    credentials: { username: number, password },
    outboundProxy: `sip:127.0.0.1:${t.pbx.port};lr`,
    stopTimeoutMs: 500,
  });
  agents.push(ua);
  if (register) await ua.register({ registrar: `sip:${domain}`, expires: 300 });
  return ua;
}

/** Subscribes `ua` to the dialog events of `number` and records every NOTIFY. */
function watch(t: TestPbx, ua: UserAgent, number: string, domain = t.domain): { sub: ClientSubscription; notifies: NotifyEvent[]; docs: () => ReturnType<typeof parseDialogInfo>[] } {
  const sub = ua.subscribe(t.uri(number, domain), { event: 'dialog', accept: ['application/dialog-info+xml'], expires: 600 });
  const notifies: NotifyEvent[] = [];
  sub.on('notify', (n) => notifies.push(n));
  return { sub, notifies, docs: () => notifies.filter((n) => n.body.length > 0).map((n) => parseDialogInfo(n.body.toString())) };
}

async function startWithBlf(options: ConstructorParameters<typeof DialogEventPackage>[0] = {}): Promise<{ t: TestPbx; blf: DialogEventPackage }> {
  const blf = new DialogEventPackage(options);
  const started = await startTestPbx(testConfig(), { eventPackages: { dialog: blf } });
  blf.attach(started.pbx);
  return { t: started, blf };
}

describe('dialog events (RFC 4235) from the PBX', () => {
  it('a watcher of 1002 sees trying, early, confirmed, terminated with the call-id and tags of 1002’s leg', async () => {
    const started = await startWithBlf();
    t = started.t;
    const alice = await device(t, '1001', 'password-1001');
    const bob = await t.phone('1002', 'password-1002');
    const carol = await device(t, '1003', 'password-1003');
    const w = watch(t, carol, '1002');
    await until(() => w.docs().length === 1);
    expect(w.notifies[0]!.contentType).toBe('application/dialog-info+xml');
    expect(w.docs()[0]).toMatchObject({ version: 0, state: 'full', entity: `sip:1002@${t.domain}`, dialogs: [] });

    const rings = nextCall(bob);
    const caller = alice.invite(t.uri('1002'), { body: sdp(40000) });
    const atBob = await rings;
    await until(() => w.docs().some((d) => d.dialogs.some((x) => x.state === 'trying')));
    atBob.ring();
    await until(() => w.docs().some((d) => d.dialogs.some((x) => x.state === 'early')));
    await atBob.answer();
    await caller.answered;
    await until(() => w.docs().some((d) => d.dialogs.some((x) => x.state === 'confirmed')));
    await caller.bye();
    await until(() => w.docs().some((d) => d.dialogs.some((x) => x.state === 'terminated')));

    const docs = w.docs();
    // Versions count up by one; everything after the first document is partial.
    expect(docs.map((d) => d.version)).toEqual(docs.map((_, i) => i));
    expect(docs.slice(1).every((d) => d.state === 'partial')).toBe(true);
    const seen = docs.flatMap((d) => d.dialogs);
    expect(seen.map((d) => d.state)).toEqual(['trying', 'early', 'confirmed', 'terminated']);
    // One dialog, the leg between the PBX and Bob's phone, seen from Bob's phone.
    const bobDialog = atBob.session.dialog!;
    expect(new Set(seen.map((d) => d.id)).size).toBe(1);
    for (const d of seen) {
      expect(d.callId).toBe(atBob.id);
      expect(d.direction).toBe('recipient');
      expect(d.remote).toBe(`sip:1001@${t.domain}`);
    }
    for (const d of seen.slice(1)) {
      expect(d.localTag).toBe(bobDialog.id.localTag); // the phone's own tag
      expect(d.remoteTag).toBe(bobDialog.id.remoteTag); // the PBX's
    }
    expect(seen[3]!.event).toBe('remote-bye');
  });

  it('the caller’s own lamp: 1001 watched while it calls is the initiator; 1002’s watcher never sees 1001’s leg', async () => {
    const started = await startWithBlf();
    t = started.t;
    const alice = await device(t, '1001', 'password-1001');
    const bob = await t.phone('1002', 'password-1002');
    const carol = await device(t, '1003', 'password-1003');
    const onAlice = watch(t, carol, '1001');
    const onBob = watch(t, carol, '1002');
    await until(() => onAlice.docs().length === 1 && onBob.docs().length === 1);
    const rings = nextCall(bob);
    const caller = alice.invite(t.uri('1002'), { body: sdp(40002) });
    const atBob = await rings;
    atBob.ring();
    await atBob.answer();
    await caller.answered;
    await until(() => onAlice.docs().some((d) => d.dialogs.some((x) => x.state === 'confirmed')));
    const aliceSeen = onAlice.docs().flatMap((d) => d.dialogs);
    // Alice's phone's own dialog: her tag is the local one, the PBX's the remote one.
    const id = caller.dialog!.id;
    expect(aliceSeen[0]).toMatchObject({ state: 'trying', direction: 'initiator', callId: caller.callId, localTag: id.localTag });
    const confirmed = aliceSeen.find((d) => d.state === 'confirmed')!;
    expect(confirmed).toMatchObject({ direction: 'initiator', callId: caller.callId, localTag: id.localTag, remoteTag: id.remoteTag, remote: `sip:1002@${t.domain}` });
    const bobSeen = onBob.docs().flatMap((d) => d.dialogs);
    expect(bobSeen.length).toBeGreaterThan(0);
    expect(bobSeen.every((d) => d.callId === atBob.id && d.direction === 'recipient')).toBe(true);
    await caller.bye();
  });

  it('refuses watchers from another tenant and unregistered ones: terminated;reason=rejected before any state', async () => {
    const started = await startWithBlf();
    t = started.t;
    const zed = await device(t, '2001', 'password-2001', 'other.test');
    const stranger = await device(t, '1003', 'password-1003', t.domain, false);
    for (const ua of [zed, stranger]) {
      const w = watch(t, ua, '1002');
      const ended = new Promise<unknown>((resolve) => w.sub.on('terminated', resolve));
      expect(await ended).toMatchObject({ notifierReason: 'rejected' });
      expect(w.docs()).toEqual([]);
    }
    expect(t.pbx.ua.notifier!.size).toBe(0);
  });

  it('authorize() (the UserAgent’s authorizeSubscription) answers reject for 403 and accept for a registered device of the tenant', async () => {
    const started = await startWithBlf();
    t = started.t;
    await t.phone('1003', 'password-1003');
    const request = (from: string, to = `sip:1002@${t!.domain}`, event = 'dialog'): SipRequest =>
      parseMessage(
        Buffer.from(
          `SUBSCRIBE ${to} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK1\r\nFrom: <${from}>;tag=a1\r\nTo: <${to}>\r\nCall-ID: c1@x\r\nCSeq: 1 SUBSCRIBE\r\nEvent: ${event}\r\nContact: <sip:x@127.0.0.1:5999>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`,
        ),
      ) as SipRequest;
    const from = (address: string): InboundMessage => ({ source: { protocol: 'udp', address, port: 5999 } }) as unknown as InboundMessage;
    const blf = started.blf;
    expect(blf.authorize(request(`sip:1003@${t.domain}`), from('127.0.0.1'))).toBe('accept');
    expect(blf.authorize(request(`sip:1003@${t.domain}`), from('192.0.2.7'))).toBe('reject'); // not where 1003 registered from
    expect(blf.authorize(request('sip:1001@demo.test'), from('127.0.0.1'))).toBe('reject'); // 1001 is not registered
    expect(blf.authorize(request('sip:2001@other.test'), from('127.0.0.1'))).toBe('reject');
    expect(blf.authorize(request(`sip:1003@${t.domain}`, `sip:1999@${t.domain}`), from('127.0.0.1'))).toBe('reject'); // no such extension
    expect(blf.authorize(request(`sip:1003@${t.domain}`, 'sip:1002@127.0.0.1'), from('127.0.0.1'))).toBe('accept'); // by IP: the default tenant
    expect(blf.authorize(request('sip:1003@evil.example'), from('127.0.0.1'))).toBe('reject');
    expect(blf.authorize(request('sip:2001@other.test', undefined, 'message-summary'), from('127.0.0.1'))).toBe('accept'); // not this package's
  });

  it('bodies are bounded: at most maxDialogs dialogs in one document', async () => {
    const started = await startWithBlf({ maxDialogs: 1 });
    t = started.t;
    const alice = await t.phone('1001', 'password-1001');
    const bob = await t.phone('1002', 'password-1002');
    const carol = await t.phone('1003', 'password-1003');
    const rings: Call[] = [];
    bob.on('call', (c) => {
      rings.push(c);
      c.ring();
    });
    void alice.call(t.uri('1002')).catch(() => undefined);
    void carol.call(t.uri('1002')).catch(() => undefined);
    await until(() => rings.length === 2 && started.blf.dialogs(t!.pbx.directory.tenant('demo.test')!, '1002').every((d) => d.state === 'early'));
    const w = watch(t, carol.ua, '1002');
    await until(() => w.docs().length >= 1);
    const first = w.docs()[0]!;
    expect(first.state).toBe('full');
    expect(first.dialogs).toHaveLength(1);
    expect(started.blf.dialogs(t.pbx.directory.tenant('demo.test')!, '1002')).toHaveLength(2);
    for (const c of rings) c.reject(486);
  });

  it('dialogInfoXml escapes what it writes and leaves out what it does not know', () => {
    const xml = dialogInfoXml({
      entity: 'sip:1002@demo.test',
      version: 7,
      state: 'partial',
      dialogs: [{ id: 'd1', callId: 'a"b<c>&@x', direction: 'recipient', state: 'trying', remote: { uri: 'sip:1001@demo.test', display: 'A & "B"' } }],
    });
    expect(xml).toContain('version="7" state="partial" entity="sip:1002@demo.test"');
    expect(xml).toContain('call-id="a&quot;b&lt;c&gt;&amp;@x"');
    expect(xml).not.toContain('local-tag');
    expect(xml).toContain('<identity display="A &amp; &quot;B&quot;">sip:1001@demo.test</identity>');
    expect(parseDialogInfo(xml).dialogs[0]).toMatchObject({ id: 'd1', state: 'trying', direction: 'recipient' });
  });
});
