/**
 * NAT keep-alive and dead-device detection for devices registered over UDP: every
 * `intervalSeconds` each UDP binding gets an OPTIONS (RFC 3261 §11) sent to the packet source
 * of its REGISTER, with the registered Contact as Request-URI. The traffic keeps the NAT
 * binding between phone and PBX open (most NATs forget a UDP mapping after 30–180 s of
 * silence), and the answer tells whether the device is still there.
 *
 * ```
 *  round (every intervalSeconds): the UDP bindings now, probes spread evenly over the round
 *    OPTIONS ──► any final response (200, 404, 405, 501, 401…) ─► alive: count reset
 *            └─► timeout (Timer F) or transport error ─► failures + 1
 *                  `failures` in a row ─► binding removed (the registrar reports 'unregistered')
 * ```
 *
 * - Spread, not a burst: with N bindings a probe leaves every interval/N ms (batched per 20 ms
 *   tick when N is large), so 10,000 phones cost a steady ~333 requests/s at 30 s.
 * - A probe still waiting for its answer (Timer F is 32 s, longer than a round) is not
 *   doubled: that binding is skipped in the round.
 * - A binding refreshed by a REGISTER after its probe was sent is alive, whatever the probe's fate.
 * - TCP/TLS/WS bindings are not probed here: their connection carries its own keep-alive
 *   (RFC 5626 CRLF) and its loss is a transport event.
 *
 * @example
 * ```ts
 * const keepalive = new DeviceKeepalive({ endpoint: ua.endpoint, location, clock: systemClock, registrar });
 * keepalive.start();
 * // …
 * keepalive.stop();
 * ```
 */
import type { Binding, LocationService, RequestOutcome, SendRequestOptions, TimerClock, TimerHandle, Uri } from '../sip/index.js';
import type { PbxRegistrar } from './pbx-registrar.js';

/** What sends the probes: a `SipEndpoint` (`endpoint.request`). */
export interface KeepaliveSender {
  request(method: string, target: string | Uri, options?: SendRequestOptions): Promise<RequestOutcome>;
}

/** Options of {@link DeviceKeepalive}. */
export interface DeviceKeepaliveOptions {
  endpoint: KeepaliveSender;
  /** The bindings to probe. */
  location: LocationService;
  /** Timers (a `ManualClock` in tests). */
  clock: TimerClock;
  /** Seconds between two probes of one binding (default 30). */
  intervalSeconds?: number;
  /** Unanswered probes in a row that remove a binding (default 3). */
  failures?: number;
  /** Removes dead bindings through the registrar, which reports them at once; without it they are removed from `location` directly. */
  registrar?: PbxRegistrar;
  /** Told about every binding removed as dead. */
  onDead?: (aor: string, binding: Binding) => void;
}

interface Probe {
  aor: string;
  binding: Binding;
}

const TICK_MS = 20;

/**
 * Sends keep-alive OPTIONS to registered UDP devices and removes the dead ones (see the file
 * comment).
 */
export class DeviceKeepalive {
  readonly intervalMs: number;
  readonly failureLimit: number;
  private readonly options: DeviceKeepaliveOptions;
  /** Consecutive failures per binding key. */
  private readonly failures = new Map<string, number>();
  /** Keys whose probe is still waiting for its outcome. */
  private readonly inFlight = new Set<string>();
  private round: Probe[] = [];
  private roundStart = 0;
  private next = 0;
  private timer: TimerHandle | undefined;
  private running = false;
  /** Probes sent and their outcomes so far (for logs and tests). */
  readonly stats = { sent: 0, answered: 0, timedOut: 0, removed: 0 };

  constructor(options: DeviceKeepaliveOptions) {
    this.options = options;
    this.intervalMs = (options.intervalSeconds ?? 30) * 1000;
    this.failureLimit = options.failures ?? 3;
    if (!(this.intervalMs > 0)) throw new RangeError('intervalSeconds must be positive');
    if (!Number.isInteger(this.failureLimit) || this.failureLimit < 1) throw new RangeError('failures must be a positive integer');
  }

