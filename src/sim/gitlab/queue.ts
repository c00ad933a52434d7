// Which runner may take which job: runner type and project, tags / run_untagged, protected refs, and
// the features a job needs (gitlab-runner-api.md §2.2). Pure.
import { requiredRunnerFeatures } from './ci/model.ts';
import type { Job, Pipeline, Runner } from './model.ts';

export function runnerMatchesJob(runner: Runner, job: Job, pipeline: Pipeline): boolean {
  if (runner.paused) return false;
  if (runner.type !== 'instance_type' && !runner.projectIds.includes(job.projectId)) return false;
  if (runner.accessLevel === 'ref_protected' && !pipeline.protectedRef) return false;
  const tags = job.spec.tags;
  if (tags.length === 0) return runner.runUntagged;
  return tags.every((t) => runner.tags.includes(t));
}

/** Features the job needs that the requesting runner manager did not advertise. */
export function missingFeatures(job: Job, features: Record<string, boolean>): string[] {
  return requiredRunnerFeatures(job.spec).filter((f) => features[f] !== true);
}

/** GitLab's backoff for repeated final PUTs answered 202: 1 s for ~3 s, then doubling, capped at 64 s. */
export function finalUpdateBackoff(elapsedSeconds: number): number {
  if (elapsedSeconds < 3) return 1;
  return Math.min(64, 2 ** Math.floor(Math.log2(elapsedSeconds)));
}
