// The interim reporter: incremental patches with 416 resume, the final update loop (202 intervals, retries,
// Job-Status), checksums, and appending to a trace someone else started.
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type {
  JobCoordinator,
  JobUpdate,
  JobUpdateResult,
  TracePatchResult,
} from '../../../src/gitlab/coordinator.ts';
import { failureReasonFor } from '../../../src/gitlab/failure-reasons.ts';
import { shortToken } from '../../../src/gitlab/tokens.ts';
import { interimReporter, JobReport } from '../../../src/manager/job-report.ts';

class Coordinator implements JobCoordinator {
  trace = Buffer.alloc(0);
  updates: JobUpdate[] = [];
  updateAnswers: JobUpdateResult[] = [];
  patchAnswers: (TracePatchResult | undefined)[] = [];
  async updateJob(_id: number, _token: string, update: JobUpdate): Promise<JobUpdateResult> {
    this.updates.push(update);
    return this.updateAnswers.shift() ?? { kind: 'ok', cancelRequested: false };
  }
  async patchTrace(
    _id: number,
    _token: string,
    offset: number,
    chunk: Uint8Array,
  ): Promise<TracePatchResult> {
    const forced = this.patchAnswers.shift();
    if (forced) return forced;
    if (offset !== this.trace.length) return { kind: 'range-mismatch', serverLength: this.trace.length };
    this.trace = Buffer.concat([this.trace, chunk]);
    return { kind: 'accepted', serverLength: this.trace.length, cancelRequested: false };
  }
}

const target = (c: JobCoordinator) => ({
  jobId: 1,
  jobToken: 't',
  coordinator: c,
  failureReasons: ['script_failure', 'unknown_failure'],
});
const fast = { minRetryDelayMs: 5, maxRetryDelayMs: 20 };

describe('JobReport', () => {
  it('sends the trace, then the final update with its checksum and size', async () => {
    const c = new Coordinator();
    const r = new JobReport(target(c), fast);
    r.write('hello ');
    expect(await r.flush()).toBe('ok');
    r.write('world\n');
    expect(await r.finish({ state: 'success' })).toEqual({ state: 'success' });
    expect(c.trace.toString()).toBe('hello world\n');
    const crc = `crc32:${(crc32('hello world\n') >>> 0).toString(16).padStart(8, '0')}`;
    expect(c.updates).toEqual([{ state: 'success', output: { checksum: crc, bytesize: 12 } }]);
  });

  it('resumes at the server offset after a 416', async () => {
    const c = new Coordinator();
    const r = new JobReport(target(c), fast);
    r.write('abcdef');
    c.patchAnswers.push({ kind: 'failed', error: 'lost answer' });
    expect(await r.flush()).toBe('failed');
    c.trace = Buffer.from('abc');
    expect(await r.flush()).toBe('ok');
    expect(c.trace.toString()).toBe('abcdef');
  });

  it('repeats the final update after 202s, retries failures, and maps failure reasons', async () => {
    const c = new Coordinator();
    c.updateAnswers.push(
      { kind: 'accepted', retryAfterSeconds: 0.01 },
      { kind: 'failed', error: '502' },
      { kind: 'ok', cancelRequested: false },
    );
    const r = new JobReport(target(c), fast);
    expect(await r.finish({ state: 'failed', failureReason: 'image_pull_failure', exitCode: 2 })).toEqual({
      state: 'failed',
      failureReason: 'runner_system_failure',
      exitCode: 2,
    });
    expect(c.updates).toHaveLength(3);
    expect(c.updates[0]).toMatchObject({
      state: 'failed',
      failureReason: 'runner_system_failure',
      exitCode: 2,
    });
  });

  it('gives up after the retry limit; a canceled job ends the loop; Job-Status matching our state means delivered', async () => {
    const c = new Coordinator();
    c.updateAnswers.push(
      ...Array.from({ length: 5 }, () => ({ kind: 'failed', error: 'HTTP 400' }) as const),
    );
    expect(await new JobReport(target(c), { ...fast, retryLimit: 2 }).finish({ state: 'success' })).toEqual({
      state: 'unreported',
      error: 'HTTP 400',
    });
    expect(c.updates).toHaveLength(3);
    c.updateAnswers = [{ kind: 'abort', status: 403, jobStatus: 'canceled' }];
    expect(await new JobReport(target(c), fast).finish({ state: 'success' })).toEqual({ state: 'canceled' });
    c.updateAnswers = [{ kind: 'abort', status: 200, jobStatus: 'failed' }];
    expect(
      await new JobReport(target(c), fast).finish({ state: 'failed', failureReason: 'script_failure' }),
    ).toEqual({
      state: 'failed',
      failureReason: 'script_failure',
    });
  });

  it('a deadline bounds the loop', async () => {
    const c = new Coordinator();
    c.updateAnswers.push(
      ...Array.from({ length: 20 }, () => ({ kind: 'accepted', retryAfterSeconds: 1 }) as const),
    );
    const started = Date.now();
    const out = await new JobReport(target(c), { ...fast, deadline: Date.now() + 300 }).finish({
      state: 'success',
    });
    expect(out.state).toBe('unreported');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('the manager reporter appends to an existing trace and sends no checksum it cannot know', async () => {
    const c = new Coordinator();
    c.trace = Buffer.from('earlier output\n');
    const out = await interimReporter.fail(
      target(c),
      { state: 'failed', failureReason: 'runner_system_failure' },
      'stopped',
      fast,
    );
    expect(out).toEqual({ state: 'failed', failureReason: 'runner_system_failure' });
    expect(c.trace.toString()).toBe('earlier output\nstopped\n');
    expect(c.updates[0]?.output).toBeUndefined();
  });
});

describe('protocol helpers', () => {
  it('maps failure reasons the server does not list (§3.3)', () => {
    expect(failureReasonFor(undefined, [])).toBe('script_failure');
    expect(failureReasonFor('job_execution_timeout', [])).toBe('job_execution_timeout');
    expect(failureReasonFor('image_pull_failure', ['image_pull_failure'])).toBe('image_pull_failure');
    expect(failureReasonFor('image_pull_failure', [])).toBe('runner_system_failure');
    expect(failureReasonFor('configuration_error', [])).toBe('script_failure');
    expect(failureReasonFor('job_canceled', ['unknown_failure'])).toBe('unknown_failure');
  });

  it('short tokens drop the known prefixes', () => {
    expect(shortToken('glrt-t3_9kWmQp2xZr7vLs4NbYtF')).toBe('9kWmQp2xZ');
    expect(shortToken('glrtr-abcdefghijklmn')).toBe('abcdefghi');
    expect(shortToken('glrt-abcdefghijklmn')).toBe('abcdefghi');
    expect(shortToken('GR1348941aBcDeFgHiJkL')).toBe('aBcDeFgHi');
    expect(shortToken('plainTokenValue')).toBe('plainToke');
  });
});
