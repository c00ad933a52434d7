// The manager: runner entries and their feeders, the slots they share, the jobs in flight, config reloads
// and shutdown. Flow: feeder (slot taken) → 201 → intake (validate, accept PUT) → handler → slot released.
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { activeRunners } from '../config/load.ts';
import type { PodrunnerConfig } from '../config/schema/config.ts';
import type { RunnerConfig } from '../config/schema/runner.ts';
import { GitLabClient } from '../gitlab/client.ts';
import type { GitLabConnections } from '../gitlab/connections.ts';
import type { JobUpdateResult } from '../gitlab/coordinator.ts';
import { type JobPayload, parseJobPayload } from '../gitlab/payload.ts';
import { runnerInfo } from '../gitlab/runner-info.ts';
import { resolveTlsFiles } from '../gitlab/tls.ts';
import { shortToken } from '../gitlab/tokens.ts';
import type { ManagerMetrics } from '../metrics/registry.ts';
import { Capacity, RunnerPool, type Slot } from './capacity.ts';
import {
  type AcceptedJob,
  type AdoptedJob,
  JobAbortError,
  type JobHandler,
  type JobObserver,
  type JobOutcome,
  type RunnerContext,
} from './executor.ts';
import { Feeder, type FeederTarget } from './feeder.ts';
import { interimReporter, JobReport, type JobReporter, systemFailureLine } from './job-report.ts';
import { RunnerHealth } from './runner-health.ts';

export interface ManagerOptions {
  handler: JobHandler;
  connections: GitLabConnections;
  metrics: ManagerMetrics;
  log: Logger;
  systemId: string;
  /** `<config dir>/certs`: `<host>.crt` and friends. */
  certsDir?: string;
  reporter?: JobReporter;
  /** How long aborted handlers get to report before the manager reports for them. */
  abortGraceMs?: number;
  /** How long a failing accept update is retried (default 5 minutes). */
  acceptDeadlineMs?: number;
}

interface RunnerEntry extends FeederTarget {
  context: RunnerContext;
  feeder: Feeder;
}

interface RunningJob {
  id: number;
  projectId: number | undefined;
  entry: RunnerEntry;
  token: string;
  failureReasons: readonly string[];
  startedAt: number;
  controller: AbortController;
  settled: boolean;
  done: Promise<void>;
  stage: string;
  executorStage: string;
  labels: { runner: string; runner_name: string; system_id: string };
}

export interface ShutdownResult {
  /** Jobs that ended on their own during the shutdown. */
  finished: number;
  /** Jobs aborted by the shutdown and reported failed. */
  aborted: number;
  /** Jobs whose final state could not be delivered to GitLab. */
  unreported: number;
}

const runnerKey = (r: RunnerConfig) => `${r.url}\n${r.token}`;

export interface ManagerEvents {
  'job-started': [job: { id: number; runner: string }];
  /** GitLab answered a job request for the first time (readiness). */
  'gitlab-reached': [];
  'job-finished': [job: { id: number; runner: string; outcome: JobOutcome; seconds: number }];
}

/** Emits `job-started` and `job-finished` (for tests, the benchmark and whoever watches the flow). */
export class Manager extends EventEmitter<ManagerEvents> {
  private readonly options: ManagerOptions;
  private readonly log: Logger;
  private readonly capacity: Capacity;
  private readonly runners = new Map<string, RunnerEntry>();
  private readonly jobs = new Map<number, RunningJob>();
  private config: PodrunnerConfig | undefined;
  private previousLabels: Record<string, string> | undefined;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private reachedGitLab = false;
  private shutdownPromise: Promise<ShutdownResult> | undefined;
  private escalate: ((reason: JobAbortError) => void) | undefined;
  private readonly reporter: JobReporter;
  private counts = { aborted: 0, unreported: 0, finishedDuringShutdown: 0 };

