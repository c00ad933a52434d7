// Synthetic observations and reports for the bench's pure parts.
import { analyzeLevel, type LevelObservations } from '../../../src/bench/analyze.ts';
import { buildReport } from '../../../src/bench/build-report.ts';
import type { JobTimes } from '../../../src/bench/job-times.ts';
import { parseBenchOptions } from '../../../src/bench/options.ts';
import { planLevel } from '../../../src/bench/plan.ts';
import type { BenchMode, BenchReport, LevelResult } from '../../../src/bench/report.ts';

/**
 * A closed loop of `jobs` jobs of `durationMs` on `concurrency` slots, every job accepted `startGapMs` after
 * a slot frees up, with fixed step latencies; times start at 1_000_000.
 */
export function syntheticJobs(
  concurrency: number,
  jobs: number,
  durationMs: number,
  options: { withPods?: boolean; startGapMs?: number; traceAfterMs?: number; finalAfterMs?: number } = {},
): JobTimes[] {
  const t0 = 1_000_000;
  const gap = options.startGapMs ?? 10;
  const traceAfter = options.traceAfterMs ?? 20;
  const finalAfter = options.finalAfterMs ?? 30;
  const slotFree = Array.from({ length: concurrency }, (_, i) => t0 + i * gap);
  const out: JobTimes[] = [];
  for (let i = 0; i < jobs; i++) {
    const slot = i % concurrency;
    const accepted = slotFree[slot] as number;
    const podCreated = accepted + 5;
    const podStarted = podCreated + 100;
    const terminated = podStarted + durationMs;
    const finished = terminated + finalAfter;
    slotFree[slot] = finished + gap;
    out.push({
      id: i + 1,
      queuedAt: t0,
      acceptedAt: accepted,
      firstTraceAt: (options.withPods ? podStarted : accepted) + traceAfter,
      finishedAt: finished,
      status: 'success',
      traceBytes: 1000,
      ...(options.withPods
        ? { podCreatedAt: podCreated, podStartedAt: podStarted, terminatedAt: terminated }
        : {}),
    });
  }
  return out;
}

export function observations(
  concurrency: number,
  jobs: JobTimes[],
  patch: Partial<LevelObservations> = {},
): LevelObservations {
  const finals = jobs.map((j) => j.finishedAt ?? 0);
  const endedAt = Math.max(...finals);
  const MiB = 1024 * 1024;
  return {
    plan: planLevel(concurrency, jobs.length),
    jobDurationMs: 1000,
    jobs,
    startedAt: 1_000_000,
    endedAt,
    manager: {
      pid: 42,
      idle: { t: 999_000, rssBytes: 100 * MiB, cpuSeconds: 1 },
      samples: [
        { t: 999_000, rssBytes: 100 * MiB, cpuSeconds: 1 },
        { t: 1_000_500, rssBytes: 180 * MiB, cpuSeconds: 1.5 },
        { t: endedAt, rssBytes: 150 * MiB, cpuSeconds: 1 + jobs.length * 0.005 },
      ],
    },
    gitlabRequests: { request_job: jobs.length * 2, update_job: jobs.length * 2, patch_trace: jobs.length },
    kubernetesRequests: null,
    error: null,
    ...patch,
  };
}

export function level(concurrency: number, jobs = 200, withPods = false): LevelResult {
  const times = syntheticJobs(concurrency, jobs, 1000, { withPods });
  return analyzeLevel(
    observations(
      concurrency,
      times,
      withPods ? { kubernetesRequests: { 'create pods': jobs, 'create secrets': jobs } } : {},
    ),
  );
}

export function report(mode: BenchMode = 'fake', levels = [level(2, 40), level(5, 40)]): BenchReport {
  return buildReport({
    options: parseBenchOptions({
      jobs: '40',
      concurrency: levels.map((l) => l.concurrency).join(','),
      jobDuration: '1s',
      logBytes: '1KiB',
      apiLatency: '0ms',
      gitlabLatency: '0ms',
      executorPlugin: mode === 'fake' ? 'fake' : 'kubernetes',
      ...(mode === 'cluster' ? { kubeconfig: '/k' } : {}),
      keep: false,
    }),
    mode,
    startedAt: new Date('2026-01-01T00:00:00Z'),
    finishedAt: new Date('2026-01-01T00:01:00Z'),
    levels,
    notes: ['a note'],
    loadAtStart: 0.5,
    machine: {
      cpus: 2,
      cpuModel: 'test',
      memoryBytes: 1,
      node: '22.0.0',
      platform: 'linux x64',
      loadAverage: { start: 0.5, end: 0.7 },
    },
  });
}
