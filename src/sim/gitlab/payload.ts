// The 201 body of `POST /jobs/request`: GitLab's job-request entity (gitlab-runner-api.md §2.7) built from
// the stand-in's records. Pure; typed as what `src/gitlab/payload.ts` parses.
import type { JobPayloadInput } from '../../gitlab/payload.ts';
import type { CiCache, CiImage, CiJob, CiService } from './ci/model.ts';
import { REPORT_TYPES } from './ci/reports.ts';
import type { Pipeline, Project, Runner } from './model.ts';
import {
  expandVariables,
  type PredefinedContext,
  predefinedVariables,
  type RunnerVariable,
  repoUrlWithToken,
  yamlVariables,
} from './variables.ts';

/** Every value of GitLab's failure-reason enum, in enum order (`features.failure_reasons`). */
export const FAILURE_REASONS = [
  'unknown_failure',
  'script_failure',
  'api_failure',
  'stuck_or_timeout_failure',
  'runner_system_failure',
  'missing_dependency_failure',
  'runner_unsupported',
  'stale_schedule',
  'job_execution_timeout',
  'archived_failure',
  'unmet_prerequisites',
  'scheduler_failure',
  'data_integrity_failure',
  'forward_deployment_failure',
  'user_blocked',
  'project_deleted',
  'ci_quota_exceeded',
  'pipeline_loop_detected',
  'no_matching_runner',
  'trace_size_exceeded',
  'builds_disabled',
  'environment_creation_failure',
  'deployment_rejected',
  'failed_outdated_deployment_job',
  'job_execution_server_timeout',
  'stuck_pending_with_matching_runners',
  'stuck_pending_no_matching_runners',
  'no_updates_running',
  'no_updates_canceling',
  'server_timeout_running',
  'server_timeout_canceling',
  'runner_configuration_error',
  'runner_external_dependency_failure',
  'runner_interrupted',
  'protected_environment_failure',
  'insufficient_bridge_permissions',
  'downstream_bridge_project_not_found',
  'invalid_bridge_trigger',
  'upstream_bridge_project_not_found',
  'insufficient_upstream_permissions',
  'bridge_pipeline_is_child_pipeline',
  'downstream_pipeline_creation_failed',
  'secrets_provider_not_found',
  'reached_max_descendant_pipelines_depth',
  'ip_restriction_failure',
  'reached_max_pipeline_hierarchy_size',
  'reached_downstream_pipeline_trigger_rate_limit',
  'duo_workflow_not_allowed',
  'job_router_failure',
  'job_token_expired',
  'id_token_burned_project_path',
  'downstream_project_trigger_resolved_to_empty',
] as const;

export interface DependencyInfo {
  id: number;
  name: string;
  archive: { filename: string; size: number } | null;
}

export interface PayloadContext extends PredefinedContext {
  runner: Runner;
  dependencies: DependencyInfo[];
  /** Project CI/CD variables visible to this job (protected ones only on protected refs). */
  projectVariables: RunnerVariable[];
  pipelineVariables: RunnerVariable[];
  timeInQueueSeconds: number | null;
  queueSize: number;
  queueDepth: number;
  namespaceId: number;
  rootNamespaceId: number;
  instanceUuid: string;
  runningOnInstanceRunners: number;
}

function imageEntity(image: CiImage) {
  return {
    name: image.name,
    entrypoint: image.entrypoint,
    ports: image.ports,
    executor_opts: image.executorOpts,
    pull_policy: image.pullPolicy,
  };
}

function serviceEntity(service: CiService) {
  return {
    ...imageEntity(service),
    alias: service.alias,
    command: service.command,
    variables: service.variables,
  };
}

function artifactsEntity(spec: CiJob): JobPayloadInput['artifacts'] {
  const a = spec.artifacts;
  if (!a) return null;
  const entries: NonNullable<JobPayloadInput['artifacts']> = [];
  if (a.paths.length > 0 || a.untracked) {
    entries.push({
      name: a.name,
      ...(a.untracked === null ? {} : { untracked: a.untracked }),
      paths: a.paths,
      ...(a.exclude.length > 0 ? { exclude: a.exclude } : {}),
      when: a.when,
      expire_in: a.expireIn,
      artifact_type: 'archive',
      artifact_format: 'zip',
    });
  }
  for (const report of a.reports) {
    const known = REPORT_TYPES[report.type];
    entries.push({
      name: known?.fileName ?? report.type,
      paths: report.paths,
      when: 'always',
      expire_in: a.expireIn,
      artifact_type: report.type,
      artifact_format: known?.format ?? 'raw',
    });
  }
  return entries;
}

