// Backing off a runner entry that GitLab keeps refusing (gitlab-runner-api.md §2.5): after
// `unhealthy_requests_limit` consecutive unhealthy answers (403) the entry is not fed until
// `unhealthy_interval` has passed since its last healthy answer; then it gets a fresh allowance.

export class RunnerHealth {
  private failures = 0;
  private lastHealthy: number;
  limit: number;
  intervalMs: number;
  private readonly now: () => number;

  constructor(limit: number, intervalMs: number, now: () => number = Date.now) {
    this.limit = limit;
    this.intervalMs = intervalMs;
    this.now = now;
    this.lastHealthy = now();
  }

  healthy(): void {
    this.failures = 0;
    this.lastHealthy = this.now();
  }

  /** Returns true when this failure pauses the entry. */
  unhealthy(): boolean {
    this.failures++;
    return this.failures === this.limit;
  }

  /** Milliseconds until the entry may be fed again; 0 when it may be fed now. */
  pausedForMs(): number {
    if (this.failures < this.limit) return 0;
    const wait = this.lastHealthy + this.intervalMs - this.now();
    if (wait > 0) return wait;
    // The pause is over: a fresh allowance, counted from now.
    this.failures = 0;
    this.lastHealthy = this.now();
    return 0;
  }
}
