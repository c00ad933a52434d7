// Stopping: graceful (running jobs finish and are reported), bounded by shutdown_timeout (then aborted and
// reported failed with a clear message), escalated by a second signal, forceful; and an executor that
// ignores its abort signal is reported by the manager. Nothing is left half-reported.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobHandler } from '../../../src/manager/executor.ts';
import { fakeExecutor } from '../../../src/manager/fake-executor.ts';
import { JobReport } from '../../../src/manager/job-report.ts';
import { FakeGitLab } from '../../support/fake-gitlab.ts';
import { configFor, type Harness, runnerToml, startManager } from '../../support/manager-harness.ts';

let gitlab: FakeGitLab;
let harness: Harness | undefined;
const TOKEN = 'glrt-stopstopstop';

beforeEach(async () => {
  gitlab = await FakeGitLab.start();
  gitlab.addRunner(TOKEN);
});
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
  await gitlab.close();
});

const config = (extra = '') =>
  configFor(gitlab, `concurrent = 3\ncheck_interval = 1\n${runnerToml(TOKEN, extra)}`);
const executor = () => fakeExecutor({ flushIntervalMs: 100, report: { minRetryDelayMs: 20 } });

async function startWith(durationMs: number, jobs: number, handler: JobHandler = executor(), extra = '') {
  const ids = Array.from({ length: jobs }, () =>
    gitlab.enqueue({ variables: { PODRUNNER_FAKE_DURATION_MS: String(durationMs) } }),
  );
  harness = await startManager(config(extra), handler, { abortGraceMs: 1000 });
  await gitlab.waitFor(
    () => [...gitlab.jobs.values()].filter((j) => j.state === 'running').length === jobs,
    10_000,
    'jobs running',
  );
  return ids;
}

describe('shutdown', () => {
  it('graceful: stops asking for jobs, lets running jobs finish and report', async () => {
    const ids = await startWith(800, 3);
    const waiting = gitlab.enqueue();
    const result = await harness!.manager.shutdown('graceful', 30_000, 'SIGQUIT');
    expect(result).toEqual({ finished: 3, aborted: 0, unreported: 0 });
    for (const id of ids) expect(gitlab.jobs.get(id)!.state).toBe('success');
    expect(gitlab.jobs.get(waiting)!.state).toBe('queued');
    const polls = gitlab.jobRequests().length;
    await new Promise((r) => setTimeout(r, 1200));
    expect(gitlab.jobRequests()).toHaveLength(polls);
  });

  it('graceful, bounded by shutdown_timeout: the rest are aborted and reported failed with the reason', async () => {
    const ids = await startWith(60_000, 2);
    const started = Date.now();
    const result = await harness!.manager.shutdown('graceful', 500, 'SIGQUIT');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result).toEqual({ finished: 0, aborted: 2, unreported: 0 });
    for (const id of ids) {
      const job = gitlab.jobs.get(id)!;
      expect(job).toMatchObject({ state: 'failed', failureReason: 'runner_system_failure', finalUpdates: 1 });
      expect(job.trace.toString()).toContain(
        'podrunner is stopping (SIGQUIT) and the job did not finish within shutdown_timeout (0.5s)',
      );
    }
  });

  it('a second signal aborts running jobs now', async () => {
    const ids = await startWith(60_000, 2);
    const stopping = harness!.manager.shutdown('graceful', 60_000, 'SIGQUIT');
    const again = harness!.manager.shutdown('graceful', 60_000, 'SIGQUIT');
    expect(again).toBe(stopping);
    expect(await stopping).toEqual({ finished: 0, aborted: 2, unreported: 0 });
    for (const id of ids)
      expect(gitlab.jobs.get(id)!.trace.toString()).toContain(
        'podrunner is stopping: SIGQUIT; the job was aborted',
      );
  });

  it('forceful: aborts at once and waits for the reports', async () => {
    const ids = await startWith(60_000, 3);
    expect(await harness!.manager.shutdown('forceful', 10_000, 'SIGTERM')).toEqual({
      finished: 0,
      aborted: 3,
      unreported: 0,
    });
    for (const id of ids) {
      expect(gitlab.jobs.get(id)).toMatchObject({ state: 'failed', failureReason: 'runner_system_failure' });
      expect(gitlab.jobs.get(id)!.trace.toString()).toContain(
        'podrunner is stopping (SIGTERM); the job was aborted',
      );
    }
  });

  it('an executor that ignores the abort: the manager appends the reason to its trace and reports it', async () => {
    const hung: JobHandler = {
      async handle(job) {
        const report = new JobReport({
          jobId: job.payload.id,
          jobToken: job.payload.token,
          coordinator: job.coordinator,
          failureReasons: [],
        });
        report.write('some output of the job\n');
        await report.flush();
        return new Promise(() => {});
      },
    };
    const [id] = await startWith(0, 1, hung);
    await gitlab.waitFor(() => gitlab.jobs.get(id!)!.trace.length > 0, 5000, 'the first trace bytes');
    expect(await harness!.manager.shutdown('graceful', 200, 'SIGQUIT')).toEqual({
      finished: 0,
      aborted: 1,
      unreported: 0,
    });
    const job = gitlab.jobs.get(id!)!;
    expect(job).toMatchObject({ state: 'failed', failureReason: 'runner_system_failure' });
    const trace = job.trace.toString();
    expect(trace.startsWith('some output of the job\n')).toBe(true);
    expect(trace).toContain('did not finish within shutdown_timeout');
  });

  it('a job whose final state cannot be delivered is counted as unreported', async () => {
    const ids = await startWith(60_000, 1, executor(), '  job_status_final_update_retry_limit = 2');
    gitlab.fault = (r) => (r.method === 'PUT' || r.method === 'PATCH' ? { status: 400 } : undefined);
    const result = await harness!.manager.shutdown('forceful', 3000, 'SIGINT');
    expect(result.unreported).toBe(1);
    expect(gitlab.jobs.get(ids[0]!)!.state).toBe('running');
  });
});
