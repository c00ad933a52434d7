// The fake executor: stands in for the Kubernetes executor in tests and `run --executor-plugin fake`. It
// writes a few lines to the trace, waits, and reports success or failure as the job's variables say:
//   PODRUNNER_FAKE_RESULT       success (default) | failed
//   PODRUNNER_FAKE_DURATION_MS  how long the "script" runs (default 100)
//   PODRUNNER_FAKE_EXIT_CODE    exit code of a failed job (default 1)
//   PODRUNNER_FAKE_LOG_BYTES    synthetic log output spread over the duration (default 0; `podrunner bench`)
// The header lines are sent at once, as a real executor sends its first lines, then the trace every
// flush interval.
import { setTimeout as sleep } from 'node:timers/promises';
import { version } from '../version.ts';
import { type AcceptedJob, abortMessage, type JobHandler, type JobOutcome } from './executor.ts';
import { JobReport, type ReportOptions, systemFailureLine } from './job-report.ts';

export interface FakeExecutorOptions {
  /** Trace flush period while the job "runs". */
  flushIntervalMs?: number;
  report?: Partial<ReportOptions>;
  /** Called when a job starts and ends (tests count concurrency with it). */
  onStart?: (job: AcceptedJob) => void;
  onEnd?: (job: AcceptedJob, outcome: JobOutcome) => void;
}

export function fakeExecutor(options: FakeExecutorOptions = {}): JobHandler {
  const flushEvery = options.flushIntervalMs ?? 1000;
  return {
    async handle(job, signal) {
      options.onStart?.(job);
      const { payload, runner } = job;
      const vars = new Map(payload.variables.map((v) => [v.key, v.value]));
      const durationMs = Number(vars.get('PODRUNNER_FAKE_DURATION_MS') ?? 100);
      const wantFailure = vars.get('PODRUNNER_FAKE_RESULT') === 'failed';
      const exitCode = Number(vars.get('PODRUNNER_FAKE_EXIT_CODE') ?? 1);
      const logBytes = Math.max(0, Number(vars.get('PODRUNNER_FAKE_LOG_BYTES') ?? 0) || 0);
      const report = new JobReport(
        {
          jobId: payload.id,
          jobToken: payload.token,
          coordinator: job.coordinator,
          failureReasons: payload.features.failure_reasons,
        },
        {
          retryLimit: runner.config.job_status_final_update_retry_limit,
          log: job.log,
          ...options.report,
        },
      );
      report.write(
        `Running with podrunner ${version} (fake executor)\n  on ${runner.config.name} ${runner.shortToken}\n`,
      );
      for (const step of payload.steps) {
        for (const line of step.script) report.write(`\x1b[32;1m$ ${line}\x1b[0;m\n`);
      }
      job.observer.stage('step_script', 'fake');

      let outcome: JobOutcome;
      const started = Date.now();
      let interrupted: 'abort' | 'cancel' | 'gone' | undefined;
      if ((await report.flush()) === 'abort') interrupted = 'gone';
      let logged = 0;
      while (!interrupted && Date.now() - started < durationMs) {
        try {
          await sleep(Math.min(flushEvery, durationMs - (Date.now() - started)), undefined, { signal });
        } catch {
          interrupted = 'abort';
          break;
        }
        if (logBytes > logged) {
          const due = Math.min(logBytes, Math.round((logBytes * (Date.now() - started)) / durationMs));
          report.write(syntheticLog(logged, due - logged));
          logged = due;
        }
        if ((await report.flush()) === 'abort') {
          interrupted = 'gone';
          break;
        }
        if (report.cancelRequested) {
          interrupted = 'cancel';
          break;
        }
      }
      if (interrupted === 'gone') {
        outcome = { state: 'canceled' };
      } else if (interrupted === 'abort') {
        report.write(systemFailureLine(abortMessage(signal)));
        outcome = await report.finish({ state: 'failed', failureReason: 'runner_system_failure' });
      } else if (interrupted === 'cancel') {
        report.write('\x1b[31;1mERROR: Job failed: canceled\x1b[0;m\n');
        outcome = await report.finish({ state: 'failed', failureReason: 'job_canceled' });
      } else if (wantFailure) {
        report.write(`\x1b[31;1mERROR: Job failed: exit code ${exitCode}\x1b[0;m\n`);
        outcome = await report.finish({ state: 'failed', failureReason: 'script_failure', exitCode });
      } else {
        if (logBytes > logged) report.write(syntheticLog(logged, logBytes - logged));
        report.write('\x1b[32;1mJob succeeded\x1b[0;m\n');
        outcome = await report.finish({ state: 'success' });
      }
      options.onEnd?.(job, outcome);
      return outcome;
    },
  };
}

const logLine = 'fake build output: compiling module, running checks, writing results ........\n';

/** `count` bytes of log lines, continuing at byte `from` of an endless repetition of one line. */
export function syntheticLog(from: number, count: number): string {
  if (count <= 0) return '';
  const start = from % logLine.length;
  return logLine.repeat(Math.ceil((start + count) / logLine.length) + 1).slice(start, start + count);
}
