// The pipeline model the embedded GitLab builds from a `.gitlab-ci.yml`: what each job runs and how it
// is ordered. Pure data; `config.ts` produces it, `processing.ts` schedules it, `../payload.ts` turns a
// job of it into the runner payload.

export type ArtifactWhen = 'on_success' | 'on_failure' | 'always';
export type JobWhen = 'on_success' | 'on_failure' | 'always' | 'manual';
export type CachePolicy = 'pull' | 'push' | 'pull-push';
export type PullPolicy = 'always' | 'if-not-present' | 'never';

export interface CiPort {
  number: number;
  protocol: 'http' | 'https';
  name: string;
}

export interface CiExecutorOpts {
  docker?: { platform?: string; user?: string | number };
  kubernetes?: { user?: string | number };
}

export interface CiImage {
  name: string;
  entrypoint: string[] | null;
  pullPolicy: PullPolicy[] | null;
  executorOpts: CiExecutorOpts;
  ports: CiPort[];
}

export interface CiService extends CiImage {
  alias: string | null;
  command: string[] | null;
  variables: Array<{ key: string; value: string }>;
}

/** A variable from the YAML; `raw` is `expand: false`. */
export interface CiVariable {
  key: string;
  value: string;
  raw: boolean;
}

export interface CiReport {
  /** artifact_type as the runner uploads it: `junit`, `cobertura`, `dotenv`, … */
  type: string;
  paths: string[];
}

export interface CiArtifacts {
  name: string | null;
  paths: string[];
  exclude: string[];
  untracked: boolean | null;
  when: ArtifactWhen | null;
  expireIn: string | null;
  reports: CiReport[];
}

export type CiCacheKey =
  | { kind: 'string'; value: string }
  | { kind: 'files'; files: string[]; prefix: string | null };

export interface CiCache {
  key: CiCacheKey | null;
  paths: string[];
  untracked: boolean | null;
  policy: CachePolicy | null;
  when: ArtifactWhen | null;
  fallbackKeys: string[];
  unprotect: boolean;
}

export interface CiNeed {
  job: string;
  artifacts: boolean;
  optional: boolean;
}

export interface CiRetry {
  max: number;
  when: string[];
  exitCodes: number[] | null;
}

/** `hooks:` entries, in the payload's `{name, script}` shape (GitLab allows `pre_get_sources_script`). */
export interface CiHook {
  name: 'pre_get_sources_script';
  script: string[];
}

export interface CiJob {
  name: string;
  stage: string;
  image: CiImage | null;
  services: CiService[];
  beforeScript: string[];
  script: string[];
  afterScript: string[] | null;
  /** `hooks:` (a job's own replace `default:hooks` as a whole, as GitLab does). */
  hooks?: CiHook[];
  /** Job-level variables only; the pipeline's global ones live on `CiPipelineSpec`. */
  variables: CiVariable[];
  artifacts: CiArtifacts | null;
  cache: CiCache[];
  /** null: stage ordering; []: start at once; else the DAG edges. */
  needs: CiNeed[] | null;
  dependencies: string[] | null;
  timeoutSeconds: number | null;
  allowFailure: boolean;
  allowFailureExitCodes: number[] | null;
  when: JobWhen;
  tags: string[];
  retry: CiRetry | null;
  coverageRegex: string | null;
}

export interface CiPipelineSpec {
  /** Including `.pre` first and `.post` last. */
  stages: string[];
  variables: CiVariable[];
  jobs: CiJob[];
}

/** The features a runner must advertise to get a job (GitLab's `Ci::Build::RUNNER_FEATURES`). */
export function requiredRunnerFeatures(job: CiJob): string[] {
  const features: string[] = [];
  if (job.artifacts && job.artifacts.reports.length > 0) features.push('upload_multiple_artifacts');
  if (job.artifacts && job.artifacts.exclude.length > 0) features.push('artifacts_exclude');
  if (job.allowFailureExitCodes && job.allowFailureExitCodes.length > 0) features.push('return_exit_code');
  if (job.cache.some((c) => c.fallbackKeys.length > 0)) features.push('fallback_cache_keys');
  return features;
}
