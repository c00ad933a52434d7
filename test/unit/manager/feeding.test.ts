// Feeding against a fake GitLab with jobs queued faster than they run: the number of running jobs never
// exceeds `concurrent` or a runner's `limit` (checked at every start, in the executor and in GitLab), no slot
// stays free while jobs wait longer than one check_interval, and every job runs exactly once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AcceptedJob, JobHandler } from '../../../src/manager/executor.ts';
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

/** The fake executor, counting jobs that run at once, in total and per runner, at every start. */
function countingExecutor() {
  const running = new Map<string, number>();
  const stats = { total: 0, maxTotal: 0, maxPerRunner: new Map<string, number>(), started: [] as number[] };
  const handler: JobHandler = fakeExecutor({
    flushIntervalMs: 100,
    report: { minRetryDelayMs: 20, maxRetryDelayMs: 200 },
    onStart: (job: AcceptedJob) => {
      const r = job.runner.config.token;
      running.set(r, (running.get(r) ?? 0) + 1);
      stats.total++;
      stats.maxTotal = Math.max(stats.maxTotal, stats.total);
      stats.maxPerRunner.set(r, Math.max(stats.maxPerRunner.get(r) ?? 0, running.get(r)!));
      stats.started.push(job.payload.id);
    },
    onEnd: (job: AcceptedJob) => {
      running.set(job.runner.config.token, running.get(job.runner.config.token)! - 1);
      stats.total--;
    },
  });
  return { handler, stats };
}

describe('feeding', () => {
  it('never runs more than concurrent, keeps slots busy while jobs wait, runs each job once', async () => {
    gitlab.addRunner('glrt-aaaaaaaaaaaa');
    gitlab.capacity = 3;
    const ids = Array.from({ length: 15 }, () =>
      gitlab.enqueue({ variables: { PODRUNNER_FAKE_DURATION_MS: '200' } }),
    );
    const { handler, stats } = countingExecutor();
    const config = configFor(
      gitlab,
      `concurrent = 3\ncheck_interval = 1\n${runnerToml('glrt-aaaaaaaaaaaa', '  request_concurrency = 2')}`,
    );
    harness = await startManager(config, handler);
    await gitlab.waitFor(() => gitlab.finished.length === ids.length, 30_000, 'all jobs finished');
    gitlab.settleIdle();
    await harness.waitForFinished(ids.length);
    expect(stats.maxTotal).toBe(3);
    expect(gitlab.maxRunning).toBeLessThanOrEqual(3);
    expect(gitlab.maxIdleWhileWaitingMs).toBeLessThan(1000);
    expect(new Set(stats.started).size).toBe(ids.length);
    for (const id of ids) {
      const job = gitlab.jobs.get(id)!;
      expect(job).toMatchObject({ state: 'success', assignments: 1, finalUpdates: 1 });
      expect(job.checksum).toBe(FakeGitLab.checksumOf(job));
      expect(job.trace.toString()).toContain('Job succeeded');
    }
    expect(logged(harness, 'job finished')).toHaveLength(ids.length);
    expect(logged(harness, 'job finished')[0]).toMatchObject({
      job: expect.any(Number),
      project: expect.any(Number),
      duration_s: expect.any(Number),
      result: 'success',
    });
  });

  it('never runs more than each runner limit, and the limits together under concurrent', async () => {
    gitlab.addRunner('glrt-limitone0000');
    gitlab.addRunner('glrt-limittwo0000');
    gitlab.capacity = 3;
    for (let i = 0; i < 12; i++) gitlab.enqueue({ variables: { PODRUNNER_FAKE_DURATION_MS: '150' } });
    const { handler, stats } = countingExecutor();
    const config = configFor(
      gitlab,
      `concurrent = 10\ncheck_interval = 1\n${runnerToml('glrt-limitone0000', '  limit = 1\n  request_concurrency = 3')}${runnerToml('glrt-limittwo0000', '  limit = 2\n  request_concurrency = 3')}`,
    );
    harness = await startManager(config, handler);
    await gitlab.waitFor(() => gitlab.finished.length === 12, 30_000, 'all jobs finished');
    expect(stats.maxPerRunner.get('glrt-limitone0000')).toBe(1);
    expect(stats.maxPerRunner.get('glrt-limittwo0000')).toBe(2);
    expect(gitlab.maxRunning).toBeLessThanOrEqual(3);
    const byRunner = (t: string) => [...gitlab.jobs.values()].filter((j) => j.runnerToken === t).length;
    expect(byRunner('glrt-limitone0000') + byRunner('glrt-limittwo0000')).toBe(12);
  });

  it('takes a job queued during a wait within one check_interval, and at once with long polling', async () => {
    gitlab.addRunner('glrt-pollpollpoll');
    const { handler } = countingExecutor();
    harness = await startManager(
      configFor(gitlab, `check_interval = 1\n${runnerToml('glrt-pollpollpoll')}`),
      handler,
    );
    await gitlab.waitFor(() => gitlab.jobRequests().length > 0, 5000, 'a first poll');
    const queuedAt = Date.now();
    const id = gitlab.enqueue();
    await gitlab.waitFor(() => gitlab.jobs.get(id)!.state !== 'queued', 5000, 'the job taken');
    expect(Date.now() - queuedAt).toBeLessThan(1500);
    expect(JSON.parse(gitlab.jobRequests()[1]!.body).last_update).toBeTruthy();

    gitlab.longPollMs = 10_000;
    await gitlab.waitFor(() => gitlab.finished.length === 1, 5000, 'the first job done');
    await gitlab.waitFor(() => gitlab.pollsWaiting > 0, 5000, 'a long poll');
    const second = Date.now();
    const id2 = gitlab.enqueue();
    await gitlab.waitFor(() => gitlab.jobs.get(id2)!.state !== 'queued', 5000, 'the second job taken');
    expect(Date.now() - second).toBeLessThan(500);
  });

  it('with strict_check_interval waits a check_interval even after a job', async () => {
    gitlab.addRunner('glrt-strictstrict');
    gitlab.enqueue({ variables: { PODRUNNER_FAKE_DURATION_MS: '10' } });
    gitlab.enqueue({ variables: { PODRUNNER_FAKE_DURATION_MS: '10' } });
    const { handler } = countingExecutor();
    harness = await startManager(
      configFor(
        gitlab,
        `concurrent = 2\ncheck_interval = 1\n${runnerToml('glrt-strictstrict', '  strict_check_interval = true')}`,
      ),
      handler,
    );
    await gitlab.waitFor(() => gitlab.finished.length === 2, 10_000, 'both jobs');
    const polls = gitlab.jobRequests().map((r) => r.at);
    expect(polls[1]! - polls[0]!).toBeGreaterThanOrEqual(950);
  });

  it('pauses a runner after repeated 403s and keeps feeding the others', async () => {
    gitlab.addRunner('glrt-goodgoodgood');
    const { handler } = countingExecutor();
    const config = configFor(
      gitlab,
      `check_interval = 1\n${runnerToml('glrt-unknownxxxx')}${runnerToml('glrt-goodgoodgood')}`,
    );
    harness = await startManager(config, handler);
    await gitlab.waitFor(() => gitlab.jobRequests('glrt-unknownxxxx').length >= 3, 10_000, '3 refused polls');
    gitlab.enqueue();
    await gitlab.waitFor(() => gitlab.finished.length === 1, 5000, 'the good runner runs a job');
    expect(gitlab.jobRequests('glrt-unknownxxxx')).toHaveLength(3);
    expect(logged(harness, /not fed until unhealthy_interval/)).toHaveLength(1);
  });
});
