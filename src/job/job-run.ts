// One job from its rendered pod to its final state in GitLab:
//   create (Secrets, Pod, owner refs) → follow (shared pod watch + container logs into the trace)
//   → decide (from the pod status) → report (final PUT through the trace sender) → clean up (delete).
// A restarted or surviving manager enters at "follow" with an existing pod (adoption) and regenerates
// the same trace bytes from the same inputs; the sender skips what GitLab already holds.
import type { Logger } from 'pino';
import type { JobCoordinator } from '../gitlab/coordinator.ts';
import type { JobPayload } from '../gitlab/payload.ts';
import type { Cluster } from '../kubernetes/cluster.ts';
import type { LogFollower } from '../kubernetes/log-follower.ts';
import type { LogRecord } from '../kubernetes/log-records.ts';
import { containerStatus } from '../kubernetes/pod-status.ts';
import type { PodWatch } from '../kubernetes/pod-watch.ts';
import type { OwnerReference, PodObject, SecretObject } from '../kubernetes/wire.ts';
import type { AbortCode, JobObserver, JobOutcome } from '../manager/executor.ts';
import { type JobFailure, jobFailure } from '../trace/job-errors.ts';
import { JobTrace, type TraceStream } from '../trace/job-trace.ts';
import { parseTimestampMicros, STREAM_JOB } from '../trace/timestamper.ts';
import { timeBreakdownLine } from '../trace/timing.ts';
import { TraceSender } from '../trace/trace-sender.ts';
import type { JobRecord } from './job-record.ts';
import { type LogSpans, phaseDurations } from './phase-times.ts';
import { BUILD, HELPER, jobPodDone, jobResult, podProblem, UPLOADER } from './pod-outcome.ts';
import {
  JOB_SUCCEEDED_LINE,
  type PreludeFacts,
  writePodRunning,
  writePostlude,
  writePrelude,
} from './prelude.ts';

export interface JobRunDeps {
  cluster: Cluster;
  watch: PodWatch;
  follower: LogFollower;
  log: Logger;
  observer?: JobObserver;
  /** Test knob: the trace sender's first update interval. */
  traceUpdateIntervalMs?: number;
  /** Test knob: the trace sender's prompt PATCHes (0: only at the update interval, as upstream). */
  tracePromptDelayMs?: number;
}

export interface JobRunSpec {
  job: JobPayload;
  coordinator: JobCoordinator;
  record: JobRecord;
  namespace: string;
  podName: string;
  jobTimeoutSeconds: number;
  /** `poll_timeout`: how long the pod may stay unschedulable. */
  schedulingTimeoutMs: number;
  /** `cleanup_grace_period_seconds` for the final delete. */
  cleanupGraceSeconds?: number;
}

/** What to create for a new job; absent when adopting an existing pod. */
export interface JobObjects {
  pod: PodObject;
  secrets: SecretObject[];
}

type Stop =
  | { kind: 'abort' }
  | { kind: 'failure'; failure: JobFailure }
  | { kind: 'shutdown'; message: string }
  /** Another manager took this job over (this one lost its Lease): let go, touch nothing. */
  | { kind: 'handoff' };

export class JobRun {
  readonly #deps: JobRunDeps;
  readonly #spec: JobRunSpec;
  readonly #trace: JobTrace;
  readonly #sender: TraceSender;
  readonly #facts: PreludeFacts;
  /** What is still to be created: dropped once sent, so a running job holds no rendered Secret. */
  #objects: JobObjects | undefined;
  readonly #jobStream: TraceStream;
  /** Stops log following and waiting. */
  readonly #stopController = new AbortController();
  #stop: Stop | undefined;
  #lastPod: PodObject | undefined;
  #deleted = false;
  #deleteRequested = false;
  /** Containers whose first output was sent promptly. */
  readonly #newsSeen = new Set<typeof HELPER | typeof BUILD>();
  /** First and last log record of each container: finer phase times than the statuses' seconds. */
  readonly #logSpans: LogSpans = {};

