// The stand-in's own controls and lifecycle: injected faults, `/-/sim/` endpoints, `--state`
// persistence, pipelines on push, and git authentication with job tokens.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestRecord, SimGitlab } from '../../../src/sim/gitlab/server.ts';
import { projectWithPipelineFile, runnerClient, tempDir, withSim } from './helpers.ts';

const exec = promisify(execFile);
let sim: SimGitlab | undefined;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await sim?.close();
  sim = undefined;
  for (const c of cleanups.splice(0)) await c();
});

async function git(cwd: string, ...args: string[]) {
  return await exec('git', args, {
    cwd,
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', HOME: cwd },
  });
}

async function workdir() {
  const dir = await tempDir();
  cleanups.push(dir.remove);
  return dir.path;
}

describe('faults and controls', () => {
  it('injects 429s and 5xx for the next requests, and drops connections', async () => {
    sim = await withSim();
    const client = runnerClient(sim, sim.createRunner().token);
    sim.setFaults([{ endpoint: 'request_job', kind: '429', times: 2, retryAfter: 1 }]);
    for (let i = 0; i < 2; i++) {
      const res = await client.request();
      expect(res.status).toBe(429);
      expect(res.headers.get('Retry-After')).toBe('1');
      await res.arrayBuffer();
    }
    expect((await client.request()).status).toBe(204);
    sim.setFaults([{ endpoint: 'any', kind: 'drop', rate: 1 }]);
    await expect(client.request()).rejects.toThrow();
    sim.setFaults([{ endpoint: 'update_job', kind: '500', rate: 1 }]);
    expect((await client.request()).status).toBe(204);
    expect((await client.update(1, 'x', { state: 'running' })).status).toBe(500);
  });

  it('cuts a request after afterBytes of its body, unanswered, and nothing of it is stored', async () => {
    sim = await withSim();
    const project = await projectWithPipelineFile(sim, 'build: { script: [make] }\n');
    await sim.createPipeline(project.id);
    const client = runnerClient(sim, sim.createRunner().token);
    const job = (await (await client.request()).json()) as { id: number; token: string };
    await client.update(job.id, job.token, { state: 'running' });
    expect(() =>
      sim?.setFaults([{ endpoint: 'artifacts_upload', kind: '500', afterBytes: 1, times: 1 }]),
    ).toThrow(/afterBytes applies to drop faults only/);
    sim.setFaults([{ endpoint: 'artifacts_upload', kind: 'drop', afterBytes: 40_000, times: 2 }]);
    const path = `/api/v4/jobs/${job.id}/artifacts?artifact_type=archive&artifact_format=zip`;

    // A slow client, 10 000 of 200 000 bytes every 30 ms: the connection closes once 40 000 have arrived.
    const url = new URL(sim.url);
    const socket = connect(Number(url.port), url.hostname);
    await once(socket, 'connect');
    let answer = '';
    let closed = false;
    socket.on('data', (d: Buffer) => {
      answer += d.toString();
    });
    socket.on('error', () => {});
    const gone = new Promise<void>((resolve) =>
      socket.on('close', () => {
        closed = true;
        resolve();
      }),
    );
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\nJOB-TOKEN: ${job.token}\r\n` +
        'Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 200000\r\n\r\n',
    );
    let chunks = 0;
    while (chunks < 20 && !closed) {
      socket.write(Buffer.alloc(10_000, 0x61));
      chunks++;
      await new Promise((r) => setTimeout(r, 30));
    }
    const bound = setTimeout(() => socket.destroy(), 5000);
    await gone;
    clearTimeout(bound);
    expect(answer).toBe('');
    expect(chunks).toBeGreaterThanOrEqual(4);
    expect(chunks).toBeLessThan(20);

    // A whole upload shorter than afterBytes is cut at its end: GitLab never sees it.
    const upload = () => {
      const form = new FormData();
      form.append('file', new Blob([Buffer.from('PK\x05\x06'.padEnd(22, '\0'))]), 'artifacts.zip');
      return fetch(`${sim?.url}${path}`, { method: 'POST', headers: { 'JOB-TOKEN': job.token }, body: form });
    };
    await expect(upload()).rejects.toThrow();
    expect(sim.job(job.id)?.artifacts).toEqual([]);
    // The rule is used up: the same upload is stored.
    expect((await upload()).status).toBe(201);
    expect(sim.job(job.id)?.artifacts.map((a) => a.size)).toEqual([22]);
  });

  it('hits every Nth request, and loses answers after GitLab handled the request', async () => {
    sim = await withSim();
    const seen: RequestRecord[] = [];
    sim.on('request', (r) => seen.push(r));
    const project = await projectWithPipelineFile(sim, 'one: { script: [x] }\ntwo: { script: [y] }\n');
    await sim.createPipeline(project.id);
    const client = runnerClient(sim, sim.createRunner().token);

    sim.setFaults([{ endpoint: 'runners', kind: '503', every: 3 }]);
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await fetch(`${sim.url}/api/v4/runners/verify`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token: client.token }),
      });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 503, 200, 200, 503, 200]);

    // The job request is handled (a job handed out, waiting for its accept) but the 201 never arrives.
    sim.setFaults([{ endpoint: 'request_job', kind: 'drop', times: 1, afterHandling: true }]);
    await expect(client.request()).rejects.toThrow();
    const lost = sim.pipeline(1)!.jobs[0]!;
    expect(lost).toMatchObject({ status: 'pending', runnerId: expect.any(Number) });
    const job = (await (await client.request()).json()) as { id: number; token: string };
    expect(job.id).toBe(sim.pipeline(1)!.jobs[1]!.id);

    // The accept takes effect; a proxy answers 502 instead of GitLab's 200. A retry finds the job running.
    sim.setFaults([{ endpoint: 'update_job', kind: '502', times: 1, afterHandling: true }]);
    const accept = await client.update(job.id, job.token, { state: 'running' });
    expect(accept.status).toBe(502);
    expect(accept.headers.get('Job-Status')).toBeNull();
    expect(await accept.json()).toEqual({ message: '502 Bad Gateway' });
    expect(sim.job(job.id)!.status).toBe('running');
    expect((await client.update(job.id, job.token, { state: 'running' })).status).toBe(200);

    const mark = seen.length;
    sim.setFaults([{ endpoint: 'update_job', kind: 'drop', times: 1, afterHandling: true }]);
    await expect(client.update(job.id, job.token, { state: 'success' })).rejects.toThrow();
    expect(sim.job(job.id)!.status).toBe('success');
    const again = await client.update(job.id, job.token, { state: 'success' });
    expect(again.status).toBe(403);
    expect(again.headers.get('Job-Status')).toBe('success');
    await expect.poll(() => seen.length).toBe(mark + 2);
    expect(seen.slice(mark).map((r) => [r.endpoint, r.status, r.fault ?? null])).toEqual([
      ['update_job', null, 'drop'],
      ['update_job', 403, null],
    ]);
  });

  it('changes tunables and faults over /-/sim/ with the admin token', async () => {
    sim = await withSim();
    const put = (path: string, body: unknown, token = sim?.adminToken ?? '') =>
      fetch(`${sim?.url}/-/sim/${path}`, {
        method: 'PUT',
        headers: { 'PRIVATE-TOKEN': token, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await put('config', { longPollSeconds: 5 }, 'wrong')).status).toBe(401);
    const ok = await put('config', { longPollSeconds: 5, traceUpdateIntervalSeconds: 7 });
    expect(((await ok.json()) as Record<string, unknown>).longPollSeconds).toBe(5);
    expect(sim.tunables.traceUpdateIntervalSeconds).toBe(7);
    const bad = await put('config', { longPollSeconds: 'soon' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain('longPollSeconds');
    expect(
      (await put('faults', { faults: [{ endpoint: 'patch_trace', kind: '503', times: 1 }] })).status,
    ).toBe(200);
    expect(sim.tunables.faults).toHaveLength(1);
    expect((await fetch(`${sim.url}/-/sim/health`)).status).toBe(200);
  });
});

describe('persistence', () => {
  it('keeps projects, repositories, jobs and traces across a restart with --state', async () => {
    const dir = await workdir();
    const statePath = join(dir, 'state.json');
    sim = await withSim({ statePath });
    const token = sim.adminToken;
    const project = await projectWithPipelineFile(sim, 'one: { script: [x] }\ntwo: { script: [y] }\n');
    const pipeline = await sim.createPipeline(project.id);
    const runner = sim.createRunner();
    const client = runnerClient(sim, runner.token);
    const job = (await (await client.request()).json()) as { id: number; token: string };
    await client.update(job.id, job.token, { state: 'running' });
    await client.patch(job.id, job.token, 0, 'first half\n');
    await sim.close();

    sim = await withSim({ statePath });
    expect(sim.adminToken).toBe(token);
    expect(sim.trace(job.id)).toBe('first half\n');
    expect(sim.pipeline(pipeline.id)?.jobs.map((j) => j.status)).toEqual(['running', 'pending']);
    const again = runnerClient(sim, runner.token);
    expect((await again.patch(job.id, job.token, 11, 'second half\n')).headers.get('Range')).toBe('0-23');
    expect(((await (await again.request()).json()) as { job_info: { name: string } }).job_info.name).toBe(
      'two',
    );
    const clone = join(dir, 'clone');
    await git(
      dir,
      'clone',
      '-q',
      `http://root:${token}@${new URL(sim.url).host}/${project.pathWithNamespace}.git`,
      clone,
    );
  });
});