/** Separated caches: `-protected` on protected refs, `-non_protected` elsewhere (unless `unprotect`). */
function cacheEntity(cache: CiCache, key: string, protectedRef: boolean) {
  const suffix = cache.unprotect ? '' : protectedRef ? '-protected' : '-non_protected';
  return {
    key: `${key}${suffix}`,
    untracked: cache.untracked ?? false,
    paths: cache.paths,
    policy: cache.policy ?? 'pull-push',
    when: cache.when ?? 'on_success',
    fallback_keys: cache.fallbackKeys.map((k) => `${k}${suffix}`),
  };
}

/**
 * `+refs/pipelines/<id>` always; then the ref itself when cloning shallow, or all heads and tags for
 * a full clone (depth 0).
 */
export function refspecs(pipeline: Pipeline, depth: number): string[] {
  const specs = [`+refs/pipelines/${pipeline.id}:refs/pipelines/${pipeline.id}`];
  if (depth > 0) {
    specs.push(
      pipeline.tag
        ? `+refs/tags/${pipeline.ref}:refs/tags/${pipeline.ref}`
        : `+refs/heads/${pipeline.ref}:refs/remotes/origin/${pipeline.ref}`,
    );
  } else {
    specs.push('+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*');
  }
  return specs;
}

/** The job's variables in GitLab's precedence order, references expanded. */
export function jobVariables(ctx: PayloadContext): RunnerVariable[] {
  return expandVariables([
    ...predefinedVariables(ctx),
    ...yamlVariables(ctx.pipeline, ctx.job.spec),
    ...ctx.projectVariables,
    ...ctx.pipelineVariables,
  ]);
}

/** `GIT_DEPTH` from the job's variables, else the project's default. */
function gitDepth(variables: RunnerVariable[], project: Project): number {
  const value = [...variables].reverse().find((v) => v.key === 'GIT_DEPTH')?.value;
  const n = value === undefined ? Number.NaN : Number.parseInt(value, 10);
  return Number.isInteger(n) && n >= 0 ? n : project.ciDefaultGitDepth;
}

export function buildJobPayload(ctx: PayloadContext): JobPayloadInput {
  const { job, pipeline, project, runner, server } = ctx;
  const spec = job.spec;
  const variables = jobVariables(ctx);
  const depth = gitDepth(variables, project);
  const timeout = job.timeoutSeconds;
  const steps: NonNullable<JobPayloadInput['steps']> = [
    {
      name: 'script',
      script: [...spec.beforeScript, ...spec.script],
      timeout,
      when: 'on_success',
      allow_failure: false,
    },
  ];
  if (spec.afterScript !== null) {
    steps.push({
      name: 'after_script',
      script: spec.afterScript,
      timeout,
      when: 'always',
      allow_failure: true,
    });
  }
  const runningCount = runner.type === 'instance_type' ? String(ctx.runningOnInstanceRunners) : '+Inf';
  const payload: JobPayloadInput & Record<string, unknown> = {
    id: job.id,
    token: job.token,
    allow_git_fetch: true,
    job_info: {
      id: job.id,
      name: job.name,
      stage: job.stage,
      pipeline_id: pipeline.id,
      project_id: project.id,
      project_name: project.name,
      project_full_path: project.pathWithNamespace,
      namespace_id: ctx.namespaceId,
      root_namespace_id: ctx.rootNamespaceId,
      organization_id: 1,
      instance_id: ctx.instanceUuid,
      instance_uuid: ctx.instanceUuid,
      user_id: ctx.user.id,
      scoped_user_id: null,
      time_in_queue_seconds: ctx.timeInQueueSeconds,
      project_jobs_running_on_instance_runners_count: runningCount,
      queue_size: ctx.queueSize,
      queue_depth: ctx.queueDepth,
    } as JobPayloadInput['job_info'],
    git_info: {
      repo_url: repoUrlWithToken(server, project, job.token),
      ref: pipeline.ref,
      sha: pipeline.sha,
      before_sha: pipeline.beforeSha,
      ref_type: pipeline.tag ? 'tag' : 'branch',
      refspecs: refspecs(pipeline, depth),
      depth,
      repo_object_format: 'sha1',
      protected: pipeline.protectedRef,
    },
    runner_info: { timeout, runner_session_url: null } as JobPayloadInput['runner_info'],
    variables,
    steps,
    hooks: (spec.hooks ?? []).map((h) => ({ name: h.name, script: h.script })),
    image: spec.image ? imageEntity(spec.image) : null,
    services: spec.services.map(serviceEntity),
    artifacts: artifactsEntity(spec),
    cache: spec.cache.map((c, i) => cacheEntity(c, job.cacheKeys[i] ?? 'default', pipeline.protectedRef)),
    credentials: [],
    features: { trace_sections: true, failure_reasons: [...FAILURE_REASONS] },
    dependencies: ctx.dependencies.map((d) => ({
      id: d.id,
      name: d.name,
      token: job.token,
      ...(d.archive ? { artifacts_file: d.archive } : {}),
    })),
  };
  return payload;
}
