// Assembles the report from the settings, the machine and the levels measured, and checks it against
// the schema before anything is written.
import { cpus, loadavg, totalmem } from 'node:os';
import { version } from '../version.ts';
import type { BenchOptions } from './options.ts';
import { jobsPerLevelRule, warmupRule } from './plan.ts';
import {
  type BenchMode,
  type BenchReport,
  type LevelResult,
  modeDescriptions,
  REPORT_SCHEMA_VERSION,
  reportSchema,
} from './report.ts';
import { formatMs } from './units.ts';

export function machineInfo(loadAtStart: number): BenchReport['machine'] {
  const list = cpus();
  return {
    cpus: Math.max(1, list.length),
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryBytes: totalmem(),
    node: process.versions.node,
    platform: `${process.platform} ${process.arch}`,
    loadAverage: { start: loadAtStart, end: loadavg()[0] ?? 0 },
  };
}

export interface ReportInput {
  options: BenchOptions;
  mode: BenchMode;
  startedAt: Date;
  finishedAt: Date;
  levels: LevelResult[];
  notes: string[];
  /** 1-minute load average when the sweep started. */
  loadAtStart: number;
  machine?: BenchReport['machine'];
}

/** Targets of the issue that the figures can be held against, as notes (never asserted). */
export function targetNotes(mode: BenchMode, levels: readonly LevelResult[]): string[] {
  const notes: string[] = [];
  const MiB = 1024 * 1024;
  const at1000 = levels.filter((l) => l.peakRunning >= 1000);
  for (const l of at1000) {
    if (l.manager.peakRssBytes !== null)
      notes.push(
        `concurrency ${l.concurrency}: ${l.peakRunning} jobs running at once with a peak manager RSS of ${(l.manager.peakRssBytes / MiB).toFixed(0)} MiB (target: under 300 MiB at 1,000)`,
      );
    const first = l.latencyMs.podStartedToFirstTrace;
    const final = l.latencyMs.terminatedToFinal;
    if (first && final)
      notes.push(
        `concurrency ${l.concurrency}: p99 pod started → first trace byte ${formatMs(first.p99)} (target: under 500 ms), p99 container terminated → final state ${formatMs(final.p99)} (target: under 1 s)`,
      );
  }
  if (levels.length > 0 && !levels.some((l) => l.peakRunning >= 1000))
    notes.push(
      'no level had 1,000 jobs running at once; a level reaches its concurrency only when the job duration is longer than concurrency ÷ start rate (raise --job-duration)',
    );
  const starts = levels.map((l) => l.startsPerSecond).filter((x): x is number => x !== null);
  if (starts.length > 0)
    notes.push(`best sustained start rate: ${Math.max(...starts).toFixed(1)} jobs/s (target: at least 100)`);
  if (mode === 'fake')
    notes.push(
      'fake executor: no pods, so the pod-side latencies and Kubernetes requests are not measured; the figures are the manager and the GitLab path alone',
    );
  return notes;
}

export function buildReport(input: ReportInput): BenchReport {
  const { options } = input;
  const report: BenchReport = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: 'podrunner bench',
    podrunnerVersion: version,
    startedAt: input.startedAt.toISOString(),
    finishedAt: input.finishedAt.toISOString(),
    mode: input.mode,
    modeDescription: modeDescriptions[input.mode],
    machine: input.machine ?? machineInfo(input.loadAtStart),
    settings: {
      maxJobsPerLevel: options.jobs,
      concurrency: options.concurrency,
      jobDurationMs: options.jobDuration,
      logBytesPerJob: options.logBytes,
      apiLatencyMs: options.apiLatency,
      gitlabLatencyMs: options.gitlabLatency,
      executorPlugin: options.executorPlugin,
      kubeconfig: options.kubeconfig ?? null,
      managerNodeOptions: options.managerNodeOptions || null,
      jobsPerLevelRule,
      warmupRule,
    },
    levels: input.levels,
    notes: input.notes,
  };
  return reportSchema.parse(report);
}

/** A sweep run on a busy machine measures less than the manager can do; the report says so. */
export function busyNote(machine: BenchReport['machine']): string | undefined {
  const { cpus, loadAverage } = machine;
  if (Math.max(loadAverage.start, loadAverage.end) <= cpus) return undefined;
  return `the machine was busy (load average ${loadAverage.start.toFixed(1)} → ${loadAverage.end.toFixed(1)} on ${cpus} CPUs): other processes took CPU from the manager and the stand-ins, so the figures are pessimistic`;
}
