/**
 * A small typed event emitter for the user-agent objects ({@link UserAgent}, sessions,
 * REFER). Event names and listener arguments come from an events map, so
 * `session.on('progress', (response) => …)` is checked by the compiler. Listener lists are
 * allocated on the first `on()`, so an object nobody listens to costs one field (an idle
 * dialog's session stays small).
 *
 * A listener that throws does not stop the others; the error goes to the `onListenerError`
 * hook (the UserAgent's `onError`), never into the SIP stack.
 *
 * @example
 * ```ts
 * interface DoorEvents { open: [who: string]; close: [] }
 * class Door extends TypedEmitter<DoorEvents> {}
 * const door = new Door();
 * door.on('open', (who) => console.log(who, 'came in'));
 * door.emit('open', 'alice');
 * ```
 */
/**
 * An events map: each event name to the tuple of its listener's arguments.
 *
 * @example
 * ```ts
 * interface CallEvents extends EventMap { ringing: []; ended: [reason: string] }
 * ```
 */
export type EventMap = { [event: string]: unknown[] };

/**
 * A listener for event `K` of map `E`.
 *
 * @example
 * ```ts
 * const onEnded: Listener<{ ended: [reason: string] }, 'ended'> = (reason) => console.log(reason);
 * ```
 */
export type Listener<E extends EventMap, K extends keyof E> = (...args: E[K]) => void;

/**
 * The typed emitter (see the file comment).
 *
 * @example
 * ```ts
 * const bell = new TypedEmitter<{ ring: [times: number] }>();
 * bell.once('ring', (n) => console.log('rang', n));
 * bell.emit('ring', 3);
 * ```
 */
export class TypedEmitter<E extends EventMap> {
  private listeners: { [K in keyof E]?: Listener<E, K>[] } | undefined;
  /** @internal Where errors thrown by listeners go (default: rethrown on a later tick). */
  protected onListenerError(error: unknown): void {
    queueMicrotask(() => {
      throw error;
    });
  }

  /** Adds `listener` for `event`; returns `this` for chaining. */
  on<K extends keyof E>(event: K, listener: Listener<E, K>): this {
    this.listeners ??= {};
    (this.listeners[event] ??= []).push(listener);
    return this;
  }

  /** Adds a listener that is removed after its first call. */
  once<K extends keyof E>(event: K, listener: Listener<E, K>): this {
    const wrapped: Listener<E, K> = (...args) => {
      this.off(event, wrapped);
      listener(...args);
    };
    return this.on(event, wrapped);
  }

  /** Removes `listener` (or every listener of `event` when none is given). */
  off<K extends keyof E>(event: K, listener?: Listener<E, K>): this {
    const list = this.listeners?.[event];
    if (list === undefined) return this;
    if (listener === undefined) list.length = 0;
    else {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    }
    return this;
  }

  /** Number of listeners for `event`. */
  listenerCount<K extends keyof E>(event: K): number {
    return this.listeners?.[event]?.length ?? 0;
  }

  /** Calls every listener of `event` with `args`; returns whether there was one. */
  emit<K extends keyof E>(event: K, ...args: E[K]): boolean {
    const list = this.listeners?.[event];
    if (list === undefined || list.length === 0) return false;
    for (const l of [...list]) {
      try {
        l(...args);
      } catch (e) {
        this.onListenerError(e);
      }
    }
    return true;
  }
}
