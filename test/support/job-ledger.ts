// What the embedded GitLab saw happen to its jobs, from its `job` events (one per state change): every
// hand-out to a runner, every accept, every final state, and, at every instant, how many jobs each runner
// holds. A job is held by a runner from its hand-out (the 201; with two-phase commit it is still `pending`,
// now with a runner) until its final state; that covers the accept-to-final span and the moments before it.
// Attach it to successive instances of the embedded GitLab (a restart with `statePath`): the ledger goes on.
//
// With `watchCapacity` it also checks the manager's promises continuously:
//   - held by all the manager's runners together ≤ `concurrent`, held by each runner ≤ its `limit`;
//   - a job *waits* while it is `pending` without a runner (queued; every runner of the manager can take
//     it in these tests). A slot is *free* while the runners together hold fewer than `concurrent` jobs
//     and some runner holds fewer than its `limit`. A *starved* span is a stretch of time during which a
//     job waits and a slot is free; the manager promises none lasts longer than one `check_interval`.
import type { JobStatus } from '../../src/sim/gitlab/ci/processing.ts';
import type { JobView, SimGitlab } from '../../src/sim/gitlab/server.ts';

export interface LedgerJob {
  id: number;
  status: JobStatus;
  runnerId: number | null;
  /** 201s with this job (hand-outs to a runner). */
  handouts: number;
  /** Moves to `running` (the two-phase accept). */
  accepts: number;
  /** Moves to a final state. */
  finals: number;
  /** Status changes in order, e.g. `pending`, `pending@2` (handed to runner 2), `running@2`, `success@2`. */
  history: string[];
}

export interface CapacityWatch {
  concurrent: number;
  /** Runner id → `limit` (0: none). Only these runners count as the manager's. */
  limits: Map<number, number>;
}

export interface StarvedSpan {
  from: number;
  to: number;
  ms: number;
}

const FINAL: ReadonlySet<JobStatus> = new Set(['success', 'failed', 'canceled', 'skipped']);

const isHeld = (j: { status: JobStatus; runnerId: number | null }) =>
  (j.status === 'pending' && j.runnerId !== null) || j.status === 'running' || j.status === 'canceling';

export class JobLedger {
  readonly jobs = new Map<number, LedgerJob>();
  /** Held jobs per runner id, now. */
  readonly held = new Map<number, number>();
  readonly maxHeld = new Map<number, number>();
  /** Held by any runner, now. */
  heldTotal = 0;
  maxHeldTotal = 0;
  queued = 0;
  /** Every breach of `concurrent` or a `limit`, when it happened (empty when the manager kept its caps). */
  readonly breaches: string[] = [];
  readonly starved: StarvedSpan[] = [];
  private watch: CapacityWatch | undefined;
  private starvedSince: number | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly detach: Array<() => void> = [];

  /** Follows `sim`'s job events from now on (also for a second instance after a restart). */
  attach(sim: SimGitlab): void {
    this.detach.push(sim.on('job', (job) => this.record(job)));
  }

  close(): void {
    for (const off of this.detach.splice(0)) off();
  }

  /** Starts checking caps and starved spans (counts only the runners in `watch.limits`). */
  watchCapacity(watch: CapacityWatch): void {
    this.watch = watch;
    this.checkCapacity(Date.now());
  }

  /** Ends an open starved span at `now` (call when the measurement ends). */
  settle(now = Date.now()): void {
    if (this.starvedSince === undefined) return;
    this.starved.push({ from: this.starvedSince, to: now, ms: now - this.starvedSince });
    this.starvedSince = now;
  }

  get longestStarvedMs(): number {
    return Math.max(0, ...this.starved.map((s) => s.ms));
  }

  job(id: number): LedgerJob | undefined {
    return this.jobs.get(id);
  }

