// The GitLab client against undici's MockAgent: one request per call, upstream's headers and bodies, and
// every answer interpreted as gitlab-runner-api.md §1–4 say.
import { readFileSync } from 'node:fs';
import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiBase, GitLabClient } from '../../../src/gitlab/client.ts';
import { runnerFeatures } from '../../../src/gitlab/features.ts';
import { retryInterceptor } from '../../../src/gitlab/retry-interceptor.ts';

const fixture = <T = Record<string, unknown>>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../../fixtures/gitlab/${name}`, import.meta.url), 'utf8')) as T;

const ORIGIN = 'https://gitlab.example.com';
const TOKEN = 'glrt-t3_9kWmQp2xZr7vLs4NbYtF';
const JOB_TOKEN = 'glcbt-Vd3hT8qPz6LmW2xRk9Jf';

interface Seen {
  path: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

let agent: MockAgent;
let client: GitLabClient;
let seen: Seen[];
const calls: { endpoint: string; status: number | string }[] = [];

function answer(
  method: string,
  path: string,
  status: number,
  body: unknown = '',
  headers: Record<string, string> = {},
) {
  agent
    .get(ORIGIN)
    .intercept({ method, path })
    .reply((opts) => {
      seen.push({
        path: opts.path,
        method: opts.method,
        headers: Object.fromEntries(
          Object.entries((opts.headers ?? {}) as Record<string, string>).map(([k, v]) => [
            k.toLowerCase(),
            v,
          ]),
        ),
        body:
          typeof opts.body === 'string'
            ? opts.body
            : opts.body
              ? Buffer.from(opts.body as Uint8Array).toString('utf8')
              : '',
      });
      return {
        statusCode: status,
        data: typeof body === 'string' ? body : JSON.stringify(body),
        responseOptions: { headers },
      };
    });
}
const json = { 'content-type': 'application/json' };

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  seen = [];
  calls.length = 0;
  client = new GitLabClient({
    url: `${ORIGIN}/ci/`,
    dispatcher: agent.compose(retryInterceptor({ maxAttempts: 1 })),
    systemId: 's_4f1c2d9e8a7b',
    runnerShortToken: '9kWmQp2xZ',
    onCall: (c) => calls.push({ endpoint: c.endpoint, status: c.status }),
  });
});
afterEach(async () => {
  await agent.close();
});

describe('base URL', () => {
  it('strips a trailing slash and /ci like upstream', () => {
    expect(apiBase('https://gitlab.example.com/ci/')).toBe('https://gitlab.example.com/api/v4/');
    expect(apiBase('https://example.com/gitlab')).toBe('https://example.com/gitlab/api/v4/');
  });
});

describe('POST /jobs/request', () => {
  it('sends the runner info, token, system_id and last_update with upstream headers', async () => {
    answer('POST', '/api/v4/jobs/request', 204, '', { 'x-gitlab-last-update': 'abc' });
    await client.requestJob({ token: TOKEN, lastUpdate: '9f2c4e1b7a0d3c5e8f6a2b4d1c9e7f3a' });
    const [req] = seen;
    expect(req?.headers).toMatchObject({
      'runner-token': TOKEN,
      accept: 'application/json',
      'content-type': 'application/json',
      'user-agent': expect.stringMatching(/^podrunner \d+\.\d+\.\d+\S* \(gitlab-runner compatible\)$/),
      'x-request-id': expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    const body = JSON.parse(req!.body);
    const expected = fixture('job-request.json');
    expect(Object.keys(body).sort()).toEqual(Object.keys(expected).sort());
    expect(body).toMatchObject({
      token: TOKEN,
      system_id: 's_4f1c2d9e8a7b',
      last_update: '9f2c4e1b7a0d3c5e8f6a2b4d1c9e7f3a',
    });
    expect(body.info).toMatchObject({
      name: 'podrunner',
      executor: 'kubernetes',
      shell: 'bash',
      config: { gpus: '' },
    });
    expect(Object.keys(body.info.features)).toEqual(
      Object.keys((expected.info as { features: object }).features),
    );
    expect(calls).toEqual([{ endpoint: 'request_job', status: 204 }]);
  });

  it('omits last_update until GitLab sent one', async () => {
    answer('POST', '/api/v4/jobs/request', 204);
    expect(await client.requestJob({ token: TOKEN })).toEqual({ kind: 'no-job' });
    expect(JSON.parse(seen[0]!.body)).not.toHaveProperty('last_update');
  });

  it.each([
    [204, '', { 'x-gitlab-last-update': 'q2' }, { kind: 'no-job', lastUpdate: 'q2' }],
    [204, '', { 'gitlab-ci-builds-polling': 'yes' }, { kind: 'no-job', longPolled: true }],
    [403, { message: '403 Forbidden' }, json, { kind: 'forbidden', message: '403 Forbidden' }],
    [409, { message: '409 Conflict' }, json, { kind: 'conflict' }],
    [503, 'down', {}, { kind: 'unavailable' }],
    [
      400,
      { error: 'token is missing' },
      json,
      { kind: 'failed', status: 400, error: 'HTTP 400: token is missing' },
    ],
    [
      429,
      { message: 'Executing database migrations. Please retry later.' },
      { ...json, 'retry-after': '60' },
      { kind: 'failed', status: 429 },
    ],
  ])('answer %i', async (status, body, headers, expected) => {
    answer('POST', '/api/v4/jobs/request', status, body, headers);
    expect(await client.requestJob({ token: TOKEN })).toMatchObject(expected);
  });

  it('a 201 gives the payload and its raw text', async () => {
    const payload = fixture('job-full.json');
    answer('POST', '/api/v4/jobs/request', 201, payload, json);
    const res = await client.requestJob({ token: TOKEN });
    expect(res.kind).toBe('job');
    if (res.kind !== 'job') return;
    expect(res.payload).toEqual(payload);
    expect(JSON.parse(res.raw)).toEqual(payload);
  });

  it('a 201 that is not application/json is a failure, not a job', async () => {
    answer('POST', '/api/v4/jobs/request', 201, '{"id":1}', { 'content-type': 'text/html' });
    expect(await client.requestJob({ token: TOKEN })).toMatchObject({
      kind: 'failed',
      status: 201,
      error: expect.stringContaining('expected application/json, got text/html'),
    });
    answer('POST', '/api/v4/jobs/request', 201, '{"id":', json);
    expect(await client.requestJob({ token: TOKEN })).toMatchObject({
      kind: 'failed',
      error: expect.stringContaining('undecodable JSON'),
    });
  });

  it('a transport error is a failure; an aborted request says so', async () => {
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: '/api/v4/jobs/request' })
      .replyWithError(new Error('boom'));
    expect(await client.requestJob({ token: TOKEN })).toMatchObject({
      kind: 'failed',
      error: expect.stringContaining('boom'),
    });
    agent.get(ORIGIN).intercept({ method: 'POST', path: '/api/v4/jobs/request' }).reply(204).delay(5000);
    const controller = new AbortController();
    const pending = client.requestJob({ token: TOKEN }, controller.signal);
    controller.abort();
    expect(await pending).toEqual({ kind: 'aborted' });
  });
});

describe('PUT /jobs/:id', () => {
  it('the accept update is the fixture: state running and an empty output', async () => {
    answer('PUT', '/api/v4/jobs/1234', 200, '200', { 'job-status': 'running' });
    expect(await client.updateJob(1234, JOB_TOKEN, { state: 'running' })).toEqual({
      kind: 'ok',
      cancelRequested: false,
      jobStatus: 'running',
    });
    const body = JSON.parse(seen[0]!.body);
    const expected = fixture('job-update-accept.json');
    expect(Object.keys(body).sort()).toEqual(Object.keys(expected).sort());
    expect(body).toMatchObject({ token: JOB_TOKEN, state: 'running', output: {} });
    expect(seen[0]!.headers['job-token']).toBe(JOB_TOKEN);
  });

  it('final updates carry checksum, size, failure reason and a non-zero exit code like the fixtures', async () => {
    answer('PUT', '/api/v4/jobs/1234', 200);
    answer('PUT', '/api/v4/jobs/1234', 200);
    await client.updateJob(1234, JOB_TOKEN, {
      state: 'success',
      exitCode: 0,
      output: { checksum: 'crc32:96d7a0cc', bytesize: 591 },
    });
    await client.updateJob(1234, JOB_TOKEN, {
      state: 'failed',
      failureReason: 'script_failure',
      exitCode: 2,
      output: { checksum: 'crc32:96d7a0cc', bytesize: 591 },
    });
    const [success, failed] = seen.map((s) => JSON.parse(s.body));
    for (const [body, name] of [
      [success, 'job-update-success.json'],
      [failed, 'job-update-failed.json'],
    ] as const) {
      const { info: _i, token: _t, ...rest } = body;
      const { info: _fi, token: _ft, ...expected } = fixture(name);
      expect(Object.keys(rest).sort()).toEqual(Object.keys(expected).sort());
    }
    expect(success).not.toHaveProperty('exit_code');
    expect(success).not.toHaveProperty('failure_reason');
    expect(failed).toMatchObject({
      state: 'failed',
      failure_reason: 'script_failure',
      exit_code: 2,
      checksum: 'crc32:96d7a0cc',
      output: { checksum: 'crc32:96d7a0cc', bytesize: 591 },
    });
  });

  it.each([
    [200, { 'job-status': 'canceling' }, { kind: 'ok', cancelRequested: true, jobStatus: 'canceling' }],
    [202, { 'x-gitlab-trace-update-interval': '4' }, { kind: 'accepted', retryAfterSeconds: 4 }],
    [403, { 'job-status': 'canceled' }, { kind: 'abort', status: 403, jobStatus: 'canceled' }],
    [200, { 'job-status': 'failed' }, { kind: 'abort', status: 200, jobStatus: 'failed' }],
    [412, {}, { kind: 'trace-reset' }],
    [404, {}, { kind: 'abort', status: 404 }],
    [409, {}, { kind: 'failed', status: 409 }],
    [500, {}, { kind: 'failed', status: 500 }],
  ])('answer %i %j', async (status, headers, expected) => {
    answer('PUT', '/api/v4/jobs/7', status, '', headers);
    expect(await client.updateJob(7, JOB_TOKEN, { state: 'success' })).toMatchObject(expected);
  });
});

describe('PATCH /jobs/:id/trace', () => {
  it('sends the bytes with an inclusive Content-Range, text/plain and debug_trace', async () => {
    answer('PATCH', '/api/v4/jobs/1234/trace?debug_trace=false', 202, '', {
      range: '0-1024',
      'job-status': 'running',
      'x-gitlab-trace-update-interval': '60',
    });
    const chunk = Buffer.alloc(1024, 'a');
    expect(await client.patchTrace(1234, JOB_TOKEN, 0, chunk, false)).toEqual({
      kind: 'accepted',
      serverLength: 1024,
      updateIntervalSeconds: 60,
      cancelRequested: false,
      jobStatus: 'running',
    });
    expect(seen[0]!.headers).toMatchObject({
      'content-range': '0-1023',
      'content-type': 'text/plain',
      'job-token': JOB_TOKEN,
    });
    expect(seen[0]!.body).toBe(chunk.toString());
  });

  it.each([
    [
      202,
      { range: '0-20', 'job-status': 'canceling' },
      { kind: 'accepted', serverLength: 20, cancelRequested: true },
    ],
    [416, { range: '0-11' }, { kind: 'range-mismatch', serverLength: 11 }],
    [416, {}, { kind: 'range-mismatch', serverLength: 0 }],
    [403, { 'job-status': 'canceled' }, { kind: 'abort', status: 403 }],
    [202, { 'job-status': 'failed' }, { kind: 'abort', status: 202 }],
    [404, {}, { kind: 'not-found' }],
    [409, {}, { kind: 'failed', status: 409 }],
  ])('answer %i %j', async (status, headers, expected) => {
    answer('PATCH', '/api/v4/jobs/5/trace?debug_trace=true', status, '', headers);
    expect(await client.patchTrace(5, JOB_TOKEN, 15, Buffer.from('hello'), true)).toMatchObject(expected);
    expect(seen[0]!.headers['content-range']).toBe('15-19');
  });
});

describe('runner endpoints', () => {
  it('verify sends token and system_id and reads id and expiry', async () => {
    answer('POST', '/api/v4/runners/verify', 200, fixture('verify-response.json'), json);
    const res = await client.verifyRunner(TOKEN, 's_4f1c2d9e8a7b');
    expect(JSON.parse(seen[0]!.body)).toEqual(fixture('verify-request.json'));
    expect(res).toMatchObject({ kind: 'ok', id: expect.any(Number), token: expect.any(String) });
    if (res.kind === 'ok') expect(res.tokenExpiresAt).toBeInstanceOf(Date);
  });

  it('verify: 403 is forbidden, an old server\'s plain "200" is still valid', async () => {
    answer('POST', '/api/v4/runners/verify', 403, { message: '403 Forbidden' }, json);
    expect(await client.verifyRunner(TOKEN)).toEqual({
      kind: 'forbidden',
      status: 403,
      message: '403 Forbidden',
    });
    answer('POST', '/api/v4/runners/verify', 200, '200', { 'content-type': 'text/plain' });
    expect(await client.verifyRunner(TOKEN)).toEqual({ kind: 'ok' });
  });

  it('register posts the legacy body; 410 means registration tokens are disabled', async () => {
    answer('POST', '/api/v4/runners', 201, fixture('register-response.json'), json);
    const ok = await client.registerRunner({
      token: 'GR1348941aBcDeFgHiJkLmNoPqRs',
      description: 'k8s-manager-eu1',
      tag_list: 'kubernetes,linux',
      run_untagged: false,
      locked: true,
      access_level: 'not_protected',
      maximum_timeout: 10800,
      paused: false,
    });
    expect(ok).toMatchObject({ kind: 'ok', token: expect.any(String), tokenExpiresAt: null });
    const body = JSON.parse(seen[0]!.body);
    expect(Object.keys(body).sort()).toEqual(Object.keys(fixture('register-request.json')).sort());
    expect(body.info).not.toHaveProperty('executor');
    answer('POST', '/api/v4/runners', 410, { message: '410 Gone - runner registration disallowed' }, json);
    expect(
      await client.registerRunner({ token: 'GR1', run_untagged: true, locked: true, paused: false }),
    ).toMatchObject({ kind: 'gone' });
  });

  it('unregister: DELETE /runners for legacy tokens, DELETE /runners/managers with system_id', async () => {
    answer('DELETE', '/api/v4/runners', 204);
    answer(
      'DELETE',
      '/api/v4/runners/managers',
      404,
      { message: '404 Runner manager not found Not Found' },
      json,
    );
    expect(await client.unregisterRunner('glrtr-x')).toEqual({ kind: 'ok' });
    expect(await client.unregisterManager(TOKEN, 's_1')).toMatchObject({ kind: 'not-found' });
    expect(JSON.parse(seen[1]!.body)).toEqual({ token: TOKEN, system_id: 's_1' });
  });

  it('router discovery: 200 gives the URL, 501 means no Job Router', async () => {
    answer('GET', '/api/v4/runners/router/discovery', 200, { server_url: 'grpcs://kas.example.com' }, json);
    answer('GET', '/api/v4/runners/router/discovery', 501, { message: 'Job Router is not available' }, json);
    expect(await client.discoverRouter(TOKEN)).toEqual({ kind: 'ok', serverUrl: 'grpcs://kas.example.com' });
    expect(await client.discoverRouter(TOKEN)).toEqual({ kind: 'unavailable' });
    expect(seen[0]!.headers['runner-token']).toBe(TOKEN);
    expect(seen[0]!.body).toBe('');
  });

  it('reset token returns the new token', async () => {
    answer(
      'POST',
      '/api/v4/runners/reset_authentication_token',
      201,
      { token: 'glrt-new', token_expires_at: '2026-12-31T08:15:00.000Z' },
      json,
    );
    expect(await client.resetToken(TOKEN)).toMatchObject({ kind: 'ok', token: 'glrt-new' });
  });
});

describe('advertised features', () => {
  it('has exactly the 31 upstream keys, and no session/terminal without a session server', () => {
    const upstream = (fixture('job-request.json').info as { features: Record<string, boolean> }).features;
    expect(Object.keys(runnerFeatures).sort()).toEqual(Object.keys(upstream).sort());
    expect(Object.keys(runnerFeatures)).toHaveLength(31);
    expect(runnerFeatures).toMatchObject({
      session: false,
      terminal: false,
      proxy: false,
      shared: false,
      two_phase_job_commit: true,
      cancel_gracefully: true,
      cancelable: true,
      trace_reset: true,
      trace_checksum: true,
      trace_size: true,
      refspecs: true,
      masking: true,
      artifacts_exclude: true,
      multi_build_steps: true,
      fallback_cache_keys: true,
      upload_multiple_artifacts: true,
      raw_variables: true,
      return_exit_code: true,
      service_variables: true,
      service_multiple_aliases: true,
      image_executor_opts: true,
    });
  });
});