  constructor(options: ManagerOptions) {
    super();
    this.options = options;
    this.log = options.log;
    this.reporter = options.reporter ?? interimReporter;
    this.capacity = new Capacity(1, (used) => options.metrics.slotsInUse.set(used));
  }

  /** Applies `config`, adopts jobs the executor already runs, then starts feeding. */
  async start(config: PodrunnerConfig): Promise<void> {
    if (this.state !== 'new') throw new Error('the manager was already started');
    this.applyGlobal(config);
    for (const r of activeRunners(config)) this.addRunner(r);
    if (this.options.handler.adopt) {
      const contexts = [...this.runners.values()].map((e) => e.context);
      let adopted: AdoptedJob[] = [];
      try {
        adopted = await this.options.handler.adopt(contexts, this.log);
      } catch (err) {
        this.log.error({ err }, 'the executor could not list the jobs it already runs; none adopted');
      }
      for (const job of adopted) this.adoptJob(job);
      this.options.handler.onAdoptable?.((job) => {
        if (this.state === 'running') this.adoptJob(job);
      });
    }
    this.state = 'running';
    for (const entry of this.runners.values()) entry.feeder.start();
    this.log.info(
      { concurrent: config.concurrent, runners: [...this.runners.values()].map((e) => e.context.shortToken) },
      'manager started',
    );
  }

  /** Gives a job the executor already runs a slot of its runner (beyond the caps if need be). */
  private adoptJob(job: AdoptedJob): void {
    const entry = [...this.runners.values()].find((e) => e.context.config.token === job.runnerToken);
    if (!entry) {
      this.log.warn({ job: job.jobId }, 'adopted job belongs to no configured runner; it is left alone');
      return;
    }
    const slot = this.capacity.force(entry.pool);
    this.track(
      entry,
      { id: job.jobId, projectId: job.projectId, token: '', failureReasons: [] },
      slot,
      (signal) => job.resume(signal),
    );
    this.log.info(
      { job: job.jobId, project: job.projectId, runner: entry.context.shortToken },
      'job adopted',
    );
  }

  /** Applies a reloaded config: capacity, added, removed and changed runner entries. Running jobs go on. */
  async apply(config: PodrunnerConfig): Promise<void> {
    if (this.state !== 'running') return;
    this.applyGlobal(config);
    const wanted = new Map(activeRunners(config).map((r) => [runnerKey(r), r]));
    for (const [key, entry] of this.runners) {
      if (!wanted.has(key)) {
        this.runners.delete(key);
        await entry.feeder.stop();
        this.log.info(
          { runner: entry.context.shortToken },
          'runner removed from the config; its running jobs go on',
        );
      }
    }
    for (const [key, r] of wanted) {
      const entry = this.runners.get(key);
      if (!entry) {
        this.addRunner(r).feeder.start();
        this.log.info({ runner: shortToken(r.token) }, 'runner added');
        continue;
      }
      const before = entry.context.config;
      this.updateRunner(entry, r);
      if (before.request_concurrency !== r.request_concurrency) await entry.feeder.restart();
    }
  }

  private applyGlobal(config: PodrunnerConfig): void {
    this.previousLabels = this.config?.labels;
    this.config = config;
    this.capacity.setConcurrent(config.concurrent);
    this.options.metrics.concurrent.set(config.concurrent);
  }

  private clientFor(r: RunnerConfig): GitLabClient {
    const tls = resolveTlsFiles(
      r.url,
      { caFile: r['tls-ca-file'], certFile: r['tls-cert-file'], keyFile: r['tls-key-file'] },
      this.options.certsDir,
    );
    const short = shortToken(r.token);
    return new GitLabClient({
      url: r.url,
      dispatcher: this.options.connections.dispatcherFor(r.url, tls),
      systemId: this.options.systemId,
      runnerShortToken: short,
      info: runnerInfo({ labels: { ...(this.config?.labels ?? {}), ...r.labels } }),
      onCall: (call) => this.options.metrics.observeApiCall({ ...call, systemId: this.options.systemId }),
    });
  }

