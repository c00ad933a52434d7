// Feeding details against the fake GitLab, where each job request can be inspected: `last_update` echoed and
// a job queued during a wait taken within one check_interval, `strict_check_interval`, and a runner paused
// after repeated 403s. Caps, slot use and long polling are tested against the embedded GitLab
// (test/integration/manager/concurrency.test.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobHandler } from '../../../src/manager/executor.ts';
import { fakeExecutor } from '../../../src/manager/fake-executor.ts';
import { FakeGitLab } from '../../support/fake-gitlab.ts';
import { configFor, type Harness, logged, runnerToml, startManager } from '../../support/manager-harness.ts';

let gitlab: FakeGitLab;
let harness: Harness | undefined;

beforeEach(async () => {
  gitlab = await FakeGitLab.start();
});
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
  await gitlab.close();
});

const executor = (): JobHandler =>
  fakeExecutor({ flushIntervalMs: 100, report: { minRetryDelayMs: 20, maxRetryDelayMs: 200 } });

describe('feeding', () => {
  it('takes a job queued during a wait within one check_interval, echoing X-GitLab-Last-Update', async () => {
    gitlab.addRunner('glrt-pollpollpoll');
    harness = await startManager(
      configFor(gitlab, `check_interval = 1\n${runnerToml('glrt-pollpollpoll')}`),
      executor(),
    );
    await gitlab.waitFor(() => gitlab.jobRequests().length > 0, 5000, 'a first poll');
    const queuedAt = Date.now();
    const id = gitlab.enqueue();
    await gitlab.waitFor(() => gitlab.jobs.get(id)!.state !== 'queued', 5000, 'the job taken');
    expect(Date.now() - queuedAt).toBeLessThan(1500);
    expect(JSON.parse(gitlab.jobRequests()[1]!.body).last_update).toBeTruthy();
  });

  it('with strict_check_interval waits a check_interval even after a job', async () => {
    gitlab.addRunner('glrt-strictstrict');
    gitlab.enqueue({ variables: { PODRUNNER_FAKE_DURATION_MS: '10' } });
    gitlab.enqueue({ variables: { PODRUNNER_FAKE_DURATION_MS: '10' } });
    harness = await startManager(
      configFor(
        gitlab,
        `concurrent = 2\ncheck_interval = 1\n${runnerToml('glrt-strictstrict', '  strict_check_interval = true')}`,
      ),
      executor(),
    );
    await gitlab.waitFor(() => gitlab.finished.length === 2, 10_000, 'both jobs');
    const polls = gitlab.jobRequests().map((r) => r.at);
    expect(polls[1]! - polls[0]!).toBeGreaterThanOrEqual(950);
  });

  it('pauses a runner after repeated 403s and keeps feeding the others', async () => {
    gitlab.addRunner('glrt-goodgoodgood');
    const config = configFor(
      gitlab,
      `check_interval = 1\n${runnerToml('glrt-unknownxxxx')}${runnerToml('glrt-goodgoodgood')}`,
    );
    harness = await startManager(config, executor());
    await gitlab.waitFor(() => gitlab.jobRequests('glrt-unknownxxxx').length >= 3, 10_000, '3 refused polls');
    gitlab.enqueue();
    await gitlab.waitFor(() => gitlab.finished.length === 1, 5000, 'the good runner runs a job');
    expect(gitlab.jobRequests('glrt-unknownxxxx')).toHaveLength(3);
    expect(logged(harness, /not fed until unhealthy_interval/)).toHaveLength(1);
  });
});
