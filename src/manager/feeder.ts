// A feeder asks GitLab for jobs for one `[[runners]]` entry (gitlab-runner-api.md §2, §6). It runs
// `request_concurrency` request loops; each loop first takes a slot (so it only asks when a job could run),
// then polls. A job keeps the slot; a 204 or an error gives it back and waits `check_interval` before the
// next request; right after a job the loop asks again at once (unless `strict_check_interval`).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { GitLabClient, JobRequestResult } from '../gitlab/client.ts';
import type { Capacity, RunnerPool, Slot } from './capacity.ts';
import type { RunnerContext } from './executor.ts';
import type { RunnerHealth } from './runner-health.ts';

export interface FeederTarget {
  /** Replaced on config reload; read afresh by every request. */
  context: RunnerContext;
  client: GitLabClient;
  readonly pool: RunnerPool;
  readonly health: RunnerHealth;
}

export interface FeederDeps {
  capacity: Capacity;
  /** Read at every wait, so a reloaded `check_interval` applies at once. */
  checkIntervalMs: () => number;
  /** Takes ownership of `slot`. */
  onJob: (target: FeederTarget, job: { payload: unknown; raw: string }, slot: Slot, receivedAt: Date) => void;
  /** GitLab answered a job request with an HTTP status. */
  onAnswer: (result: JobRequestResult) => void;
  /** The executor's back-pressure: false means do not ask for a job now (see JobHandler.admits). */
  admits?: (context: RunnerContext) => boolean;
  log: Logger;
}

export class Feeder {
  private readonly target: FeederTarget;
  private readonly deps: FeederDeps;
  private controller = new AbortController();
  private loops: Promise<void>[] = [];
  lastUpdate: string | undefined;

  constructor(target: FeederTarget, deps: FeederDeps) {
    this.target = target;
    this.deps = deps;
  }

  get running(): boolean {
    return this.loops.length > 0;
  }

  start(): void {
    if (this.loops.length > 0) return;
    this.controller = new AbortController();
    const n = this.target.context.config.request_concurrency;
    for (let i = 0; i < n; i++) this.loops.push(this.loop(i, this.controller.signal));
  }

  /** Stops asking (open job requests are canceled) and waits for the loops to end. */
  async stop(): Promise<void> {
    this.controller.abort(new Error('feeder stopped'));
    const loops = this.loops;
    this.loops = [];
    await Promise.allSettled(loops);
  }

  /** Restarts the loops so a new `request_concurrency` applies. */
  async restart(): Promise<void> {
    await this.stop();
    this.start();
  }

  private async wait(ms: number, signal: AbortSignal): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal });
      return true;
    } catch {
      return false;
    }
  }

  private async loop(index: number, signal: AbortSignal): Promise<void> {
    const { capacity, log } = this.deps;
    const { client, pool, health } = this.target;
    const rlog = log.child({ runner: this.target.context.shortToken, loop: index });
    let quickRepolls = 0;
    while (!signal.aborted) {
      const paused = health.pausedForMs();
      if (paused > 0) {
        if (!(await this.wait(Math.min(paused, this.deps.checkIntervalMs()), signal))) return;
        continue;
      }
      if (this.deps.admits && !this.deps.admits(this.target.context)) {
        rlog.debug('the executor cannot start another job now (cluster full); not asking GitLab');
        if (!(await this.wait(this.deps.checkIntervalMs(), signal))) return;
        continue;
      }
      let slot: Slot;
      try {
        slot = await capacity.acquire(pool, signal);
      } catch {
        return;
      }
      let result: JobRequestResult;
      const asked = Date.now();
      try {
        result = await client.requestJob(
          { token: this.target.context.config.token, lastUpdate: this.lastUpdate },
          signal,
        );
      } catch (err) {
        result = { kind: 'failed', error: (err as Error).message };
      }
      if (result.kind !== 'job') slot.release();
      if (!(result.kind === 'no-job' && result.longPolled)) quickRepolls = 0;
      if (result.kind !== 'aborted' && !(result.kind === 'failed' && result.status === undefined)) {
        this.deps.onAnswer(result);
      }
      switch (result.kind) {
        case 'job':
          health.healthy();
          this.deps.onJob(this.target, result, slot, new Date());
          if (
            this.target.context.config.strict_check_interval &&
            !(await this.wait(this.deps.checkIntervalMs(), signal))
          ) {
            return;
          }
          continue;
        case 'no-job':
          health.healthy();
          if (result.lastUpdate) this.lastUpdate = result.lastUpdate;
          // Workhorse answered a long poll: either it waited (the server did our waiting) or the queue
          // changed. Ask again at once rather than after check_interval, but never spin on quick answers.
          if (result.longPolled && (Date.now() - asked >= 1000 || quickRepolls++ < 1)) continue;
          break;
        case 'aborted':
          return;
        case 'forbidden':
          if (health.unhealthy()) {
            rlog.error(
              { failures: health.limit, pause_ms: health.intervalMs },
              'GitLab refused the runner token repeatedly (403); this runner is not fed until unhealthy_interval has passed',
            );
          } else {
            rlog.warn({ message: result.message }, 'job request forbidden (check the runner token)');
          }
          break;
        case 'conflict':
          health.healthy();
          rlog.debug('job request conflict (409): another manager took the job');
          break;
        case 'unavailable':
          health.healthy();
          rlog.warn('GitLab is currently unavailable (503)');
          break;
        case 'failed':
          rlog.warn({ status: result.status, error: result.error }, 'job request failed');
          break;
      }
      if (!(await this.wait(this.deps.checkIntervalMs(), signal))) return;
    }
  }
}
