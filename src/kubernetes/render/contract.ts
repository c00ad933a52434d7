// Names and paths of the job pod that the helper program, the build script and the manager agree on
// (docs/pod-contract.md). The renderer is the only place that writes them into a Pod.

export const CONTAINER_HELPER = 'helper';
export const CONTAINER_BUILD = 'build';
export const CONTAINER_UPLOADER = 'uploader';
/** Container names a service can never take (its alias then falls back to `svc-N`). */
export const RESERVED_CONTAINER_NAMES: readonly string[] = [
  CONTAINER_HELPER,
  CONTAINER_BUILD,
  CONTAINER_UPLOADER,
];

export const HELPER_PREPARE_COMMAND: readonly string[] = ['podrunner-helper', 'prepare'];
export const HELPER_UPLOAD_COMMAND: readonly string[] = ['podrunner-helper', 'upload'];

/** `[[runners]] builds_dir` when unset. */
export const DEFAULT_BUILDS_DIR = '/builds';
export const JOB_DIR = '/podrunner/job';
export const STATUS_DIR = '/podrunner/status';

export const VOLUME_BUILDS = 'builds';
export const VOLUME_JOB = 'podrunner-job';
export const VOLUME_STATUS = 'podrunner-status';
export const RESERVED_VOLUME_NAMES: readonly string[] = [VOLUME_BUILDS, VOLUME_JOB, VOLUME_STATUS];

/** Job Secret keys besides the script files. */
export const JOB_JSON_KEY = 'job.json';
export const HELPER_JSON_KEY = 'helper.json';

/** The manager's coordination code selects its pods on these two labels. */
export const LABEL_RUNNER = 'podrunner.dev/runner';
export const LABEL_MANAGER = 'podrunner.dev/manager';
export const ANNOTATION_VERSION = 'podrunner.dev/version';
export const ANNOTATION_ACCEPTED_AT = 'podrunner.dev/accepted-at';

/** The per-job registry credentials Secret is `<pod name><this>`. */
export const PULL_SECRET_SUFFIX = '-pull';
