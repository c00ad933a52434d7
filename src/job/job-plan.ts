// Everything about a job that is decided before anything is created: variables, the build script,
// the helper's settings, the rendered Pod and Secrets, and the facts the trace prelude prints.
// Pure: the caller supplies clocks, randomness, files and cluster facts.

import { cacheStorageForJob } from '../../helper/cache/presign.ts';
import type { CacheStorage } from '../../helper/contract.ts';
import { resolveProjectDir } from '../../helper/contract.ts';
import type { RunnerConfig } from '../config/schema/runner.ts';
import { type JobPayload, jobTimeoutSeconds } from '../gitlab/payload.ts';
import { isRenderError, jobNeedsUploader, type RenderedJob, renderJob } from '../kubernetes/render/index.ts';
import type { PodObject, SecretObject } from '../kubernetes/wire.ts';
import { assembleVariables, expandVariables, maskedValues, renderBuildScript } from '../scripts/index.ts';
import { resolveFeatureFlag } from '../trace/feature-flags.ts';
import { type JobFailure, jobFailure } from '../trace/job-errors.ts';
import { JOB_RECORD_KEY, type JobRecord } from './job-record.ts';

export const DEFAULT_BUILDS_DIR = '/builds';

export interface PlanInput {
  job: JobPayload;
  raw: string;
  runner: RunnerConfig;
  shortToken: string;
  systemId: string;
  /** Namespace used when `[runners.kubernetes] namespace` is empty (the kubeconfig's, or `default`). */
  defaultNamespace: string;
  acceptedAt: Date;
  receivedAt: Date;
  randomSuffix: string;
  /** Per-project slot (`concurrent-N` in the pod name, CI_CONCURRENT_PROJECT_ID) and runner slot. */
  projectSlot: number;
  concurrentId: number;
  nativeSidecars: boolean;
  hostname: string;
  version: string;
  revision: string;
  /** `tls-ca-file` contents, when configured. */
  tlsCaPem?: string;
  podSpecPatchFiles?: Record<string, string>;
}

export interface JobPlan {
  namespace: string;
  pod: PodObject;
  /** The job Secret (with the prelude record) and, with registry credentials, the pull Secret. */
  secrets: SecretObject[];
  rendered: RenderedJob;
  record: JobRecord;
}

export function defaultHelperImage(version: string): string {
  return `ghcr.io/podrunner/helper:${version}`;
}