  /** `objects`: what to create for a new job; without them the pod must exist (adoption). */
  constructor(deps: JobRunDeps, spec: JobRunSpec, objects?: JobObjects) {
    this.#deps = deps;
    this.#spec = spec;
    this.#objects = objects;
    this.#trace = new JobTrace({
      timestamps: spec.record.timestamps,
      phrases: spec.record.maskPhrases,
      tokenPrefixes: spec.job.features.token_mask_prefixes,
      maskAllDefaultTokens: spec.record.maskAllDefaultTokens,
      outputLimitBytes: spec.record.outputLimitBytes,
    });
    this.#jobStream = this.#trace.stream(STREAM_JOB, 'O');
    this.#sender = new TraceSender({
      coordinator: spec.coordinator,
      jobId: spec.job.id,
      jobToken: spec.job.token,
      source: this.#trace.buffer,
      debugTrace: spec.record.debugTrace,
      supportedFailureReasons: spec.job.features.failure_reasons,
      ...(deps.traceUpdateIntervalMs ? { updateIntervalMs: deps.traceUpdateIntervalMs } : {}),
      ...(deps.tracePromptDelayMs !== undefined ? { promptDelayMs: deps.tracePromptDelayMs } : {}),
    });
    this.#facts = {
      record: spec.record,
      namespace: spec.namespace,
      podName: spec.podName,
      image: spec.record.image,
      traceSections: spec.record.traceSections,
    };
  }

  get podName(): string {
    return this.#spec.podName;
  }

  /** Bytes written to the trace so far (tests, metrics). */
  get traceBytes(): number {
    return this.#trace.buffer.size;
  }

  /** Runs the job to its reported end. `signal` aborts the job on manager shutdown. */
  async run(signal: AbortSignal): Promise<JobOutcome> {
    const { log } = this.#deps;
    this.#sender.on('cancel', () => {
      log.info({ job: this.#spec.job.id }, 'GitLab asked to cancel the job: stopping its pod gracefully');
      void this.#deletePod(undefined);
    });
    this.#sender.on('abort', (info) => {
      log.info({ job: this.#spec.job.id, ...info }, 'GitLab no longer runs the job: stopping it now');
      this.#halt({ kind: 'abort' });
    });
    const onShutdown = () => this.#halt({ kind: 'shutdown', message: shutdownMessage(signal) });
    signal.addEventListener('abort', onShutdown, { once: true });
    writePrelude(this.#trace, this.#facts);
    this.#sender.start();
    try {
      const adopted = !this.#objects;
      if (!adopted) {
        const created = await this.#create();
        if (created) this.#halt({ kind: 'failure', failure: created });
      }
      // An adopted pod already being deleted was being canceled by the manager that died: that
      // delete is this runner's own, so after_script and the failure uploads may finish.
      if (adopted && this.#deps.watch.get(this.#spec.podName)?.metadata?.deletionTimestamp) {
        this.#deleteRequested = true;
      }
      if (!this.#stop) await this.#follow();
      return await this.#finish();
    } finally {
      signal.removeEventListener('abort', onShutdown);
      await this.#sender.stop();
      this.#trace.dispose();
    }
  }

  /** Creates the job's objects, then forgets them (this frame ends; `run`'s lives as long as the job). */
  async #create(): Promise<JobFailure | undefined> {
    const objects = this.#objects;
    this.#objects = undefined;
    if (!objects) return undefined;
    const { cluster } = this.#deps;
    const ns = this.#spec.namespace;
    try {
      for (const secret of objects.secrets) await cluster.createSecret(ns, secret);
      const pod = await cluster.createPod(ns, objects.pod);
      const owner: OwnerReference = {
        apiVersion: 'v1',
        kind: 'Pod',
        name: pod.metadata?.name ?? this.#spec.podName,
        uid: pod.metadata?.uid ?? '',
        blockOwnerDeletion: false,
      };
      for (const secret of objects.secrets) {
        await cluster.setSecretOwner(ns, secret.metadata?.name ?? '', owner);
      }
      return undefined;
    } catch (err) {
      // Whatever got created goes: the Secrets have no owner yet if the pod failed.
      for (const secret of objects.secrets) {
        await cluster.deleteSecret(ns, secret.metadata?.name ?? '').catch(() => false);
      }
      await cluster.deletePod(ns, this.#spec.podName, 0).catch(() => false);
      this.#deleted = true;
      return jobFailure('POD_CREATE_FAILED', { detail: (err as Error).message });
    }
  }

  /** Follows the pod until the job's containers are done, a problem ends it, or it is stopped. */
  async #follow(): Promise<void> {
    const { watch } = this.#deps;
    const name = this.#spec.podName;
    this.#lastPod = watch.get(name);
    const createdAt = Date.parse(this.#lastPod?.metadata?.creationTimestamp ?? '') || Date.now();
    const check = (pod: PodObject | undefined) => {
      if (!pod || this.#stop || this.#deleteRequested) return;
      const problem = podProblem(pod, {
        schedulingTimeoutMs: this.#spec.schedulingTimeoutMs,
        now: Date.now(),
        createdAt,
        serviceContainers: this.#spec.record.serviceContainers,
      });
      if (problem) this.#halt({ kind: 'failure', failure: problem });
    };
    let unsubscribe = () => {};
    const done = new Promise<void>((resolve) => {
      const finishIfDone = (pod: PodObject | undefined) => {
        if (pod && jobPodDone(pod, this.#spec.record.hasUploader)) resolve();
      };
      unsubscribe = watch.subscribe(name, (type, pod) => {
        this.#lastPod = pod;
        if (type === 'DELETED') {
          this.#deleted = true;
          if (!this.#deleteRequested && !this.#stop && !jobPodDone(pod, this.#spec.record.hasUploader)) {
            this.#halt({
              kind: 'failure',
              failure: jobFailure('POD_LOST', {
                detail: `pod "${this.#spec.namespace}/${name}" was deleted`,
              }),
            });
          }
          resolve();
          return;
        }
        check(pod);
        finishIfDone(pod);
      });
      this.#stopController.signal.addEventListener('abort', () => resolve(), { once: true });
      if (!this.#lastPod) {
        // The pod vanished before we could see it (deleted at once, or a create we never saw).
        if (watch.get(name) === undefined) {
          void this.#waitSeen(name).then((seen) => {
            if (!seen && !this.#stop) {
              this.#halt({
                kind: 'failure',
                failure: jobFailure('POD_LOST', { detail: `pod "${name}" not found` }),
              });
            }
          });
        }
      }
      check(this.#lastPod);
      finishIfDone(this.#lastPod);
    });
    // No event arrives while a pod waits to be scheduled: re-check when the timeout runs out.
    const schedulingTimer = setTimeout(() => check(watch.get(name)), this.#spec.schedulingTimeoutMs + 50);
    schedulingTimer.unref();
    const logs = this.#followLogs();
    await done;
    unsubscribe();
    clearTimeout(schedulingTimer);
    // The containers are done: the followers end on their own once they have read everything.
    await logs;
  }

  /** A freshly created pod may not be in the watch cache yet. */
  async #waitSeen(name: string): Promise<boolean> {
    const pod = await this.#deps.watch.waitFor(
      name,
      () => true,
      AbortSignal.any([this.#stopController.signal, AbortSignal.timeout(30_000)]),
    );
    return pod !== undefined;
  }

  /** helper → build → uploader, in that order in the trace; build and uploader are read at once. */
  async #followLogs(): Promise<void> {
    const signal = this.#stopController.signal;
    const follow = (container: string, onRecord: (r: LogRecord) => void) =>
      this.#deps.follower.follow({
        namespace: this.#spec.namespace,
        pod: this.#spec.podName,
        container,
        onRecord,
        signal,
        onError: (err) => this.#deps.log.debug({ err, container }, 'log stream interrupted; resuming'),
      });
    const started = await this.#deps.watch.waitFor(
      this.#spec.podName,
      (p) =>
        containerStatus(p, HELPER)?.state?.running !== undefined ||
        containerStatus(p, HELPER)?.state?.terminated !== undefined,
      signal,
    );
    if (!started || signal.aborted) return;
    const helperState = containerStatus(started, HELPER)?.state;
    const helperStart = helperState?.running?.startedAt ?? helperState?.terminated?.startedAt;
    writePodRunning(
      this.#trace,
      this.#facts,
      helperStart ? parseTimestampMicros(helperStart) : this.#spec.record.acceptedAtMicros,
    );
    await follow(HELPER, (r) => this.#write(r, HELPER));
    if (signal.aborted) return;
    const held: LogRecord[] = [];
    let buildDone = false;
    const uploader = this.#spec.record.hasUploader
      ? follow(UPLOADER, (r) => {
          if (buildDone) this.#write(r, UPLOADER);
          else held.push(r);
        })
      : Promise.resolve();
    await follow(BUILD, (r) => this.#write(r, BUILD));
    buildDone = true;
    for (const r of held.splice(0)) this.#write(r, UPLOADER);
    await uploader;
  }

  #write(record: LogRecord, container: keyof LogSpans): void {
    const at = parseTimestampMicros(record.timestamp);
    this.#jobStream.write(record.data, at);
    const atMs = at / 1000;
    const logSpan = this.#logSpans[container];
    if (logSpan) logSpan.lastMs = atMs;
    else this.#logSpans[container] = { firstMs: atMs, lastMs: atMs };
    if (container === UPLOADER || this.#newsSeen.has(container)) return;
    // The first output of the sources step and of the script: show it at GitLab now rather than
    // at the next update interval (a minute while nobody watches the job).
    this.#newsSeen.add(container);
    this.#sender.flushSoon();
  }

  #halt(stop: Stop): void {
    if (this.#stop) return;
    this.#stop = stop;
    this.#stopController.abort();
    if (stop.kind !== 'handoff') void this.#deletePod(0);
  }

  /** Stops driving the job without reporting or deleting anything: another manager owns it now. */
  handoff(): void {
    this.#halt({ kind: 'handoff' });
  }

  async #deletePod(graceSeconds: number | undefined): Promise<void> {
    if (this.#deleted || (this.#deleteRequested && graceSeconds === undefined)) return;
    this.#deleteRequested = true;
    try {
      const existed = await this.#deps.cluster.deletePod(
        this.#spec.namespace,
        this.#spec.podName,
        graceSeconds,
      );
      if (!existed) this.#deleted = true;
    } catch (err) {
      this.#deps.log.warn(
        { err, pod: this.#spec.podName },
        'could not delete the job pod; retrying at cleanup',
      );
      this.#deleteRequested = false;
    }
  }

  /** Decides, writes the last lines, reports, cleans up. */
  async #finish(): Promise<JobOutcome> {
    const stop = this.#stop;
    if (stop?.kind === 'handoff')
      return { state: 'unreported', error: 'the job was taken over by another manager' };
    if (stop?.kind === 'abort') {
      await this.#cleanup();
      return { state: 'canceled' };
    }
    const pod = this.#lastPod;
    let failure: JobFailure | undefined;
    let warnings: string[] = [];
    if (stop?.kind === 'failure') failure = stop.failure;
    else if (stop?.kind === 'shutdown') failure = jobFailure('SYSTEM_FAILURE', { detail: stop.message });
    else if (!pod) failure = jobFailure('POD_LOST', { detail: `pod "${this.#spec.podName}" not found` });
    else {
      const result = jobResult(pod, {
        jobTimeoutSeconds: this.#spec.jobTimeoutSeconds,
        hasUploader: this.#spec.record.hasUploader,
      });
      warnings = result.warnings;
      if (result.state === 'failed') failure = result.failure;
    }
    const durations = pod
      ? phaseDurations(pod, this.#spec.job.job_info.time_in_queue_seconds, this.#logSpans)
      : {};
    this.#observePhases(durations);
    const at = pod ? endMicros(pod) : undefined;
    const endAt = at ?? Date.now() * 1000;
    writePostlude(
      this.#trace,
      {
        warnings,
        timing: timeBreakdownLine(durations),
        final: failure ? failure.logLine : JOB_SUCCEEDED_LINE,
      },
      endAt,
    );
    this.#trace.finish(endAt);
    const finished = failure
      ? await this.#sender.finish('failed', failure.failureReason, failure.exitCode)
      : await this.#sender.finish('success');
    await this.#cleanup();
    if (finished.result === 'aborted') return { state: 'canceled' };
    if (finished.result === 'failed') return { state: 'unreported', error: finished.error };
    return failure
      ? {
          state: 'failed',
          failureReason: failure.failureReason,
          ...(failure.exitCode !== undefined ? { exitCode: failure.exitCode } : {}),
        }
      : { state: 'success' };
  }

  async #cleanup(): Promise<void> {
    if (this.#deleted) return;
    try {
      await this.#deps.cluster.deletePod(
        this.#spec.namespace,
        this.#spec.podName,
        this.#spec.cleanupGraceSeconds,
      );
      this.#deleted = true;
    } catch (err) {
      this.#deps.log.error({ err, pod: this.#spec.podName }, 'Error cleaning up pod');
    }
  }

  #observePhases(d: ReturnType<typeof phaseDurations>): void {
    const o = this.#deps.observer;
    if (!o) return;
    if (d.queuedMs !== undefined) o.phase('queue', d.queuedMs / 1000);
    if (d.scheduledMs !== undefined) o.phase('scheduling', d.scheduledMs / 1000);
    if (d.imagePullMs !== undefined) o.phase('pull', d.imagePullMs / 1000);
    if (d.initMs !== undefined) o.phase('clone', d.initMs / 1000);
    if (d.scriptMs !== undefined) o.phase('script', d.scriptMs / 1000);
    if (d.uploadMs !== undefined) o.phase('upload', d.uploadMs / 1000);
  }
}

/** The latest `finishedAt` of the pod's containers (µs), so the last lines replay identically. */
function endMicros(pod: PodObject): number | undefined {
  let latest: number | undefined;
  for (const s of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const t = s.state?.terminated?.finishedAt;
    if (!t) continue;
    const us = parseTimestampMicros(t);
    if (latest === undefined || us > latest) latest = us;
  }
  return latest;
}

function shutdownMessage(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  const code = (reason as { code?: AbortCode } | undefined)?.code;
  const text = reason instanceof Error ? reason.message : 'the job was aborted by the runner manager';
  return code ? `${text} (${code})` : text;
}