  /** Starts the rounds (the first begins at once). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.startRound();
  }

  /** Stops sending; probes under way finish but change nothing. */
  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.options.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** Consecutive unanswered probes of a binding so far. */
  failuresOf(aor: string, binding: Binding): number {
    return this.failures.get(keyOf(aor, binding)) ?? 0;
  }

  private startRound(): void {
    const { location, clock } = this.options;
    this.round = [];
    for (const aor of location.addresses()) {
      for (const binding of location.lookup(aor)) {
        const s = binding.source;
        if (s !== undefined && s.protocol === 'udp' && binding.connectionId === undefined) this.round.push({ aor, binding });
      }
    }
    // Forget counts of bindings that are gone.
    const keys = new Set(this.round.map((p) => keyOf(p.aor, p.binding)));
    for (const k of [...this.failures.keys()]) if (!keys.has(k)) this.failures.delete(k);
    this.roundStart = clock.now();
    this.next = 0;
    this.tick();
  }

  /** Sends the probes that are due, then sleeps until the next one (or the next round). */
  private tick(): void {
    this.timer = undefined;
    if (!this.running) return;
    const { clock } = this.options;
    const n = this.round.length;
    const spacing = n === 0 ? this.intervalMs : this.intervalMs / n;
    const elapsed = clock.now() - this.roundStart;
    while (this.next < n && this.next * spacing <= elapsed) this.probe(this.round[this.next++]!);
    if (this.next < n) {
      const wait = Math.max(TICK_MS, this.next * spacing - elapsed);
      this.timer = clock.setTimer(() => this.tick(), wait);
    } else {
      this.timer = clock.setTimer(() => this.startRound(), Math.max(0, this.intervalMs - elapsed));
    }
  }

  private probe(p: Probe): void {
    const key = keyOf(p.aor, p.binding);
    if (this.inFlight.has(key)) return;
    // Gone (removed, expired) since the round began: nothing to keep alive.
    const current = this.options.location.find(p.aor, p.binding.contact);
    if (current?.source === undefined) return;
    const source = current.source; // the latest one: a refresh may have come from a new NAT mapping
    const sentAt = this.options.clock.now();
    this.inFlight.add(key);
    this.stats.sent++;
    let outcome: Promise<RequestOutcome>;
    try {
      outcome = this.options.endpoint.request('OPTIONS', p.binding.contact.uri, { destination: { ...source }, authenticate: false });
    } catch {
      outcome = Promise.resolve({ kind: 'timeout' } as RequestOutcome);
    }
    void outcome.then(
      (o) => this.settle(p, key, sentAt, o.kind === 'response'),
      () => this.settle(p, key, sentAt, false),
    );
  }

  private settle(p: Probe, key: string, sentAt: number, answered: boolean): void {
    this.inFlight.delete(key);
    if (!this.running) return;
    const current = this.options.location.find(p.aor, p.binding.contact);
    if (current === undefined) {
      this.failures.delete(key);
      return;
    }
    if (answered || current.updatedAt > sentAt) {
      if (answered) this.stats.answered++;
      this.failures.delete(key);
      return;
    }
    this.stats.timedOut++;
    const count = (this.failures.get(key) ?? 0) + 1;
    if (count < this.failureLimit) {
      this.failures.set(key, count);
      return;
    }
    this.failures.delete(key);
    this.stats.removed++;
    this.remove(p.aor, current);
    try {
      this.options.onDead?.(p.aor, current);
    } catch {
      // a listener's bug must not become an unhandled rejection here
    }
  }

  private remove(aor: string, binding: Binding): void {
    if (this.options.registrar?.removeAt(aor, binding) === true) return;
    this.options.location.apply(aor, [{ contact: binding.contact, expires: 0, callId: binding.callId, cseq: binding.cseq }]);
  }
}

function keyOf(aor: string, binding: Binding): string {
  return `${aor} ${binding.contact.uri.toString()}`;
}
