// GitLab answering 500s, 429 with Retry-After, dropping connections, or going away for a while: no job is
// lost or run twice, and every accepted job reaches a final state in GitLab.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeExecutor } from '../../../src/manager/fake-executor.ts';
import { FakeGitLab, type RecordedRequest } from '../../support/fake-gitlab.ts';
import { configFor, type Harness, runnerToml, startManager } from '../../support/manager-harness.ts';

let gitlab: FakeGitLab;
let harness: Harness | undefined;

beforeEach(async () => {
  gitlab = await FakeGitLab.start();
  gitlab.addRunner('glrt-resilient000');
});
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
  await gitlab.close();
});

const executor = () =>
  fakeExecutor({ flushIntervalMs: 100, report: { minRetryDelayMs: 50, maxRetryDelayMs: 1000 } });
const config = () =>
  configFor(
    gitlab,
    `concurrent = 4\ncheck_interval = 1\n${runnerToml('glrt-resilient000', '  request_concurrency = 2')}`,
  );

function expectEveryJobDoneOnce(ids: number[]): void {
  for (const id of ids) {
    const job = gitlab.jobs.get(id)!;
    expect(job.state, `job ${id}`).toBe('success');
    expect(job.assignments, `job ${id} assignments`).toBe(1);
    expect(job.finalUpdates, `job ${id} final updates`).toBe(1);
    expect(job.trace.toString()).toContain('Job succeeded');
  }
}

/** Every `n`th request of the kind gets the fault. */
function every(
  n: number,
  match: (r: RecordedRequest) => boolean,
  fault: 'drop' | { status: number; headers?: Record<string, string> },
) {
  let count = 0;
  return (r: RecordedRequest) => (match(r) && ++count % n === 0 ? fault : undefined);
}

describe('GitLab misbehaving', () => {
  it('500s on every kind of request', async () => {
    gitlab.fault = every(3, () => true, { status: 500 });
    const ids = Array.from({ length: 8 }, () =>
      gitlab.enqueue({ variables: { PODRUNNER_FAKE_DURATION_MS: '250' } }),
    );
    harness = await startManager(config(), executor());
    await harness.waitForFinished(ids.length);
    expectEveryJobDoneOnce(ids);
    expect(gitlab.requests.filter((r) => r.method === 'PUT').length).toBeGreaterThan(ids.length * 2);
  });

  it('429 with Retry-After', async () => {
    gitlab.fault = every(4, () => true, { status: 429, headers: { 'Retry-After': '1' } });
    const ids = Array.from({ length: 4 }, () => gitlab.enqueue());
    harness = await startManager(config(), executor());
    await harness.waitForFinished(ids.length);
    expectEveryJobDoneOnce(ids);
  });

  it('dropped connections, also on job requests and final updates', async () => {
    gitlab.fault = every(3, (r) => r.method !== 'PATCH' || r.body.length > 0, 'drop');
    const ids = Array.from({ length: 8 }, () =>
      gitlab.enqueue({ variables: { PODRUNNER_FAKE_DURATION_MS: '200' } }),
    );
    harness = await startManager(config(), executor());
    await harness.waitForFinished(ids.length);
    expectEveryJobDoneOnce(ids);
  });

  it('GitLab going away while jobs run: they finish and are reported when it is back', async () => {
    const ids = Array.from({ length: 4 }, () =>
      gitlab.enqueue({ variables: { PODRUNNER_FAKE_DURATION_MS: '1500' } }),
    );
    harness = await startManager(config(), executor());
    await gitlab.waitFor(() => gitlab.running === 4, 10_000, '4 jobs running');
    await gitlab.goAway(4000);
    const more = Array.from({ length: 2 }, () => gitlab.enqueue());
    await harness.waitForFinished(ids.length + more.length, 45_000);
    expectEveryJobDoneOnce([...ids, ...more]);
    expect(harness.finished.every((f) => f.outcome.state === 'success')).toBe(true);
  });
});
