// The Kubernetes executor behind the manager's JobHandler: per cluster one client (one shared
// dispatcher), per runner and namespace one pod watch, per runner one manager Lease; per job a
// JobRun. On start it adopts the pods its runner left running (its own, or a dead manager's).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Logger } from 'pino';
import type { RunnerConfig } from '../config/schema/runner.ts';
import { jobTimeoutSeconds, parseJobPayload } from '../gitlab/payload.ts';
import type { Cluster } from '../kubernetes/cluster.ts';
import { loadClusterAccess } from '../kubernetes/cluster-access.ts';
import { KubeCluster } from '../kubernetes/kube-cluster.ts';
import { LogFollower } from '../kubernetes/log-follower.ts';
import { MANAGER_LABEL, ManagerLease, RUNNER_LABEL } from '../kubernetes/manager-lease.ts';
import { PodWatch } from '../kubernetes/pod-watch.ts';
import { podSpecPatchPaths, suffixFromBytes } from '../kubernetes/render/index.ts';
import type { PodObject } from '../kubernetes/wire.ts';
import type { AcceptedJob, AdoptedJob, JobHandler, JobOutcome, RunnerContext } from '../manager/executor.ts';
import type { JobFailure } from '../trace/job-errors.ts';
import { planJob } from './job-plan.ts';
import { JOB_RECORD_KEY, jobRecordSchema } from './job-record.ts';
import { JobRun, type JobRunDeps } from './job-run.ts';

export interface KubernetesExecutorOptions {
  log: Logger;
  version: string;
  revision?: string;
  hostname?: string;
  /** Cluster access for a runner section (tests and the benchmark inject one). */
  clusterFor?: (runner: RunnerConfig) => Cluster;
  /** Seconds a manager's Lease lasts without renewal before others take its jobs over. */
  leaseDurationSeconds?: number;
  /** Test knob for the trace sender's first update interval. */
  traceUpdateIntervalMs?: number;
  /** Test knob for the trace sender's prompt PATCHes (0 turns them off). */
  tracePromptDelayMs?: number;
}

interface Watched {
  watch: PodWatch;
  follower: LogFollower;
  ready: Promise<void>;
}

interface ClusterEntry {
  cluster: Cluster;
  nativeSidecars: Promise<boolean>;
  defaultNamespace: string;
  watches: Map<string, Watched>;
}

interface RunnerState {
  context: RunnerContext;
  lease: ManagerLease;
  leaseReady: Promise<void>;
}

const DEFAULT_POLL_TIMEOUT_S = 180;