describe('git over HTTP', () => {
  it('creates a pipeline on push when asked to, and authenticates like GitLab', async () => {
    sim = await withSim({ pipelineOnPush: true });
    const dir = await workdir();
    const host = new URL(sim.url).host;
    const mine = await sim.createProject({ name: 'mine' });
    const other = await projectWithPipelineFile(sim, 'other: { script: [x] }\n');
    const src = join(dir, 'src');
    await git(dir, 'init', '-q', '-b', 'main', src);
    await writeFile(join(src, '.gitlab-ci.yml'), 'hello: { script: [echo hi] }\n');
    await git(src, 'add', '.');
    await git(src, '-c', 'user.name=A', '-c', 'user.email=a@example.com', 'commit', '-qm', 'init');
    const created = new Promise<number>((resolve) => {
      const off = sim?.on('pipeline', (p) => {
        if (p.projectId === mine.id) {
          off?.();
          resolve(p.id);
        }
      });
    });
    await git(
      src,
      'push',
      '-q',
      `http://oauth2:${sim.adminToken}@${host}/${mine.pathWithNamespace}.git`,
      'main',
    );
    const pipelineId = await created;
    expect(sim.pipeline(pipelineId)?.jobs.map((j) => j.name)).toEqual(['hello']);

    // A running job's token clones its own project only, and never pushes.
    await sim.createPipeline(other.id);
    const client = runnerClient(sim, sim.createRunner().token);
    const jobs: Array<{ id: number; token: string; job_info: { project_id: number } }> = [];
    for (let i = 0; i < 2; i++) jobs.push((await (await client.request()).json()) as (typeof jobs)[number]);
    const otherJob = jobs.find((j) => j.job_info.project_id === other.id);
    if (!otherJob) throw new Error('no job of the other project');
    await client.update(otherJob.id, otherJob.token, { state: 'running' });
    const jobUrl = (p: string) => `http://gitlab-ci-token:${otherJob.token}@${host}/${p}.git`;
    await git(dir, 'clone', '-q', jobUrl(other.pathWithNamespace), join(dir, 'ok'));
    await expect(git(dir, 'clone', '-q', jobUrl(mine.pathWithNamespace), join(dir, 'no'))).rejects.toThrow(
      /not found|could not be found/,
    );
    await expect(git(src, 'push', '-q', jobUrl(other.pathWithNamespace), 'main:other')).rejects.toThrow(
      /403|not allowed/,
    );
    // Until `mine` puts `other` on its job token allowlist (submodules, cross-project artifacts).
    const allowlist = (method: string, suffix = '', body?: unknown) =>
      fetch(`${sim?.url}/api/v4/projects/${mine.id}/job_token_scope/allowlist${suffix}`, {
        method,
        headers: { 'PRIVATE-TOKEN': sim?.adminToken ?? '', 'Content-Type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const added = await allowlist('POST', '', { target_project_id: other.id });
    expect(added.status).toBe(201);
    expect(await added.json()).toEqual({ source_project_id: mine.id, target_project_id: other.id });
    expect((await allowlist('POST', '', { target_project_id: other.id })).status).toBe(400);
    expect((await allowlist('POST', '', { target_project_id: 9999 })).status).toBe(404);
    expect(((await (await allowlist('GET')).json()) as Array<{ id: number }>).map((p) => p.id)).toEqual([
      other.id,
    ]);
    await git(dir, 'clone', '-q', jobUrl(mine.pathWithNamespace), join(dir, 'allowed'));
    expect((await allowlist('DELETE', `/${other.id}`)).status).toBe(204);
    await expect(
      git(dir, 'clone', '-q', jobUrl(mine.pathWithNamespace), join(dir, 'removed')),
    ).rejects.toThrow(/not found|could not be found/);
    await expect(
      git(dir, 'clone', '-q', `http://${host}/${mine.pathWithNamespace}.git`, join(dir, 'anon')),
    ).rejects.toThrow();
  });
});
