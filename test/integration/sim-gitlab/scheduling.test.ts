// Which runner gets which job, and what happens after a job ends: tags, runner features, the needs
// DAG, automatic retry, allowed exit codes, timeouts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimGitlab } from '../../../src/sim/gitlab/server.ts';
import {
  K8S_FEATURES,
  projectWithPipelineFile,
  type RunnerClient,
  runnerClient,
  withSim,
} from './helpers.ts';

type Payload = { id: number; token: string; job_info: { name: string }; runner_info: { timeout: number } };
let sim: SimGitlab;

beforeEach(async () => {
  sim = await withSim({ acceptFinalUpdates: false });
});
afterEach(async () => {
  await sim.close();
});

async function take(client: RunnerClient): Promise<Payload | null> {
  const res = await client.request();
  if (res.status !== 201) {
    await res.arrayBuffer();
    return null;
  }
  const job = (await res.json()) as Payload;
  expect((await client.update(job.id, job.token, { state: 'running' })).status).toBe(200);
  return job;
}

async function finish(
  client: RunnerClient,
  job: Payload,
  state: 'success' | 'failed',
  extra: Record<string, unknown> = {},
) {
  expect((await client.update(job.id, job.token, { state, ...extra })).status).toBe(200);
}

describe('job scheduling', () => {
  it('gives tagged jobs only to runners with every tag, untagged ones only to run_untagged runners', async () => {
    await sim.createPipeline(
      (
        await projectWithPipelineFile(
          sim,
          'tagged: { script: [x], tags: [k8s, gpu] }\nplain: { script: [y] }\n',
        )
      ).id,
    );
    const untaggedOnly = runnerClient(sim, sim.createRunner({ tags: [], runUntagged: true }).token);
    const k8sOnly = runnerClient(sim, sim.createRunner({ tags: ['k8s'], runUntagged: false }).token);
    const both = runnerClient(
      sim,
      sim.createRunner({ tags: ['k8s', 'gpu', 'linux'], runUntagged: false }).token,
    );
    expect(await take(k8sOnly)).toBeNull();
    expect((await take(untaggedOnly))?.job_info.name).toBe('plain');
    expect(await take(untaggedOnly)).toBeNull();
    expect((await take(both))?.job_info.name).toBe('tagged');
  });

  it('drops a job needing a feature the runner does not advertise with runner_unsupported', async () => {
    const project = await projectWithPipelineFile(
      sim,
      'excl: { script: [x], artifacts: { paths: [a/], exclude: [a/b] } }\nfallback: { script: [x], cache: { paths: [c/], fallback_keys: [main] } }\nfine: { script: [x] }\n',
    );
    const pipeline = await sim.createPipeline(project.id);
    const old = runnerClient(sim, sim.createRunner().token, {
      ...K8S_FEATURES,
      artifacts_exclude: false,
      fallback_cache_keys: false,
    });
    expect((await take(old))?.job_info.name).toBe('fine');
    const jobs = sim.pipeline(pipeline.id)?.jobs ?? [];
    expect(jobs.filter((j) => j.name !== 'fine').map((j) => [j.name, j.status, j.failureReason])).toEqual([
      ['excl', 'failed', 'runner_unsupported'],
      ['fallback', 'failed', 'runner_unsupported'],
    ]);
  });

  it('starts needs jobs as soon as their needs succeed, before the stage ends', async () => {
    const project = await projectWithPipelineFile(
      sim,
      `stages: [build, test]
build-a: { stage: build, script: [a] }
build-b: { stage: build, script: [b] }
test-a: { stage: test, needs: [build-a], script: [ta] }
test-all: { stage: test, script: [t] }
`,
    );
    await sim.createPipeline(project.id);
    const client = runnerClient(sim, sim.createRunner().token);
    const a = await take(client);
    const b = await take(client);
    expect([a?.job_info.name, b?.job_info.name]).toEqual(['build-a', 'build-b']);
    await finish(client, a as Payload, 'success');
    expect((await take(client))?.job_info.name).toBe('test-a');
    expect(await take(client)).toBeNull();
    await finish(client, b as Payload, 'success');
    expect((await take(client))?.job_info.name).toBe('test-all');
  });

  it('retries a failed job per retry:, and lets allowed exit codes pass', async () => {
    const project = await projectWithPipelineFile(
      sim,
      `stages: [test, after]
flaky: { stage: test, script: [x], retry: { max: 1, when: [script_failure] } }
lenient: { stage: test, script: [x], allow_failure: { exit_codes: [3] } }
next: { stage: after, script: [x] }
`,
    );
    const pipeline = await sim.createPipeline(project.id);
    const client = runnerClient(sim, sim.createRunner().token);
    const flaky = (await take(client)) as Payload;
    const lenient = (await take(client)) as Payload;
    await finish(client, flaky, 'failed', { failure_reason: 'script_failure', exit_code: 1 });
    await finish(client, lenient, 'failed', { failure_reason: 'script_failure', exit_code: 3 });
    const retry = (await take(client)) as Payload;
    expect(retry.job_info.name).toBe('flaky');
    expect(retry.id).not.toBe(flaky.id);
    expect(sim.job(flaky.id)?.retried).toBe(true);
    await finish(client, retry, 'failed', { failure_reason: 'script_failure', exit_code: 1 });
    expect(await take(client)).toBeNull();
    const done = await sim.waitForPipeline(pipeline.id, { timeoutMs: 5000 });
    expect(done.status).toBe('failed');
    expect(done.jobs.map((j) => [j.name, j.status, j.allowFailure, j.retried])).toEqual([
      ['flaky', 'failed', false, true],
      ['lenient', 'failed', true, false],
      ['next', 'skipped', false, false],
      ['flaky', 'failed', false, false],
    ]);
  });

  it('fails a job whose dependency archive expired with missing_dependency_failure', async () => {
    const project = await projectWithPipelineFile(
      sim,
      'stages: [build, test]\nbuild: { stage: build, script: [x], artifacts: { paths: [a/] } }\ntest: { stage: test, script: [y] }\n',
    );
    await sim.createPipeline(project.id);
    const client = runnerClient(sim, sim.createRunner().token);
    const build = (await take(client)) as Payload;
    const form = new FormData();
    form.append('file', new Blob([Buffer.from('zip')]), 'artifacts.zip');
    const up = await fetch(`${sim.url}/api/v4/jobs/${build.id}/artifacts?expire_in=1+hour`, {
      method: 'POST',
      headers: { 'JOB-TOKEN': build.token },
      body: form,
    });
    expect(up.status).toBe(201);
    await finish(client, build, 'success');
    const stored = sim.store.jobs.get(build.id)?.artifacts[0];
    if (!stored) throw new Error('no artifact stored');
    stored.expireAt = new Date(Date.now() - 1000).toISOString();
    expect(await take(client)).toBeNull();
    const test = sim.pipeline(sim.job(build.id)?.pipelineId ?? 0)?.jobs.find((j) => j.name === 'test');
    expect(test).toMatchObject({ status: 'failed', failureReason: 'missing_dependency_failure' });
  });

  it('caps the job timeout at the runner maximum_timeout', async () => {
    await sim.createPipeline((await projectWithPipelineFile(sim, 'long: { script: [x], timeout: 3h }\n')).id);
    const client = runnerClient(sim, sim.createRunner({ maximumTimeout: 1800 }).token);
    expect((await take(client))?.runner_info.timeout).toBe(1800);
  });

  it('puts a job back in the queue when the runner never accepts it', async () => {
    sim.configure({ twoPhaseAckTimeoutSeconds: 0.1 });
    await sim.createPipeline((await projectWithPipelineFile(sim, 'only: { script: [x] }\n')).id);
    const forgetful = runnerClient(sim, sim.createRunner().token);
    const res = await forgetful.request();
    const first = (await res.json()) as Payload;
    await sim.waitForJob(first.id, (j) => j.status === 'pending' && j.runnerId === null, { timeoutMs: 5000 });
    const other = runnerClient(sim, sim.createRunner().token);
    expect((await take(other))?.id).toBe(first.id);
  });

  it('computes cache:key:files from the files at the commit', async () => {
    const project = await projectWithPipelineFile(
      sim,
      'deps: { script: [x], cache: [{ key: { files: [package-lock.json] }, paths: [n/] }, { key: { files: [missing.lock], prefix: p }, paths: [m/] }] }\n',
      { 'package-lock.json': '{"lockfileVersion":3}' },
    );
    await sim.createPipeline(project.id);
    const client = runnerClient(sim, sim.createRunner().token);
    const res = await client.request();
    const payload = (await res.json()) as { cache: Array<{ key: string }> };
    const [first, second] = payload.cache.map((c) => c.key);
    expect(first).toMatch(/^0-[0-9a-f]{40}-protected$/);
    expect(second).toBe('p-default-protected');
    // Same content → same key; new content → new key.
    await sim.commitFiles(project.id, { 'README.md': 'unrelated change' });
    await sim.createPipeline(project.id);
    const again = (await (await client.request()).json()) as { cache: Array<{ key: string }> };
    expect(again.cache[0]?.key).toBe(first);
    await sim.commitFiles(project.id, { 'package-lock.json': '{"lockfileVersion":3,"x":1}' });
    await sim.createPipeline(project.id);
    const changed = (await (await client.request()).json()) as { cache: Array<{ key: string }> };
    expect(changed.cache[0]?.key).not.toBe(first);
  });
});
