// The failure reasons a runner reports, and how they are downgraded for a server that does not know them
// (gitlab-runner-api.md §3.3).

export type RunnerFailureReason =
  | 'script_failure'
  | 'runner_system_failure'
  | 'job_execution_timeout'
  | 'image_pull_failure'
  | 'unknown_failure'
  | 'configuration_error'
  | 'runner_configuration_error'
  | 'runner_external_dependency_failure'
  | 'runner_interrupted'
  | 'job_canceled';

const alwaysKnown = new Set(['script_failure', 'runner_system_failure', 'job_execution_timeout']);

const compatible: Partial<Record<string, string>> = {
  image_pull_failure: 'runner_system_failure',
  configuration_error: 'script_failure',
  runner_configuration_error: 'script_failure',
  runner_external_dependency_failure: 'runner_system_failure',
  runner_interrupted: 'runner_system_failure',
};

/** Maps a reason to one the server lists in the payload's `features.failure_reasons`. */
export function failureReasonFor(reason: string | undefined, serverKnown: readonly string[]): string {
  if (!reason) return 'script_failure';
  const known = (r: string) => alwaysKnown.has(r) || serverKnown.includes(r);
  if (known(reason)) return reason;
  const fallback = compatible[reason];
  if (fallback && known(fallback)) return fallback;
  return 'unknown_failure';
}
