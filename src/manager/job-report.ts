// A small stand-in for the trace sender (src/trace, built separately): appends text to a job's trace and
// sends the final update until GitLab acknowledges it (gitlab-runner-api.md §3.4, §4.3). The manager uses it
// where it must report a job itself (a payload that fails validation, a handler that failed or hung at
// shutdown) and the fake executor uses it for its trace. The lead may swap in the real TraceSender behind
// the JobReporter interface.
import { setTimeout as sleep } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import type { Logger } from 'pino';
import type { JobCoordinator, JobUpdateResult } from '../gitlab/coordinator.ts';
import { failureReasonFor } from '../gitlab/failure-reasons.ts';
import type { JobOutcome } from './executor.ts';

export interface ReportTarget {
  jobId: number;
  jobToken: string;
  coordinator: JobCoordinator;
  /** The payload's `features.failure_reasons` ([] when unknown). */
  failureReasons: readonly string[];
}

export interface ReportOptions {
  /** Failed final updates retried this many times (`job_status_final_update_retry_limit`). */
  retryLimit: number;
  minRetryDelayMs: number;
  maxRetryDelayMs: number;
  /** Give up (outcome `unreported`) at this time (epoch ms); used at shutdown. */
  deadline?: number;
  log?: Logger;
}

export const defaultReportOptions: ReportOptions = {
  retryLimit: 10,
  minRetryDelayMs: 1000,
  maxRetryDelayMs: 60_000,
};

export interface JobResult {
  state: 'success' | 'failed';
  failureReason?: string;
  exitCode?: number;
}

/** Reports a job the manager has to finish itself. */
export interface JobReporter {
  /** Appends `message` to the job's trace (after whatever it already holds) and reports the job failed. */
  fail(
    target: ReportTarget,
    result: JobResult & { state: 'failed' },
    message: string,
    options?: Partial<ReportOptions>,
  ): Promise<JobOutcome>;
}

const PATCH_LIMIT = 1024 * 1024;

export class JobReport {
  private readonly target: ReportTarget;
  private readonly options: ReportOptions;
  private chunks: Buffer[] = [];
  private size = 0;
  private crc = 0;
  /** Bytes of ours the server holds. */
  private sent = 0;
  /** Server offset where our bytes start; unknown until the first answer when appending to a foreign trace. */
  private base: number | undefined;
  cancelRequested = false;
  aborted = false;

  constructor(target: ReportTarget, options: Partial<ReportOptions> = {}, appendToExisting = false) {
    this.target = target;
    this.options = { ...defaultReportOptions, ...options };
    this.base = appendToExisting ? undefined : 0;
  }

  write(text: string | Uint8Array): void {
    const b = typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text);
    if (b.length === 0) return;
    this.chunks.push(b);
    this.size += b.length;
    this.crc = crc32(b, this.crc);
  }

  private bytes(from: number, to: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [all];
    return all.subarray(from, to);
  }

  /** Sends unsent bytes. `abort`: GitLab no longer runs the job; `failed`: try again later. */
  async flush(): Promise<'ok' | 'abort' | 'failed'> {
    for (let rounds = 0; this.sent < this.size && rounds < 100; rounds++) {
      const chunk = this.bytes(this.sent, Math.min(this.size, this.sent + PATCH_LIMIT));
      const offset = (this.base ?? 0) + this.sent;
      const res = await this.target.coordinator.patchTrace(
        this.target.jobId,
        this.target.jobToken,
        offset,
        chunk,
        false,
      );
      switch (res.kind) {
        case 'accepted':
          this.base ??= 0;
          this.sent += chunk.length;
          if (res.cancelRequested) this.cancelRequested = true;
          break;
        case 'range-mismatch':
          // Appending to a trace someone else started: our bytes begin where the server's end.
          if (this.base === undefined) this.base = res.serverLength;
          else this.sent = Math.max(0, Math.min(this.size, res.serverLength - this.base));
          break;
        case 'abort':
          this.aborted = true;
          return 'abort';
        case 'not-found':
        case 'failed':
          return 'failed';
      }
    }
    return this.sent >= this.size ? 'ok' : 'failed';
  }

  private async wait(ms: number): Promise<boolean> {
    const { deadline } = this.options;
    if (deadline !== undefined && Date.now() + ms > deadline) {
      const left = deadline - Date.now();
      if (left > 0) await sleep(left);
      return false;
    }
    await sleep(ms);
    return true;
  }

  /** Flushes, then sends the final update until GitLab acknowledges it. */
  async finish(result: JobResult): Promise<JobOutcome> {
    const { jobId, jobToken, coordinator, failureReasons } = this.target;
    const failureReason =
      result.state === 'failed' ? failureReasonFor(result.failureReason, failureReasons) : undefined;
    let failures = 0;
    let delay = this.options.minRetryDelayMs;
    for (;;) {
      const flushed = await this.flush();
      if (flushed === 'abort') return { state: 'canceled' };
      const res: JobUpdateResult =
        flushed === 'failed'
          ? { kind: 'failed', error: 'the trace could not be sent' }
          : await coordinator.updateJob(jobId, jobToken, {
              state: result.state,
              ...(failureReason ? { failureReason } : {}),
              ...(result.exitCode ? { exitCode: result.exitCode } : {}),
              // The checksum covers the whole trace, which is only known when this report wrote all of it.
              ...(this.base === 0
                ? {
                    output: {
                      checksum: `crc32:${(this.crc >>> 0).toString(16).padStart(8, '0')}`,
                      bytesize: this.size,
                    },
                  }
                : {}),
            });
      const delivered: JobOutcome =
        result.state === 'success'
          ? { state: 'success' }
          : {
              state: 'failed',
              failureReason: failureReason!,
              ...(result.exitCode ? { exitCode: result.exitCode } : {}),
            };
      switch (res.kind) {
        case 'ok':
          return delivered;
        case 'abort':
          // Recent GitLab sends `Job-Status` on every PUT: `failed` after our own `failed` update (or after an
          // earlier attempt of it that got through) means it was delivered, not that the job was aborted.
          return res.jobStatus === result.state ? delivered : { state: 'canceled' };
        case 'accepted':
          if (!(await this.wait(res.retryAfterSeconds * 1000)))
            return { state: 'unreported', error: 'deadline reached while GitLab kept answering 202' };
          continue;
        case 'trace-reset':
          this.sent = 0;
          if (this.base === undefined) this.base = 0;
          continue;
        case 'failed': {
          failures++;
          this.options.log?.warn(
            { job: jobId, error: res.error, attempt: failures },
            'final job update failed',
          );
          if (failures > this.options.retryLimit) return { state: 'unreported', error: res.error };
          if (!(await this.wait(delay)))
            return { state: 'unreported', error: `deadline reached: ${res.error}` };
          delay = Math.min(this.options.maxRetryDelayMs, delay * 2);
        }
      }
    }
  }
}

/** The JobReporter the manager uses until the trace sender is wired in. */
export const interimReporter: JobReporter = {
  async fail(target, result, message, options) {
    const report = new JobReport(target, options, true);
    report.write(message.endsWith('\n') ? message : `${message}\n`);
    return report.finish(result);
  },
};

/** `ERROR: Job failed (system failure): …` in upstream's red. */
export function systemFailureLine(message: string): string {
  return `\n\x1b[31;1mERROR: Job failed (system failure): ${message}\x1b[0;m\n`;
}
