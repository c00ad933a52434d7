// The runner-side settings the manager hands to the helper program in the job Secret as `helper.json`
// (docs/pod-contract.md). The job's own variables stay in `job.json`; this file holds only what comes
// from config.toml and from the manager: URLs, directories, TLS, cache storage, scripts, flags.
// The manager's pod renderer builds it with `cacheStorageForJob` (cache/presign.ts) and
// `resolveProjectDir` (below), then validates it with `helperSettingsSchema` before writing it.
import path from 'node:path';
import { z } from 'zod';
import type { JobPayload } from '../src/gitlab/payload.ts';

/** Default mount points of the job pod (docs/pod-contract.md). */
export const CONTRACT_PATHS = {
  jobDir: '/podrunner/job',
  statusDir: '/podrunner/status',
  buildsDir: '/builds',
  terminationLog: '/dev/termination-log',
} as const;

export const JOB_FILE = 'job.json';
export const HELPER_SETTINGS_FILE = 'helper.json';

/** One cache key's pre-signed URLs: made by the manager for the key and every fallback key. */
export const s3CacheEntrySchema = z.object({
  /** The cache key as the job sees it after variable expansion and sanitising (`resolveCacheKey`). */
  key: z.string().min(1),
  /** The object name in the bucket, for log lines (`<Path>/runner/<short token>/project/<id>/<key>`). */
  objectName: z.string().min(1),
  getUrl: z.url(),
  headUrl: z.url().optional(),
  /** Absent for a key the job only reads (fallback keys, `policy: pull`). */
  putUrl: z.url().optional(),
  /** Headers that were signed into `putUrl` (metadata, server-side encryption): sent as they are. */
  putHeaders: z.record(z.string(), z.string()).default({}),
});

export const cacheStorageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }),
  z.object({
    type: z.literal('s3'),
    entries: z.array(s3CacheEntrySchema),
    /** `[runners.cache] MaxUploadedArchiveSize` in bytes; 0 = no limit. */
    maxUploadedArchiveSize: z.number().int().min(0).default(0),
  }),
  z.object({
    type: z.literal('volume'),
    /**
     * A directory on a volume shared between jobs (PVC, hostPath) holding `<key>/cache.zip`, like
     * upstream's local cache under `cache_dir`: the manager passes `<cache_dir>/<namespace>/<project>`.
     */
    path: z.string().min(1),
  }),
]);

export const helperSettingsSchema = z.object({
  /** `[[runners]] url`: the base of the artifacts API (`<url>/api/v4/jobs/:id/artifacts`). */
  serverUrl: z.url(),
  /** `[[runners]] clone_url`: replaces scheme, host and port of the repository URL from the payload. */
  cloneUrl: z.url().optional(),
  /** `builds_dir` (`CI_BUILDS_DIR`). */
  buildsDir: z.string().startsWith('/').default(CONTRACT_PATHS.buildsDir),
  /** `CI_PROJECT_DIR`: `<builds dir>/<namespace>/<project>` or `GIT_CLONE_PATH` (`resolveProjectDir`). */
  projectDir: z.string().startsWith('/'),
  /** `tls-ca-file` of the runner: the PEM itself (the file lives on the manager, not in the pod). */
  tlsCaPem: z.string().optional(),
  /** Alternatively a CA bundle path that exists inside the helper container. */
  tlsCaFile: z.string().optional(),
  cache: cacheStorageSchema.default({ type: 'none' }),
  /** `[[runners]] pre_get_sources_script` / `post_get_sources_script`. */
  preGetSourcesScript: z.string().default(''),
  postGetSourcesScript: z.string().default(''),
  /** `[runners.feature_flags]`: these win over the job's `FF_*` variables, as upstream. */
  featureFlags: z.record(z.string(), z.boolean()).default({}),
  /** `[[runners]] debug_trace_disabled`. */
  debugTraceDisabled: z.boolean().default(false),
  /** `[[runners]] safe_directory_checkout` (default true). */
  safeDirectoryCheckout: z.boolean().default(true),
  /** `[[runners]] clean_git_config`: unset = upstream's default (clean unless GIT_STRATEGY=none). */
  cleanGitConfig: z.boolean().optional(),
  /** `[runners.artifact]` upload limits, in seconds. */
  artifactUploadTimeoutSeconds: z.number().positive().default(3600),
  artifactResponseHeaderTimeoutSeconds: z.number().positive().default(600),
  /** Runner-side defaults for the job variables of the same name (the job's value wins). */
  attempts: z
    .object({
      getSources: z.number().int().min(1).max(10).optional(),
      artifactDownload: z.number().int().min(1).max(10).optional(),
      restoreCache: z.number().int().min(1).max(10).optional(),
    })
    .default({}),
  /** Waits between retries: stage attempts (upstream: 5 s × 1.5 up to 5 min) and single requests (1 s). */
  retry: z
    .object({
      stageMinMs: z.number().int().min(0).default(5000),
      stageMaxMs: z.number().int().min(0).default(300_000),
      requestMs: z.number().int().min(0).default(1000),
    })
    .default({ stageMinMs: 5000, stageMaxMs: 300_000, requestMs: 1000 }),
  /**
   * When the build container runs as another user and the helper runs as root, the files the helper
   * writes are handed to this uid/gid (upstream: FF_DISABLE_UMASK_FOR_KUBERNETES_EXECUTOR). Without
   * it, the helper writes with umask 0 so any uid can use the files (upstream's default).
   */
  buildOwner: z.object({ uid: z.number().int().min(0), gid: z.number().int().min(0) }).optional(),
  /** Contract paths; tests and the simulated kubelet may point them elsewhere. */
  statusDir: z.string().default(CONTRACT_PATHS.statusDir),
  terminationLog: z.string().default(CONTRACT_PATHS.terminationLog),
  /** Seconds between progress lines of long transfers (`TRANSFER_METER_FREQUENCY` of the job wins). */
  transferMeterSeconds: z.number().min(0).default(10),
  /** Name and version put in User-Agent headers. */
  userAgent: z.string().default('podrunner-helper'),
});

