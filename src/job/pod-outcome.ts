// Decisions from a job pod's status: problems that end the job early (image pulls, configuration
// errors, scheduling, eviction, OOM-killed services) and the job's result once the pod is done.
// Pure functions; the result never comes from a log stream ending.
import { containerStatus } from '../kubernetes/pod-status.ts';
import type { ContainerStatusObject, PodObject } from '../kubernetes/wire.ts';
import { type JobFailure, jobFailure } from '../trace/job-errors.ts';
import {
  buildResultSchema,
  helperResultSchema,
  parseTermination,
  uploaderResultSchema,
} from './termination.ts';

export const HELPER = 'helper';
export const BUILD = 'build';
export const UPLOADER = 'uploader';

const PULL_FAILURES = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);
const CONFIG_FAILURES = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

function allStatuses(pod: PodObject): ContainerStatusObject[] {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
}

function condition(pod: PodObject, type: string) {
  return pod.status?.conditions?.find((c) => c.type === type);
}

export interface ProblemOptions {
  /** How long a pod may stay unschedulable (`poll_timeout`), in ms. */
  schedulingTimeoutMs: number;
  now: number;
  /** When the pod was created (ms). */
  createdAt: number;
  /** Services run as native sidecars (their restarts are visible in initContainerStatuses). */
  serviceContainers: readonly string[];
}

/** A problem that ends the job before its containers finish, or undefined. */
export function podProblem(pod: PodObject, o: ProblemOptions): JobFailure | undefined {
  for (const s of allStatuses(pod)) {
    const waiting = s.state?.waiting;
    if (waiting?.reason && PULL_FAILURES.has(waiting.reason)) {
      return jobFailure('IMAGE_PULL_FAILED', {
        container: s.name,
        reason: waiting.reason,
        detail: `container "${s.name}": ${waiting.message ?? waiting.reason} (${waiting.reason})`,
      });
    }
    if (waiting?.reason && CONFIG_FAILURES.has(waiting.reason)) {
      return jobFailure('CONTAINER_CONFIG_ERROR', {
        container: s.name,
        detail: `container "${s.name}": ${waiting.message ?? waiting.reason}`,
      });
    }
  }
  for (const name of o.serviceContainers) {
    const s = containerStatus(pod, name);
    const last = s?.lastState?.terminated ?? s?.state?.terminated;
    if (last?.reason === 'OOMKilled') {
      return jobFailure('CONTAINER_KILLED', {
        container: name,
        exitCode: last.exitCode ?? 137,
        reason: 'OOMKilled',
      });
    }
  }
  const disruption = condition(pod, 'DisruptionTarget');
  if (disruption?.status === 'True' || pod.status?.reason === 'Evicted') {
    return jobFailure('POD_LOST', {
      detail: `pod "${pod.metadata?.namespace}/${pod.metadata?.name}" is disrupted: reason "${
        disruption?.reason ?? pod.status?.reason ?? 'Evicted'
      }", message "${disruption?.message ?? pod.status?.message ?? ''}"`,
    });
  }
  // Only this runner's own deletes are expected (the caller stops checking once it asked for one):
  // anything else is someone deleting the job's pod under it (kubectl delete, a controller). A pod
  // that had already finished keeps its result.
  const finished = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
  if (pod.metadata?.deletionTimestamp && !finished) {
    return jobFailure('POD_LOST', {
      detail: `pod "${pod.metadata.namespace}/${pod.metadata.name}" was deleted`,
    });
  }
  if (pod.status?.reason === 'DeadlineExceeded') {
    return jobFailure('POD_LOST', {
      detail: `pod "${pod.metadata?.namespace}/${pod.metadata?.name}" exceeded its active deadline: ${
        pod.status.message ?? ''
      }`.trim(),
    });
  }
  const scheduled = condition(pod, 'PodScheduled');
  if (scheduled?.status === 'False' && o.now - o.createdAt > o.schedulingTimeoutMs) {
    return jobFailure('POD_START_TIMEOUT', {
      phase: pod.status?.phase ?? 'Pending',
      detail: scheduled.message,
    });
  }
  return undefined;
}

/** The pod will not run anything more of the job: the result can be decided. */
export function jobPodDone(pod: PodObject, hasUploader: boolean): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return true;
  const terminated = (name: string) => containerStatus(pod, name)?.state?.terminated !== undefined;
  // Services may keep running (the fallback without native sidecars): the job is what counts.
  return terminated(BUILD) && (!hasUploader || terminated(UPLOADER));
}