  private contextFor(r: RunnerConfig, client: GitLabClient): RunnerContext {
    return {
      config: r,
      shortToken: shortToken(r.token),
      systemId: this.options.systemId,
      coordinator: client,
    };
  }

  private addRunner(r: RunnerConfig): RunnerEntry {
    const client = this.clientFor(r);
    const entry = {
      context: this.contextFor(r, client),
      client,
      pool: new RunnerPool(r.limit),
      health: new RunnerHealth(r.unhealthy_requests_limit, r.unhealthy_interval),
    } as RunnerEntry;
    entry.feeder = new Feeder(entry, {
      capacity: this.capacity,
      checkIntervalMs: () => (this.config?.check_interval ?? 3) * 1000,
      onJob: (target, job, slot, receivedAt) => this.intake(target as RunnerEntry, job, slot, receivedAt),
      ...(this.options.handler.admits
        ? {
            admits: (context: RunnerContext) =>
              this.options.handler.admits?.(context, entry.pool.used) ?? true,
          }
        : {}),
      onAnswer: () => {
        if (this.reachedGitLab) return;
        this.reachedGitLab = true;
        this.emit('gitlab-reached');
      },
      log: this.log,
    });
    this.runners.set(runnerKey(r), entry);
    this.setRunnerGauges(entry);
    return entry;
  }

  private updateRunner(entry: RunnerEntry, r: RunnerConfig): void {
    const before = entry.context.config;
    const clientChanged = (['labels', 'tls-ca-file', 'tls-cert-file', 'tls-key-file'] as const).some(
      (k) => JSON.stringify(before[k]) !== JSON.stringify(r[k]),
    );
    if (clientChanged || JSON.stringify(this.config?.labels) !== JSON.stringify(this.previousLabels)) {
      entry.client = this.clientFor(r);
    }
    entry.context = this.contextFor(r, entry.client);
    entry.pool.limit = r.limit;
    entry.health.limit = r.unhealthy_requests_limit;
    entry.health.intervalMs = r.unhealthy_interval;
    this.capacity.poolChanged();
    this.setRunnerGauges(entry);
  }

  private setRunnerGauges(entry: RunnerEntry): void {
    const { config, shortToken: runner } = entry.context;
    const system_id = this.options.systemId;
    this.options.metrics.limit.set({ runner, runner_name: config.name, system_id }, config.limit);
    this.options.metrics.requestConcurrency.set({ runner, system_id }, config.request_concurrency);
  }

  /** A 201 arrived: validate, accept (two-phase commit), hand to the executor. Owns `slot` from here. */
  private intake(
    entry: RunnerEntry,
    job: { payload: unknown; raw: string },
    slot: Slot,
    receivedAt: Date,
  ): void {
    const parsed = parseJobPayload(job.payload);
    const { context } = entry;
    if (!parsed.ok) {
      this.log.error(
        { job: parsed.jobId, runner: context.shortToken, error: parsed.error },
        'job payload failed validation',
      );
      if (parsed.jobId === undefined || parsed.token === undefined) {
        slot.release();
        return;
      }
      this.track(
        entry,
        { id: parsed.jobId, projectId: undefined, token: parsed.token, failureReasons: [] },
        slot,
        async (signal, _observer, log) => {
          const accept = await this.accept(context, parsed.jobId!, parsed.token!, log, signal);
          if (accept.kind === 'abort') return { state: 'canceled' };
          const report = new JobReport(
            {
              jobId: parsed.jobId!,
              jobToken: parsed.token!,
              coordinator: context.coordinator,
              failureReasons: [],
            },
            { retryLimit: context.config.job_status_final_update_retry_limit, log: this.log },
          );
          report.write(systemFailureLine(`podrunner cannot run this job: ${parsed.error}`));
          return report.finish({ state: 'failed', failureReason: 'runner_system_failure', exitCode: 3 });
        },
      );
      return;
    }
    const payload = parsed.job;
    this.track(
      entry,
      {
        id: payload.id,
        projectId: payload.job_info.project_id,
        token: payload.token,
        failureReasons: payload.features.failure_reasons,
      },
      slot,
      async (signal, observer, log) => {
        const accept = await this.accept(context, payload.id, payload.token, log, signal);
        if (accept.kind === 'abort' || (accept.kind === 'ok' && accept.cancelRequested)) {
          log.info(
            { job: payload.id, answer: accept.kind },
            'job dropped: GitLab canceled it before it started',
          );
          return { state: 'canceled' };
        }
        if (accept.kind === 'failed')
          log.warn({ job: payload.id, error: accept.error }, 'accept update failed; running the job anyway');
        const accepted: AcceptedJob = {
          payload,
          raw: job.raw,
          runner: context,
          coordinator: context.coordinator,
          receivedAt,
          acceptedAt: new Date(),
          log,
          observer,
        };
        if (typeof payload.job_info.time_in_queue_seconds === 'number') {
          observer.phase('queue', payload.job_info.time_in_queue_seconds);
          this.options.metrics.jobQueueDuration.observe(
            { runner: context.shortToken, system_id: this.options.systemId, project_jobs_running: '' },
            payload.job_info.time_in_queue_seconds,
          );
        }
        return this.options.handler.handle(accepted, signal);
      },
      payload,
    );
  }

