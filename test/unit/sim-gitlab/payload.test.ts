import { describe, expect, it } from 'vitest';
import { parseJobPayload } from '../../../src/gitlab/payload.ts';
import { parseCiConfig } from '../../../src/sim/gitlab/ci/config.ts';
import type { Job, Pipeline, Project, Runner } from '../../../src/sim/gitlab/model.ts';
import {
  buildJobPayload,
  FAILURE_REASONS,
  type PayloadContext,
  refspecs,
} from '../../../src/sim/gitlab/payload.ts';
import { expandVariables } from '../../../src/sim/gitlab/variables.ts';

const YAML = `
variables:
  GREETING: "hello $CI_PROJECT_NAME"
  RAW: { value: "$HOME/literal", expand: false }
build:
  stage: build
  image: { name: "node:22", kubernetes: { user: "1001:1001" } }
  services:
    - name: docker:27-dind
      alias: docker
      command: ["--tls=false"]
      variables: { DOCKER_TLS_CERTDIR: "" }
    - postgres:16
  before_script: [npm ci]
  script: [npm test]
  after_script: [echo done]
  timeout: 90m
  artifacts:
    paths: [dist/]
    exclude: ["dist/**/*.map"]
    expire_in: 1 week
    reports: { junit: reports/junit.xml }
  cache:
    key: npm-deps
    paths: [.npm/]
    policy: pull
    fallback_keys: [npm-deps-main]
`;

function context(overrides: Partial<PayloadContext> = {}): PayloadContext {
  const parsed = parseCiConfig(YAML);
  if (!parsed.ok) throw new Error(parsed.errors.join());
  const spec = parsed.spec.jobs[0] as Job['spec'];
  const project = {
    id: 7,
    name: 'Web App',
    path: 'web-app',
    namespaceId: 2,
    pathWithNamespace: 'acme/web-app',
    description: '',
    defaultBranch: 'main',
    visibility: 'private',
    createdAt: '2026-01-01T00:00:00.000Z',
    lastActivityAt: '2026-01-01T00:00:00.000Z',
    runnersToken: 'GR1348941x',
    buildTimeout: 3600,
    ciDefaultGitDepth: 20,
    variables: [],
    pipelineIidCounter: 1,
    jobTokenAllowlist: [],
  } satisfies Project;
  const pipeline = {
    id: 41,
    iid: 1,
    projectId: 7,
    ref: 'main',
    tag: false,
    sha: 'a'.repeat(40),
    beforeSha: '0'.repeat(40),
    source: 'api',
    status: 'running',
    protectedRef: true,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    startedAt: null,
    finishedAt: null,
    commit: {
      sha: 'a'.repeat(40),
      title: 'Add CI',
      message: 'Add CI\n\nwith a body',
      authorName: 'Jane',
      authorEmail: 'jane@example.com',
      authoredDate: '2026-01-01T00:00:00Z',
      committedDate: '2026-01-01T00:00:00Z',
    },
    variables: [],
    yamlVariables: parsed.spec.variables,
    stages: parsed.spec.stages,
    jobIds: [99],
  } satisfies Pipeline;
  const job = {
    id: 99,
    pipelineId: 41,
    projectId: 7,
    name: 'build',
    stage: 'build',
    stageIdx: 1,
    spec,
    cacheKeys: ['npm-deps'],
    status: 'running',
    token: 'glcbt-TESTTOKEN1234567890',
    runnerId: 3,
    runnerSystemId: 's_1',
    runnerFeatures: {},
    awaitingAckSince: null,
    twoPhase: false,
    createdAt: '2026-01-01T00:00:00.000Z',
    queuedAt: '2026-01-01T00:00:00.000Z',
    startedAt: '2026-01-01T00:00:01.000Z',
    finishedAt: null,
    updatedAt: '2026-01-01T00:00:01.000Z',
    failureReason: null,
    exitCode: null,
    allowFailure: false,
    retried: false,
    retryCount: 0,
    coverage: null,
    cancelingSince: null,
    finalUpdateSince: null,
    finalUpdateAttempts: 0,
    traceChecksumMismatch: false,
    artifacts: [],
    timeoutSeconds: 5400,
  } satisfies Job;
  const runner = {
    id: 3,
    token: 'glrt-x',
    tokenExpiresAt: null,
    type: 'project_type',
    projectIds: [7],
    description: 'k8s',
    tags: ['k8s'],
    runUntagged: true,
    locked: false,
    paused: false,
    accessLevel: 'not_protected',
    maximumTimeout: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    contactedAt: null,
    queueValue: 'q',
    managers: {},
  } satisfies Runner;
  return {
    server: { baseUrl: 'http://127.0.0.1:8080', version: '18.11.0', revision: 'sim' },
    project,
    namespacePath: 'acme',
    rootNamespacePath: 'acme',
    pipeline,
    job,
    runner,
    user: { id: 1, username: 'root', name: 'Administrator', email: 'admin@example.com' },
    dependencies: [
      { id: 97, name: 'compile', archive: { filename: 'artifacts.zip', size: 1234 } },
      { id: 98, name: 'lint', archive: null },
    ],
    projectVariables: [
      { key: 'DEPLOY_TOKEN', value: 's3cr3t-Deploy_Token', public: false, masked: true },
      { key: 'KUBECONFIG_FILE', value: 'apiVersion: v1\n', public: false, masked: false, file: true },
    ],
    pipelineVariables: [{ key: 'GREETING', value: 'from the API', public: false, masked: false }],
    timeInQueueSeconds: 1,
    queueSize: 1,
    queueDepth: 0,
    namespaceId: 2,
    rootNamespaceId: 2,
    instanceUuid: '7e8f9a0b-c1d2-4e3f-a4b5-c6d7e8f90a1b',
    runningOnInstanceRunners: 0,
    ...overrides,
  };
}

