// The job payload GitLab returns with `201` from `POST /api/v4/jobs/request` (gitlab-runner-api.md §2.7).
// Like the Go runner, this accepts `null` or a missing key for every array and object and keeps unknown
// keys out of the typed value; the raw payload is what the job Secret stores for adoption.
import { z } from 'zod';

const nullableArray = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .nullish()
    .transform((v) => v ?? []);

const stringList = nullableArray(z.string());

export const portSchema = z.object({
  number: z.number().int().min(1).max(65535),
  protocol: z.enum(['http', 'https']).nullish(),
  name: z.string().nullish(),
});

/** `user` may come as a string or an integer (`"1001"`, `1001`, `"1001:1001"`). */
const executorUser = z.union([z.string(), z.number().int()]).transform((v) => String(v));

export const executorOptsSchema = z
  .object({
    docker: z.object({ platform: z.string().nullish(), user: executorUser.nullish() }).strict().nullish(),
    kubernetes: z.object({ user: executorUser.nullish() }).strict().nullish(),
  })
  .strict()
  .nullish()
  .transform((v) => v ?? {});

export const pullPolicySchema = z.enum(['always', 'if-not-present', 'never']);

export const imageSchema = z.object({
  name: z.string().min(1),
  entrypoint: stringList,
  ports: nullableArray(portSchema),
  executor_opts: executorOptsSchema,
  pull_policy: nullableArray(pullPolicySchema),
});

export const serviceSchema = imageSchema.extend({
  alias: z.string().nullish(),
  command: stringList,
  variables: nullableArray(z.object({ key: z.string(), value: z.string() })),
});

export const variableSchema = z.object({
  key: z.string().min(1),
  value: z.string(),
  public: z
    .boolean()
    .nullish()
    .transform((v) => v ?? false),
  masked: z
    .boolean()
    .nullish()
    .transform((v) => v ?? false),
  file: z
    .boolean()
    .nullish()
    .transform((v) => v ?? false),
  raw: z
    .boolean()
    .nullish()
    .transform((v) => v ?? false),
});

export const whenSchema = z.enum(['on_success', 'on_failure', 'always']);

export const stepSchema = z.object({
  name: z.string(),
  script: stringList,
  timeout: z.number().int().nullish(),
  when: whenSchema.nullish().transform((v) => v ?? 'on_success'),
  allow_failure: z
    .boolean()
    .nullish()
    .transform((v) => v ?? false),
});

export const artifactSchema = z.object({
  name: z.string().nullish(),
  untracked: z
    .boolean()
    .nullish()
    .transform((v) => v ?? false),
  paths: stringList,
  exclude: stringList,
  when: whenSchema.nullish().transform((v) => v ?? 'on_success'),
  expire_in: z.string().nullish(),
  artifact_type: z
    .string()
    .nullish()
    .transform((v) => v ?? 'archive'),
  artifact_format: z
    .enum(['zip', 'gzip', 'raw'])
    .nullish()
    .transform((v) => v ?? 'zip'),
});

export const cacheSchema = z.object({
  key: z
    .string()
    .nullish()
    .transform((v) => v ?? 'default'),
  untracked: z
    .boolean()
    .nullish()
    .transform((v) => v ?? false),
  paths: stringList,
  /** `pull-push`, `pull`, `push`, or a `$VARIABLE` the runner expands (GitLab sends it unexpanded). */
  policy: z
    .union([z.enum(['pull-push', 'pull', 'push']), z.string()])
    .nullish()
    .transform((v) => v ?? 'pull-push'),
  when: whenSchema.nullish().transform((v) => v ?? 'on_success'),
  fallback_keys: stringList,
});

export const credentialSchema = z.object({
  type: z.string(),
  url: z.string(),
  username: z.string(),
  password: z.string(),
});

export const dependencySchema = z.object({
  id: z.number().int(),
  name: z.string(),
  token: z.string(),
  artifacts_file: z.object({ filename: z.string(), size: z.number().int() }).nullish(),
});

