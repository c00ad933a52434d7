// The pod's time bounds. The job timeout itself is enforced inside the pod by the build script (so
// after_script still runs); these are what Kubernetes enforces around it:
//
// - activeDeadlineSeconds (with FF_USE_POD_ACTIVE_DEADLINE_SECONDS, on by default) is a backstop for a
//   pod nobody stops: job timeout + after_script timeout (when the job has one) + an upload allowance
//   (when the uploader runs) + a start allowance, because Kubernetes counts from the pod's start,
//   image pulls and the clone included. Upstream uses job timeout + 1 s, which lets a slow clone or
//   upload be killed while GitLab would still wait.
// - terminationGracePeriodSeconds: a cancel is a pod deletion with this grace, and in it the build
//   script runs after_script and the uploader sends on_failure/always artifacts. `pod_termination_grace_period_seconds`
//   wins when set; otherwise 30 s (Kubernetes' default) plus the after_script timeout plus the upload
//   allowance, so a cancel does not cut them short.
import { parseGoDuration } from '../../config/schema/values.ts';
import type { JobPayload } from '../../gitlab/payload.ts';
import type { VariableSet } from './variables.ts';

export const DEFAULT_AFTER_SCRIPT_TIMEOUT_SECONDS = 300;
/** Between SIGTERM and SIGKILL of a stopped step inside the build script. */
export const STEP_KILL_GRACE_SECONDS = 5;
export const UPLOAD_ALLOWANCE_SECONDS = 600;
export const CANCEL_UPLOAD_ALLOWANCE_SECONDS = 300;
export const START_ALLOWANCE_SECONDS = 300;
export const KUBERNETES_DEFAULT_GRACE_SECONDS = 30;

/** `RUNNER_AFTER_SCRIPT_TIMEOUT` (a Go duration) capped at the job timeout, else 5 minutes. */
export function afterScriptTimeoutSeconds(variables: VariableSet, jobTimeoutSeconds: number): number {
  const raw = (variables.value('RUNNER_AFTER_SCRIPT_TIMEOUT') ?? '').trim();
  const ms = raw ? parseGoDuration(raw) : null;
  if (ms === null || ms <= 0) return DEFAULT_AFTER_SCRIPT_TIMEOUT_SECONDS;
  return Math.min(Math.ceil(ms / 1000), jobTimeoutSeconds);
}

export function hasAfterScript(job: Pick<JobPayload, 'steps'>): boolean {
  return job.steps.some((s) => s.name === 'after_script' && s.script.some((line) => line.trim() !== ''));
}

export interface TimingInput {
  jobTimeoutSeconds: number;
  /** 0 when the job has no after_script. */
  afterScriptSeconds: number;
  uploader: boolean;
}

export function activeDeadlineSeconds(t: TimingInput): number {
  return (
    t.jobTimeoutSeconds +
    (t.afterScriptSeconds > 0 ? t.afterScriptSeconds + STEP_KILL_GRACE_SECONDS : 0) +
    (t.uploader ? UPLOAD_ALLOWANCE_SECONDS : 0) +
    START_ALLOWANCE_SECONDS
  );
}

export function terminationGracePeriodSeconds(configured: number | undefined, t: TimingInput): number {
  if (configured !== undefined) return configured;
  return (
    KUBERNETES_DEFAULT_GRACE_SECONDS +
    (t.afterScriptSeconds > 0 ? t.afterScriptSeconds + STEP_KILL_GRACE_SECONDS : 0) +
    (t.uploader ? CANCEL_UPLOAD_ALLOWANCE_SECONDS : 0)
  );
}