describe('job payload builder', () => {
  it('builds a payload the runner-side schema accepts, shaped like job-full.json', () => {
    const payload = buildJobPayload(context());
    const parsed = parseJobPayload(payload);
    if (!parsed.ok) throw new Error(parsed.error);
    expect(payload.git_info).toEqual({
      repo_url: 'http://gitlab-ci-token:glcbt-TESTTOKEN1234567890@127.0.0.1:8080/acme/web-app.git',
      ref: 'main',
      sha: 'a'.repeat(40),
      before_sha: '0'.repeat(40),
      ref_type: 'branch',
      refspecs: ['+refs/pipelines/41:refs/pipelines/41', '+refs/heads/main:refs/remotes/origin/main'],
      depth: 20,
      repo_object_format: 'sha1',
      protected: true,
    });
    expect(payload.steps).toEqual([
      {
        name: 'script',
        script: ['npm ci', 'npm test'],
        timeout: 5400,
        when: 'on_success',
        allow_failure: false,
      },
      { name: 'after_script', script: ['echo done'], timeout: 5400, when: 'always', allow_failure: true },
    ]);
    expect(payload.image).toEqual({
      name: 'node:22',
      entrypoint: null,
      ports: [],
      executor_opts: { kubernetes: { user: '1001:1001' } },
      pull_policy: null,
    });
    expect(payload.services?.[0]).toEqual({
      name: 'docker:27-dind',
      entrypoint: null,
      ports: [],
      executor_opts: {},
      pull_policy: null,
      alias: 'docker',
      command: ['--tls=false'],
      variables: [{ key: 'DOCKER_TLS_CERTDIR', value: '' }],
    });
    expect(payload.artifacts).toEqual([
      {
        name: null,
        paths: ['dist/'],
        exclude: ['dist/**/*.map'],
        when: null,
        expire_in: '1 week',
        artifact_type: 'archive',
        artifact_format: 'zip',
      },
      {
        name: 'junit.xml',
        paths: ['reports/junit.xml'],
        when: 'always',
        expire_in: '1 week',
        artifact_type: 'junit',
        artifact_format: 'gzip',
      },
    ]);
    expect(payload.cache).toEqual([
      {
        key: 'npm-deps-protected',
        untracked: false,
        paths: ['.npm/'],
        policy: 'pull',
        when: 'on_success',
        fallback_keys: ['npm-deps-main-protected'],
      },
    ]);
    expect(payload.dependencies).toEqual([
      {
        id: 97,
        name: 'compile',
        token: 'glcbt-TESTTOKEN1234567890',
        artifacts_file: { filename: 'artifacts.zip', size: 1234 },
      },
      { id: 98, name: 'lint', token: 'glcbt-TESTTOKEN1234567890' },
    ]);
    expect(payload.features).toEqual({ trace_sections: true, failure_reasons: [...FAILURE_REASONS] });
    expect(payload.job_info).toMatchObject({
      id: 99,
      name: 'build',
      stage: 'build',
      pipeline_id: 41,
      project_full_path: 'acme/web-app',
    });
    expect((payload.job_info as Record<string, unknown>).project_jobs_running_on_instance_runners_count).toBe(
      '+Inf',
    );
  });

  it('carries the predefined variables, masks the job token, and expands references except raw ones', () => {
    const vars = buildJobPayload(context()).variables ?? [];
    const get = (key: string) => vars.filter((v) => v.key === key).at(-1);
    expect(get('CI_JOB_TOKEN')).toEqual({
      key: 'CI_JOB_TOKEN',
      value: 'glcbt-TESTTOKEN1234567890',
      public: false,
      masked: true,
    });
    expect(get('CI_JOB_ID')?.value).toBe('99');
    expect(get('CI_PIPELINE_ID')?.value).toBe('41');
    expect(get('CI_PROJECT_PATH')?.value).toBe('acme/web-app');
    expect(get('CI_SERVER_URL')?.value).toBe('http://127.0.0.1:8080');
    expect(get('CI_API_V4_URL')?.value).toBe('http://127.0.0.1:8080/api/v4');
    expect(get('CI_REPOSITORY_URL')?.value).toBe(
      'http://gitlab-ci-token:glcbt-TESTTOKEN1234567890@127.0.0.1:8080/acme/web-app.git',
    );
    expect(get('CI_COMMIT_BRANCH')?.value).toBe('main');
    expect(get('CI_COMMIT_REF_PROTECTED')?.value).toBe('true');
    expect(get('CI_COMMIT_DESCRIPTION')?.value).toBe('with a body');
    expect(get('GITLAB_CI')?.value).toBe('true');
    expect(get('CI')?.value).toBe('true');
    expect(vars.some((v) => v.key === 'CI_PROJECT_DIR')).toBe(false);
    // YAML value expanded; the pipeline variable defined later wins for the runner.
    expect(vars.find((v) => v.key === 'GREETING')?.value).toBe('hello web-app');
    expect(get('GREETING')?.value).toBe('from the API');
    expect(get('RAW')).toEqual({
      key: 'RAW',
      value: '$HOME/literal',
      public: true,
      masked: false,
      raw: true,
    });
    expect(get('DEPLOY_TOKEN')?.masked).toBe(true);
    expect(get('KUBECONFIG_FILE')?.file).toBe(true);
    expect(get('CI_RUNNER_TAGS')?.value).toBe('["k8s"]');
  });

  it('uses GIT_DEPTH and clones every branch and tag at depth 0', () => {
    const ctx = context({
      pipelineVariables: [{ key: 'GIT_DEPTH', value: '0', public: false, masked: false }],
    });
    const payload = buildJobPayload(ctx);
    expect(payload.git_info.depth).toBe(0);
    expect(payload.git_info.refspecs).toEqual([
      '+refs/pipelines/41:refs/pipelines/41',
      '+refs/heads/*:refs/remotes/origin/*',
      '+refs/tags/*:refs/tags/*',
    ]);
    expect(refspecs({ ...ctx.pipeline, tag: true, ref: 'v1' }, 5)[1]).toBe('+refs/tags/v1:refs/tags/v1');
  });

  it('suffixes caches -non_protected on unprotected refs and leaves them alone with unprotect', () => {
    const ctx = context();
    const payload = buildJobPayload({ ...ctx, pipeline: { ...ctx.pipeline, protectedRef: false } });
    expect(payload.cache?.[0]?.key).toBe('npm-deps-non_protected');
    const spec = {
      ...ctx.job.spec,
      cache: [{ ...(ctx.job.spec.cache[0] as Job['spec']['cache'][number]), unprotect: true }],
    };
    expect(buildJobPayload({ ...ctx, job: { ...ctx.job, spec } }).cache?.[0]?.key).toBe('npm-deps');
  });

  it('expands nested references and leaves unknown and cyclic ones', () => {
    const out = expandVariables([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a CI variable reference, not a template
      { key: 'A', value: '${B}-x', public: true, masked: false },
      { key: 'B', value: '$C', public: true, masked: false },
      { key: 'C', value: 'c', public: true, masked: false },
      { key: 'D', value: '$UNKNOWN and $E', public: true, masked: false },
      { key: 'E', value: '$D', public: true, masked: false },
    ]);
    expect(out.map((v) => v.value)).toEqual(['c-x', 'c', 'c', '$UNKNOWN and $D', '$UNKNOWN and $E']);
  });
});
