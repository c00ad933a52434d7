// The embedded GitLab's injected answer delay (`responseDelayMs`), which `podrunner bench --gitlab-latency`
// sets to model a GitLab far away.
import { afterEach, describe, expect, it } from 'vitest';
import type { SimGitlab } from '../../../src/sim/gitlab/server.ts';
import { runnerClient, withSim } from './helpers.ts';

let sim: SimGitlab | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('responseDelayMs', () => {
  it('holds every answer that long, and answers at once again when set back to 0', async () => {
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
