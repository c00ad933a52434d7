// JSON shapes of the public REST API (GitLab's `API::Entities::*`, the fields scripts read).
import type { Job, Namespace, Pipeline, Project, ProjectVariable, Runner } from '../model.ts';
import { ADMIN_USER, type SimStore } from '../store.ts';

export function userEntity(baseUrl: string) {
  return {
    id: ADMIN_USER.id,
    username: ADMIN_USER.username,
    name: ADMIN_USER.name,
    state: 'active',
    locked: false,
    avatar_url: null,
    web_url: `${baseUrl}/${ADMIN_USER.username}`,
  };
}

export function namespaceEntity(ns: Namespace, baseUrl: string) {
  return {
    id: ns.id,
    name: ns.name,
    path: ns.path,
    kind: ns.kind,
    full_path: ns.fullPath,
    parent_id: ns.parentId,
    avatar_url: null,
    web_url: `${baseUrl}/${ns.kind === 'group' ? 'groups/' : ''}${ns.fullPath}`,
  };
}

export function projectEntity(store: SimStore, project: Project) {
  const base = store.server.baseUrl;
  const ns = store.namespaces.get(project.namespaceId) as Namespace;
  const host = new URL(base).host;
  return {
    id: project.id,
    description: project.description,
    name: project.name,
    name_with_namespace: `${ns.fullPath.split('/').join(' / ')} / ${project.name}`,
    path: project.path,
    path_with_namespace: project.pathWithNamespace,
    created_at: project.createdAt,
    default_branch: project.defaultBranch,
    tag_list: [],
    topics: [],
    ssh_url_to_repo: `git@${host}:${project.pathWithNamespace}.git`,
    http_url_to_repo: `${base}/${project.pathWithNamespace}.git`,
    web_url: `${base}/${project.pathWithNamespace}`,
    readme_url: null,
    forks_count: 0,
    avatar_url: null,
    star_count: 0,
    last_activity_at: project.lastActivityAt,
    namespace: namespaceEntity(ns, base),
    visibility: project.visibility,
    archived: false,
    empty_repo: false,
    jobs_enabled: true,
    builds_access_level: 'enabled',
    shared_runners_enabled: true,
    ci_config_path: null,
    build_timeout: project.buildTimeout,
    ci_default_git_depth: project.ciDefaultGitDepth,
    runners_token: project.runnersToken,
    creator_id: ADMIN_USER.id,
  };
}

export function variableEntity(v: ProjectVariable) {
  return {
    variable_type: v.variableType,
    key: v.key,
    value: v.value,
    hidden: false,
    protected: v.protected,
    masked: v.masked,
    raw: v.raw,
    environment_scope: v.environmentScope,
    description: v.description,
  };
}

function seconds(from: string | null, to: string | null): number | null {
  if (!from) return null;
  const end = to ? Date.parse(to) : Date.now();
  return Math.max(0, (end - Date.parse(from)) / 1000);
}

export function pipelineBasicEntity(store: SimStore, pipeline: Pipeline) {
  const project = store.projects.get(pipeline.projectId) as Project;
  return {
    id: pipeline.id,
    iid: pipeline.iid,
    project_id: pipeline.projectId,
    sha: pipeline.sha,
    ref: pipeline.ref,
    status: pipeline.status,
    source: pipeline.source,
    created_at: pipeline.createdAt,
    updated_at: pipeline.updatedAt,
    web_url: `${store.server.baseUrl}/${project.pathWithNamespace}/-/pipelines/${pipeline.id}`,
  };
}

export function pipelineEntity(store: SimStore, pipeline: Pipeline) {
  return {
    ...pipelineBasicEntity(store, pipeline),
    before_sha: pipeline.beforeSha,
    tag: pipeline.tag,
    yaml_errors: null,
    user: userEntity(store.server.baseUrl),
    started_at: pipeline.startedAt,
    finished_at: pipeline.finishedAt,
    committed_at: pipeline.commit.committedDate,
    duration: pipeline.startedAt ? Math.round(seconds(pipeline.startedAt, pipeline.finishedAt) ?? 0) : null,
    queued_duration: null,
    coverage: null,
    name: null,
    detailed_status: {
      icon: `status_${pipeline.status}`,
      text: pipeline.status,
      label: pipeline.status,
      group: pipeline.status,
    },
  };
}

