// Turns one level's raw observations (job timelines, process samples, request counts) into its figures.
// Pure: the rules about warm-up and windows live here and nowhere else (README "Benchmarking" explains them).
import type { JobTimes } from './job-times.ts';
import type { LevelPlan } from './plan.ts';
import type { ProcSample } from './proc-sampler.ts';
import type { Latencies, LevelResult } from './report.ts';
import { peakOverlap, summarize } from './stats.ts';

export interface LevelObservations {
  plan: LevelPlan;
  jobDurationMs: number;
  jobs: readonly JobTimes[];
  /** Pipeline created. */
  startedAt: number;
  /** Last final state (or when the level was given up). */
  endedAt: number;
  manager: { pid: number | null; idle: ProcSample | undefined; samples: readonly ProcSample[] };
  gitlabRequests: Record<string, number>;
  /** First and last /proc samples of the stand-ins' processes over the level. */
  standIns?: { bench?: [ProcSample, ProcSample]; kubernetes?: [ProcSample, ProcSample] };
  /** null without Kubernetes. */
  kubernetesRequests: Record<string, number> | null;
  error: string | null;
}

const finalStatuses = new Set(['success', 'failed', 'canceled']);

function latencies(measured: readonly JobTimes[]): Latencies {
  const diffs = (from: (j: JobTimes) => number | undefined, to: (j: JobTimes) => number | undefined) => {
    const out: number[] = [];
    for (const j of measured) {
      const a = from(j);
      const b = to(j);
      // a step seen out of order (clock reads of two processes) counts as no wait, not a negative one
      if (a !== undefined && b !== undefined) out.push(Math.max(0, b - a));
    }
    return summarize(out) ?? null;
  };
  return {
    queuedToAccepted: diffs(
      (j) => j.queuedAt,
      (j) => j.acceptedAt,
    ),
    acceptedToPodCreated: diffs(
      (j) => j.acceptedAt,
      (j) => j.podCreatedAt,
    ),
    podStartedToFirstTrace: diffs(
      (j) => j.podStartedAt,
      (j) => j.firstPodOutputAt ?? j.firstTraceAt,
    ),
    terminatedToFinal: diffs(
      (j) => j.terminatedAt,
      (j) => j.finishedAt,
    ),
    acceptedToFirstTrace: diffs(
      (j) => j.acceptedAt,
      (j) => j.firstTraceAt,
    ),
    acceptedToFinal: diffs(
      (j) => j.acceptedAt,
      (j) => j.finishedAt,
    ),
  };
}

/**
 * Events per second after the first `skip` events: (events after them) ÷ (last − the skip-th). Without a
 * warm-up, (n − 1) ÷ (last − first). Null when there is no span to divide by. `times` ascending.
 */
export function cycleRate(times: readonly number[], skip: number): number | null {
  const from = skip > 0 ? times[skip - 1] : times[0];
  const to = times[times.length - 1];
  const count = skip > 0 ? times.length - skip : times.length - 1;
  if (from === undefined || to === undefined || count < 1 || !(to > from)) return null;
  return count / ((to - from) / 1000);
}

/** CPU seconds per wall second between two samples of one process. */
function cores(pair: [ProcSample, ProcSample] | undefined): number | null {
  if (!pair) return null;
  const [a, b] = pair;
  const wall = (b.t - a.t) / 1000;
  return wall > 0 ? Math.max(0, b.cpuSeconds - a.cpuSeconds) / wall : null;
}

function sum(counts: Record<string, number>): number {
  let n = 0;
  for (const v of Object.values(counts)) n += v;
  return n;
}

/** Time-weighted mean of how many intervals are open over [from, to]. */
function meanOpen(intervals: ReadonlyArray<{ start: number; end: number }>, from: number, to: number) {
  if (!(to > from)) return null;
  let covered = 0;
  for (const { start, end } of intervals) {
    const a = Math.max(start, from);
    const b = Math.min(end, to);
    if (b > a) covered += b - a;
  }
  return covered / (to - from);
}

