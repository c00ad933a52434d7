// Job payloads shaped like GitLab's 201 body (gitlab-runner-api.md §2.7), for the helper's unit tests (the
// integration tests get real ones from the embedded GitLab).
import type { JobPayloadInput } from '../../../../src/gitlab/payload.ts';

export interface JobSpec {
  id: number;
  token: string;
  serverUrl: string;
  project: string;
  sha: string;
  ref?: string;
  depth?: number;
  variables?: Record<string, string>;
  artifacts?: JobPayloadInput['artifacts'];
  cache?: JobPayloadInput['cache'];
  dependencies?: JobPayloadInput['dependencies'];
  hooks?: JobPayloadInput['hooks'];
  projectId?: number;
  pipelineId?: number;
}

export function makeJob(spec: JobSpec): JobPayloadInput {
  const ref = spec.ref ?? 'main';
  const pipeline = spec.pipelineId ?? 100;
  const repo = new URL(`${spec.serverUrl}/${spec.project}.git`);
  repo.username = 'gitlab-ci-token';
  repo.password = spec.token;
  const depth = spec.depth ?? 20;
  const variables = [
    { key: 'CI_JOB_TOKEN', value: spec.token, public: false, masked: true },
    { key: 'CI_JOB_ID', value: String(spec.id), public: true, masked: false },
    { key: 'CI_PROJECT_PATH', value: spec.project, public: true, masked: false },
    { key: 'CI_COMMIT_SHA', value: spec.sha, public: true, masked: false },
    { key: 'CI_COMMIT_REF_NAME', value: ref, public: true, masked: false },
    { key: 'CI_SERVER_URL', value: spec.serverUrl, public: true, masked: false },
    ...Object.entries(spec.variables ?? {}).map(([key, value]) => ({
      key,
      value,
      public: true,
      masked: false,
    })),
  ];
  return {
    id: spec.id,
    token: spec.token,
    allow_git_fetch: true,
    job_info: {
      id: spec.id,
      name: 'test-job',
      stage: 'test',
      project_id: spec.projectId ?? 42,
      project_name: spec.project.split('/').pop() ?? 'project',
      pipeline_id: pipeline,
    },
    git_info: {
      repo_url: repo.toString(),
      ref,
      sha: spec.sha,
      before_sha: '0000000000000000000000000000000000000000',
      ref_type: 'branch',
      refspecs:
        depth > 0
          ? [`+refs/heads/${ref}:refs/remotes/origin/${ref}`]
          : ['+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*'],
      depth,
      repo_object_format: 'sha1',
    },
    runner_info: { timeout: 3600 },
    variables,
    steps: [{ name: 'script', script: ['true'], timeout: 3600, when: 'on_success', allow_failure: false }],
    hooks: spec.hooks ?? [],
    image: null,
    services: [],
    artifacts: spec.artifacts ?? null,
    cache: spec.cache ?? [],
    credentials: [],
    dependencies: spec.dependencies ?? [],
    features: { trace_sections: true, failure_reasons: ['script_failure', 'runner_system_failure'] },
  };
}
