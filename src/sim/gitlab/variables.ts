// The variables a job receives: GitLab's predefined `CI_*` set, then YAML, project and pipeline
// variables, in GitLab's precedence order (later wins), with `$VAR` references expanded server-side
// except in raw variables.
import type { CiJob } from './ci/model.ts';
import type { Job, Pipeline, Project, Runner } from './model.ts';

export interface RunnerVariable {
  key: string;
  value: string;
  public: boolean;
  masked: boolean;
  file?: true;
  raw?: true;
}

export interface ServerInfo {
  /** e.g. `http://127.0.0.1:8080` (no trailing slash). */
  baseUrl: string;
  version: string;
  revision: string;
}

export function slugify(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
}

export function repoUrlWithToken(server: ServerInfo, project: Project, token: string): string {
  const url = new URL(server.baseUrl);
  return `${url.protocol}//gitlab-ci-token:${token}@${url.host}${url.pathname.replace(/\/$/, '')}/${project.pathWithNamespace}.git`;
}

function pub(key: string, value: string): RunnerVariable {
  return { key, value, public: true, masked: false };
}

export interface PredefinedContext {
  server: ServerInfo;
  project: Project;
  namespacePath: string;
  rootNamespacePath: string;
  pipeline: Pipeline;
  job: Job;
  runner: Runner | null;
  user: { id: number; username: string; name: string; email: string };
}

export function predefinedVariables(ctx: PredefinedContext): RunnerVariable[] {
  const { server, project, pipeline, job, runner, user } = ctx;
  const url = new URL(server.baseUrl);
  const projectUrl = `${server.baseUrl}/${project.pathWithNamespace}`;
  const [major = '0', minor = '0', patch = '0'] = server.version.split(/[.-]/);
  const commit = pipeline.commit;
  const vars: RunnerVariable[] = [
    pub('CI_PIPELINE_ID', String(pipeline.id)),
    pub('CI_PIPELINE_IID', String(pipeline.iid)),
    pub('CI_PIPELINE_SOURCE', pipeline.source),
    pub('CI_PIPELINE_URL', `${projectUrl}/-/pipelines/${pipeline.id}`),
    pub('CI_PIPELINE_CREATED_AT', pipeline.createdAt.replace(/\.\d+Z$/, 'Z')),
    pub('CI_JOB_ID', String(job.id)),
    pub('CI_JOB_NAME', job.name),
    pub('CI_JOB_NAME_SLUG', slugify(job.name)),
    pub('CI_JOB_STAGE', job.stage),
    { key: 'CI_JOB_TOKEN', value: job.token, public: false, masked: true },
    pub('CI_JOB_URL', `${projectUrl}/-/jobs/${job.id}`),
    pub('CI_JOB_STARTED_AT', (job.startedAt ?? new Date().toISOString()).replace(/\.\d+Z$/, 'Z')),
    pub('CI_NODE_TOTAL', '1'),
    pub('CI_BUILD_REF_NAME', pipeline.ref),
    pub('CI_PROJECT_ID', String(project.id)),
    pub('CI_PROJECT_NAME', project.path),
    pub('CI_PROJECT_TITLE', project.name),
    pub('CI_PROJECT_DESCRIPTION', project.description),
    pub('CI_PROJECT_PATH', project.pathWithNamespace),
    pub('CI_PROJECT_PATH_SLUG', slugify(project.pathWithNamespace)),
    pub('CI_PROJECT_NAMESPACE', ctx.namespacePath),
    pub('CI_PROJECT_ROOT_NAMESPACE', ctx.rootNamespacePath),
    pub('CI_PROJECT_URL', projectUrl),
    pub('CI_PROJECT_VISIBILITY', project.visibility),
    pub('CI_PROJECT_REPOSITORY_LANGUAGES', ''),
    pub('CI_PROJECT_CLASSIFICATION_LABEL', ''),
    pub('CI_DEFAULT_BRANCH', project.defaultBranch),
    pub('CI_CONFIG_PATH', '.gitlab-ci.yml'),
    pub('CI_SERVER_URL', server.baseUrl),
    pub('CI_SERVER_HOST', url.hostname),
    pub('CI_SERVER_PORT', url.port || (url.protocol === 'https:' ? '443' : '80')),
    pub('CI_SERVER_PROTOCOL', url.protocol.replace(':', '')),
    pub('CI_SERVER_SHELL_SSH_HOST', url.hostname),
    pub('CI_SERVER_SHELL_SSH_PORT', '22'),
    pub('CI_SERVER_NAME', 'GitLab'),
    pub('CI_SERVER_VERSION', server.version),
    pub('CI_SERVER_VERSION_MAJOR', major),
    pub('CI_SERVER_VERSION_MINOR', minor),
    pub('CI_SERVER_VERSION_PATCH', patch),
    pub('CI_SERVER_REVISION', server.revision),
    pub('CI_SERVER_FQDN', url.host),
    pub('CI_API_V4_URL', `${server.baseUrl}/api/v4`),
    pub('CI_API_GRAPHQL_URL', `${server.baseUrl}/api/graphql`),
    pub('CI_TEMPLATE_REGISTRY_HOST', 'registry.gitlab.com'),
    {
      key: 'CI_REPOSITORY_URL',
      value: repoUrlWithToken(server, project, job.token),
      public: false,
      masked: false,
    },
    pub('CI_COMMIT_SHA', pipeline.sha),
    pub('CI_COMMIT_SHORT_SHA', pipeline.sha.slice(0, 8)),
    pub('CI_COMMIT_BEFORE_SHA', pipeline.beforeSha),
    pub('CI_COMMIT_REF_NAME', pipeline.ref),
    pub('CI_COMMIT_REF_SLUG', slugify(pipeline.ref)),
    pub('CI_COMMIT_REF_PROTECTED', String(pipeline.protectedRef)),
    ...(pipeline.tag
      ? [pub('CI_COMMIT_TAG', pipeline.ref), pub('CI_COMMIT_TAG_MESSAGE', '')]
      : [pub('CI_COMMIT_BRANCH', pipeline.ref)]),
    pub('CI_COMMIT_MESSAGE', commit.message),
    pub('CI_COMMIT_TITLE', commit.title),
    pub('CI_COMMIT_DESCRIPTION', commit.message.split('\n').slice(1).join('\n').replace(/^\n+/, '')),
    pub('CI_COMMIT_AUTHOR', `${commit.authorName} <${commit.authorEmail}>`),
    pub('CI_COMMIT_TIMESTAMP', commit.committedDate),
    pub('GITLAB_USER_ID', String(user.id)),
    pub('GITLAB_USER_LOGIN', user.username),
    pub('GITLAB_USER_NAME', user.name),
    pub('GITLAB_USER_EMAIL', user.email),
    pub('GITLAB_FEATURES', ''),
    pub('CI_DISPOSABLE_ENVIRONMENT', 'true'),
    pub('CI', 'true'),
    pub('GITLAB_CI', 'true'),
  ];
  if (job.spec.image) vars.push(pub('CI_JOB_IMAGE', job.spec.image.name));
  if (runner) {
    vars.push(pub('CI_RUNNER_ID', String(runner.id)));
    vars.push(pub('CI_RUNNER_DESCRIPTION', runner.description));
    vars.push(pub('CI_RUNNER_TAGS', JSON.stringify(runner.tags)));
  }
  return vars;
}