export function planJob(input: PlanInput): JobPlan | JobFailure {
  const { job, runner } = input;
  const flags = (name: string) =>
    resolveFeatureFlag(name, { configFlags: runner.feature_flags, variables: job.variables });
  const buildsDir = runner.builds_dir || DEFAULT_BUILDS_DIR;
  const projectDir = resolveProjectDir(job, {
    buildsDir,
    customBuildDirEnabled: runner.custom_build_dir.enabled,
  });
  if (!projectDir.ok) return jobFailure('CONFIGURATION_ERROR', { detail: projectDir.error });

  const timeout = jobTimeoutSeconds(job);
  const variables = assembleVariables(job, {
    buildsDir,
    projectDir: projectDir.dir,
    jobTimeoutSeconds: timeout,
    shortToken: input.shortToken,
    concurrentId: input.concurrentId,
    concurrentProjectId: input.projectSlot,
    ...(runner.id !== undefined ? { runnerId: runner.id } : {}),
    ...(job.image?.name || runner.kubernetes?.image
      ? { image: job.image?.name || runner.kubernetes?.image || '' }
      : {}),
    ...(input.tlsCaPem ? { tlsCaChain: input.tlsCaPem } : {}),
    environment: runner.environment,
    version: input.version,
    revision: input.revision,
  });
  const debugTrace =
    !runner.debug_trace_disabled &&
    ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(
      job.variables.findLast((v) => v.key === 'CI_DEBUG_TRACE')?.value ?? '',
    );
  const traceSections = job.features.trace_sections ?? true;
  const script = renderBuildScript({
    job,
    variables,
    projectDir: projectDir.dir,
    jobTimeoutSeconds: timeout,
    deadlineEpochSeconds: Math.floor(input.acceptedAt.getTime() / 1000) + timeout,
    debugTrace,
    scriptSections: flags('FF_SCRIPT_SECTIONS'),
    traceSections,
    ...(runner.pre_build_script ? { preBuildScript: runner.pre_build_script } : {}),
    ...(runner.post_build_script ? { postBuildScript: runner.post_build_script } : {}),
  });

  const { storage: cache, warnings: cacheWarnings } = cacheForJob(job, runner, input.acceptedAt);
  const helperSettings = {
    serverUrl: runner.url,
    ...(runner.clone_url ? { cloneUrl: runner.clone_url } : {}),
    buildsDir,
    projectDir: projectDir.dir,
    ...(input.tlsCaPem ? { tlsCaPem: input.tlsCaPem } : {}),
    cache,
    preGetSourcesScript: runner.pre_get_sources_script,
    postGetSourcesScript: runner.post_get_sources_script,
    featureFlags: runner.feature_flags,
    debugTraceDisabled: runner.debug_trace_disabled,
    safeDirectoryCheckout: runner.safe_directory_checkout,
    cleanGitConfig: runner.clean_git_config,
    userAgent: `podrunner-helper ${input.version}`,
    ...(runner.artifact?.upload_timeout
      ? { artifactUploadTimeoutSeconds: runner.artifact.upload_timeout / 1000 }
      : {}),
    ...(runner.artifact?.response_header_timeout
      ? { artifactResponseHeaderTimeoutSeconds: runner.artifact.response_header_timeout / 1000 }
      : {}),
  };

  const lookup = (name: string) => variables.findLast((v) => v.key === name)?.value ?? '';
  const hasUploader = jobNeedsUploader(job, lookup);
  const rendered = renderJob({
    job,
    rawPayload: input.raw,
    runner,
    variables,
    buildScript: { files: script.files, command: script.command },
    helperSettings: JSON.stringify(helperSettings),
    namespace: input.defaultNamespace,
    managerSystemId: input.systemId,
    runnerShortToken: input.shortToken,
    projectSlot: input.projectSlot,
    randomSuffix: input.randomSuffix,
    acceptedAt: micros(input.acceptedAt.getTime() * 1000),
    version: input.version,
    defaultHelperImage: defaultHelperImage(input.version),
    nativeSidecars: input.nativeSidecars,
    uploader: hasUploader,
    ...(input.podSpecPatchFiles ? { podSpecPatchFiles: input.podSpecPatchFiles } : {}),
  });
  if (isRenderError(rendered)) return jobFailure('CONFIGURATION_ERROR', { detail: rendered.message });

  const maskPhrases = [...maskedValues(expandVariables(variables, projectDir.dir)), job.token];
  const serviceContainers = rendered.services.map((s) => s.container);
  const buildImage = rendered.pod.spec?.containers.find((c) => c.name === 'build')?.image ?? '';
  const record: JobRecord = {
    version: input.version,
    revision: input.revision,
    runnerName: runner.name,
    shortToken: input.shortToken,
    systemId: input.systemId,
    hostname: input.hostname,
    acceptedAtMicros: input.acceptedAt.getTime() * 1000,
    receivedAtMicros: input.receivedAt.getTime() * 1000,
    renderLog: [...rendered.log, ...cacheWarnings.map((w) => `WARNING: ${w}`)],
    outputLimitBytes: runner.output_limit * 1024,
    timestamps: flags('FF_TIMESTAMPS'),
    maskAllDefaultTokens: flags('FF_MASK_ALL_DEFAULT_TOKENS'),
    maskPhrases,
    debugTrace,
    traceSections,
    hasUploader,
    serviceContainers,
    image: buildImage,
  };
  const jobSecret = rendered.secret as SecretObject;
  const secretWithRecord: SecretObject = {
    ...jobSecret,
    data: {
      ...jobSecret.data,
      [JOB_RECORD_KEY]: Buffer.from(JSON.stringify(record), 'utf8').toString('base64'),
    },
  };
  return {
    namespace: rendered.namespace,
    pod: rendered.pod as PodObject,
    secrets: [secretWithRecord, ...(rendered.pullSecret ? [rendered.pullSecret as SecretObject] : [])],
    rendered,
    record,
  };
}

function cacheForJob(
  job: JobPayload,
  runner: RunnerConfig,
  now: Date,
): { storage: CacheStorage; warnings: string[] } {
  const cache = runner.cache;
  if (!cache?.Type && runner.cache_dir)
    return { storage: { type: 'volume', path: runner.cache_dir }, warnings: [] };
  return cacheStorageForJob(job, {
    cache: cache ? { ...cache, ...(cache.s3 ? { S3: cache.s3 } : {}) } : undefined,
    runnerToken: runner.token,
    ...(runner.feature_flags.FF_HASH_CACHE_KEYS !== undefined
      ? { hashCacheKeys: runner.feature_flags.FF_HASH_CACHE_KEYS }
      : {}),
    now,
  });
}

/** RFC 3339 with microseconds from µs since the epoch. */
export function micros(us: number): string {
  const d = new Date(Math.floor(us / 1000));
  return `${d.toISOString().slice(0, 19)}.${String(Math.floor(us % 1_000_000)).padStart(6, '0')}Z`;
}
