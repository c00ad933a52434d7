// The one place a failure reason is fitted to what the GitLab server understands
// (common/failure_reason_mapper.go, gitlab-runner-api.md §3.3): a reason the server lists in
// `features.failure_reasons` (or one of the three every server knows) is sent as is; otherwise it
// follows the compatibility map; anything else becomes `unknown_failure`; no reason means
// `script_failure`.

export const ALWAYS_SUPPORTED_FAILURE_REASONS: readonly string[] = [
  'script_failure',
  'runner_system_failure',
  'job_execution_timeout',
];

/** Newer reasons → the older reason a server that lacks them understands. */
export const FAILURE_REASON_FALLBACKS: Readonly<Record<string, string>> = {
  image_pull_failure: 'runner_system_failure',
  configuration_error: 'script_failure',
  runner_configuration_error: 'script_failure',
  runner_external_dependency_failure: 'runner_system_failure',
};

const MAX_MAPPING_DEPTH = 10;

export function mapFailureReason(reason: string | undefined, supportedByServer: readonly string[]): string {
  if (!reason) return 'script_failure';
  const supported = (r: string) =>
    supportedByServer.includes(r) || ALWAYS_SUPPORTED_FAILURE_REASONS.includes(r);
  if (supported(reason)) return reason;
  let current = reason;
  for (let i = 0; i < MAX_MAPPING_DEPTH; i++) {
    const next = FAILURE_REASON_FALLBACKS[current];
    if (!next) break;
    if (supported(next)) return next;
    current = next;
  }
  return 'unknown_failure';
}
