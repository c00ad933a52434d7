// Time for the trace sender, injectable so tests never sleep: the system clock in production,
// a ManualClock that a test advances by hand.

export interface Clock {
  /** Milliseconds (epoch or any monotonic origin). */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};

interface Sleeper {
  due: number;
  seq: number;
  resolve: () => void;
}

/** Lets pending promise chains run (several macrotask turns, so chained awaits settle too). */
async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A clock that only moves when told to; sleepers wake in due order as time passes them. */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private sleepers: Sleeper[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const sleeper: Sleeper = { due: this.t + Math.max(0, ms), seq: this.seq++, resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          resolve();
        },
        { once: true },
      );
    });
  }

  /** Number of pending sleeps. */
  get pending(): number {
    return this.sleepers.length;
  }

  /** Moves time forward by `ms`, waking each sleeper at its due time and letting its code run. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    for (;;) {
      await settle();
      const next = this.nextDue();
      if (!next || next.due > target) break;
      this.sleepers = this.sleepers.filter((s) => s !== next);
      this.t = Math.max(this.t, next.due);
      next.resolve();
    }
    this.t = target;
    await settle();
  }

  /** Advances to each next wake-up until `done()` holds (at most `limitMs` of clock time). */
  async runUntil(done: () => boolean, limitMs = 24 * 3600_000): Promise<void> {
    const limit = this.t + limitMs;
    await settle();
    while (!done()) {
      const next = this.nextDue();
      if (!next || next.due > limit) throw new Error('ManualClock.runUntil: condition not reached');
      await this.advance(next.due - this.t);
    }
  }

  private nextDue(): Sleeper | undefined {
    let best: Sleeper | undefined;
    for (const s of this.sleepers) {
      if (!best || s.due < best.due || (s.due === best.due && s.seq < best.seq)) best = s;
    }
    return best;
  }
}