export function runnerEntity(runner: Runner) {
  return {
    id: runner.id,
    description: runner.description,
    ip_address: Object.values(runner.managers)[0]?.ipAddress ?? null,
    active: !runner.paused,
    paused: runner.paused,
    is_shared: runner.type === 'instance_type',
    runner_type: runner.type,
    name: 'gitlab-runner',
    online: runner.contactedAt !== null && Date.now() - Date.parse(runner.contactedAt) < 2 * 3600 * 1000,
    status: runner.contactedAt === null ? 'never_contacted' : 'online',
  };
}

export function runnerDetailEntity(runner: Runner) {
  return {
    ...runnerEntity(runner),
    tag_list: runner.tags,
    run_untagged: runner.runUntagged,
    locked: runner.locked,
    access_level: runner.accessLevel,
    maximum_timeout: runner.maximumTimeout,
    contacted_at: runner.contactedAt,
    created_at: runner.createdAt,
    managers: Object.values(runner.managers).map((m) => ({
      system_id: m.systemId,
      version: m.version,
      revision: m.revision,
      platform: m.platform,
      architecture: m.architecture,
      contacted_at: m.contactedAt,
      ip_address: m.ipAddress,
      status: 'online',
    })),
  };
}

export function jobEntity(store: SimStore, job: Job) {
  const pipeline = store.pipelines.get(job.pipelineId) as Pipeline;
  const project = store.projects.get(job.projectId) as Project;
  const runner = job.runnerId === null ? undefined : store.runners.get(job.runnerId);
  const archive = store.archiveOf(job);
  const commit = pipeline.commit;
  return {
    id: job.id,
    status: job.status,
    stage: job.stage,
    name: job.name,
    ref: pipeline.ref,
    tag: pipeline.tag,
    coverage: job.coverage,
    allow_failure: job.allowFailure,
    created_at: job.createdAt,
    started_at: job.startedAt,
    finished_at: job.finishedAt,
    erased_at: null,
    duration: seconds(job.startedAt, job.finishedAt),
    queued_duration: job.queuedAt ? seconds(job.queuedAt, job.startedAt) : null,
    user: userEntity(store.server.baseUrl),
    commit: {
      id: commit.sha,
      short_id: commit.sha.slice(0, 8),
      created_at: commit.committedDate,
      parent_ids: [],
      title: commit.title,
      message: commit.message,
      author_name: commit.authorName,
      author_email: commit.authorEmail,
      authored_date: commit.authoredDate,
      committer_name: commit.authorName,
      committer_email: commit.authorEmail,
      committed_date: commit.committedDate,
      web_url: `${store.server.baseUrl}/${project.pathWithNamespace}/-/commit/${commit.sha}`,
    },
    pipeline: pipelineBasicEntity(store, pipeline),
    web_url: `${store.server.baseUrl}/${project.pathWithNamespace}/-/jobs/${job.id}`,
    project: { ci_job_token_scope_enabled: false },
    artifacts: job.artifacts.map((a) => ({
      file_type: a.type,
      size: a.size,
      filename: a.filename,
      file_format: a.format,
    })),
    ...(archive ? { artifacts_file: { filename: archive.filename, size: archive.size } } : {}),
    runner: runner ? runnerEntity(runner) : null,
    runner_manager: null,
    artifacts_expire_at: archive?.expireAt ?? null,
    archived: false,
    tag_list: job.spec.tags,
    ...(job.status === 'failed' ? { failure_reason: job.failureReason ?? 'unknown_failure' } : {}),
    retried: job.retried,
  };
}
