// The catalogue of ways a job fails: a stable code → the GitLab failure_reason podrunner reports
// and the message the job log ends with (`ERROR: Job failed: …`, or `ERROR: Job failed (system
// failure): …` for runner system failures, as gitlab-runner prints them). Callers branch on `code`.
import { errorLine } from './messages.ts';

export interface JobErrorDetails {
  /** Exit code of the failing step or container. */
  exitCode?: number;
  /** The job timeout in seconds (JOB_TIMEOUT). */
  timeoutSeconds?: number;
  container?: string;
  /** Kubernetes' reason (`OOMKilled`, `Error`, `Evicted`…). */
  reason?: string;
  /** Pod phase (POD_START_TIMEOUT). */
  phase?: string;
  /** Free text from the failing component (helper error, API message). */
  detail?: string;
}

interface JobErrorSpec {
  /** GitLab failure_reason before fitting it to the server (`mapFailureReason`). */
  failureReason: string;
  /** Shown as `Job failed (system failure): …` instead of `Job failed: …`. */
  system: boolean;
  message(d: JobErrorDetails): string;
}

const detail = (d: JobErrorDetails, fallback: string) => d.detail?.trim() || fallback;

export const JOB_ERRORS = {
  SCRIPT_FAILED: {
    failureReason: 'script_failure',
    system: false,
    message: (d) => `command terminated with exit code ${d.exitCode ?? 1}`,
  },
  JOB_TIMEOUT: {
    failureReason: 'job_execution_timeout',
    system: false,
    message: (d) => `execution took longer than ${formatGoDuration(d.timeoutSeconds ?? 0)} seconds`,
  },
  JOB_CANCELED: { failureReason: 'job_canceled', system: false, message: () => 'canceled' },
  GET_SOURCES_FAILED: {
    failureReason: 'script_failure',
    system: false,
    message: (d) => `get_sources: ${detail(d, 'fetching the repository failed')}`,
  },
  DOWNLOAD_ARTIFACTS_FAILED: {
    failureReason: 'script_failure',
    system: false,
    message: (d) => `download_artifacts: ${detail(d, 'downloading artifacts failed')}`,
  },
  UPLOAD_ARTIFACTS_FAILED: {
    failureReason: 'script_failure',
    system: false,
    message: (d) => `upload_artifacts: ${detail(d, 'uploading artifacts failed')}`,
  },
  IMAGE_PULL_FAILED: {
    failureReason: 'image_pull_failure',
    system: false,
    message: (d) => `image pull failed: ${detail(d, 'the image could not be pulled')}`,
  },
  CONTAINER_CONFIG_ERROR: {
    failureReason: 'runner_configuration_error',
    system: false,
    message: (d) => `container configuration error: ${detail(d, 'the container could not be created')}`,
  },
  CONFIGURATION_ERROR: {
    failureReason: 'runner_configuration_error',
    system: false,
    message: (d) => detail(d, 'invalid configuration for this job'),
  },
  POD_START_TIMEOUT: {
    failureReason: 'runner_system_failure',
    system: true,
    // The scheduler's reason (PodScheduled's message) says why, e.g. `0/1 nodes are available: …`.
    message: (d) =>
      `prepare environment: waiting for pod running: timed out waiting for pod to start (last phase: ${d.phase ?? 'Pending'})${
        d.detail ? `: ${d.detail}` : ''
      }`,
  },
  POD_CREATE_FAILED: {
    failureReason: 'runner_system_failure',
    system: true,
    message: (d) => `prepare environment: setting up build pod: ${detail(d, 'the pod could not be created')}`,
  },
  POD_LOST: {
    failureReason: 'runner_system_failure',
    system: true,
    message: (d) => detail(d, 'the job pod disappeared'),
  },
  CONTAINER_KILLED: {
    failureReason: 'runner_system_failure',
    system: true,
    message: (d) =>
      `Error in container ${d.container ?? 'build'}: exit code: ${d.exitCode ?? 137}, reason: '${d.reason ?? 'Error'}'`,
  },
  INVALID_PAYLOAD: {
    failureReason: 'runner_system_failure',
    system: true,
    message: (d) => detail(d, 'invalid job payload'),
  },
  SYSTEM_FAILURE: {
    failureReason: 'runner_system_failure',
    system: true,
    message: (d) => detail(d, 'internal error'),
  },
} satisfies Record<string, JobErrorSpec>;

export type JobErrorCode = keyof typeof JOB_ERRORS;

export interface JobFailure {
  code: JobErrorCode;
  failureReason: string;
  /** Exit code for the final PUT (omitted when 0). */
  exitCode?: number;
  /** `Job failed: …` / `Job failed (system failure): …`. */
  message: string;
  /** The log's last line: `\x1b[31;1mERROR: Job failed: …\x1b[0;m\n`. */
  logLine: string;
}

export function jobFailure(code: JobErrorCode, details: JobErrorDetails = {}): JobFailure {
  const spec: JobErrorSpec = JOB_ERRORS[code];
  const text = spec.message(details);
  const message = spec.system ? `Job failed (system failure): ${text}` : `Job failed: ${text}`;
  return {
    code,
    failureReason: spec.failureReason,
    ...(details.exitCode ? { exitCode: details.exitCode } : {}),
    message,
    logLine: errorLine(message),
  };
}

/** Go's `time.Duration.String()` for whole seconds: `1h0m0s`, `5m0s`, `45s`. */
export function formatGoDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h${m}m${sec}s`;
  if (m > 0) return `${m}m${sec}s`;
  return `${sec}s`;
}
