// The public REST API a person or script uses, and the errors GitLab gives for bad requests.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimGitlab } from '../../../src/sim/gitlab/server.ts';
import { api, projectWithPipelineFile, runnerClient, withSim } from './helpers.ts';

type Json = Record<string, unknown>;
let sim: SimGitlab;

beforeEach(async () => {
  sim = await withSim({ acceptFinalUpdates: false });
});
afterEach(async () => {
  await sim.close();
});

async function json(res: Response): Promise<{ status: number; body: Json }> {
  return { status: res.status, body: (await res.json()) as Json };
}

describe('authentication and routing', () => {
  it('needs a valid PRIVATE-TOKEN (or Bearer token) and says 404 for unknown routes', async () => {
    expect(await json(await fetch(`${sim.url}/api/v4/projects`))).toEqual({
      status: 401,
      body: { message: '401 Unauthorized' },
    });
    const wrong = await fetch(`${sim.url}/api/v4/projects`, { headers: { 'PRIVATE-TOKEN': 'glpat-wrong' } });
    expect(wrong.status).toBe(401);
    const bearer = await fetch(`${sim.url}/api/v4/user`, {
      headers: { Authorization: `Bearer ${sim.adminToken}` },
    });
    expect((await json(bearer)).body.username).toBe('root');
    expect(await json(await api(sim, 'GET', '/nope'))).toEqual({
      status: 404,
      body: { error: '404 Not Found' },
    });
    expect((await api(sim, 'DELETE', '/version')).status).toBe(405);
  });

  it('answers malformed JSON bodies with 400 and never crashes', async () => {
    for (const path of ['/jobs/request', '/runners/verify', '/projects', '/user/runners']) {
      const res = await fetch(`${sim.url}/api/v4${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'PRIVATE-TOKEN': sim.adminToken },
        body: '{"token": ',
      });
      expect(await json(res)).toEqual({
        status: 400,
        body: { error: 'message body does not match declared format' },
      });
    }
    const put = await fetch(`${sim.url}/api/v4/jobs/1`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: '[1,2]',
    });
    expect(put.status).toBe(400);
    expect((await api(sim, 'GET', '/version')).status).toBe(200);
  });
});

describe('runners, projects and variables', () => {
  it('creates runners with POST /user/runners', async () => {
    const created = await json(
      await api(sim, 'POST', '/user/runners', {
        runner_type: 'instance_type',
        description: 'k8s',
        tag_list: 'k8s,linux',
        run_untagged: false,
      }),
    );
    expect(created.status).toBe(201);
    expect(Object.keys(created.body)).toEqual(['id', 'token', 'token_expires_at']);
    expect(created.body.token).toMatch(/^glrt-/);
    const detail = await json(await api(sim, 'GET', `/runners/${created.body.id}`));
    expect(detail.body).toMatchObject({
      description: 'k8s',
      tag_list: ['k8s', 'linux'],
      run_untagged: false,
      runner_type: 'instance_type',
    });
    expect(await json(await api(sim, 'POST', '/user/runners', {}))).toEqual({
      status: 400,
      body: { error: 'runner_type is missing, runner_type does not have a valid value' },
    });
    expect((await json(await api(sim, 'POST', '/user/runners', { runner_type: 'cluster' }))).status).toBe(
      400,
    );
  });

  it('creates projects, finds them by id or path, and refuses a taken path', async () => {
    const created = await json(await api(sim, 'POST', '/projects', { name: 'Web App', path: 'web-app' }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Web App',
      path: 'web-app',
      path_with_namespace: 'root/web-app',
      default_branch: 'main',
      http_url_to_repo: `${sim.url}/root/web-app.git`,
    });
    const byPath = await json(await api(sim, 'GET', '/projects/root%2Fweb-app'));
    expect(byPath.body.id).toBe(created.body.id);
    expect((await json(await api(sim, 'POST', '/projects', { name: 'again', path: 'web-app' }))).status).toBe(
      400,
    );
    expect(await json(await api(sim, 'GET', '/projects/9999'))).toEqual({
      status: 404,
      body: { message: '404 Project Not Found' },
    });
    const group = await json(await api(sim, 'POST', '/groups', { name: 'ACME', path: 'acme' }));
    const inGroup = await json(
      await api(sim, 'POST', '/projects', { name: 'api', namespace_id: group.body.id }),
    );
    expect(inGroup.body.path_with_namespace).toBe('acme/api');
  });

  it('manages CI/CD variables with GitLab validation', async () => {
    const project = await sim.createProject({ name: 'vars' });
    const path = `/projects/${project.id}/variables`;
    const created = await json(
      await api(sim, 'POST', path, { key: 'TOKEN', value: 's3cr3t-value', masked: true, protected: false }),
    );
    expect(created).toEqual({
      status: 201,
      body: {
        variable_type: 'env_var',
        key: 'TOKEN',
        value: 's3cr3t-value',
        hidden: false,
        protected: false,
        masked: true,
        raw: false,
        environment_scope: '*',
        description: null,
      },
    });
    expect(await json(await api(sim, 'POST', path, { key: 'TOKEN', value: 'x' }))).toEqual({
      status: 400,
      body: { message: { key: ['(TOKEN) has already been taken'] } },
    });
    expect(await json(await api(sim, 'POST', path, { key: 'SHORT', value: 'abc', masked: true }))).toEqual({
      status: 400,
      body: { message: { value: ['is invalid'] } },
    });
    expect(
      (await json(await api(sim, 'POST', path, { key: 'FILE', value: 'x', variable_type: 'file' }))).status,
    ).toBe(201);
    expect(((await json(await api(sim, 'GET', path))).body as unknown as Json[]).map((v) => v.key)).toEqual([
      'TOKEN',
      'FILE',
    ]);
  });
});

describe('pipelines and jobs', () => {
  it('refuses pipelines GitLab would refuse, naming the problem', async () => {
    const project = await sim.createProject({ name: 'errors' });
    const create = (ref: string | undefined) =>
      api(sim, 'POST', `/projects/${project.id}/pipeline${ref ? `?ref=${ref}` : ''}`);
    expect(await json(await create(undefined))).toEqual({ status: 400, body: { error: 'ref is missing' } });
    expect(await json(await create('main'))).toEqual({
      status: 400,
      body: { message: { base: ['Reference not found'] } },
    });
    await sim.commitFiles(project.id, { 'README.md': 'no pipeline here' });
    expect(await json(await create('main'))).toEqual({
      status: 400,
      body: { message: { base: ['Missing CI config file'] } },
    });
    await sim.commitFiles(project.id, {
      '.gitlab-ci.yml': 'build:\n  script: [make]\n  rules: [{ when: always }]\n',
    });
    expect(await json(await create('main'))).toEqual({
      status: 400,
      body: {
        message: { base: ['jobs:build config uses keywords the embedded GitLab does not support: rules'] },
      },
    });
    await sim.commitFiles(project.id, { '.gitlab-ci.yml': 'build:\n  script: [make]\n  colour: blue\n' });
    expect(await json(await create('main'))).toEqual({
      status: 400,
      body: { message: { base: ['jobs:build config contains unknown keys: colour'] } },
    });
  });

  it('passes variables[] from JSON and from a form to the job', async () => {
    const project = await projectWithPipelineFile(sim, 'show: { script: [env] }\n');
    const client = runnerClient(sim, sim.createRunner().token);
    const viaJson = await json(
      await api(sim, 'POST', `/projects/${project.id}/pipeline`, {
        ref: 'main',
        variables: [{ key: 'FROM_JSON', value: 'yes', variable_type: 'file' }],
      }),
    );
    expect(viaJson.body).toMatchObject({ ref: 'main', status: 'pending', source: 'api' });
    const form = await fetch(`${sim.url}/api/v4/projects/${project.id}/pipeline?ref=main`, {
      method: 'POST',
      headers: { 'PRIVATE-TOKEN': sim.adminToken, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'variables[][key]=FROM_FORM&variables[][value]=1&variables[][key]=SECOND&variables[][value]=2',
    });
    expect(form.status).toBe(201);
    const first = (await (await client.request()).json()) as { variables: Json[] };
    expect(first.variables.find((v) => v.key === 'FROM_JSON')).toEqual({
      key: 'FROM_JSON',
      value: 'yes',
      public: false,
      masked: false,
      file: true,
    });
    const second = (await (await client.request()).json()) as { variables: Json[] };
    expect(
      second.variables.filter((v) => ['FROM_FORM', 'SECOND'].includes(v.key as string)).map((v) => v.value),
    ).toEqual(['1', '2']);
  });

  it('lists, cancels, retries and plays jobs through the API', async () => {
    const project = await projectWithPipelineFile(
      sim,
      'stages: [build, deploy]\nbuild: { stage: build, script: [make] }\ndeploy: { stage: deploy, script: [ship], when: manual }\n',
    );
    const client = runnerClient(sim, sim.createRunner().token);
    const created = await json(await api(sim, 'POST', `/projects/${project.id}/pipeline?ref=main`));
    const pid = created.body.id as number;
    const jobs = async () =>
      (await json(await api(sim, 'GET', `/projects/${project.id}/pipelines/${pid}/jobs`)))
        .body as unknown as Json[];
    expect((await jobs()).map((j) => [j.name, j.status])).toEqual([
      ['deploy', 'created'],
      ['build', 'pending'],
    ]);
    const build = (await jobs()).find((j) => j.name === 'build') as Json;
    const canceled = await json(await api(sim, 'POST', `/projects/${project.id}/jobs/${build.id}/cancel`));
    expect(canceled).toMatchObject({ status: 201, body: { status: 'canceled' } });
    const pipeline = await json(await api(sim, 'GET', `/projects/${project.id}/pipelines/${pid}`));
    expect(pipeline.body.status).toBe('canceled');
    const retried = await json(await api(sim, 'POST', `/projects/${project.id}/jobs/${build.id}/retry`));
    expect(retried.status).toBe(201);
    expect(retried.body).toMatchObject({ name: 'build', status: 'pending' });
    expect(retried.body.id).not.toBe(build.id);
    expect(
      await json(await api(sim, 'POST', `/projects/${project.id}/jobs/${retried.body.id}/retry`)),
    ).toEqual({
      status: 403,
      body: { message: '403 Forbidden - Job is not retryable' },
    });
    const job = (await (await client.request()).json()) as { id: number; token: string };
    expect(job.id).toBe(retried.body.id);
    await client.update(job.id, job.token, { state: 'running' });
    await client.update(job.id, job.token, { state: 'success' });
    const deploy = (await jobs()).find((j) => j.name === 'deploy') as Json;
    expect(deploy.status).toBe('manual');
    expect((await json(await api(sim, 'GET', `/projects/${project.id}/pipelines/${pid}`))).body.status).toBe(
      'success',
    );
    const played = await json(await api(sim, 'POST', `/projects/${project.id}/jobs/${deploy.id}/play`));
    expect(played.body.status).toBe('pending');
    const single = await json(await api(sim, 'GET', `/projects/${project.id}/jobs/${deploy.id}`));
    expect(single.body).toMatchObject({
      id: deploy.id,
      name: 'deploy',
      stage: 'deploy',
      pipeline: { id: pid },
    });
    const all = await json(await api(sim, 'GET', `/projects/${project.id}/jobs`));
    expect((all.body as unknown as Json[]).length).toBe(3);
  });
});

describe('pipeline cancel', () => {
  it('cancels running and waiting jobs alike', async () => {
    const project = await projectWithPipelineFile(
      sim,
      'stages: [a, b]\none: { stage: a, script: [x] }\ntwo: { stage: b, script: [y] }\n',
    );
    const client = runnerClient(sim, sim.createRunner().token);
    const pipeline = await sim.createPipeline(project.id);
    const job = (await (await client.request()).json()) as { id: number; token: string };
    await client.update(job.id, job.token, { state: 'running' });
    const res = await json(await api(sim, 'POST', `/projects/${project.id}/pipelines/${pipeline.id}/cancel`));
    expect(res.body.status).toBe('running');
    expect(sim.pipeline(pipeline.id)?.jobs.map((j) => [j.name, j.status])).toEqual([
      ['one', 'canceling'],
      ['two', 'canceled'],
    ]);
    const final = await client.update(job.id, job.token, {
      state: 'failed',
      failure_reason: 'unknown_failure',
    });
    expect(final.headers.get('Job-Status')).toBe('canceled');
    expect(sim.pipeline(pipeline.id)?.status).toBe('canceled');
  });
});

describe('odd requests', () => {
  it('answers malformed paths, ids, ranges and uploads without crashing', async () => {
    const raw = (path: string, init: RequestInit = {}) => fetch(`${sim.url}${path}`, init);
    expect(
      (await raw('/api/v4/projects/%E0%A4%A', { headers: { 'PRIVATE-TOKEN': sim.adminToken } })).status,
    ).toBe(404);
    const badId = await raw('/api/v4/jobs/abc', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: '{"token":"x"}',
    });
    expect(await json(badId)).toEqual({ status: 400, body: { error: 'id is invalid' } });
    expect(
      (await raw('/api/v4/jobs/99999999999999999999/trace', { method: 'PATCH', body: 'x' })).status,
    ).toBe(403);
    const project = await projectWithPipelineFile(sim, 'a: { script: [x] }\n');
    await sim.createPipeline(project.id);
    const client = runnerClient(sim, sim.createRunner().token);
    const job = (await (await client.request()).json()) as { id: number; token: string };
    await client.update(job.id, job.token, { state: 'running' });
    const weird = await raw(`/api/v4/jobs/${job.id}/trace`, {
      method: 'PATCH',
      headers: { 'JOB-TOKEN': job.token, 'Content-Range': 'bytes=garbage' },
      body: 'abc',
    });
    // Like Ruby's to_i, an unparsable start is 0.
    expect(weird.status).toBe(202);
    expect(weird.headers.get('Range')).toBe('0-3');
    const notMultipart = await raw(`/api/v4/jobs/${job.id}/artifacts`, {
      method: 'POST',
      headers: { 'JOB-TOKEN': job.token, 'Content-Type': 'application/zip' },
      body: 'zip',
    });
    expect(await json(notMultipart)).toEqual({ status: 400, body: { error: 'file is missing' } });
    const brokenMultipart = await raw(`/api/v4/jobs/${job.id}/artifacts`, {
      method: 'POST',
      headers: { 'JOB-TOKEN': job.token, 'Content-Type': 'multipart/form-data; boundary=xyz' },
      body: '--xyz\r\nContent-Disposition: form-data; name="other"\r\n\r\nvalue\r\n--xyz--\r\n',
    });
    expect(await json(brokenMultipart)).toEqual({ status: 400, body: { error: 'file is missing' } });
    const big = await raw('/api/v4/jobs/request', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: `{"token":"${'x'.repeat(40_000)}"}`,
    });
    expect(big.status).toBe(413);
    expect((await api(sim, 'GET', '/version')).status).toBe(200);
  });
});
