// A reloaded config applies to the running manager: concurrent and limits at once, runners added and
// removed (their running jobs go on).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeExecutor } from '../../../src/manager/fake-executor.ts';
import { FakeGitLab } from '../../support/fake-gitlab.ts';
import { configFor, type Harness, logged, runnerToml, startManager } from '../../support/manager-harness.ts';

let gitlab: FakeGitLab;
let harness: Harness | undefined;

beforeEach(async () => {
  gitlab = await FakeGitLab.start();
  gitlab.addRunner('glrt-reloadAAAAAA');
  gitlab.addRunner('glrt-reloadBBBBBB');
});
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
  await gitlab.close();
});

const executor = () => fakeExecutor({ flushIntervalMs: 100, report: { minRetryDelayMs: 20 } });

describe('config reload', () => {
  it('raises concurrent for jobs already waiting', async () => {
    for (let i = 0; i < 6; i++) gitlab.enqueue({ variables: { PODRUNNER_FAKE_DURATION_MS: '600' } });
    harness = await startManager(
      configFor(
        gitlab,
        `concurrent = 1\ncheck_interval = 1\n${runnerToml('glrt-reloadAAAAAA', '  request_concurrency = 3')}`,
      ),
      executor(),
    );
    await gitlab.waitFor(() => gitlab.running === 1, 5000, 'one job running');
    expect(gitlab.maxRunning).toBe(1);
    await harness.manager.apply(
      configFor(
        gitlab,
        `concurrent = 3\ncheck_interval = 1\n${runnerToml('glrt-reloadAAAAAA', '  request_concurrency = 3')}`,
      ),
    );
    await gitlab.waitFor(() => gitlab.running === 3, 5000, 'three jobs running');
    await harness.waitForFinished(6);
    expect(gitlab.maxRunning).toBe(3);
  });

  it('adds and removes runners; the removed runner stops asking while its job finishes', async () => {
    const a = runnerToml('glrt-reloadAAAAAA', '  limit = 1');
    const b = runnerToml('glrt-reloadBBBBBB', '  limit = 1');
    const long = gitlab.enqueue({ variables: { PODRUNNER_FAKE_DURATION_MS: '1000' } });
    harness = await startManager(configFor(gitlab, `concurrent = 4\ncheck_interval = 1\n${a}`), executor());
    await gitlab.waitFor(() => gitlab.jobs.get(long)!.state === 'running', 5000, 'a job on A');
    await harness.manager.apply(configFor(gitlab, `concurrent = 4\ncheck_interval = 1\n${b}`));
    expect(logged(harness, 'runner added')).toHaveLength(1);
    expect(logged(harness, /runner removed/)).toHaveLength(1);
    const asked = gitlab.jobRequests('glrt-reloadAAAAAA').length;
    const next = gitlab.enqueue();
    await harness.waitForFinished(2);
    expect(gitlab.jobs.get(long)).toMatchObject({ state: 'success', runnerToken: 'glrt-reloadAAAAAA' });
    expect(gitlab.jobs.get(next)).toMatchObject({ state: 'success', runnerToken: 'glrt-reloadBBBBBB' });
    expect(gitlab.jobRequests('glrt-reloadAAAAAA')).toHaveLength(asked);
  });

  it('applies a new limit and request_concurrency to a runner in place', async () => {
    harness = await startManager(
      configFor(
        gitlab,
        `concurrent = 5\ncheck_interval = 1\n${runnerToml('glrt-reloadAAAAAA', '  limit = 1')}`,
      ),
      executor(),
    );
    await harness.manager.apply(
      configFor(
        gitlab,
        `concurrent = 5\ncheck_interval = 1\n${runnerToml('glrt-reloadAAAAAA', '  limit = 2\n  request_concurrency = 2')}`,
      ),
    );
    for (let i = 0; i < 4; i++) gitlab.enqueue({ variables: { PODRUNNER_FAKE_DURATION_MS: '500' } });
    await harness.waitForFinished(4);
    expect(gitlab.maxRunning).toBe(2);
    const text = await harness.metrics.registry.metrics();
    expect(text).toMatch(/gitlab_runner_limit\{[^}]*\} 2/);
    expect(text).toMatch(/gitlab_runner_request_concurrency\{[^}]*\} 2/);
  });
});