export const hookSchema = z.object({ name: z.string(), script: stringList });

export const jobPayloadSchema = z.object({
  id: z.number().int().positive(),
  token: z.string().min(1),
  allow_git_fetch: z
    .boolean()
    .nullish()
    .transform((v) => v ?? true),
  job_info: z.object({
    id: z.number().int().nullish(),
    name: z.string(),
    stage: z.string(),
    project_id: z.number().int(),
    project_name: z.string(),
    project_full_path: z.string().nullish(),
    /** The project's namespace and top-level group ids (pod labels `project.runner.gitlab.com/*`). */
    namespace_id: z.number().int().nullish(),
    root_namespace_id: z.number().int().nullish(),
    pipeline_id: z.number().int().nullish(),
    time_in_queue_seconds: z.number().nullish(),
  }),
  git_info: z.object({
    repo_url: z.string(),
    ref: z.string(),
    sha: z.string(),
    before_sha: z.string().nullish(),
    ref_type: z.enum(['branch', 'tag']).nullish(),
    refspecs: stringList,
    depth: z
      .number()
      .int()
      .min(0)
      .nullish()
      .transform((v) => v ?? 0),
    repo_object_format: z.enum(['sha1', 'sha256']).nullish(),
    protected: z.boolean().nullish(),
  }),
  runner_info: z.object({
    timeout: z.number().int().nullish(),
  }),
  variables: nullableArray(variableSchema),
  steps: nullableArray(stepSchema),
  hooks: nullableArray(hookSchema),
  image: imageSchema.nullish().transform((v) => v ?? null),
  services: nullableArray(serviceSchema),
  artifacts: nullableArray(artifactSchema),
  cache: nullableArray(cacheSchema),
  credentials: nullableArray(credentialSchema),
  dependencies: nullableArray(dependencySchema),
  features: z
    .object({
      trace_sections: z.boolean().nullish(),
      failure_reasons: stringList,
      token_mask_prefixes: stringList,
    })
    .nullish()
    .transform((v) => v ?? { trace_sections: true, failure_reasons: [], token_mask_prefixes: [] }),
  run: z.string().nullish(),
});

/** The job as podrunner uses it after validation. */
export type JobPayload = z.output<typeof jobPayloadSchema>;
/** What GitLab sends (before defaults are applied); the simulated GitLab produces this shape. */
export type JobPayloadInput = z.input<typeof jobPayloadSchema>;
export type JobVariable = JobPayload['variables'][number];
export type JobImage = NonNullable<JobPayload['image']>;
export type JobService = JobPayload['services'][number];
export type JobArtifact = JobPayload['artifacts'][number];
export type JobCache = JobPayload['cache'][number];
export type JobStep = JobPayload['steps'][number];
export type JobDependency = JobPayload['dependencies'][number];

/** The runner's default job timeout when `runner_info.timeout` is missing or ≤ 0 (§2.7). */
export const DEFAULT_JOB_TIMEOUT_SECONDS = 7200;

export function jobTimeoutSeconds(job: JobPayload): number {
  const t = job.runner_info.timeout ?? 0;
  return t > 0 ? t : DEFAULT_JOB_TIMEOUT_SECONDS;
}

/** Parses an untrusted 201 body; the error names each failing path. */
export function parseJobPayload(
  raw: unknown,
): { ok: true; job: JobPayload } | { ok: false; error: string; jobId?: number; token?: string } {
  const result = jobPayloadSchema.safeParse(raw);
  if (result.success) return { ok: true, job: result.data };
  const issues = result.error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
  const partial = (typeof raw === 'object' && raw !== null ? raw : {}) as { id?: unknown; token?: unknown };
  return {
    ok: false,
    error: `invalid job payload: ${issues}`,
    ...(typeof partial.id === 'number' ? { jobId: partial.id } : {}),
    ...(typeof partial.token === 'string' ? { token: partial.token } : {}),
  };
}
