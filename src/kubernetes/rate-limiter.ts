// Client-side rate limit for Kubernetes API calls (token bucket, like client-go's QPS/burst), so a
// burst of jobs cannot flood the API server. Streams (watch, logs) take one token when they open.

export interface RateLimiterOptions {
  /** Sustained requests per second; 0 or less disables the limit. */
  qps: number;
  /** Requests allowed at once above the sustained rate. */
  burst: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class RateLimiter {
  readonly #qps: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #tokens: number;
  #last: number;
  /** Time at which the last reserved token becomes available; reservations queue fairly behind it. */
  #waiting = 0;

  constructor(options: RateLimiterOptions) {
    this.#qps = options.qps;
    this.#burst = Math.max(1, options.burst);
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#tokens = this.#burst;
    this.#last = this.#now();
  }

  /** Resolves when the caller may send one request. */
  async take(): Promise<void> {
    if (this.#qps <= 0) return;
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#qps);
    this.#last = now;
    this.#tokens -= 1;
    if (this.#tokens >= 0) return;
    // Negative tokens are a queue: the n-th waiter sleeps until n tokens have been refilled.
    const waitMs = (-this.#tokens / this.#qps) * 1000;
    this.#waiting++;
    try {
      await this.#sleep(waitMs);
    } finally {
      this.#waiting--;
    }
  }

  get queued(): number {
    return this.#waiting;
  }
}