  /**
   * The two-phase accept (`PUT state=running`) right after the 201. GitLab keeps the job pending until it
   * arrives, so a network failure or 5xx is retried (up to `acceptDeadlineMs`) instead of running a job
   * GitLab does not know is running. Other answers are final, as upstream reads them.
   */
  private async accept(
    context: RunnerContext,
    jobId: number,
    jobToken: string,
    log: Logger,
    signal: AbortSignal,
  ): Promise<JobUpdateResult> {
    const deadline = Date.now() + (this.options.acceptDeadlineMs ?? 5 * 60_000);
    let delay = 500;
    for (;;) {
      const res = await context.coordinator.updateJob(jobId, jobToken, { state: 'running' });
      const retriable = res.kind === 'failed' && (res.status === undefined || res.status >= 500);
      if (!retriable || Date.now() + delay > deadline || signal.aborted) return res;
      log.warn({ job: jobId, error: res.error, retry_in_ms: delay }, 'accepting the job failed; retrying');
      try {
        await sleep(delay, undefined, { signal });
      } catch {
        return res;
      }
      delay = Math.min(delay * 2, 30_000);
    }
  }

  private track(
    entry: RunnerEntry,
    job: { id: number; projectId: number | undefined; token: string; failureReasons: readonly string[] },
    slot: Slot,
    run: (signal: AbortSignal, observer: JobObserver, log: Logger) => Promise<JobOutcome>,
    payload?: JobPayload,
  ): void {
    const { metrics } = this.options;
    const labels = {
      runner: entry.context.shortToken,
      runner_name: entry.context.config.name,
      system_id: this.options.systemId,
    };
    const running: RunningJob = {
      ...job,
      entry,
      startedAt: Date.now(),
      controller: new AbortController(),
      settled: false,
      done: Promise.resolve(),
      stage: '',
      executorStage: '',
      labels,
    };
    const gauge = () => ({
      ...labels,
      state: 'running',
      stage: running.stage,
      executor_stage: running.executorStage,
    });
    metrics.jobs.inc(gauge());
    metrics.jobsTotal.inc(labels);
    const log = this.log.child({ job: job.id, runner: labels.runner });
    const observer: JobObserver = {
      phase: (phase, seconds) => metrics.jobPhase.observe({ runner: labels.runner, phase }, seconds),
      stage: (stage, executorStage = '') => {
        metrics.jobs.dec(gauge());
        running.stage = stage;
        running.executorStage = executorStage;
        metrics.jobs.inc(gauge());
      },
    };
    log.info(
      {
        project: job.projectId,
        project_path: payload?.job_info.project_full_path ?? undefined,
        job_name: payload?.job_info.name,
        queued_s: payload?.job_info.time_in_queue_seconds ?? undefined,
      },
      'job started',
    );
    this.jobs.set(job.id, running);
    this.emit('job-started', { id: job.id, runner: labels.runner });
    running.done = (async () => {
      let outcome: JobOutcome;
      try {
        outcome = await run(running.controller.signal, observer, log);
      } catch (err) {
        log.error({ err }, 'the executor failed; reporting the job failed');
        outcome = await this.reportFor(running, `the executor failed: ${(err as Error).message}`, Infinity);
      }
      if (this.jobs.get(job.id) !== running) return;
      this.finishJob(running, outcome, log);
    })();
    void running.done.finally(() => slot.release());
  }

