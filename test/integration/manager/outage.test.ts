// GitLab going away for a whole minute while jobs run, with the manager's real retry policies: no job is
// lost or run twice, every accepted job reaches its final state once GitLab is back, and jobs queued
// meanwhile are taken afterwards.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitLabConnections } from '../../../src/gitlab/connections.ts';
import { fakeExecutor } from '../../../src/manager/fake-executor.ts';
import { Manager } from '../../../src/manager/manager.ts';
import { ManagerMetrics } from '../../../src/metrics/registry.ts';
import { FakeGitLab } from '../../support/fake-gitlab.ts';
import { configFor, runnerToml } from '../../support/manager-harness.ts';

let gitlab: FakeGitLab;
let manager: Manager;
let connections: GitLabConnections;

beforeAll(async () => {
  gitlab = await FakeGitLab.start();
  gitlab.addRunner('glrt-outageoutage0');
});
afterAll(async () => {
  await manager?.shutdown('forceful', 5000, 'test end');
  await connections?.destroy();
  await gitlab.close();
});

describe('GitLab away for a minute', () => {
  it('every job runs once and reaches its final state', { timeout: 240_000 }, async () => {
    const running = Array.from({ length: 4 }, () =>
      gitlab.enqueue({ variables: { PODRUNNER_FAKE_DURATION_MS: '5000' } }),
    );
    connections = new GitLabConnections();
    manager = new Manager({
      handler: fakeExecutor(),
      connections,
      metrics: new ManagerMetrics({ defaultMetrics: false }),
      log: pino({ level: 'silent' }),
      systemId: 's_0123456789ab',
    });
    const finished: number[] = [];
    manager.on('job-finished', (j) => finished.push(j.id));
    await manager.start(
      configFor(
        gitlab,
        `concurrent = 4\ncheck_interval = 1\n${runnerToml('glrt-outageoutage0', '  request_concurrency = 2')}`,
      ),
    );
    await gitlab.waitFor(
      () => running.every((id) => gitlab.jobs.get(id)!.state === 'running'),
      20_000,
      'jobs running',
    );

    const away = gitlab.goAway(60_000);
    const queued = Array.from({ length: 3 }, () =>
      gitlab.enqueue({ variables: { PODRUNNER_FAKE_DURATION_MS: '200' } }),
    );
    await away;

    const all = [...running, ...queued];
    await new Promise<void>((resolve) => {
      const check = () => {
        if (all.every((id) => finished.includes(id))) resolve();
      };
      manager.on('job-finished', check);
      check();
    });
    for (const id of all) {
      const job = gitlab.jobs.get(id)!;
      expect(job, `job ${id}`).toMatchObject({ state: 'success', assignments: 1, finalUpdates: 1 });
      expect(job.trace.toString()).toContain('Job succeeded');
      expect(job.checksum).toBe(FakeGitLab.checksumOf(job));
    }
  });
});