export function analyzeLevel(o: LevelObservations): LevelResult {
  const { plan } = o;
  const accepted = o.jobs
    .filter((j) => j.acceptedAt !== undefined)
    .sort((a, b) => (a.acceptedAt as number) - (b.acceptedAt as number));
  const warmup = Math.min(plan.warmupJobs, accepted.length);
  const measured = accepted.slice(warmup);
  const finished = o.jobs.filter((j) => j.status !== undefined && finalStatuses.has(j.status));
  const succeeded = finished.filter((j) => j.status === 'success').length;
  const failureReasons: Record<string, number> = {};
  for (const j of finished) {
    if (j.status === 'success') continue;
    const reason = j.status === 'failed' ? (j.failureReason ?? 'unknown_failure') : (j.status as string);
    failureReasons[reason] = (failureReasons[reason] ?? 0) + 1;
  }

  // Rates count whole cycles: jobs ÷ the time from the warm-up's last event to the last event. Measuring
  // from the first measured event instead would count one wave too many when jobs end in waves (every
  // slot refilled at once): N waves span N − 1 cycles. With a continuous stream of starts both agree.
  const acceptTimes = accepted.map((j) => j.acceptedAt as number);
  const finishTimes = finished
    .map((j) => j.finishedAt)
    .filter((t): t is number => t !== undefined)
    .sort((a, b) => a - b);
  const startsPerSecond = cycleRate(acceptTimes, warmup);
  const jobsPerSecond = cycleRate(finishTimes, warmup);
  const lastAccepted = acceptTimes[acceptTimes.length - 1];
  const lastFinish = finishTimes[finishTimes.length - 1];
  // the steady window: warm-up over → the queue is empty (the last job accepted)
  const windowFrom = warmup > 0 ? acceptTimes[warmup - 1] : acceptTimes[0];
  const windowTo = lastAccepted;

  const intervals = accepted.map((j) => ({
    start: j.acceptedAt as number,
    end: j.finishedAt ?? o.endedAt,
  }));

  const { idle, samples } = o.manager;
  const last = samples[samples.length - 1];
  const peakRss = samples.reduce<number | null>(
    (m, s) => (m === null || s.rssBytes > m ? s.rssBytes : m),
    null,
  );
  const cpuSeconds = idle && last ? Math.max(0, last.cpuSeconds - idle.cpuSeconds) : null;
  const cpuWall = idle && last ? (last.t - idle.t) / 1000 : 0;

  const traceBytes = o.jobs.reduce((n, j) => n + j.traceBytes, 0);
  const traceSpan =
    acceptTimes[0] !== undefined && lastFinish !== undefined ? (lastFinish - acceptTimes[0]) / 1000 : 0;
  const jobCount = o.jobs.length;
  const gitlabTotal = sum(o.gitlabRequests);
  const kubeTotal = o.kubernetesRequests ? sum(o.kubernetesRequests) : 0;

  return {
    concurrency: plan.concurrency,
    jobs: jobCount,
    warmupJobs: warmup,
    measuredJobs: measured.length,
    succeededJobs: succeeded,
    failedJobs: finished.length - succeeded,
    unfinishedJobs: jobCount - finished.length,
    failureReasons,
    error: o.error,
    wallSeconds: Math.max(0, (o.endedAt - o.startedAt) / 1000),
    windowSeconds:
      windowFrom !== undefined && windowTo !== undefined ? Math.max(0, (windowTo - windowFrom) / 1000) : 0,
    startsPerSecond,
    jobsPerSecond,
    idealJobsPerSecond: o.jobDurationMs > 0 ? plan.concurrency / (o.jobDurationMs / 1000) : 0,
    peakRunning: peakOverlap(intervals),
    meanRunning:
      windowFrom !== undefined && windowTo !== undefined ? meanOpen(intervals, windowFrom, windowTo) : null,
    latencyMs: latencies(measured),
    manager: {
      pid: o.manager.pid,
      idleRssBytes: idle?.rssBytes ?? null,
      peakRssBytes: peakRss,
      cpuSeconds,
      cpuMsPerJob: cpuSeconds !== null && finished.length > 0 ? (cpuSeconds * 1000) / finished.length : null,
      cpuCores: cpuSeconds !== null && cpuWall > 0 ? cpuSeconds / cpuWall : null,
      samples: samples.length,
    },
    standIns: { benchCpuCores: cores(o.standIns?.bench), kubernetesCpuCores: cores(o.standIns?.kubernetes) },
    requests: {
      gitlab: {
        total: gitlabTotal,
        perJob: jobCount > 0 ? gitlabTotal / jobCount : 0,
        byKind: o.gitlabRequests,
      },
      kubernetes: o.kubernetesRequests
        ? {
            total: kubeTotal,
            perJob: jobCount > 0 ? kubeTotal / jobCount : 0,
            byKind: o.kubernetesRequests,
          }
        : null,
    },
    trace: {
      bytes: traceBytes,
      bytesPerJob: jobCount > 0 ? traceBytes / jobCount : 0,
      bytesPerSecond: traceSpan > 0 ? traceBytes / traceSpan : 0,
    },
  };
}

/** Counts of `after` minus `before`, per key (request counters sampled at the level's start and end). */
export function countsSince(before: Record<string, number>, after: Record<string, number>) {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}