/** Global YAML variables merged with the job's own (job wins), as GitLab's `yaml_variables`. */
export function yamlVariables(pipeline: Pipeline, spec: CiJob): RunnerVariable[] {
  const merged = new Map<string, { value: string; raw: boolean }>();
  for (const v of pipeline.yamlVariables) merged.set(v.key, { value: v.value, raw: v.raw });
  for (const v of spec.variables) merged.set(v.key, { value: v.value, raw: v.raw });
  return [...merged].map(([key, v]) => ({
    key,
    value: v.value,
    public: true,
    masked: false,
    ...(v.raw ? { raw: true as const } : {}),
  }));
}

/**
 * Expands `$VAR`, `${VAR}` and `%VAR%` references in non-raw values using the collection itself (the
 * last definition of a key wins). File variables are referenced, not inlined; unknown references stay.
 */
export function expandVariables(vars: RunnerVariable[]): RunnerVariable[] {
  const last = new Map<string, RunnerVariable>();
  for (const v of vars) last.set(v.key, v);
  const pattern =
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)|%([A-Za-z_][A-Za-z0-9_]*)%/g;
  // `stack`: the keys being expanded; a reference back into it (a cycle) is left as written.
  const expand = (text: string, stack: Set<string>): string =>
    text.replace(pattern, (m, a, b, c) => {
      if (m === '$$') return m;
      const key = (a ?? b ?? c) as string;
      const v = last.get(key);
      if (!v || v.file || stack.has(key) || stack.size > 32) return m;
      if (v.raw) return v.value;
      stack.add(key);
      const value = expand(v.value, stack);
      stack.delete(key);
      return value;
    });
  return vars.map((v) =>
    v.raw || v.file || !/[$%]/.test(v.value) ? v : { ...v, value: expand(v.value, new Set([v.key])) },
  );
}
