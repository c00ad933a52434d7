// Small asynchronous building blocks for the kubelet: abortable sleeps, a FIFO lock, a movable
// deadline and a change notifier. Every wait is a timer or a promise, never a poll.

export class AbortedError extends Error {
  override readonly name = 'AbortedError';
  readonly code = 'aborted';
}

/** The reason given to every abort: `abort()` without one builds a DOMException each time. */
export const stopReason = new AbortedError('aborted');

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new AbortedError('aborted');
}

/** Resolves after `ms`, or rejects with AbortedError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortedError('aborted'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortedError('aborted'));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Races `promise` against `signal`: rejects with AbortedError when the signal aborts first. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new AbortedError('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortedError('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** A first-in first-out lock: holders run one at a time in the order they asked. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  async acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = this.tail;
    this.tail = previous.then(() => next);
    await previous;
    return release;
  }
}

/** A point in time that can be moved earlier; subscribers hear when it moves. */
export class Deadline {
  at: number;
  private listeners = new Set<() => void>();

  constructor(at: number) {
    this.at = at;
  }

  remainingMs(): number {
    return Math.max(0, this.at - Date.now());
  }

  moveEarlier(at: number): void {
    if (at >= this.at) return;
    this.at = at;
    for (const listener of [...this.listeners]) listener();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Wakes waiters whenever something changed, so they can re-check their condition. */
export class Notifier {
  private waiters = new Set<() => void>();

  notify(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Resolves once `predicate()` is true (checked now and after each notify). */
  async waitFor(predicate: () => boolean, signal: AbortSignal): Promise<void> {
    while (!predicate()) {
      throwIfAborted(signal);
      await abortable(
        new Promise<void>((resolve) => {
          this.waiters.add(resolve);
        }),
        signal,
      );
    }
  }
}

/** Exponential back-off per key, like client-go's flowcontrol.Backoff (initial, doubling, capped). */
export class BackOff {
  private entries = new Map<string, { durationMs: number; lastUpdate: number; error?: string }>();
  private readonly initialMs: number;
  private readonly maxMs: number;

  constructor(initialMs: number, maxMs: number) {
    this.initialMs = initialMs;
    this.maxMs = maxMs;
  }

  /** True while `now - since` is shorter than the key's current back-off (restarts: since = finish time). */
  isInBackOffSince(key: string, since: number, now = Date.now()): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    return now - since < entry.durationMs;
  }

  /** True while the back-off started by the last `next` has not expired (image pulls). */
  isInBackOffSinceUpdate(key: string, now = Date.now()): boolean {
    const entry = this.entries.get(key);
    return entry !== undefined && now - entry.lastUpdate < entry.durationMs;
  }

  remainingMs(key: string, now = Date.now()): number {
    const entry = this.entries.get(key);
    return entry ? Math.max(0, entry.lastUpdate + entry.durationMs - now) : 0;
  }

  /** The key's current back-off in ms (0 when none). */
  get(key: string): number {
    return this.entries.get(key)?.durationMs ?? 0;
  }

  lastError(key: string): string | undefined {
    return this.entries.get(key)?.error;
  }

  /** Starts or doubles the key's back-off. */
  next(key: string, now = Date.now(), error?: string): number {
    const entry = this.entries.get(key);
    const durationMs = entry ? Math.min(entry.durationMs * 2, this.maxMs) : this.initialMs;
    this.entries.set(key, { durationMs, lastUpdate: now, ...(error !== undefined ? { error } : {}) });
    return durationMs;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
