// Slots: the global `concurrent` cap and each runner entry's `limit`. A slot is taken before a job request
// and kept by the job it brings (upstream takes the limit slot before requesting too), so running jobs plus
// requests in flight never exceed either cap. Waiters are served in arrival order.

export class RunnerPool {
  /** 0 means no limit. */
  limit: number;
  used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get hasRoom(): boolean {
    return this.limit === 0 || this.used < this.limit;
  }
}

export interface Slot {
  readonly pool: RunnerPool;
  /** Idempotent. */
  release(): void;
}

interface Waiter {
  pool: RunnerPool;
  grant: (slot: Slot) => void;
}

export class Capacity {
  private concurrent: number;
  private used = 0;
  private readonly waiters: Waiter[] = [];
  private readonly onChange: (used: number) => void;

  constructor(concurrent: number, onChange: (used: number) => void = () => {}) {
    this.concurrent = concurrent;
    this.onChange = onChange;
  }

  get inUse(): number {
    return this.used;
  }

  get limit(): number {
    return this.concurrent;
  }

  setConcurrent(n: number): void {
    this.concurrent = n;
    this.drain();
  }

  /** A pool's limit changed: serve its waiters if it now has room. */
  poolChanged(): void {
    this.drain();
  }

  /** Waits for a slot; rejects with the signal's reason when it aborts first. */
  acquire(pool: RunnerPool, signal?: AbortSignal): Promise<Slot> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const granted = new Promise<Slot>((resolve, reject) => {
      const waiter: Waiter = {
        pool,
        grant: (slot) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(slot);
        },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i !== -1) this.waiters.splice(i, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
    // Earlier waiters of a full runner do not hold this one back.
    this.drain();
    return granted;
  }

  /** Takes a slot even beyond the caps: for jobs that already run (adoption). */
  force(pool: RunnerPool): Slot {
    return this.take(pool);
  }

  private take(pool: RunnerPool): Slot {
    this.used++;
    pool.used++;
    this.onChange(this.used);
    let released = false;
    return {
      pool,
      release: () => {
        if (released) return;
        released = true;
        this.used--;
        pool.used--;
        this.onChange(this.used);
        this.drain();
      },
    };
  }

  private drain(): void {
    for (let i = 0; i < this.waiters.length && this.used < this.concurrent; ) {
      const w = this.waiters[i]!;
      if (w.pool.hasRoom) {
        this.waiters.splice(i, 1);
        w.grant(this.take(w.pool));
      } else {
        i++;
      }
    }
  }
}