export type JobResult =
  | { state: 'success'; warnings: string[] }
  | { state: 'failed'; failure: JobFailure; warnings: string[] };

/** The job's result from the final pod status. */
export function jobResult(pod: PodObject, o: { jobTimeoutSeconds: number; hasUploader: boolean }): JobResult {
  const warnings = serviceWarnings(pod);
  const helper = containerStatus(pod, HELPER)?.state?.terminated;
  const helperResult = parseTermination(helperResultSchema, helper?.message);
  if (helper && helper.exitCode !== 0) {
    if (helper.reason === 'OOMKilled' || !helperResult || helperResult.ok) {
      return {
        state: 'failed',
        failure: jobFailure('CONTAINER_KILLED', {
          container: HELPER,
          exitCode: helper.exitCode,
          reason: helper.reason ?? 'Error',
        }),
        warnings,
      };
    }
    const code =
      helperResult.stage === 'download_artifacts' ? 'DOWNLOAD_ARTIFACTS_FAILED' : 'GET_SOURCES_FAILED';
    const failure = jobFailure(code, { detail: helperResult.error });
    return {
      state: 'failed',
      failure: { ...failure, failureReason: helperResult.failure_reason },
      warnings,
    };
  }
  const build = containerStatus(pod, BUILD)?.state?.terminated;
  if (!build) {
    return {
      state: 'failed',
      failure: jobFailure('POD_LOST', { detail: 'the build container never ran' }),
      warnings,
    };
  }
  const buildResult = parseTermination(buildResultSchema, build.message);
  if (build.reason === 'OOMKilled' || !buildResult) {
    return {
      state: 'failed',
      failure: jobFailure('CONTAINER_KILLED', {
        container: BUILD,
        exitCode: build.exitCode,
        reason: build.reason ?? 'Error',
      }),
      warnings,
    };
  }
  const uploader = o.hasUploader ? containerStatus(pod, UPLOADER)?.state?.terminated : undefined;
  const uploaderResult = parseTermination(uploaderResultSchema, uploader?.message);
  let uploadFailure: JobFailure | undefined;
  if (o.hasUploader) {
    if (!uploader)
      uploadFailure = jobFailure('UPLOAD_ARTIFACTS_FAILED', { detail: 'the uploader never ran' });
    else if (uploader.reason === 'OOMKilled' || (!uploaderResult && uploader.exitCode !== 0)) {
      uploadFailure = jobFailure('CONTAINER_KILLED', {
        container: UPLOADER,
        exitCode: uploader.exitCode,
        reason: uploader.reason ?? 'Error',
      });
    } else if (uploaderResult && !uploaderResult.ok) {
      uploadFailure = jobFailure('UPLOAD_ARTIFACTS_FAILED', { detail: uploaderResult.error });
    }
  }
  if (buildResult.canceled) return { state: 'failed', failure: jobFailure('JOB_CANCELED'), warnings };
  if (buildResult.timed_out) {
    return {
      state: 'failed',
      failure: jobFailure('JOB_TIMEOUT', { timeoutSeconds: o.jobTimeoutSeconds }),
      warnings,
    };
  }
  if (buildResult.exit_code !== 0) {
    if (uploadFailure) warnings.push(uploadFailure.message.replace(/^Job failed[^:]*: /, ''));
    return {
      state: 'failed',
      failure: jobFailure('SCRIPT_FAILED', { exitCode: buildResult.exit_code }),
      warnings,
    };
  }
  if (uploadFailure) return { state: 'failed', failure: uploadFailure, warnings };
  return { state: 'success', warnings };
}

/** Services that restarted or were OOM-killed: worth a warning even when the job passed. */
function serviceWarnings(pod: PodObject): string[] {
  const main = new Set([HELPER, BUILD, UPLOADER]);
  const out: string[] = [];
  for (const s of allStatuses(pod)) {
    if (main.has(s.name) || !s.restartCount) continue;
    const last = s.lastState?.terminated;
    out.push(
      `service container "${s.name}" restarted ${s.restartCount} time(s)${
        last ? ` (last exit code ${last.exitCode}, reason ${last.reason ?? 'Error'})` : ''
      }`,
    );
  }
  return out;
}