  /** Resolves when `predicate` holds, checked after every job event. */
  waitFor(predicate: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.listeners.add(check);
    });
  }

  /** Every job in `ids` has reached a final state. */
  allFinal(ids: readonly number[]): boolean {
    return ids.every((id) => {
      const j = this.jobs.get(id);
      return j !== undefined && FINAL.has(j.status);
    });
  }

  private record(view: JobView): void {
    const now = Date.now();
    let job = this.jobs.get(view.id);
    if (!job) {
      job = {
        id: view.id,
        status: 'created',
        runnerId: null,
        handouts: 0,
        accepts: 0,
        finals: 0,
        history: [],
      };
      this.jobs.set(view.id, job);
    }
    const before = { status: job.status, runnerId: job.runnerId };
    const after = { status: view.status, runnerId: view.runnerId };
    if (before.status === after.status && before.runnerId === after.runnerId) return;
    job.status = after.status;
    job.runnerId = after.runnerId;
    job.history.push(after.runnerId === null ? after.status : `${after.status}@${after.runnerId}`);

    const wasQueued = before.status === 'pending' && before.runnerId === null;
    const isQueued = after.status === 'pending' && after.runnerId === null;
    this.queued += Number(isQueued) - Number(wasQueued);
    if (wasQueued && after.runnerId !== null) job.handouts++;
    if (after.status === 'running' && before.status !== 'running') job.accepts++;
    if (FINAL.has(after.status) && !FINAL.has(before.status)) job.finals++;

    if (isHeld(before) && before.runnerId !== null) this.adjust(before.runnerId, -1);
    if (isHeld(after) && after.runnerId !== null) this.adjust(after.runnerId, +1);
    this.checkCapacity(now);
    for (const listener of [...this.listeners]) listener();
  }

  private adjust(runnerId: number, delta: number): void {
    const n = (this.held.get(runnerId) ?? 0) + delta;
    this.held.set(runnerId, n);
    this.maxHeld.set(runnerId, Math.max(this.maxHeld.get(runnerId) ?? 0, n));
    this.heldTotal += delta;
    this.maxHeldTotal = Math.max(this.maxHeldTotal, this.heldTotal);
  }

  private checkCapacity(now: number): void {
    const watch = this.watch;
    if (!watch) return;
    let total = 0;
    let someRunnerHasRoom = false;
    for (const [id, limit] of watch.limits) {
      const held = this.held.get(id) ?? 0;
      total += held;
      if (limit > 0 && held > limit)
        this.breaches.push(`runner ${id} held ${held} jobs (limit ${limit}) at ${now}`);
      if (limit === 0 || held < limit) someRunnerHasRoom = true;
    }
    if (total > watch.concurrent)
      this.breaches.push(`the runners held ${total} jobs (concurrent ${watch.concurrent}) at ${now}`);
    const starving = this.queued > 0 && total < watch.concurrent && someRunnerHasRoom;
    if (starving && this.starvedSince === undefined) this.starvedSince = now;
    if (!starving && this.starvedSince !== undefined) {
      this.starved.push({ from: this.starvedSince, to: now, ms: now - this.starvedSince });
      this.starvedSince = undefined;
    }
  }
}

/** A `.gitlab-ci.yml` of `n` jobs in one stage for the fake executor; `durationMs(i)` per job. */
export function manyJobsYaml(
  n: number,
  durationMs: (i: number) => number,
  extra: (i: number) => Record<string, string> = () => ({}),
): string {
  const lines = ['stages: [test]'];
  for (let i = 1; i <= n; i++) {
    const vars = { PODRUNNER_FAKE_DURATION_MS: String(durationMs(i)), ...extra(i) };
    lines.push(
      `job-${i}:`,
      '  stage: test',
      `  script: ["echo job ${i}"]`,
      `  variables: { ${Object.entries(vars)
        .map(([k, v]) => `${k}: "${v}"`)
        .join(', ')} }`,
    );
  }
  return `${lines.join('\n')}\n`;
}
