// Two runners polling at once, each with several request workers, over many queued jobs: every job is
// handed out exactly once.
import { afterEach, describe, expect, it } from 'vitest';
import type { SimGitlab } from '../../../src/sim/gitlab/server.ts';
import { projectWithPipelineFile, runnerClient, withSim } from './helpers.ts';

const JOBS = 120;

let sim: SimGitlab;
afterEach(async () => {
  await sim?.close();
});

describe('two runners racing for jobs', () => {
  it('never gives the same job twice', async () => {
    sim = await withSim({ acceptFinalUpdates: false });
    const yaml = Array.from({ length: JOBS }, (_, i) => `job-${i}: { script: [echo ${i}] }`).join('\n');
    const project = await projectWithPipelineFile(sim, yaml);
    const pipeline = await sim.createPipeline(project.id);
    const runners = [
      runnerClient(sim, sim.createRunner().token, undefined, 's_aaaaaaaaaaaa'),
      runnerClient(sim, sim.createRunner().token, undefined, 's_bbbbbbbbbbbb'),
    ];
    const handedOut: Array<{ runner: number; job: number }> = [];
    const statuses = new Map<number, number>();

    const worker = async (index: number) => {
      const client = runners[index % 2];
      if (!client) return;
      for (let attempt = 0; attempt < JOBS * 10 && handedOut.length < JOBS; attempt++) {
        const res = await client.request();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status !== 201) {
          await res.arrayBuffer();
          continue;
        }
        const job = (await res.json()) as { id: number; token: string };
        handedOut.push({ runner: index % 2, job: job.id });
        expect((await client.update(job.id, job.token, { state: 'running' })).status).toBe(200);
        expect((await client.update(job.id, job.token, { state: 'success' })).status).toBe(200);
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, i) => worker(i)));

    const ids = handedOut.map((h) => h.job);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(JOBS);
    expect(new Set(handedOut.map((h) => h.runner))).toEqual(new Set([0, 1]));
    const finished = await sim.waitForPipeline(pipeline.id, { timeoutMs: 10_000 });
    expect(finished.status).toBe('success');
    expect([...statuses.keys()].every((s) => [201, 204, 409].includes(s))).toBe(true);
  });
});
