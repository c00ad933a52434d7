// The benchmark's JSON report (`--json PATH`): one schema, used to write the file, to read it back
// (tests, tools comparing runs) and as the type the table and the chart render from.
import { z } from 'zod';

export const REPORT_SCHEMA_VERSION = 1;

const ms = z.number().nonnegative();

export const summarySchema = z.object({
  count: z.number().int().positive(),
  min: ms,
  mean: ms,
  p50: ms,
  p95: ms,
  p99: ms,
  max: ms,
});

/**
 * Latencies of one level, in milliseconds, over the measured (not warm-up) jobs. `null` where the mode
 * cannot observe it: the fake executor creates no pods, so the pod-side latencies need Kubernetes.
 */
export const latenciesSchema = z.object({
  /** Pipeline created (job queued) → the manager's accept reaches GitLab. Includes waiting for a slot. */
  queuedToAccepted: summarySchema.nullable(),
  /** Job accepted at GitLab → its pod exists in Kubernetes. */
  acceptedToPodCreated: summarySchema.nullable(),
  /**
   * The pod's first container running → GitLab stores the first bytes the pod printed (a container record
   * of the timestamped trace; the first trace byte of any kind when the trace has no timestamps).
   */
  podStartedToFirstTrace: summarySchema.nullable(),
  /** The pod's last container terminated → GitLab holds the job's final state. */
  terminatedToFinal: summarySchema.nullable(),
  /** Job accepted → first trace byte at GitLab (every mode). */
  acceptedToFirstTrace: summarySchema.nullable(),
  /** Job accepted → final state at GitLab: the whole job as GitLab saw it, job duration included. */
  acceptedToFinal: summarySchema.nullable(),
});

export const latencyKeys = [
  'queuedToAccepted',
  'acceptedToPodCreated',
  'podStartedToFirstTrace',
  'terminatedToFinal',
  'acceptedToFirstTrace',
  'acceptedToFinal',
] as const;
export type LatencyKey = (typeof latencyKeys)[number];

export const latencyLabels: Record<LatencyKey, string> = {
  queuedToAccepted: 'queued → accepted',
  acceptedToPodCreated: 'accepted → pod created',
  podStartedToFirstTrace: 'pod started → first trace byte',
  terminatedToFinal: 'container terminated → final state',
  acceptedToFirstTrace: 'accepted → first trace byte',
  acceptedToFinal: 'accepted → final state',
};

const counts = z.record(z.string(), z.number().nonnegative());

export const requestsSchema = z.object({
  total: z.number().int().nonnegative(),
  perJob: z.number().nonnegative(),
  /** Requests by endpoint (GitLab) or verb and resource (Kubernetes), over the whole level. */
  byKind: counts,
});

