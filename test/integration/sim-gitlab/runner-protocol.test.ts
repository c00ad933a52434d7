// Every fixture of test/fixtures/gitlab against the embedded GitLab: requests shaped like them are
// accepted, and answers have the fixtures' status codes, headers and fields.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimGitlab } from '../../../src/sim/gitlab/server.ts';
import { api, K8S_FEATURES, projectWithPipelineFile, runnerClient, withSim } from './helpers.ts';

type Json = Record<string, unknown>;
const fixture = (name: string): Json =>
  JSON.parse(readFileSync(new URL(`../../fixtures/gitlab/${name}`, import.meta.url), 'utf8')) as Json;

interface Case {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
  body_fixture?: string;
}
const responses = fixture('http-responses.json') as Record<string, Record<string, Case>>;
const answer = (endpoint: string, name: string): Case => {
  const c = responses[endpoint]?.[name];
  if (!c) throw new Error(`no fixture answer ${endpoint} ${name}`);
  return c;
};

/** Every key path of a JSON value (`a.b`, `list[].c`), array elements merged. */
function keyPaths(value: unknown, prefix = ''): Set<string> {
  const out = new Set<string>();
  if (Array.isArray(value)) {
    for (const item of value) for (const p of keyPaths(item, `${prefix}[]`)) out.add(p);
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      const path = prefix ? `${prefix}.${k}` : k;
      out.add(path);
      for (const p of keyPaths(v, path)) out.add(p);
    }
  }
  return out;
}

/**
 * Checks an answer against a fixture case: status, every header the fixture lists (`dynamic` ones
 * only for presence and shape), and the body (exact, or the same fields for `body_fixture`).
 */
async function expectAnswer(
  res: Response,
  expected: Case,
  dynamic: Record<string, RegExp> = {},
): Promise<string> {
  const text = await res.text();
  expect(res.status, text).toBe(expected.status);
  for (const [name, value] of Object.entries(expected.headers)) {
    const actual = res.headers.get(name);
    if (dynamic[name]) expect(actual, name).toMatch(dynamic[name]);
    else if (name === 'Content-Type') expect(actual?.split(';')[0], name).toBe(value);
    else expect(actual, name).toBe(value);
  }
  if (expected.body_fixture) {
    const want = keyPaths(fixture(expected.body_fixture));
    expect([...keyPaths(JSON.parse(text))].sort()).toEqual([...want].sort());
  } else if (expected.body === null) {
    if (expected.status < 300) expect(text).toBe('');
  } else if (typeof expected.body === 'string') {
    expect(text).toBe(expected.body);
  } else if (expected.body !== undefined) {
    expect(JSON.parse(text)).toEqual(expected.body);
  }
  return text;
}

