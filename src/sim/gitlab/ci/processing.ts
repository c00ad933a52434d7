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

function isComplete(job: Pick<ProcessableJob, 'status' | 'allowFailure'>): boolean {
  return COMPLETE.has(job.status) || (job.status === 'manual' && job.allowFailure);
}

type Composite = 'success' | 'failed' | 'canceled' | 'skipped';

/**
 * The status of a set of complete jobs, as the jobs after them see it. For a `needs` job (DAG) one
 * need that did not run at all (skipped, or a manual job left alone) makes it `skipped`.
 */
function composite(
  jobs: ReadonlyArray<Pick<ProcessableJob, 'status' | 'allowFailure'>>,
  dag: boolean,
): Composite {
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

/** Running tallies of complete/incomplete jobs, enough to compute `composite` without the list. */
class Tally {
  incomplete = 0;
  failedNotAllowed = 0;
  canceled = 0;
  effective = 0;
  skipped = 0;

  add(job: ProcessableJob): void {
    if (!isComplete(job)) this.incomplete += 1;
    if (job.status === 'failed' && !job.allowFailure) this.failedNotAllowed += 1;
    if (job.status === 'canceled') this.canceled += 1;
    if (job.status !== 'manual') {
      this.effective += 1;
      if (job.status === 'skipped') this.skipped += 1;
    }
  }

  composite(): Composite {
    if (this.failedNotAllowed > 0) return 'failed';
    if (this.canceled > 0) return 'canceled';
    if (this.effective > 0 && this.effective === this.skipped) return 'skipped';
    return 'success';
  }
}

/**
 * Decides every `created` job that can be decided now; repeats until nothing changes. Stage jobs see
 * a tally of all earlier stages (linear per pass); `needs` jobs look at their needs only.
 */
export function processPipeline(jobs: ProcessableJob[]): ProcessingDecision[] {
  const current = jobs.filter((j) => !j.retried).map((j) => ({ ...j }));
  if (!current.some((j) => j.status === 'created')) return [];
  const byName = new Map(current.map((j) => [j.name, j]));
  const stages = [...new Set(current.map((j) => j.stageIdx))].sort((a, b) => a - b);
  const byStage = new Map<number, ProcessableJob[]>(stages.map((s) => [s, []]));
  for (const j of current) byStage.get(j.stageIdx)?.push(j);
  const decisions: ProcessingDecision[] = [];
  const decide = (job: ProcessableJob, c: Composite): void => {
    const status = runsOn(job).has(c) ? (job.when === 'manual' ? 'manual' : 'pending') : 'skipped';
    job.status = status;
    decisions.push({ id: job.id, status });
  };
  let changed = true;
  while (changed) {
    changed = false;
    const before = new Tally();
    for (const stage of stages) {
      const members = byStage.get(stage) ?? [];
      for (const job of members) {
        if (job.status !== 'created') continue;
        if (job.needs === null) {
          if (before.incomplete > 0) continue;
          decide(job, before.composite());
          changed = true;
        } else {
          const needed = job.needs
            .map((n) => byName.get(n))
            .filter((j): j is ProcessableJob => j !== undefined);
          if (!needed.every(isComplete)) continue;
          decide(job, composite(needed, true));
          changed = true;
        }
      }
      for (const job of members) before.add(job);
    }
  }
  return decisions;
}

/** The pipeline's status from its latest jobs. */
export function pipelineStatus(
  jobs: ReadonlyArray<Pick<ProcessableJob, 'status' | 'allowFailure' | 'retried'>>,
): PipelineStatus {
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