export const levelSchema = z.object({
  concurrency: z.number().int().positive(),
  /** Jobs the level ran, warm-up included. */
  jobs: z.number().int().nonnegative(),
  /** The first jobs accepted, left out of every figure except the resource peaks. */
  warmupJobs: z.number().int().nonnegative(),
  measuredJobs: z.number().int().nonnegative(),
  succeededJobs: z.number().int().nonnegative(),
  failedJobs: z.number().int().nonnegative(),
  /** Jobs that never reached a final state (the level stalled or was interrupted). */
  unfinishedJobs: z.number().int().nonnegative(),
  /** Jobs that did not succeed, by GitLab failure reason (`canceled` for canceled ones). */
  failureReasons: counts,
  /** Why the level ended early, if it did. */
  error: z.string().nullable(),
  /** Pipeline created → last final state. */
  wallSeconds: z.number().nonnegative(),
  /** The steady window: the last warm-up job accepted → the last job accepted (the queue is empty). */
  windowSeconds: z.number().nonnegative(),
  /**
   * Jobs accepted per second once warmed up: measured jobs ÷ (last acceptance − last warm-up acceptance).
   * How fast the manager took jobs; at high levels its intake limit.
   */
  startsPerSecond: z.number().nonnegative().nullable(),
  /** Jobs finished per second once warmed up: measured jobs ÷ (last final state − warm-up's last). */
  jobsPerSecond: z.number().nonnegative().nullable(),
  /** `concurrency / job duration`: what a manager with no overhead would sustain. */
  idealJobsPerSecond: z.number().nonnegative(),
  /** Most jobs running at once (accepted and not final at GitLab). */
  peakRunning: z.number().int().nonnegative(),
  /** Time-weighted mean of jobs running at once over the steady window. */
  meanRunning: z.number().nonnegative().nullable(),
  latencyMs: latenciesSchema,
  manager: z.object({
    pid: z.number().int().nullable(),
    /** RSS once the manager was ready, before the level's jobs were queued. */
    idleRssBytes: z.number().nonnegative().nullable(),
    peakRssBytes: z.number().nonnegative().nullable(),
    /** User + system CPU of the manager process from the first job queued to the last final state. */
    cpuSeconds: z.number().nonnegative().nullable(),
    cpuMsPerJob: z.number().nonnegative().nullable(),
    /** CPU seconds per wall second (1 = one core busy). */
    cpuCores: z.number().nonnegative().nullable(),
    samples: z.number().int().nonnegative(),
  }),
  /**
   * CPU of the stand-ins over the level, in cores (CPU seconds per wall second): the bench process (the
   * embedded GitLab, the pod watch) and the embedded Kubernetes' process. With the manager's they show
   * whether the machine, not the manager, was the limit. null where not measured (a real cluster).
   */
  standIns: z.object({
    benchCpuCores: z.number().nonnegative().nullable(),
    kubernetesCpuCores: z.number().nonnegative().nullable(),
  }),
  requests: z.object({
    gitlab: requestsSchema,
    /** null when the mode has no Kubernetes (fake executor). */
    kubernetes: requestsSchema.nullable(),
  }),
  trace: z.object({
    bytes: z.number().int().nonnegative(),
    bytesPerJob: z.number().nonnegative(),
    bytesPerSecond: z.number().nonnegative(),
  }),
});

export const modeSchema = z.enum(['fake', 'virtual', 'cluster']);
export type BenchMode = z.infer<typeof modeSchema>;

export const modeDescriptions: Record<BenchMode, string> = {
  fake: 'fake executor: no Kubernetes, jobs are timers in the manager (measures the manager and the GitLab path only)',
  virtual: 'Kubernetes executor against the embedded Kubernetes in virtual mode (pods are timers)',
  cluster: 'Kubernetes executor against a real cluster',
};

export const reportSchema = z.object({
  schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
  tool: z.literal('podrunner bench'),
  podrunnerVersion: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  mode: modeSchema,
  modeDescription: z.string(),
  machine: z.object({
    cpus: z.number().int().positive(),
    cpuModel: z.string(),
    memoryBytes: z.number().nonnegative(),
    node: z.string(),
    platform: z.string(),
    /** 1-minute load average when the sweep started and ended: other work on the machine skews figures. */
    loadAverage: z.object({ start: z.number().nonnegative(), end: z.number().nonnegative() }),
  }),
  settings: z.object({
    maxJobsPerLevel: z.number().int().positive(),
    concurrency: z.array(z.number().int().positive()).min(1),
    jobDurationMs: z.number().nonnegative(),
    logBytesPerJob: z.number().int().nonnegative(),
    apiLatencyMs: z.number().nonnegative(),
    gitlabLatencyMs: z.number().nonnegative(),
    executorPlugin: z.string(),
    kubeconfig: z.string().nullable(),
    /** NODE_OPTIONS the manager process ran with (`--manager-node-options`), null for none. */
    managerNodeOptions: z.string().nullable(),
    jobsPerLevelRule: z.string(),
    warmupRule: z.string(),
  }),
  levels: z.array(levelSchema),
  notes: z.array(z.string()),
});

export type Summary = z.infer<typeof summarySchema>;
export type Latencies = z.infer<typeof latenciesSchema>;
export type LevelResult = z.infer<typeof levelSchema>;
export type BenchReport = z.infer<typeof reportSchema>;

export class ReportError extends Error {
  readonly code = 'BENCH_REPORT_INVALID';
}

/** Parses a report read back from a file; the error names the first fields that do not fit. */
export function parseReport(value: unknown): BenchReport {
  const r = reportSchema.safeParse(value);
  if (r.success) return r.data;
  const where = r.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
  throw new ReportError(`not a podrunner bench report: ${where}`);
}
