// How a job ends, through the executor on the embedded cluster: a failing script's exit code reaches
// GitLab as `script_failure`, and `after_script` runs after success, failure, the job timeout and a
// cancel (GitLab says `canceling`, the manager deletes the pod with grace, build.sh runs after_script).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExecutorStack, startExecutorStack } from '../../support/executor-stack.ts';

let stack: ExecutorStack;
beforeAll(async () => {
  stack = await startExecutorStack();
});
afterAll(async () => {
  await stack?.stop();
});

const plain = (trace: string) => trace.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

/** The text of one section of the trace (between its start and end markers). */
function section(trace: string, name: string): string {
  const text = plain(trace);
  const start = text.indexOf(`:${name}\r`);
  if (start < 0) return '';
  const end = text.indexOf(`section_end:`, start);
  return text.slice(start, end < 0 ? undefined : end);
}

describe('a job’s end through the Kubernetes executor', () => {
  it('a script that exits 3 fails the job with exit code 3 (script_failure); after_script still runs', async () => {
    const result = await stack.pipeline(`
failing:
  image: alpine:latest
  script:
    - echo "before the failure"
    - exit 3
    - echo "never printed"
  after_script:
    - echo "after_script ran with CI_JOB_STATUS=$CI_JOB_STATUS"
`);
    const job = result.job('failing');
    expect(job.status, job.trace).toBe('failed');
    expect(job.failureReason).toBe('script_failure');
    expect(job.exitCode).toBe(3);
    const text = plain(job.trace);
    expect(text).toContain('before the failure');
    expect(text).not.toContain('never printed');
    expect(section(job.trace, 'after_script')).toContain('after_script ran with CI_JOB_STATUS=failed');
    expect(text).toContain('ERROR: Job failed: command terminated with exit code 3');
  });

  it('after_script runs after a successful script', async () => {
    const result = await stack.pipeline(`
passing:
  image: alpine:latest
  script:
    - echo "the script passed"
  after_script:
    - echo "after_script ran with CI_JOB_STATUS=$CI_JOB_STATUS"
`);
    const job = result.job('passing');
    expect(job.status, job.trace).toBe('success');
    expect(job.exitCode ?? 0).toBe(0);
    expect(section(job.trace, 'after_script')).toContain('after_script ran with CI_JOB_STATUS=success');
    expect(plain(job.trace)).toContain('Job succeeded');
  });

  it('a job past its timeout fails with job_execution_timeout and after_script’s output is in the trace', async () => {
    const result = await stack.pipeline(`
too-slow:
  image: alpine:latest
  timeout: 3s
  script:
    - echo "starting a long step"
    - sleep 120
    - echo "never printed"
  after_script:
    - echo "after_script after the timeout, CI_JOB_STATUS=$CI_JOB_STATUS"
`);
    const job = result.job('too-slow');
    expect(job.status, job.trace).toBe('failed');
    expect(job.failureReason).toBe('job_execution_timeout');
    const text = plain(job.trace);
    expect(text).toContain('starting a long step');
    expect(text).not.toContain('never printed');
    expect(section(job.trace, 'after_script')).toContain('after_script after the timeout');
    expect(text).toContain('ERROR: Job failed: execution took longer than 3s seconds');
  });

  it('a canceled job: GitLab says canceling, the pod is deleted with grace, after_script runs, the job ends canceled', async () => {
    const started = await stack.startPipeline(`
long-running:
  image: alpine:latest
  script:
    - echo "waiting to be canceled"
    # Output keeps the trace updates (and GitLab's Job-Status answers) coming every 3 s.
    - for i in $(seq 1 300); do echo "tick $i"; sleep 1; done
    - echo "never printed"
  after_script:
    - echo "after_script after the cancel, CI_JOB_STATUS=$CI_JOB_STATUS"
`);
    const [jobId] = started.jobIds;
    if (jobId === undefined) throw new Error('the pipeline has no job');
    await stack.traceContains(jobId, 'waiting to be canceled');
    expect(stack.gitlab.cancelJob(jobId)).toBe(true);
    expect(stack.gitlab.job(jobId)?.status).toBe('canceling');
    const result = await started.done;
    const job = result.job('long-running');
    expect(job.status, job.trace).toBe('canceled');
    const text = plain(job.trace);
    expect(text).not.toContain('never printed');
    expect(section(job.trace, 'after_script')).toContain('after_script after the cancel');
    // The pod went through a graceful deletion (a deletionTimestamp with a grace period), not a kill.
    expect(stack.logLines.join('')).toContain('GitLab asked to cancel the job: stopping its pod gracefully');
    const pod = await stack.podGone(jobId);
    expect(pod.deletionGraceSeconds).toBeGreaterThan(0);
  });
});