export class KubernetesExecutor implements JobHandler {
  readonly #o: Required<
    Omit<KubernetesExecutorOptions, 'clusterFor' | 'traceUpdateIntervalMs' | 'tracePromptDelayMs'>
  > &
    Pick<KubernetesExecutorOptions, 'clusterFor' | 'traceUpdateIntervalMs' | 'tracePromptDelayMs'>;
  readonly #clusters = new Map<string, ClusterEntry>();
  readonly #runners = new Map<string, RunnerState>();
  readonly #runs = new Map<number, { run: JobRun; runnerToken: string; projectId: number; slot: number }>();
  /** Runners (short tokens) whose pods the cluster could not place lately. */
  readonly #congested = new Set<string>();
  #adoptable: ((job: AdoptedJob) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: KubernetesExecutorOptions) {
    this.#o = {
      revision: 'unknown',
      hostname: os.hostname(),
      leaseDurationSeconds: 15,
      ...options,
    };
  }

  async handle(job: AcceptedJob, signal: AbortSignal): Promise<JobOutcome> {
    const runner = job.runner.config;
    const state = this.#runner(job.runner);
    const entry = this.#cluster(runner);
    const log = job.log;
    let nativeSidecars = true;
    try {
      nativeSidecars = await entry.nativeSidecars;
    } catch (err) {
      log.warn({ err }, 'could not read the Kubernetes version; assuming native sidecars');
    }
    const slot = this.#freeSlot();
    const run = await this.#newRun(job, state, entry, nativeSidecars, slot);
    if (!(run instanceof JobRun)) return this.#failBeforePod(job, run);
    this.#runs.set(job.payload.id, {
      run,
      runnerToken: runner.token,
      projectId: job.payload.job_info.project_id,
      slot,
    });
    try {
      return await run.run(signal);
    } finally {
      this.#runs.delete(job.payload.id);
    }
  }

  /**
   * Renders the job's objects and hands them to its JobRun, which drops them once they are
   * created: no frame that lives as long as the job holds the rendered pod and Secret.
   */
  async #newRun(
    job: AcceptedJob,
    state: RunnerState,
    entry: ClusterEntry,
    nativeSidecars: boolean,
    slot: number,
  ): Promise<JobRun | JobFailure> {
    const runner = job.runner.config;
    const plan = planJob({
      job: job.payload,
      raw: job.raw,
      runner,
      shortToken: job.runner.shortToken,
      systemId: job.runner.systemId,
      defaultNamespace: entry.defaultNamespace,
      acceptedAt: job.acceptedAt,
      receivedAt: job.receivedAt,
      randomSuffix: suffixFromBytes(randomBytes(8)),
      projectSlot: this.#projectSlot(job.runner.config.token, job.payload.job_info.project_id),
      concurrentId: slot,
      nativeSidecars,
      hostname: this.#o.hostname,
      version: this.#o.version,
      revision: this.#o.revision,
      ...tlsCa(runner),
      ...patchFiles(runner),
    });
    if ('code' in plan) return plan;
    await state.leaseReady.catch(() => undefined);
    const watched = this.#watch(entry, plan.namespace, job.runner.shortToken);
    await watched.ready;
    return new JobRun(
      this.#deps(entry, watched, job.log, job),
      {
        job: job.payload,
        coordinator: job.coordinator,
        record: plan.record,
        namespace: plan.namespace,
        podName: plan.pod.metadata?.name ?? '',
        jobTimeoutSeconds: jobTimeoutSeconds(job.payload),
        schedulingTimeoutMs: (runner.kubernetes?.poll_timeout ?? DEFAULT_POLL_TIMEOUT_S) * 1000,
        ...cleanupGrace(runner),
      },
      { pod: plan.pod, secrets: plan.secrets },
    );
  }

  /** Jobs of these runners whose pods exist: this manager's own, and those of managers that are gone. */
  async adopt(runners: readonly RunnerContext[], log: Logger): Promise<AdoptedJob[]> {
    const adopted: AdoptedJob[] = [];
    for (const context of runners) {
      const state = this.#runner(context);
      await state.leaseReady;
      adopted.push(...(await this.#adoptFor(state, log)));
    }
    this.#startHousekeeping(log);
    return adopted;
  }

  /**
   * Back-pressure for the feeder: while a pod of this runner waits unschedulable (the cluster has no
   * room or no matching node), asking GitLab for more jobs would only queue more pods behind it.
   */
  admits(context: RunnerContext, jobsHeld: number): boolean {
    let placed = 0;
    for (const entry of this.#clusters.values()) {
      for (const [key, w] of entry.watches) {
        if (!key.endsWith(`\n${context.shortToken}`)) continue;
        for (const pod of w.watch.pods()) {
          if (pod.metadata?.deletionTimestamp || pod.metadata?.labels?.[MANAGER_LABEL] !== context.systemId)
            continue;
          if (unschedulable(pod)) {
            this.#congested.add(context.shortToken);
            return false;
          }
          if (scheduled(pod)) placed++;
        }
      }
    }
    if (!this.#congested.has(context.shortToken)) return true;
    // The cluster was full lately: take a job only when every job held has a node, so at most one
    // waits to be placed; the first pod that gets a node ends the careful mode.
    if (placed >= jobsHeld) {
      if (placed > 0) this.#congested.delete(context.shortToken);
      return true;
    }
    return false;
  }

  /** Jobs taken over later from a manager that died (`replicas: 2`). */
  onAdoptable(listener: (job: AdoptedJob) => void): void {
    this.#adoptable = listener;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    for (const entry of this.#clusters.values()) {
      for (const w of entry.watches.values()) await w.watch.stop();
    }
    // A manager that leaves with no job running gives its Lease up at once.
    if (this.#runs.size === 0) {
      for (const state of this.#runners.values()) await state.lease.release().catch(() => undefined);
    }
    for (const entry of this.#clusters.values()) await entry.cluster.close();
  }

  /** Kubernetes API requests sent so far, over every cluster. */
  get kubernetesRequests(): number {
    let n = 0;
    for (const entry of this.#clusters.values()) n += entry.cluster.requestCount;
    return n;
  }

  async #adoptFor(state: RunnerState, log: Logger): Promise<AdoptedJob[]> {
    const { context } = state;
    const runner = context.config;
    const entry = this.#cluster(runner);
    const ns = runner.kubernetes?.namespace || entry.defaultNamespace;
    const watched = this.#watch(entry, ns, context.shortToken);
    await watched.ready;
    const mine: PodObject[] = [];
    const others = new Map<string, PodObject[]>();
    for (const pod of watched.watch.pods()) {
      const owner = pod.metadata?.labels?.[MANAGER_LABEL] ?? '';
      if (pod.metadata?.deletionTimestamp && this.#runs.size === 0 && owner === context.systemId) continue;
      if (owner === context.systemId) mine.push(pod);
      else if (!this.#isRunning(pod)) others.set(owner, [...(others.get(owner) ?? []), pod]);
    }
    for (const [owner, pods] of others) {
      if (await state.lease.isAlive(owner)) continue;
      if (!(await state.lease.claim(owner))) continue;
      for (const pod of pods) {
        await entry.cluster
          .setPodLabels(ns, pod.metadata?.name ?? '', { [MANAGER_LABEL]: context.systemId })
          .catch((err: unknown) => log.warn({ err, pod: pod.metadata?.name }, 'could not take over a pod'));
        mine.push(pod);
      }
      await state.lease.finishClaim(owner).catch(() => undefined);
      log.info({ manager: owner, pods: pods.length }, 'took over the jobs of a manager that is gone');
    }
    const jobs: AdoptedJob[] = [];
    for (const pod of mine) {
      if (this.#isRunning(pod)) continue;
      const job = await this.#adoptPod(state, entry, watched, ns, pod, log);
      if (job) jobs.push(job);
    }
    return jobs;
  }

  async #adoptPod(
    state: RunnerState,
    entry: ClusterEntry,
    watched: Watched,
    ns: string,
    pod: PodObject,
    log: Logger,
  ): Promise<AdoptedJob | undefined> {
    const name = pod.metadata?.name ?? '';
    const secret = await entry.cluster.readSecret(ns, name).catch(() => undefined);
    const raw = decode(secret?.data?.['job.json']);
    const recordText = decode(secret?.data?.[JOB_RECORD_KEY]);
    const parsed = raw ? parseJobPayload(safeJson(raw)) : undefined;
    const record = recordText ? jobRecordSchema.safeParse(safeJson(recordText)) : undefined;
    if (!parsed?.ok || !record?.success) {
      log.warn({ pod: name }, 'a pod of this runner has no readable job: deleting it');
      await entry.cluster.deletePod(ns, name, 0).catch(() => false);
      return undefined;
    }
    const job = parsed.job;
    const runner = state.context.config;
    const jobLog = log.child({ job: job.id, project: job.job_info.project_id });
    const run = new JobRun(this.#deps(entry, watched, jobLog), {
      job,
      coordinator: state.context.coordinator,
      record: record.data,
      namespace: ns,
      podName: name,
      jobTimeoutSeconds: jobTimeoutSeconds(job),
      schedulingTimeoutMs: (runner.kubernetes?.poll_timeout ?? DEFAULT_POLL_TIMEOUT_S) * 1000,
      ...cleanupGrace(runner),
    });
    const slot = this.#freeSlot();
    this.#runs.set(job.id, { run, runnerToken: runner.token, projectId: job.job_info.project_id, slot });
    return {
      runnerToken: runner.token,
      jobId: job.id,
      projectId: job.job_info.project_id,
      resume: async (signal) => {
        try {
          return await run.run(signal);
        } finally {
          this.#runs.delete(job.id);
        }
      },
    };
  }

  #isRunning(pod: PodObject): boolean {
    for (const { run } of this.#runs.values()) if (run.podName === pod.metadata?.name) return true;
    return false;
  }

  /** Lease renewal and the watch for managers that died. */
  #startHousekeeping(log: Logger): void {
    if (this.#timer) return;
    const everyMs = Math.max(1000, (this.#o.leaseDurationSeconds * 1000) / 3);
    let busy = false;
    this.#timer = setInterval(() => {
      if (busy || this.#closed) return;
      busy = true;
      void this.#housekeeping(log).finally(() => {
        busy = false;
      });
    }, everyMs);
    this.#timer.unref();
  }

  async #housekeeping(log: Logger): Promise<void> {
    for (const state of this.#runners.values()) {
      try {
        const held = await state.lease.renew();
        if (!held) {
          log.error(
            { runner: state.context.shortToken },
            'another manager took this manager over (its Lease expired): handing its jobs over',
          );
          for (const r of this.#runs.values())
            if (r.runnerToken === state.context.config.token) r.run.handoff();
          await state.lease.acquire();
          continue;
        }
        if (!this.#adoptable) continue;
        for (const job of await this.#adoptFor(state, log)) this.#adoptable(job);
      } catch (err) {
        log.warn({ err, runner: state.context.shortToken }, 'lease housekeeping failed; retrying');
      }
    }
  }

  #deps(entry: ClusterEntry, watched: Watched, log: Logger, job?: AcceptedJob): JobRunDeps {
    return {
      cluster: entry.cluster,
      watch: watched.watch,
      follower: watched.follower,
      log,
      ...(job ? { observer: job.observer } : {}),
      ...(this.#o.traceUpdateIntervalMs ? { traceUpdateIntervalMs: this.#o.traceUpdateIntervalMs } : {}),
      ...(this.#o.tracePromptDelayMs !== undefined ? { tracePromptDelayMs: this.#o.tracePromptDelayMs } : {}),
    };
  }

  async #failBeforePod(job: AcceptedJob, failure: JobFailure): Promise<JobOutcome> {
    // Nothing was created: report through a throwaway run with no pod.
    const { JobTrace } = await import('../trace/job-trace.ts');
    const { TraceSender } = await import('../trace/trace-sender.ts');
    const trace = new JobTrace({ timestamps: false, phrases: [job.payload.token] });
    trace.runner.write(failure.logLine);
    trace.finish();
    const sender = new TraceSender({
      coordinator: job.coordinator,
      jobId: job.payload.id,
      jobToken: job.payload.token,
      source: trace.buffer,
      supportedFailureReasons: job.payload.features.failure_reasons,
    });
    const done = await sender.finish('failed', failure.failureReason, failure.exitCode);
    trace.dispose();
    if (done.result === 'aborted') return { state: 'canceled' };
    if (done.result === 'failed') return { state: 'unreported', error: done.error };
    return {
      state: 'failed',
      failureReason: failure.failureReason,
      ...(failure.exitCode !== undefined ? { exitCode: failure.exitCode } : {}),
    };
  }

  #runner(context: RunnerContext): RunnerState {
    const existing = this.#runners.get(context.config.token);
    if (existing) {
      existing.context = context;
      return existing;
    }
    const entry = this.#cluster(context.config);
    const lease = new ManagerLease(entry.cluster, {
      namespace: context.config.kubernetes?.namespace || entry.defaultNamespace,
      runner: context.shortToken,
      identity: context.systemId,
      durationSeconds: this.#o.leaseDurationSeconds,
    });
    const state: RunnerState = { context, lease, leaseReady: lease.acquire() };
    state.leaseReady.catch((err: unknown) =>
      this.#o.log.warn({ err, runner: context.shortToken }, 'could not take this manager’s Lease'),
    );
    this.#runners.set(context.config.token, state);
    return state;
  }

  #cluster(runner: RunnerConfig): ClusterEntry {
    const k = runner.kubernetes;
    const key = JSON.stringify([k?.host, k?.context, k?.cert_file, k?.key_file, k?.ca_file, k?.bearer_token]);
    let entry = this.#clusters.get(key);
    if (entry) return entry;
    let cluster: Cluster;
    let defaultNamespace = 'default';
    if (this.#o.clusterFor) cluster = this.#o.clusterFor(runner);
    else {
      const access = loadClusterAccess({
        ...(k?.host ? { host: k.host } : {}),
        ...(k?.context ? { context: k.context } : {}),
        ...(k?.cert_file ? { cert_file: k.cert_file } : {}),
        ...(k?.key_file ? { key_file: k.key_file } : {}),
        ...(k?.ca_file ? { ca_file: k.ca_file } : {}),
        ...(k?.bearer_token ? { bearer_token: k.bearer_token } : {}),
      });
      defaultNamespace = kubeconfigNamespace(access.namespace);
      cluster = new KubeCluster(access, {
        // ~7 requests a job (log streams included): 1,000/s lets one manager start ~140 jobs a second.
        // The API server's priority and fairness is the real guard; its 429s are honoured.
        qps: numberFromEnv('PODRUNNER_KUBE_QPS', 1000),
        burst: numberFromEnv('PODRUNNER_KUBE_BURST', 2000),
        retry: { limit: k?.retry_limit ?? 5, backoffMaxMs: k?.retry_backoff_max ?? 2000 },
      });
    }
    const nativeSidecars = cluster.serverVersion().then((v) => v.major > 1 || v.minor >= 29);
    nativeSidecars.catch(() => undefined);
    entry = { cluster, nativeSidecars, defaultNamespace, watches: new Map() };
    this.#clusters.set(key, entry);
    return entry;
  }

  #watch(entry: ClusterEntry, namespace: string, shortToken: string): Watched {
    const key = `${namespace}\n${shortToken}`;
    let watched = entry.watches.get(key);
    if (watched) return watched;
    const watch = new PodWatch(entry.cluster, namespace, `${RUNNER_LABEL}=${shortToken}`, {
      onError: (err) => this.#o.log.debug({ err, namespace }, 'pod watch interrupted; resuming'),
    });
    watched = { watch, follower: new LogFollower(entry.cluster, watch), ready: watch.start() };
    watched.ready.catch(() => entry.watches.delete(key));
    entry.watches.set(key, watched);
    return watched;
  }

  /** `CI_CONCURRENT_ID`: the smallest slot number no running job of this manager holds. */
  #freeSlot(): number {
    const used = new Set([...this.#runs.values()].map((r) => r.slot));
    let n = 0;
    while (used.has(n)) n++;
    return n;
  }

  /** The per-project slot (`concurrent-N` in the pod name, `CI_CONCURRENT_PROJECT_ID`). */
  #projectSlot(runnerToken: string, projectId: number): number {
    let n = 0;
    for (const r of this.#runs.values()) if (r.runnerToken === runnerToken && r.projectId === projectId) n++;
    return n;
  }
}

function scheduled(pod: PodObject): boolean {
  return pod.status?.conditions?.some((x) => x.type === 'PodScheduled' && x.status === 'True') ?? false;
}

function unschedulable(pod: PodObject): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  const c = pod.status?.conditions?.find((x) => x.type === 'PodScheduled');
  return c?.status === 'False' && c.reason === 'Unschedulable';
}

function decode(b64: string | undefined): string | undefined {
  return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function tlsCa(runner: RunnerConfig): { tlsCaPem?: string } {
  const file = runner['tls-ca-file'];
  if (!file) return {};
  try {
    return { tlsCaPem: readFileSync(file, 'utf8') };
  } catch {
    return {};
  }
}

function patchFiles(runner: RunnerConfig): { podSpecPatchFiles?: Record<string, string> } {
  const k = runner.kubernetes;
  if (!k) return {};
  const files: Record<string, string> = {};
  for (const path of podSpecPatchPaths(k)) {
    try {
      files[path] = readFileSync(path, 'utf8');
    } catch {
      // renderJob reports the missing file by name
    }
  }
  return Object.keys(files).length ? { podSpecPatchFiles: files } : {};
}

function cleanupGrace(runner: RunnerConfig): { cleanupGraceSeconds?: number } {
  const g = runner.kubernetes?.cleanup_grace_period_seconds;
  return g === undefined ? {} : { cleanupGraceSeconds: g };
}

function kubeconfigNamespace(ns: string | undefined): string {
  if (ns) return ns;
  try {
    return (
      readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim() || 'default'
    );
  } catch {
    return 'default';
  }
}

function numberFromEnv(name: string, fallback: number): number {
  const v = Number.parseFloat(process.env[name] ?? '');
  return Number.isFinite(v) ? v : fallback;
}
