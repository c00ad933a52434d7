// What happens between the 201 and the executor: payload validation, the two-phase accept, executor
// failures, adoption of running jobs, readiness and metrics.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AdoptedJob, JobHandler, JobOutcome } from '../../../src/manager/executor.ts';
import { fakeExecutor } from '../../../src/manager/fake-executor.ts';
import { FakeGitLab } from '../../support/fake-gitlab.ts';
import { configFor, type Harness, logged, runnerToml, startManager } from '../../support/manager-harness.ts';

let gitlab: FakeGitLab;
let harness: Harness | undefined;
const TOKEN = 'glrt-intakeintake';

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
  configFor(gitlab, `concurrent = 2\ncheck_interval = 1\n${extra}${runnerToml(TOKEN)}`);
const quick = () => fakeExecutor({ flushIntervalMs: 50, report: { minRetryDelayMs: 20 } });

describe('job intake', () => {
  it('a payload that fails validation fails that job with the reason in its trace; the manager goes on', async () => {
    const bad = gitlab.enqueue({
      payload: (p) => ({ ...p, git_info: { ...(p.git_info as object), sha: 42 } }),
    });
    const good = gitlab.enqueue();
    harness = await startManager(config(), quick());
    await harness.waitForFinished(2);
    const job = gitlab.jobs.get(bad)!;
    expect(job).toMatchObject({
      state: 'failed',
      failureReason: 'runner_system_failure',
      exitCode: 3,
      finalUpdates: 1,
    });
    expect(job.trace.toString()).toMatch(
      /ERROR: Job failed \(system failure\): podrunner cannot run this job: invalid job payload: git_info\.sha: /,
    );
    expect(job.checksum).toBe(FakeGitLab.checksumOf(job));
    expect(gitlab.jobs.get(good)!.state).toBe('success');
    expect(logged(harness, 'job payload failed validation')[0]).toMatchObject({
      job: bad,
      error: expect.stringContaining('git_info.sha'),
    });
  });

  it('accepts right after the 201 and drops a job GitLab canceled meanwhile, without running it', async () => {
    const started: number[] = [];
    const handler = fakeExecutor({ onStart: (j) => started.push(j.payload.id) });
    const id = gitlab.enqueue();
    gitlab.fault = (r) =>
      r.method === 'PUT' && JSON.parse(r.body).state === 'running'
        ? { status: 403, headers: { 'Job-Status': 'canceled' } }
        : undefined;
    harness = await startManager(config(), handler);
    await harness.waitForFinished(1);
    expect(harness.finished[0]?.outcome).toEqual({ state: 'canceled' });
    expect(started).toEqual([]);
    expect(gitlab.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
    expect(gitlab.jobs.get(id)!.state).toBe('pending');
  });

  it('the accept update comes before the executor runs', async () => {
    const states: string[] = [];
    const inner = quick();
    const handler: JobHandler = {
      handle: (job, signal) => {
        states.push(gitlab.jobs.get(job.payload.id)!.state);
        return inner.handle(job, signal);
      },
    };
    gitlab.enqueue();
    harness = await startManager(config(), handler);
    await harness.waitForFinished(1);
    expect(states).toEqual(['running']);
  });

  it('an executor that throws gets its job reported failed by the manager', async () => {
    const id = gitlab.enqueue();
    harness = await startManager(config(), { handle: () => Promise.reject(new Error('cluster on fire')) });
    await harness.waitForFinished(1);
    const job = gitlab.jobs.get(id)!;
    expect(job).toMatchObject({ state: 'failed', failureReason: 'runner_system_failure' });
    expect(job.trace.toString()).toContain('the executor failed: cluster on fire');
  });

  it('adopted jobs hold their slots before feeding starts', async () => {
    let release!: (o: JobOutcome) => void;
    const resumed = new Promise<JobOutcome>((r) => {
      release = r;
    });
    const handler: JobHandler = {
      ...quick(),
      adopt: async (runners) => {
        expect(runners.map((r) => r.config.token)).toEqual([TOKEN]);
        const job: AdoptedJob = { runnerToken: TOKEN, jobId: 77, resume: () => resumed };
        return [job, { ...job, jobId: 78 }];
      },
    };
    gitlab.enqueue();
    harness = await startManager(config(), handler);
    expect(harness.manager.slotsInUse).toBe(2);
    expect(logged(harness, 'job adopted')).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(gitlab.jobRequests()).toHaveLength(0);
    release({ state: 'success' });
    await harness.waitForFinished(3);
    expect(gitlab.finished).toHaveLength(1);
  });

  it('is ready once GitLab answered, not before, and not while stopping', async () => {
    gitlab.fault = () => 'drop';
    harness = await startManager(config(), quick());
    const reached = new Promise((r) => harness!.manager.once('gitlab-reached', () => r(undefined)));
    await gitlab.waitFor(() => gitlab.jobRequests().length > 0, 10_000, 'a dropped poll');
    expect(harness.manager.readiness()).toEqual({ ready: false, reason: 'GitLab has not answered yet' });
    gitlab.fault = () => undefined;
    await reached;
    expect(harness.manager.readiness().ready).toBe(true);
    void harness.manager.shutdown('graceful', 1000, 'test');
    expect(harness.manager.readiness()).toEqual({ ready: false, reason: 'shutting down' });
  });

  it('exports upstream metrics and the job phase histogram', async () => {
    gitlab.enqueue();
    gitlab.enqueue({ variables: { PODRUNNER_FAKE_RESULT: 'failed', PODRUNNER_FAKE_EXIT_CODE: '7' } });
    harness = await startManager(config(), quick());
    await harness.waitForFinished(2);
    const text = await harness.metrics.registry.metrics();
    expect(text).toContain('gitlab_runner_concurrent 2');
    expect(text).toMatch(
      /gitlab_runner_limit\{runner="intakeint",runner_name="glrt-intakeintake",system_id="s_0123456789ab"\} 0/,
    );
    expect(text).toMatch(/gitlab_runner_jobs_total\{[^}]*runner="intakeint"[^}]*\} 2/);
    expect(text).toMatch(/gitlab_runner_failed_jobs_total\{[^}]*failure_reason="script_failure"\} 1/);
    expect(text).toMatch(
      /gitlab_runner_api_request_statuses_total\{runner="intakeint",system_id="s_0123456789ab",endpoint="request_job",status="201",method="POST"\} 2/,
    );
    expect(text).toMatch(
      /gitlab_runner_api_request_duration_seconds_bucket\{[^}]*endpoint="update_job"[^}]*status_class="2xx"/,
    );
    expect(text).toMatch(/podrunner_job_phase_seconds_count\{runner="intakeint",phase="queue"\} 2/);
    expect(text).toMatch(/gitlab_runner_jobs\{[^}]*state="running"[^}]*\} 0/);
    expect(gitlab.jobs.get(1001)).toMatchObject({
      state: 'failed',
      failureReason: 'script_failure',
      exitCode: 7,
    });
  });
});
