// Pipeline processing: which `created` jobs become pending, manual or skipped once what they wait for
// is complete (stage order, or the `needs` DAG), and the pipeline's overall status. Pure functions,
// modelled on GitLab's atomic processing service and its composite status.
import type { JobWhen } from './model.ts';

export type JobStatus =
  | 'created'
  | 'pending'
  | 'running'
  | 'canceling'
  | 'success'
  | 'failed'
  | 'canceled'
  | 'skipped'
  | 'manual';

export type PipelineStatus =
  | 'created'
  | 'pending'
  | 'running'
  | 'success'
  | 'failed'
  | 'canceled'
  | 'skipped'
  | 'manual';

export interface ProcessableJob {
  id: number;
  name: string;
  stageIdx: number;
  /** null: waits for every job of earlier stages. */
  needs: string[] | null;
  when: JobWhen;
  allowFailure: boolean;
  status: JobStatus;
  /** Superseded by a retry: ignored for ordering and status. */
  retried: boolean;
}

export type ProcessingDecision = { id: number; status: 'pending' | 'manual' | 'skipped' };

const COMPLETE = new Set<JobStatus>(['success', 'failed', 'canceled', 'skipped']);

function isComplete(job: ProcessableJob): boolean {
  return COMPLETE.has(job.status) || (job.status === 'manual' && job.allowFailure);
}

type Composite = 'success' | 'failed' | 'canceled' | 'skipped';

/**
 * The status of a set of complete jobs, as the jobs after them see it. For a `needs` job (DAG) one
 * need that did not run at all (skipped, or a manual job left alone) makes it `skipped`.
 */
function composite(jobs: ProcessableJob[], dag: boolean): Composite {
  if (jobs.length === 0) return 'success';
  if (dag && jobs.some((j) => j.status === 'skipped' || j.status === 'manual')) return 'skipped';
  if (jobs.some((j) => j.status === 'failed' && !j.allowFailure)) return 'failed';
  if (jobs.some((j) => j.status === 'canceled')) return 'canceled';
  const effective = jobs.filter((j) => j.status !== 'manual');
  if (effective.length > 0 && effective.every((j) => j.status === 'skipped')) return 'skipped';
  return 'success';
}

const RUNS_ON: Record<JobWhen, ReadonlySet<Composite>> = {
  on_success: new Set(['success', 'skipped']),
  on_failure: new Set(['failed']),
  always: new Set(['success', 'failed', 'skipped']),
  manual: new Set(['success', 'skipped']),
};

/** DAG jobs that wait for success need every need to have succeeded (GitLab's `ProcessBuildService`). */
function runsOn(job: ProcessableJob): ReadonlySet<Composite> {
  if (job.needs !== null && (job.when === 'on_success' || job.when === 'manual')) return new Set(['success']);
  return RUNS_ON[job.when];
}

/** Decides every `created` job that can be decided now; repeats until nothing changes. */
export function processPipeline(jobs: ProcessableJob[]): ProcessingDecision[] {
  const current = jobs.filter((j) => !j.retried).map((j) => ({ ...j }));
  const byName = new Map(current.map((j) => [j.name, j]));
  const decisions: ProcessingDecision[] = [];
  let changed = true;
  while (changed) {
    changed = false;
    for (const job of current) {
      if (job.status !== 'created') continue;
      const prior =
        job.needs === null
          ? current.filter((j) => j.stageIdx < job.stageIdx)
          : job.needs
              .map((n) => byName.get(n))
              .filter((j): j is ProcessableJob & { status: JobStatus } => !!j);
      if (!prior.every(isComplete)) continue;
      const status = runsOn(job).has(composite(prior, job.needs !== null))
        ? job.when === 'manual'
          ? 'manual'
          : 'pending'
        : 'skipped';
      job.status = status;
      decisions.push({ id: job.id, status });
      changed = true;
    }
  }
  return decisions;
}

/** The pipeline's status from its latest jobs. */
export function pipelineStatus(jobs: ProcessableJob[]): PipelineStatus {
  const current = jobs.filter((j) => !j.retried);
  if (current.length === 0) return 'created';
  if (current.some((j) => j.status === 'running' || j.status === 'canceling')) return 'running';
  if (current.every(isComplete)) {
    return composite(current, false);
  }
  if (current.some((j) => j.status === 'pending')) {
    return current.some((j) => j.status !== 'pending' && j.status !== 'created') ? 'running' : 'pending';
  }
  if (current.some((j) => j.status === 'manual' && !j.allowFailure)) return 'manual';
  return current.some((j) => j.status !== 'created') ? 'running' : 'created';
}

export function isFinished(status: JobStatus): boolean {
  return status === 'success' || status === 'failed' || status === 'canceled' || status === 'skipped';
}