const post = (sim: SimGitlab, path: string, body: unknown, method = 'POST') =>
  fetch(`${sim.url}/api/v4${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

const TWO_JOBS = `
stages: [build, test]
build: { stage: build, script: [make] }
test: { stage: test, script: [make test] }
`;

let sim: SimGitlab;
afterEach(async () => {
  await sim?.close();
});

describe('registration, verification and unregistration', () => {
  beforeEach(async () => {
    sim = await withSim({ allowRegistrationToken: true });
  });

  it('registers with a registration token, and refuses bad or disallowed ones like GitLab 17+', async () => {
    const register = { ...fixture('register-request.json'), token: sim.registrationToken };
    const created = await expectAnswer(
      await post(sim, '/runners', register),
      answer('POST /api/v4/runners', 'created'),
    );
    expect((JSON.parse(created) as Json).token).toMatch(/^glrtr-/);
    await expectAnswer(
      await post(sim, '/runners', { ...register, token: undefined }),
      answer('POST /api/v4/runners', 'missing_token'),
    );
    await expectAnswer(
      await post(sim, '/runners', { ...register, token: 'GR1348941nope' }),
      answer('POST /api/v4/runners', 'invalid_registration_token'),
    );
    sim.configure({ allowRegistrationToken: false });
    await expectAnswer(
      await post(sim, '/runners', register),
      answer('POST /api/v4/runners', 'registration_tokens_disallowed'),
    );
  });

  it('verifies, deletes managers and runners, and resets tokens', async () => {
    const runner = sim.createRunner();
    const verify = { ...fixture('verify-request.json'), token: runner.token };
    await expectAnswer(
      await post(sim, '/runners/verify', verify),
      answer('POST /api/v4/runners/verify', 'valid'),
    );
    await expectAnswer(
      await post(sim, '/runners/verify', { ...verify, token: 'glrt-unknown' }),
      answer('POST /api/v4/runners/verify', 'invalid_or_expired'),
    );
    await expectAnswer(
      await post(sim, '/runners/managers', { token: runner.token, system_id: 's_000000000000' }, 'DELETE'),
      answer('DELETE /api/v4/runners/managers', 'unknown_manager'),
    );
    await expectAnswer(
      await post(sim, '/runners/managers', { token: runner.token, system_id: 's_4f1c2d9e8a7b' }, 'DELETE'),
      answer('DELETE /api/v4/runners/managers', 'deleted'),
    );
    await expectAnswer(
      await post(sim, '/runners/managers', { token: 'glrt-unknown', system_id: 's_1' }, 'DELETE'),
      answer('DELETE /api/v4/runners/managers', 'forbidden'),
    );
    const reset = await expectAnswer(
      await post(sim, '/runners/reset_authentication_token', { token: runner.token }),
      { ...answer('POST /api/v4/runners/reset_authentication_token', 'reset'), body: undefined },
    );
    const newToken = (JSON.parse(reset) as Json).token as string;
    expect(Object.keys(JSON.parse(reset) as Json)).toEqual(['token', 'token_expires_at']);
    expect((await post(sim, '/runners/verify', { token: runner.token })).status).toBe(403);
    await expectAnswer(
      await post(sim, '/runners', { token: 'glrt-unknown' }, 'DELETE'),
      answer('DELETE /api/v4/runners', 'forbidden'),
    );
    await expectAnswer(
      await post(sim, '/runners', { token: newToken }, 'DELETE'),
      answer('DELETE /api/v4/runners', 'deleted'),
    );
    expect((await post(sim, '/runners/verify', { token: newToken })).status).toBe(403);
  });
});

describe('POST /jobs/request', () => {
  beforeEach(async () => {
    sim = await withSim();
  });

  const request = (token: string, extra: Json = {}) =>
    post(sim, '/jobs/request', { ...fixture('job-request.json'), token, last_update: undefined, ...extra });

  it('answers 204 with X-GitLab-Last-Update, the same value when nothing changed, and 201 without it', async () => {
    const runner = sim.createRunner();
    const first = await request(runner.token);
    await expectAnswer(first, answer('POST /api/v4/jobs/request', 'no_job'), {
      'X-GitLab-Last-Update': /^[0-9a-f]{32}$/,
    });
    const value = first.headers.get('X-GitLab-Last-Update') as string;
    const again = await request(runner.token, { last_update: value });
    await expectAnswer(again, answer('POST /api/v4/jobs/request', 'no_change_since_last_update'), {
      'X-GitLab-Last-Update': /^[0-9a-f]{32}$/,
    });
    expect(again.headers.get('X-GitLab-Last-Update')).toBe(value);

    const project = await projectWithPipelineFile(sim, TWO_JOBS);
    await sim.createPipeline(project.id);
    const job = await request(runner.token, { last_update: value });
    await expectAnswer(job, { status: 201, headers: { 'Content-Type': 'application/json' } });
    expect(job.headers.get('X-GitLab-Last-Update')).toBeNull();
    // The 201 carried no new value: polling with the old one searches again and finds nothing more.
    const after = await request(runner.token, { last_update: value });
    expect(after.status).toBe(204);
    expect(after.headers.get('X-GitLab-Last-Update')).not.toBe(value);
  });

  it('rejects a missing or unknown token, and answers a paused runner with 204', async () => {
    await expectAnswer(
      await request(undefined as unknown as string),
      answer('POST /api/v4/jobs/request', 'missing_token'),
    );
    await expectAnswer(await request('glrt-unknown'), answer('POST /api/v4/jobs/request', 'invalid_token'));
    const runner = sim.createRunner({ paused: true });
    const project = await projectWithPipelineFile(sim, TWO_JOBS);
    await sim.createPipeline(project.id);
    await expectAnswer(await request(runner.token), answer('POST /api/v4/jobs/request', 'runner_paused'), {
      'X-GitLab-Last-Update': /^[0-9a-f]{32}$/,
    });
  });

  it('backs off every runner endpoint while migrations run', async () => {
    const runner = sim.createRunner();
    sim.configure({ migrationsRunning: true });
    await expectAnswer(
      await request(runner.token),
      answer('POST /api/v4/jobs/request', 'migrations_backoff'),
    );
    expect((await post(sim, '/runners/verify', { token: runner.token })).status).toBe(429);
    sim.configure({ migrationsRunning: false });
    expect((await request(runner.token)).status).toBe(204);
  });

  it('long-polls like Workhorse: 204 without X-GitLab-Last-Update on timeout, early when a job is queued', async () => {
    sim.configure({ longPollSeconds: 0.2 });
    const runner = sim.createRunner();
    const value = (await request(runner.token)).headers.get('X-GitLab-Last-Update') as string;
    await expectAnswer(
      await request(runner.token, { last_update: value }),
      answer('POST /api/v4/jobs/request', 'workhorse_long_poll_timeout'),
    );
    sim.configure({ longPollSeconds: 30 });
    const held = request(runner.token, { last_update: value });
    const project = await projectWithPipelineFile(sim, TWO_JOBS);
    await sim.createPipeline(project.id);
    const woken = await held;
    expect(woken.status).toBe(204);
    expect(woken.headers.get('Gitlab-Ci-Builds-Polling')).toBe('yes');
    expect(woken.headers.get('X-GitLab-Last-Update')).toBeNull();
    expect((await request(runner.token, { last_update: value })).status).toBe(201);
  });

  it('serves a payload with every field of job-full.json', async () => {
    const runner = sim.createRunner();
    const client = runnerClient(sim, runner.token);
    const project = await projectWithPipelineFile(
      sim,
      `
stages: [build, test]
variables: { DOCKER_HOST: "tcp://docker:2375", LITERAL_PATTERN: { value: "$HOME/not-expanded", expand: false } }
lint: { stage: build, script: [lint] }
build:
  stage: build
  script: [make]
  artifacts: { paths: [dist/] }
integration-test:
  stage: test
  image: { name: "node:22", kubernetes: { user: "1001:1001" }, pull_policy: if-not-present }
  services:
    - { name: "docker:27-dind", alias: docker, command: ["--tls=false"], variables: { DOCKER_TLS_CERTDIR: "" } }
    - { name: "postgres:16-alpine", alias: "db,postgres", pull_policy: [if-not-present], variables: { POSTGRES_DB: app_test } }
  script: [npm ci, npm run test:integration]
  after_script: ["docker logs db || true"]
  timeout: 90m
  artifacts:
    name: web-app-test-output
    paths: [dist/, coverage/]
    exclude: ["dist/**/*.map"]
    when: always
    expire_in: 1 week
    untracked: false
    reports: { junit: reports/junit.xml }
  cache: { key: npm-deps, paths: [.npm/], policy: pull, fallback_keys: [npm-deps-main] }
  hooks: { pre_get_sources_script: ["git config --global http.postBuffer 524288000"] }
`,
    );
    sim.setVariable(project.id, { key: 'DEPLOY_API_TOKEN', value: 's3cr3t-Deploy_Token.9Xq', masked: true });
    sim.setVariable(project.id, { key: 'KUBE_CA_PEM', value: '-----BEGIN CERTIFICATE-----\n', file: true });
    await sim.createPipeline(project.id);
    // Run both first-stage jobs; only build leaves an archive.
    for (let i = 0; i < 2; i++) {
      const job = (await (await client.request()).json()) as {
        id: number;
        token: string;
        job_info: { name: string };
      };
      await client.update(job.id, job.token, { state: 'running' });
      if (job.job_info.name === 'build') {
        const form = new FormData();
        form.append('file', new Blob([Buffer.from('PK\x05\x06'.padEnd(22, '\0'))]), 'artifacts.zip');
        const up = await fetch(
          `${sim.url}/api/v4/jobs/${job.id}/artifacts?artifact_format=zip&artifact_type=archive`,
          {
            method: 'POST',
            headers: { 'JOB-TOKEN': job.token },
            body: form,
          },
        );
        expect(up.status).toBe(201);
      }
      expect((await client.update(job.id, job.token, { state: 'success' })).status).toBe(200);
    }
    const res = await client.request();
    const text = await expectAnswer(res, { status: 201, headers: { 'Content-Type': 'application/json' } });
    const payload = JSON.parse(text) as Json;
    const ours = keyPaths(payload);
    // Registry credentials need a container registry, which the stand-in does not have.
    const expected = [...keyPaths(fixture('job-full.json'))].filter((p) => !/^credentials\[\]/.test(p));
    expect(expected.filter((p) => !ours.has(p))).toEqual([]);
    expect([...ours].filter((p) => !expected.includes(p))).toEqual([]);
    expect(payload.hooks).toEqual(fixture('job-full.json').hooks);
    expect(payload.dependencies).toEqual([
      { id: expect.any(Number), name: 'lint', token: payload.token },
      {
        id: expect.any(Number),
        name: 'build',
        token: payload.token,
        artifacts_file: { filename: 'artifacts.zip', size: 22 },
      },
    ]);
    expect((payload.cache as Json[])[0]).toMatchObject({
      key: 'npm-deps-protected',
      fallback_keys: ['npm-deps-main-protected'],
    });
    expect((payload.runner_info as Json).timeout).toBe(5400);
  });

  it('gives a job to one of two racing requests and 409 to the other when nothing else is queued', async () => {
    const project = await projectWithPipelineFile(sim, 'only: { script: [x] }\n');
    await sim.createPipeline(project.id);
    const a = sim.store.runners.get(sim.createRunner().id);
    const b = sim.store.runners.get(sim.createRunner().id);
    if (!a || !b) throw new Error('runners');
    const results = await Promise.all([
      sim.store.requestJob(a, { systemId: 's_a', features: K8S_FEATURES }),
      sim.store.requestJob(b, { systemId: 's_b', features: K8S_FEATURES }),
    ]);
    expect(results.map((r) => r.kind).sort()).toEqual(['conflict', 'job']);
  });
});

describe('PUT /jobs/:id and PATCH /jobs/:id/trace', () => {
  let client: ReturnType<typeof runnerClient>;
  let job: { id: number; token: string };

  beforeEach(async () => {
    sim = await withSim({ cancelGraceSeconds: 0.2 });
    client = runnerClient(sim, sim.createRunner().token);
    const project = await projectWithPipelineFile(sim, TWO_JOBS);
    await sim.createPipeline(project.id);
    job = (await (await client.request()).json()) as { id: number; token: string };
  });

  const put = (name: string, extra: Json = {}) =>
    post(sim, `/jobs/${job.id}`, { ...fixture(name), token: job.token, ...extra }, 'PUT');

  it('accepts the two-phase accept, keep-alives and the final update, then forbids further updates', async () => {
    expect(sim.job(job.id)?.status).toBe('pending');
    await expectAnswer(await put('job-update-keepalive.json', { state: 'pending' }), {
      ...answer('PUT /api/v4/jobs/:id', 'updated'),
      headers: { 'Job-Status': 'pending' },
    });
    await expectAnswer(await put('job-update-accept.json'), answer('PUT /api/v4/jobs/:id', 'updated'));
    expect(sim.job(job.id)?.status).toBe('running');
    await expectAnswer(await put('job-update-keepalive.json'), answer('PUT /api/v4/jobs/:id', 'updated'));
    await expectAnswer(
      await put('job-update-accept.json', { state: 'pending' }),
      answer('PUT /api/v4/jobs/:id', 'two_phase_conflict'),
      {
        'Job-Status': /^running$/,
      },
    );
    await expectAnswer(
      await put('job-update-accept.json', { state: 'bogus' }),
      answer('PUT /api/v4/jobs/:id', 'bad_state'),
    );
    // The fixture's final update claims 52731 bytes the server never got: 202 until GitLab gives up.
    await expectAnswer(
      await put('job-update-success.json'),
      answer('PUT /api/v4/jobs/:id', 'final_update_accepted_retry_later'),
      { 'X-GitLab-Trace-Update-Interval': /^1$/ },
    );
    sim.configure({ finalUpdateMaxWaitSeconds: 0 });
    await expectAnswer(await put('job-update-success.json'), {
      ...answer('PUT /api/v4/jobs/:id', 'updated'),
      headers: { 'Job-Status': 'success' },
    });
    expect(sim.job(job.id)?.status).toBe('success');
    await expectAnswer(
      await put('job-update-keepalive.json'),
      answer('PUT /api/v4/jobs/:id', 'job_already_finished'),
      {
        'Job-Status': /^success$/,
      },
    );
    await expectAnswer(
      await post(sim, '/jobs/999999', { ...fixture('job-update-keepalive.json'), token: job.token }, 'PUT'),
      answer('PUT /api/v4/jobs/:id', 'unknown_job_or_bad_token'),
    );
    expect((await post(sim, `/jobs/${job.id}`, { state: 'running' }, 'PUT')).status).toBe(400);
  });

  it('records failure_reason and exit_code of a failed job', async () => {
    await put('job-update-accept.json');
    sim.configure({ acceptFinalUpdates: false });
    await expectAnswer(await put('job-update-failed.json'), {
      ...answer('PUT /api/v4/jobs/:id', 'updated'),
      headers: { 'Job-Status': 'failed' },
    });
    expect(sim.job(job.id)).toMatchObject({ status: 'failed', failureReason: 'script_failure', exitCode: 1 });
    const viaApi = (await (
      await api(sim, 'GET', `/projects/${sim.job(job.id)?.projectId}/jobs/${job.id}`)
    ).json()) as Json;
    expect(viaApi.failure_reason).toBe('script_failure');
    expect(sim.pipeline(sim.job(job.id)?.pipelineId ?? 0)?.status).toBe('failed');
  });

  it('stores the trace in Content-Range order, answers 416 with the server length, and checks the checksum', async () => {
    await put('job-update-accept.json');
    const examples = fixture('trace-examples.json');
    const log = Buffer.from(examples.plain_log as string);
    const patches = examples.plain_log_patches as Array<{ content_range: string; server_response: Json }>;
    let offset = 0;
    for (const [i, patch] of patches.entries()) {
      const [start, end] = patch.content_range.split('-').map(Number) as [number, number];
      const chunk = log.subarray(start, end + 1);
      const res = await client.patch(job.id, job.token, offset, chunk);
      const expected = i === 0 ? answer('PATCH /api/v4/jobs/:id/trace', 'appended') : undefined;
      await expectAnswer(res, {
        status: 202,
        headers: {
          'Job-Status': patch.server_response['Job-Status'] as string,
          Range: patch.server_response.Range as string,
          'X-GitLab-Trace-Update-Interval': patch.server_response['X-GitLab-Trace-Update-Interval'] as string,
        },
        body: expected?.body ?? null,
      });
      offset += chunk.length;
      if (i === 0) {
        const mismatch = examples.range_mismatch_example as { runner_sends_content_range: string };
        const [badStart] = mismatch.runner_sends_content_range.split('-').map(Number) as [number];
        await expectAnswer(
          await client.patch(job.id, job.token, badStart, log.subarray(offset)),
          answer('PATCH /api/v4/jobs/:id/trace', 'range_mismatch'),
        );
      }
    }
    const missing = await fetch(`${sim.url}/api/v4/jobs/${job.id}/trace`, {
      method: 'PATCH',
      headers: { 'JOB-TOKEN': job.token },
      body: 'x',
    });
    await expectAnswer(missing, answer('PATCH /api/v4/jobs/:id/trace', 'missing_content_range'));
    const final = await put('job-update-success.json', {
      checksum: examples.plain_log_checksum,
      output: { checksum: examples.plain_log_checksum, bytesize: examples.plain_log_bytesize },
    });
    expect(final.status).toBe(200);
    expect(sim.trace(job.id)).toBe(examples.plain_log);
    expect(sim.store.jobs.get(job.id)?.traceChecksumMismatch).toBe(false);
  });

  it('answers 3 s while someone reads the job log, and hides the job token in the stored trace', async () => {
    await put('job-update-accept.json');
    const projectId = sim.job(job.id)?.projectId;
    await (await api(sim, 'GET', `/projects/${projectId}/jobs/${job.id}/trace`)).text();
    const res = await client.patch(job.id, job.token, 0, `token=${job.token}\n`);
    await expectAnswer(res, answer('PATCH /api/v4/jobs/:id/trace', 'appended_while_watched'), {
      Range: /^0-\d+$/,
    });
    expect(sim.trace(job.id)).toBe(`token=${'x'.repeat(job.token.length)}\n`);
  });

  it('says canceling on PATCH and PUT while a job cancels gracefully, then 403 canceled', async () => {
    await put('job-update-accept.json');
    expect(sim.cancelJob(job.id)).toBe(true);
    await expectAnswer(
      await client.patch(job.id, job.token, 0, 'still running\n'),
      answer('PATCH /api/v4/jobs/:id/trace', 'cancel_requested'),
      {
        Range: /^0-14$/,
      },
    );
    await expectAnswer(
      await put('job-update-keepalive.json'),
      answer('PUT /api/v4/jobs/:id', 'cancel_requested'),
    );
    await sim.waitForJob(job.id, (j) => j.status === 'canceled', { timeoutMs: 5000 });
    await expectAnswer(
      await client.patch(job.id, job.token, 14, 'more\n'),
      answer('PATCH /api/v4/jobs/:id/trace', 'job_canceled'),
    );
    await expectAnswer(
      await put('job-update-keepalive.json'),
      answer('PUT /api/v4/jobs/:id', 'job_canceled'),
    );
  });

  it('turns a canceling job canceled on its final update, and cancels at once without cancel_gracefully', async () => {
    await put('job-update-accept.json');
    sim.cancelJob(job.id);
    sim.configure({ acceptFinalUpdates: false });
    const res = await put('job-update-failed.json', { failure_reason: 'unknown_failure' });
    expect(res.status).toBe(200);
    expect(res.headers.get('Job-Status')).toBe('canceled');
    expect(sim.job(job.id)?.status).toBe('canceled');

    const plain = runnerClient(sim, sim.createRunner().token, {
      ...K8S_FEATURES,
      cancel_gracefully: false,
      two_phase_job_commit: false,
    });
    const project = await projectWithPipelineFile(sim, 'solo: { script: [x] }\n');
    await sim.createPipeline(project.id);
    const other = (await (await plain.request()).json()) as { id: number; token: string };
    expect(sim.job(other.id)?.status).toBe('running');
    sim.cancelJob(other.id);
    expect(sim.job(other.id)?.status).toBe('canceled');
    expect((await plain.patch(other.id, other.token, 0, 'x')).headers.get('Job-Status')).toBe('canceled');
  });

  it('drops a job whose log exceeds the limit', async () => {
    await put('job-update-accept.json');
    sim.configure({ traceMaxBytes: 10 });
    await expectAnswer(
      await client.patch(job.id, job.token, 0, 'x'.repeat(11)),
      answer('PATCH /api/v4/jobs/:id/trace', 'log_too_large'),
    );
    expect(sim.job(job.id)).toMatchObject({ status: 'failed', failureReason: 'trace_size_exceeded' });
  });
});

describe('artifacts', () => {
  let client: ReturnType<typeof runnerClient>;

  beforeEach(async () => {
    sim = await withSim({ artifactMaxBytes: 1024 });
    client = runnerClient(sim, sim.createRunner().token);
  });

  async function running(yaml = TWO_JOBS) {
    const project = await projectWithPipelineFile(sim, yaml);
    await sim.createPipeline(project.id);
    const job = (await (await client.request()).json()) as { id: number; token: string };
    await client.update(job.id, job.token, { state: 'running' });
    return job;
  }

  const upload = (
    job: { id: number; token: string },
    data: Buffer,
    query = 'artifact_format=zip&artifact_type=archive',
  ) => {
    const form = new FormData();
    form.append('file', new Blob([data]), 'artifacts.zip');
    return fetch(`${sim.url}/api/v4/jobs/${job.id}/artifacts?${query}&expire_in=1+week`, {
      method: 'POST',
      headers: { 'JOB-TOKEN': job.token },
      body: form,
    });
  };

  it('stores an upload and serves it to a dependent job with its token', async () => {
    const build = await running();
    const zip = Buffer.from('zip bytes standing in for an archive');
    await expectAnswer(await upload(build, zip), answer('POST /api/v4/jobs/:id/artifacts', 'stored'));
    await client.update(build.id, build.token, { state: 'success' });
    const test = (await (await client.request()).json()) as {
      id: number;
      token: string;
      dependencies: Json[];
    };
    await client.update(test.id, test.token, { state: 'running' });
    expect(test.dependencies).toEqual([
      {
        id: build.id,
        name: 'build',
        token: test.token,
        artifacts_file: { filename: 'artifacts.zip', size: zip.length },
      },
    ]);
    const res = await fetch(`${sim.url}/api/v4/jobs/${build.id}/artifacts?direct_download=true`, {
      headers: { 'JOB-TOKEN': test.token },
    });
    expect(Buffer.from(await res.clone().arrayBuffer())).toEqual(zip);
    await expectAnswer(res, { ...answer('GET /api/v4/jobs/:id/artifacts', 'proxied'), body: undefined });
    await expectAnswer(
      await fetch(`${sim.url}/api/v4/jobs/${build.id}/artifacts`, { headers: { 'JOB-TOKEN': 'glcbt-bad' } }),
      answer('GET /api/v4/jobs/:id/artifacts', 'bad_or_missing_token'),
    );
    await expectAnswer(
      await fetch(`${sim.url}/api/v4/jobs/999999/artifacts`, { headers: { 'JOB-TOKEN': test.token } }),
      answer('GET /api/v4/jobs/:id/artifacts', 'unknown_job_or_foreign_project'),
    );
    await expectAnswer(
      await fetch(`${sim.url}/api/v4/jobs/${test.id}/artifacts`, { headers: { 'JOB-TOKEN': test.token } }),
      answer('GET /api/v4/jobs/:id/artifacts', 'no_artifacts'),
    );
    const viaApi = await api(
      sim,
      'GET',
      `/projects/${sim.job(build.id)?.projectId}/jobs/${build.id}/artifacts`,
    );
    expect(Buffer.from(await viaApi.arrayBuffer())).toEqual(zip);
  });

  it('redirects direct downloads to pre-signed object-storage URLs when artifacts live in object storage', async () => {
    const build = await running();
    const zip = Buffer.from('zip bytes in object storage');
    expect((await upload(build, zip)).status).toBe(201);
    await client.update(build.id, build.token, { state: 'success' });
    const test = (await (await client.request()).json()) as { id: number; token: string };
    await client.update(test.id, test.token, { state: 'running' });
    const download = (query: string) =>
      fetch(`${sim.url}/api/v4/jobs/${build.id}/artifacts${query}`, {
        headers: { 'JOB-TOKEN': test.token },
        redirect: 'manual',
      });
    // Without object storage, or without direct_download, GitLab proxies the file itself.
    expect((await download('?direct_download=true')).status).toBe(200);
    sim.configure({ objectStorage: true });
    expect((await download('')).status).toBe(200);
    const res = await download('?direct_download=true');
    await expectAnswer(res, answer('GET /api/v4/jobs/:id/artifacts', 'direct_download'), {
      Location: /^http:\/\/127\.0\.0\.1:\d+\/artifacts\/[^?]+\?.*X-Amz-Signature=[0-9a-f]{64}/,
    });
    const location = new URL(res.headers.get('Location') ?? '');
    expect(location.origin).toBe(sim.objectStorage.url);
    expect(location.origin).not.toBe(new URL(sim.url).origin);
    const object = await fetch(location);
    expect(object.status).toBe(200);
    expect(Buffer.from(await object.arrayBuffer())).toEqual(zip);
    location.searchParams.set('X-Amz-Signature', '0'.repeat(64));
    const forged = await fetch(location);
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(sim.objectStorage.requests.map((r) => [r.method, r.status])).toEqual([
      ['GET', 200],
      ['GET', 403],
    ]);
    expect(sim.objectStorage.requests[0]?.headers).not.toContain('job-token');
  });

  it('refuses uploads that are too large, from jobs not running, of a bad format, or during storage errors', async () => {
    const job = await running();
    await expectAnswer(await upload(job, Buffer.alloc(2048)), {
      ...answer('POST /api/v4/jobs/:id/artifacts', 'too_large'),
      body: { message: '413 Request Entity Too Large' },
    });
    await expectAnswer(
      await upload(job, gzipSync('not a dotenv line\n'), 'artifact_format=gzip&artifact_type=dotenv'),
      answer('POST /api/v4/jobs/:id/artifacts', 'bad_format_for_type'),
    );
    expect(
      (await upload(job, gzipSync('KEY=value\n'), 'artifact_format=gzip&artifact_type=dotenv')).status,
    ).toBe(201);
    expect((await upload(job, Buffer.from('x'), 'artifact_format=gzip&artifact_type=archive')).status).toBe(
      400,
    );
    expect(await (await upload(job, Buffer.from('x'), 'artifact_type=nope')).json()).toEqual({
      error: 'artifact_type does not have a valid value',
    });
    sim.setFaults([{ endpoint: 'artifacts_upload', kind: '503', times: 1 }]);
    await expectAnswer(await upload(job, Buffer.from('x')), {
      ...answer('POST /api/v4/jobs/:id/artifacts', 'object_storage_error'),
      body: undefined,
    });
    expect((await upload(job, Buffer.from('x'))).status).toBe(201);
    await client.update(job.id, job.token, { state: 'success' });
    await expectAnswer(
      await upload(job, Buffer.from('x')),
      answer('POST /api/v4/jobs/:id/artifacts', 'job_not_running'),
    );
  });
});