  private finishJob(running: RunningJob, outcome: JobOutcome, log: Logger): void {
    if (running.settled) return;
    running.settled = true;
    this.jobs.delete(running.id);
    const { metrics } = this.options;
    metrics.jobs.dec({
      ...running.labels,
      state: 'running',
      stage: running.stage,
      executor_stage: running.executorStage,
    });
    const seconds = (Date.now() - running.startedAt) / 1000;
    metrics.jobDuration.observe(running.labels, seconds);
    if (outcome.state === 'failed') {
      metrics.failedJobsTotal.inc({
        runner: running.labels.runner,
        runner_name: running.labels.runner_name,
        failure_reason: outcome.failureReason,
      });
    }
    if (outcome.state === 'unreported') this.counts.unreported++;
    if (this.state === 'stopping' && !running.controller.signal.aborted) this.counts.finishedDuringShutdown++;
    const fields = {
      project: running.projectId,
      duration_s: Math.round(seconds * 1000) / 1000,
      result: outcome.state,
      ...(outcome.state === 'failed'
        ? { failure_reason: outcome.failureReason, exit_code: outcome.exitCode }
        : {}),
      ...(outcome.state === 'unreported' ? { error: outcome.error } : {}),
    };
    if (outcome.state === 'unreported')
      log.error(fields, 'job finished but its final state could not be reported');
    else log.info(fields, 'job finished');
    this.emit('job-finished', { id: running.id, runner: running.labels.runner, outcome, seconds });
  }

  /** Reports a job failed on the handler's behalf. */
  private async reportFor(running: RunningJob, message: string, deadline: number): Promise<JobOutcome> {
    if (!running.token) return { state: 'unreported', error: `no job token to report with: ${message}` };
    return this.reporter.fail(
      {
        jobId: running.id,
        jobToken: running.token,
        coordinator: running.entry.context.coordinator,
        failureReasons: running.failureReasons,
      },
      { state: 'failed', failureReason: 'runner_system_failure' },
      systemFailureLine(message),
      {
        retryLimit: running.entry.context.config.job_status_final_update_retry_limit,
        ...(Number.isFinite(deadline) ? { deadline } : {}),
        log: this.log,
      },
    );
  }

  // ---- status ----

  readiness(): { ready: boolean; reason: string } {
    if (this.state === 'new') return { ready: false, reason: 'starting' };
    if (this.state !== 'running') return { ready: false, reason: 'shutting down' };
    if (this.runners.size > 0 && !this.reachedGitLab)
      return { ready: false, reason: 'GitLab has not answered yet' };
    return { ready: true, reason: `ready: ${this.runners.size} runner(s), ${this.jobs.size} job(s) running` };
  }

  jobList(): string[] {
    return [...this.jobs.values()].map(
      (j) =>
        `id=${j.id} runner=${j.labels.runner} project=${j.projectId ?? ''} state=running stage=${j.stage} executor_stage=${j.executorStage} duration=${((Date.now() - j.startedAt) / 1000).toFixed(1)}s`,
    );
  }

  get runningJobs(): number {
    return this.jobs.size;
  }

  get slotsInUse(): number {
    return this.capacity.inUse;
  }

  // ---- shutdown ----

