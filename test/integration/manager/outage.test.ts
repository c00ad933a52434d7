// The embedded GitLab going away for a whole minute while jobs run, with the manager's real retry policies
// (transport retries, accept and final-update retries with their default backoff): the HTTP server stops,
// its state is kept (`statePath`), and a new one serves that state on the same port a minute later. Jobs
// that ran meanwhile are reported once GitLab is back, jobs that waited in the queue are taken afterwards;
// counted from GitLab's side, every job is accepted once and reaches its final state.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { GitLabConnections } from '../../../src/gitlab/connections.ts';
import { fakeExecutor } from '../../../src/manager/fake-executor.ts';
import { Manager } from '../../../src/manager/manager.ts';
import { ManagerMetrics } from '../../../src/metrics/registry.ts';
import {
  type SimGitlab,
  type StartSimGitlabOptions,
  startSimGitlab,
} from '../../../src/sim/gitlab/server.ts';
import { JobLedger, manyJobsYaml } from '../../support/job-ledger.ts';
import { configFor } from '../../support/manager-harness.ts';

let sim: SimGitlab | undefined;
let manager: Manager | undefined;
let connections: GitLabConnections | undefined;
let dir: string | undefined;
const ledger = new JobLedger();

afterAll(async () => {
  await manager?.shutdown('forceful', 5000, 'test end');
  await connections?.destroy();
  ledger.close();
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('GitLab away for a minute', () => {
  it('every job runs once and reaches its final state', { timeout: 300_000 }, async () => {
    dir = await mkdtemp(join(tmpdir(), 'podrunner-outage-'));
    const options: StartSimGitlabOptions = {
      statePath: join(dir, 'state.json'),
      longPollSeconds: 5,
      twoPhaseAckTimeoutSeconds: 10,
    };
    sim = await startSimGitlab(options);
    ledger.attach(sim);
    const runner = sim.createRunner({ runUntagged: true });
    const project = await sim.createProject({ name: 'outage' });
    await sim.commitFiles(project.id, { '.gitlab-ci.yml': manyJobsYaml(4, () => 5000) });
    const running = (await sim.createPipeline(project.id)).jobs.map((j) => j.id);

    connections = new GitLabConnections();
    manager = new Manager({
      handler: fakeExecutor(),
      connections,
      metrics: new ManagerMetrics({ defaultMetrics: false }),
      log: pino({ level: 'silent' }),
      systemId: 's_0123456789ab',
    });
    const finished = new Map<number, string[]>();
    manager.on('job-finished', (j) => finished.set(j.id, [...(finished.get(j.id) ?? []), j.outcome.state]));
    await manager.start(
      configFor(
        sim,
        `concurrent = 4
check_interval = 1
[[runners]]
  name = "outage"
  url = "GITLAB_URL"
  token = "${runner.token}"
  executor = "kubernetes"
  request_concurrency = 2
`,
      ),
    );
    await ledger.waitFor(
      () => running.every((id) => ledger.job(id)?.status === 'running'),
      'the first jobs running',
      30_000,
    );
    // Three more wait in the queue (every slot is busy) while GitLab is away.
    await sim.commitFiles(project.id, { '.gitlab-ci.yml': manyJobsYaml(3, () => 200) });
    const queued = (await sim.createPipeline(project.id)).jobs.map((j) => j.id);
    expect(queued.every((id) => ledger.job(id)?.status === 'pending')).toBe(true);

    const port = Number(new URL(sim.url).port);
    await sim.close();
    sim = undefined;
    await sleep(60_000);
    sim = await startSimGitlab({ ...options, port });
    ledger.attach(sim);

    const all = [...running, ...queued];
    await ledger.waitFor(() => ledger.allFinal(all), 'every job final after the outage', 180_000);
    await new Promise<void>((resolve) => {
      const check = () => {
        if (all.every((id) => finished.has(id))) resolve();
      };
      manager!.on('job-finished', check);
      check();
    });
    for (const id of all) {
      expect(ledger.job(id), `job ${id}`).toMatchObject({ status: 'success', accepts: 1, finals: 1 });
      expect(finished.get(id), `job ${id} as the manager saw it`).toEqual(['success']);
      expect(sim.trace(id).match(/Job succeeded/g), `job ${id} trace`).toHaveLength(1);
    }
  });
});
