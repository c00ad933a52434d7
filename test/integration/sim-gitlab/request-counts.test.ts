// The embedded GitLab's request counters and injected answer delay, which `podrunner bench` reads and sets.
import { afterEach, describe, expect, it } from 'vitest';
import type { SimGitlab } from '../../../src/sim/gitlab/server.ts';
import { projectWithPipelineFile, runnerClient, withSim } from './helpers.ts';

let sim: SimGitlab | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('request counts and response delay', () => {
  it('counts every request by endpoint class, faults and rejected tokens included', async () => {
    sim = await withSim();
    const client = runnerClient(sim, sim.createRunner({ runUntagged: true }).token);
    await projectWithPipelineFile(sim, 'build:\n  script: [echo hi]\n');
    expect(sim.requestCounts()).toEqual({});

    expect((await client.request()).status).toBe(204);
    sim.setFaults([{ endpoint: 'request_job', kind: '503', times: 1 }]);
    expect((await client.request()).status).toBe(503);
    expect((await client.update(99, 'nope', { state: 'running' })).status).toBe(403);
    expect((await client.patch(99, 'nope', 0, 'x')).status).toBe(403);
    await (await fetch(`${sim.url}/api/v4/version`)).arrayBuffer();

    expect(sim.requestCounts()).toEqual({ request_job: 2, update_job: 1, patch_trace: 1, api: 1 });
    // a copy: the caller cannot change the counters
    const counts = sim.requestCounts();
    counts.request_job = 0;
    expect(sim.requestCounts().request_job).toBe(2);
  });

  it('holds every answer for responseDelayMs, and answers at once again when set back to 0', async () => {
    sim = await withSim({ responseDelayMs: 300 });
    const client = runnerClient(sim, sim.createRunner().token);
    let answered = false;
    const pending = client.request().then((res) => {
      answered = true;
      return res.status;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    expect(await pending).toBe(204);
    sim.configure({ responseDelayMs: 0 });
    expect((await client.request()).status).toBe(204);
    expect(() => sim?.configure({ responseDelayMs: -1 })).toThrow();
  });
});