/** What the manager writes (defaults not yet applied). */
export type HelperSettingsInput = z.input<typeof helperSettingsSchema>;
/** What the helper uses. */
export type HelperSettings = z.output<typeof helperSettingsSchema>;
export type CacheStorage = HelperSettings['cache'];
export type S3CacheEntry = z.output<typeof s3CacheEntrySchema>;

export function parseHelperSettings(
  raw: unknown,
): { ok: true; settings: HelperSettings } | { ok: false; error: string } {
  const result = helperSettingsSchema.safeParse(raw);
  if (result.success) return { ok: true, settings: result.data };
  const issues = result.error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
  return { ok: false, error: `invalid ${HELPER_SETTINGS_FILE}: ${issues}` };
}

/** The result line each podrunner container writes to its termination-message path. */
export type HelperTermination =
  | { ok: true }
  | {
      ok: false;
      stage: 'get_sources' | 'restore_cache' | 'download_artifacts' | 'prepare';
      error: string;
      failure_reason: 'script_failure' | 'runner_system_failure';
    };
export type UploaderTermination = { ok: true; uploaded: number } | { ok: false; error: string };

/**
 * `CI_PROJECT_DIR` as upstream computes it (`Build.StartBuild`/`getCustomBuildDir`): the repository
 * path of the payload's `repo_url` below the builds dir (`project-<id>` when it cannot be parsed),
 * `-empty` appended for GIT_STRATEGY=empty; a `GIT_CLONE_PATH` variable replaces it when custom build
 * dirs are enabled (the Kubernetes default) and it lies inside the builds dir.
 */
export function resolveProjectDir(
  job: Pick<JobPayload, 'git_info' | 'job_info' | 'variables'>,
  options: { buildsDir: string; customBuildDirEnabled?: boolean },
): { ok: true; dir: string } | { ok: false; error: string } {
  const buildsDir = path.posix.normalize(options.buildsDir);
  const variable = (key: string) => {
    let value: string | undefined;
    for (const v of job.variables) if (v.key === key) value = v.value;
    return value ?? '';
  };
  const clonePath = variable('GIT_CLONE_PATH');
  if (clonePath !== '') {
    if (options.customBuildDirEnabled === false) {
      return { ok: false, error: 'setting GIT_CLONE_PATH is not allowed, enable `custom_build_dir` feature' };
    }
    const expanded = clonePath.replaceAll(/\$\{?CI_BUILDS_DIR\}?/g, buildsDir);
    const dir = path.posix.resolve(buildsDir, expanded);
    const rel = path.posix.relative(buildsDir, dir);
    if (rel.startsWith('..') || path.posix.isAbsolute(rel)) {
      return {
        ok: false,
        error: `the GIT_CLONE_PATH=${JSON.stringify(clonePath)} has to be within "${buildsDir}"`,
      };
    }
    return { ok: true, dir };
  }
  let slug = `project-${job.job_info.project_id}`;
  try {
    const url = new URL(job.git_info.repo_url);
    const clean = path.posix.normalize(url.pathname.replace(/\.git$/, ''));
    if (url.host !== '' && clean !== '/' && clean !== '.' && !clean.includes('..'))
      slug = clean.replace(/^\/+/, '');
  } catch {
    // not a URL: fall back to project-<id>, as upstream does
  }
  if (variable('GIT_STRATEGY') === 'empty') slug += '-empty';
  return { ok: true, dir: path.posix.join(buildsDir, slug) };
}