  /**
   * Stops feeding and waits for the running jobs. `graceful`: they may finish within `timeoutMs`, then the
   * rest are aborted; `forceful`: they are aborted at once and get `timeoutMs` to report. A second call
   * escalates: running jobs are aborted now.
   */
  shutdown(mode: 'graceful' | 'forceful', timeoutMs: number, reason: string): Promise<ShutdownResult> {
    if (this.shutdownPromise) {
      this.escalate?.(
        new JobAbortError('ABORTED_BY_SIGNAL', `podrunner is stopping: ${reason}; the job was aborted`),
      );
      return this.shutdownPromise;
    }
    this.shutdownPromise = this.runShutdown(mode, timeoutMs, reason);
    return this.shutdownPromise;
  }

  private async runShutdown(
    mode: 'graceful' | 'forceful',
    timeoutMs: number,
    reason: string,
  ): Promise<ShutdownResult> {
    this.state = 'stopping';
    const escalation = new Promise<JobAbortError>((resolve) => {
      this.escalate = resolve;
    });
    this.log.info(
      { mode, jobs: this.jobs.size, timeout_s: timeoutMs / 1000, reason },
      'stopping: no new jobs are requested',
    );
    await Promise.all([...this.runners.values()].map((e) => e.feeder.stop()));

    const allDone = () => Promise.all([...this.jobs.values()].map((j) => j.done)).then(() => 'done' as const);
    const timer = (ms: number) => sleep(ms, 'timeout' as const, { ref: false });
    let abortReason: JobAbortError | undefined;
    if (mode === 'forceful') {
      abortReason = new JobAbortError(
        'FORCEFUL_SHUTDOWN',
        `podrunner is stopping (${reason}); the job was aborted`,
      );
    } else if (this.jobs.size > 0) {
      const first = await Promise.race([allDone(), timer(timeoutMs), escalation]);
      if (first === 'timeout') {
        abortReason = new JobAbortError(
          'SHUTDOWN_TIMEOUT',
          `podrunner is stopping (${reason}) and the job did not finish within shutdown_timeout (${timeoutMs / 1000}s)`,
        );
      } else if (first instanceof JobAbortError) {
        abortReason = first;
      }
    }
    if (abortReason && this.jobs.size > 0) {
      const grace = mode === 'forceful' ? timeoutMs : (this.options.abortGraceMs ?? 10_000);
      await this.abortJobs(abortReason, grace, escalation);
    }
    this.state = 'stopped';
    const result = {
      finished: this.counts.finishedDuringShutdown,
      aborted: this.counts.aborted,
      unreported: this.counts.unreported,
    };
    this.log.info(result, 'stopped');
    return result;
  }

  /** Aborts every running job; after `graceMs` the manager reports the ones whose handler has not. */
  private async abortJobs(
    reason: JobAbortError,
    graceMs: number,
    escalation: Promise<JobAbortError>,
  ): Promise<void> {
    const jobs = [...this.jobs.values()];
    this.log.warn({ jobs: jobs.map((j) => j.id), reason: reason.message }, 'aborting running jobs');
    this.counts.aborted += jobs.length;
    for (const j of jobs) j.controller.abort(reason);
    const allDone = Promise.all(jobs.map((j) => j.done));
    const first = await Promise.race([
      allDone.then(() => 'done' as const),
      sleep(graceMs, 'timeout' as const, { ref: false }),
      escalation,
    ]);
    if (first === 'done') return;
    const left = jobs.filter((j) => !j.settled);
    if (left.length === 0) return;
    this.log.error(
      { jobs: left.map((j) => j.id) },
      'aborted jobs did not report in time; reporting them failed',
    );
    const deadline = Date.now() + Math.max(graceMs, 10_000);
    await Promise.all(
      left.map(async (j) => {
        const log = this.log.child({ job: j.id, runner: j.labels.runner });
        const outcome = await this.reportFor(j, reason.message, deadline);
        this.finishJob(j, outcome, log);
      }),
    );
  }
}
