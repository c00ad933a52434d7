// The `info.features` map podrunner advertises on every job request (gitlab-runner-api.md §2.2). All 31 keys
// are always sent. GitLab drops jobs that need a feature a runner does not advertise, so each value says
// what podrunner really does — true only where podrunner (manager, trace, scripts or helper) implements it.
// Keys in upstream's order.

export const runnerFeatures = {
  variables: true,
  image: true,
  services: true,
  artifacts: true,
  cache: true,
  /** `cache:fallback_keys`: the helper tries the fallback keys in order. */
  fallback_cache_keys: true,
  /** Only shell-like executors share the host; job pods are disposable. */
  shared: false,
  /** `artifacts:reports`: one upload per report entry of the payload. */
  upload_multiple_artifacts: true,
  /** Reports with `artifact_format: raw` are uploaded as the file itself. */
  upload_raw_artifacts: true,
  /** podrunner has no session server, so no web terminal and no service proxy. */
  session: false,
  terminal: false,
  /** Merge-request pipelines: the helper fetches the payload's refspecs. */
  refspecs: true,
  masking: true,
  proxy: false,
  raw_variables: true,
  artifacts_exclude: true,
  /** `release:` jobs add a `release` step that the build script runs. */
  multi_build_steps: true,
  trace_reset: true,
  trace_checksum: true,
  trace_size: true,
  /** External secrets (`secrets:` with Vault and friends) are not resolved by podrunner. */
  vault_secrets: false,
  cancelable: true,
  /** `allow_failure:exit_codes`: the final update carries the script's exit code. */
  return_exit_code: true,
  service_variables: true,
  service_multiple_aliases: true,
  /** `image:kubernetes:user`. */
  image_executor_opts: true,
  /** Only the docker executor takes per-service executor options. */
  service_executor_opts: false,
  /** A `canceling` job still runs after_script and the on-failure uploads. */
  cancel_gracefully: true,
  native_steps_integration: false,
  /** The job stays `pending` until the accept PUT right after the 201. */
  two_phase_job_commit: true,
  /** Job `inputs` (for `run:` steps) are not interpolated by podrunner. */
  job_inputs: false,
} as const satisfies Record<string, boolean>;

export type RunnerFeatures = Record<keyof typeof runnerFeatures, boolean>;
