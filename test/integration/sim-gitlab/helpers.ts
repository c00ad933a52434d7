// Shared set-up for the embedded GitLab's integration tests: a started stand-in, a project with a
// pipeline file, and a runner's HTTP calls (undici's fetch).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type SimGitlab,
  type StartSimGitlabOptions,
  startSimGitlab,
} from '../../../src/sim/gitlab/server.ts';

export const K8S_FEATURES: Record<string, boolean> = {
  variables: true,
  image: true,
  services: true,
  artifacts: true,
  cache: true,
  fallback_cache_keys: true,
  shared: false,
  upload_multiple_artifacts: true,
  upload_raw_artifacts: true,
  session: true,
  terminal: true,
  refspecs: true,
  masking: true,
  proxy: true,
  raw_variables: true,
  artifacts_exclude: true,
  multi_build_steps: true,
  trace_reset: true,
  trace_checksum: true,
  trace_size: true,
  vault_secrets: true,
  cancelable: true,
  return_exit_code: true,
  service_variables: true,
  service_multiple_aliases: true,
  image_executor_opts: true,
  service_executor_opts: false,
  cancel_gracefully: true,
  native_steps_integration: false,
  two_phase_job_commit: true,
  job_inputs: true,
};

export async function withSim(options: StartSimGitlabOptions = {}): Promise<SimGitlab> {
  return await startSimGitlab({ longPollSeconds: 0, ...options });
}

export async function tempDir(
  prefix = 'sim-gitlab-test-',
): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export async function projectWithPipelineFile(
  sim: SimGitlab,
  yaml: string,
  extra: Record<string, string> = {},
) {
  const project = await sim.createProject({
    name: `p${Math.random().toString(36).slice(2, 8)}`,
    namespace: 'acme',
  });
  await sim.commitFiles(project.id, { '.gitlab-ci.yml': yaml, ...extra });
  return project;
}

export interface RunnerClient {
  token: string;
  request(body?: Record<string, unknown>): Promise<Response>;
  update(jobId: number, jobToken: string, body: Record<string, unknown>): Promise<Response>;
  patch(jobId: number, jobToken: string, start: number, data: string | Buffer): Promise<Response>;
}

export function runnerClient(
  sim: SimGitlab,
  token: string,
  features = K8S_FEATURES,
  systemId = 's_0123456789ab',
): RunnerClient {
  const json = (method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${sim.url}/api/v4${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  return {
    token,
    request: (body = {}) =>
      json('POST', '/jobs/request', {
        token,
        system_id: systemId,
        info: {
          name: 'gitlab-runner',
          version: '18.11.4',
          executor: 'kubernetes',
          features,
          config: { gpus: '' },
        },
        ...body,
      }),
    update: (jobId, jobToken, body) =>
      json('PUT', `/jobs/${jobId}`, { token: jobToken, ...body }, { 'JOB-TOKEN': jobToken }),
    patch: (jobId, jobToken, start, data) => {
      const bytes = Buffer.from(data);
      return fetch(`${sim.url}/api/v4/jobs/${jobId}/trace?debug_trace=false`, {
        method: 'PATCH',
        headers: {
          'JOB-TOKEN': jobToken,
          'Content-Type': 'text/plain',
          'Content-Range': `${start}-${start + bytes.length - 1}`,
        },
        body: bytes,
      });
    },
  };
}

export function api(sim: SimGitlab, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${sim.url}/api/v4${path}`, {
    method,
    headers: {
      'PRIVATE-TOKEN': sim.adminToken,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}
