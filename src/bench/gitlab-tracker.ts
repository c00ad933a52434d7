// GitLab-side timestamps of every job, from the embedded GitLab's store events (in the bench process, so
// nothing is polled): queued, accepted (running), first trace bytes, final state.
import type { Job } from '../sim/gitlab/model.ts';
import type { SimGitlab } from '../sim/gitlab/server.ts';
import { clockNow, type JobTimes } from './job-times.ts';

const finalStatuses = new Set(['success', 'failed', 'canceled', 'skipped']);

/** A trace record of a container's stream: `<RFC 3339 time> <stream ≠ 00><O|E>` at a line start. */
const containerRecord = /(?:^|\n)\d{4}-\d\d-\d\dT[\d:.]+Z (?!00)[0-9a-f]{2}[OE]/;

/** Whether `chunk` (text appended to a trace) holds output of the job's containers. */
export function hasContainerOutput(chunk: string): boolean {
  return containerRecord.test(chunk);
}

export interface GitlabTracker {
  /** Times of the jobs seen since the tracker started, by job id. */
  readonly jobs: ReadonlyMap<number, JobTimes & { pipelineId: number }>;
  /** Counts over the jobs of one pipeline. */
  counts(pipelineId: number): { accepted: number; finished: number };
  /** Called after every change (progress, stall detection). */
  onChange(listener: () => void): void;
  stop(): void;
}

export function trackGitlabJobs(gitlab: SimGitlab): GitlabTracker {
  const jobs = new Map<number, JobTimes & { pipelineId: number }>();
  const perPipeline = new Map<number, { accepted: number; finished: number }>();
  const listeners: Array<() => void> = [];
  const entry = (job: Job) => {
    let e = jobs.get(job.id);
    if (!e) {
      e = { id: job.id, pipelineId: job.pipelineId, traceBytes: 0 };
      jobs.set(job.id, e);
    }
    let c = perPipeline.get(job.pipelineId);
    if (!c) {
      c = { accepted: 0, finished: 0 };
      perPipeline.set(job.pipelineId, c);
    }
    return { e, c };
  };
  const changed = () => {
    for (const l of listeners) l();
  };
  const onJob = (job: Job) => {
    const t = clockNow();
    const { e, c } = entry(job);
    if (job.status === 'pending' && e.queuedAt === undefined) e.queuedAt = t;
    if ((job.status === 'running' || finalStatuses.has(job.status)) && e.acceptedAt === undefined) {
      // a job dropped before it ran (e.g. runner_unsupported) was never accepted
      if (job.status === 'running' || job.startedAt !== null) {
        e.acceptedAt = t;
        c.accepted++;
      }
    }
    if (finalStatuses.has(job.status) && e.finishedAt === undefined) {
      e.finishedAt = t;
      e.status = job.status;
      if (job.failureReason) e.failureReason = job.failureReason;
      c.finished++;
    }
    changed();
  };
  const onTrace = (job: Job, bytes: number) => {
    const { e } = entry(job);
    const t = clockNow();
    if (bytes > 0 && e.firstTraceAt === undefined) e.firstTraceAt = t;
    if (bytes > 0 && e.firstPodOutputAt === undefined) {
      const trace = gitlab.store.trace(job).bytes();
      // a record split across two PATCHes is found in the second: look back one line's worth too
      const from = Math.max(0, trace.length - bytes - 64);
      if (hasContainerOutput(trace.subarray(from).toString('latin1'))) e.firstPodOutputAt = t;
    }
    e.traceBytes += bytes;
  };
  gitlab.store.on('job', onJob);
  gitlab.store.on('trace', onTrace);
  return {
    jobs,
    counts: (pipelineId) => ({ ...(perPipeline.get(pipelineId) ?? { accepted: 0, finished: 0 }) }),
    onChange: (l) => {
      listeners.push(l);
    },
    stop() {
      gitlab.store.off('job', onJob);
      gitlab.store.off('trace', onTrace);
      listeners.length = 0;
    },
  };
}
