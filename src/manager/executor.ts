// The executor plug-in: what the manager hands a job to once GitLab has given it and the accept PUT is done.
// The Kubernetes executor implements JobHandler; until it exists, tests and `run --executor-plugin fake` use
// the fake one (fake-executor.ts).
import type { Logger } from 'pino';
import type { RunnerConfig } from '../config/schema/runner.ts';
import type { JobCoordinator } from '../gitlab/coordinator.ts';
import type { JobPayload } from '../gitlab/payload.ts';

/** One `[[runners]]` entry as the manager runs it. */
export interface RunnerContext {
  /** The validated entry; replaced (not mutated) when the config is reloaded. */
  readonly config: RunnerConfig;
  readonly shortToken: string;
  readonly systemId: string;
  /** Bound to this runner's GitLab URL and TLS settings. */
  readonly coordinator: JobCoordinator;
}

/** Phases of a job that podrunner times (`podrunner_job_phase_seconds{phase}`). */
export type JobPhase = 'queue' | 'scheduling' | 'pull' | 'clone' | 'script' | 'upload';

export interface JobObserver {
  /** Records how long a phase took. */
  phase(phase: JobPhase, seconds: number): void;
  /** The stage the job is in now, for `gitlab_runner_jobs{stage,executor_stage}`. */
  stage(stage: string, executorStage?: string): void;
}

export interface AcceptedJob {
  /** The payload, validated by src/gitlab/payload.ts. */
  readonly payload: JobPayload;
  /** The 201 body exactly as GitLab sent it (stored for adoption after a restart). */
  readonly raw: string;
  readonly runner: RunnerContext;
  readonly coordinator: JobCoordinator;
  /** When the 201 arrived. */
  readonly receivedAt: Date;
  /** When the accept PUT (`state=running`) was answered. */
  readonly acceptedAt: Date;
  readonly log: Logger;
  readonly observer: JobObserver;
}

/**
 * How a job ended, after the handler reported it to GitLab:
 * - `success` / `failed`: the final update was acknowledged (or GitLab said the job is gone);
 * - `canceled`: GitLab canceled or aborted the job, nothing more is sent;
 * - `unreported`: the handler gave up reporting (GitLab unreachable past the retry limit).
 */
export type JobOutcome =
  | { state: 'success' }
  | { state: 'failed'; failureReason: string; exitCode?: number }
  | { state: 'canceled' }
  | { state: 'unreported'; error: string };

export interface JobHandler {
  /**
   * Runs an accepted job: trace, execution and final update are the handler's. When `signal` aborts
   * (shutdown timeout, a second signal) the handler must stop the job, report it failed with the abort
   * reason (see `abortMessage`) and resolve promptly. A rejection makes the manager report the job failed.
   */
  handle(job: AcceptedJob, signal: AbortSignal): Promise<JobOutcome>;
  /**
   * Jobs this executor already runs (a restarted manager adopting its pods). Called once before feeding
   * starts; each adopted job occupies a slot of its runner until `resume` settles.
   */
  adopt?(runners: readonly RunnerContext[], log: Logger): Promise<AdoptedJob[]>;
  /**
   * Jobs the executor takes over later (another manager of the same runner is gone for good); the
   * manager gives each a slot like an adopted job. Registered once, after `adopt`.
   */
  onAdoptable?(listener: (job: AdoptedJob) => void): void;
  /**
   * Whether the executor can start another job of this runner now, given the jobs of this runner the
   * manager holds (running, or being handed over, or being asked for). The feeder does not ask GitLab for a
   * job while this is false (e.g. the cluster cannot schedule the runner's pods), so jobs stay queued in
   * GitLab where another runner may take them, instead of waiting here for a scheduling timeout.
   */
  admits?(runner: RunnerContext, jobsHeld: number): boolean;
  /** Releases the executor's resources at exit. */
  close?(): Promise<void>;
}

export interface AdoptedJob {
  /** The `token` of the runner entry the job belongs to. */
  runnerToken: string;
  jobId: number;
  projectId?: number;
  resume(signal: AbortSignal): Promise<JobOutcome>;
}

export type AbortCode = 'SHUTDOWN_TIMEOUT' | 'ABORTED_BY_SIGNAL' | 'FORCEFUL_SHUTDOWN';

/** The reason carried by a job's abort signal. */
export class JobAbortError extends Error {
  readonly code: AbortCode;
  constructor(code: AbortCode, message: string) {
    super(message);
    this.name = 'JobAbortError';
    this.code = code;
  }
}

/** The line a handler writes to the trace when its signal aborts. */
export function abortMessage(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason.message;
  return typeof reason === 'string' ? reason : 'the job was aborted by the runner manager';
}
