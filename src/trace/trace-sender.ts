// Sends a job's trace to GitLab the way gitlab-runner's clientJobTrace does (network/trace.go,
// gitlab-runner-api.md §3.4, §4.3): every update interval one PATCH of at most 1 MiB from
// `sentOffset`; 416 resumes at the server's length; 404 retries next tick; `Job-Status: canceling`
// asks for a graceful cancel, `canceled`/`failed`/403 aborts; a keep-alive PUT when nothing
// succeeded for the force-send interval. `finish` flushes everything and sends the final PUT.
//
// Unlike upstream, output does not wait out GitLab's interval (60 s while nobody watches the job)
// when it is news: the first output of the job's containers (`flushSoon`), and output after a
// quiet spell, go out after a short coalescing delay. Those prompt PATCHes are bounded: at most one
// per quiet spell (never sooner than `quietMs` after the previous PATCH), and no PATCH follows
// another within `minPatchGapMs`; steady output is sent at GitLab's interval as upstream does.
import { EventEmitter } from 'node:events';
import type {
  FinalJobState,
  JobCoordinator,
  JobUpdate,
  JobUpdateResult,
  RemoteJobStatus,
  TracePatchResult,
} from '../gitlab/coordinator.ts';
import { type Clock, systemClock } from './clock.ts';
import { mapFailureReason } from './failure-reasons.ts';
import type { TraceSource } from './trace-buffer.ts';

export const DEFAULT_UPDATE_INTERVAL_MS = 3_000;
export const MAX_UPDATE_INTERVAL_MS = 15 * 60_000;
export const DEFAULT_FORCE_SEND_INTERVAL_MS = 30_000;
export const MAX_FORCE_SEND_INTERVAL_MS = 30 * 60_000;
export const DEFAULT_TRACE_PATCH_LIMIT = 1024 * 1024;
export const DEFAULT_FINAL_UPDATE_RETRY_LIMIT = 10;
export const DEFAULT_FINAL_UPDATE_BACKOFF_MAX_MS = 60 * 60_000;
/** Abort reasons of the loop's own signals: `abort()` without one builds a DOMException each time. */
const WOKEN = new Error('trace sender woken');
const STOPPED = new Error('trace sender stopped');
/** How long news waits for more output to join it in one PATCH. */
export const DEFAULT_PROMPT_DELAY_MS = 200;
/** Output after this long without output is news; a PATCH for it waits this long after the last one. */
export const DEFAULT_QUIET_MS = 3_000;
/** No PATCH within this long after the previous one (the final flush excepted). */
export const DEFAULT_MIN_PATCH_GAP_MS = 250;

export interface TraceSenderOptions {
  coordinator: JobCoordinator;
  jobId: number;
  jobToken: string;
  source: TraceSource;
  /** `CI_DEBUG_TRACE`: sent as `debug_trace=true` on every PATCH. */
  debugTrace?: boolean;
  /** The job's `features.failure_reasons`. */
  supportedFailureReasons?: readonly string[];
  clock?: Clock;
  updateIntervalMs?: number;
  maxUpdateIntervalMs?: number;
  forceSendIntervalMs?: number;
  /** FF_USE_DYNAMIC_TRACE_FORCE_SEND_INTERVAL: force-send = 4 × interval, clamped to 30 s…30 min. */
  dynamicForceSendInterval?: boolean;
  maxPatchBytes?: number;
  /** `job_status_final_update_retry_limit` (default 10). */
  finalUpdateRetryLimit?: number;
  finalUpdateBackoffMaxMs?: number;
  /** Bytes GitLab already holds (adoption by a restarted manager): sending starts there. */
  serverLength?: number;
  /** Coalescing delay of a prompt PATCH (news, see the file comment); 0 sends only at the interval. */
  promptDelayMs?: number;
  quietMs?: number;
  minPatchGapMs?: number;
}

export interface AbortInfo {
  source: 'patch' | 'update';
  status: number;
  jobStatus?: RemoteJobStatus;
}

export type FinishOutcome =
  | { result: 'completed'; attempts: number }
  /** GitLab answered 403/404 or `Job-Status: canceled|failed`: the job is no longer ours. */
  | { result: 'aborted'; attempts: number }
  | { result: 'failed'; attempts: number; error: string };

type PatchState = 'succeeded' | 'range-mismatch' | 'abort' | 'not-found' | 'failed';

interface TraceSenderEvents {
  /** `Job-Status: canceling`: stop the user script, keep after_script and the failure uploads. */
  cancel: [];
  /** Stop everything now; send nothing more. */
  abort: [AbortInfo];
}

export class TraceSender extends EventEmitter<TraceSenderEvents> {
  private readonly o: TraceSenderOptions;
  private readonly clock: Clock;
  private readonly defaultIntervalMs: number;
  private readonly maxIntervalMs: number;
  private readonly maxPatchBytes: number;
  private intervalMs: number;
  private forceSendIntervalMs: number;
  private offset: number;
  private lastSuccessAt: number;
  private canceled = false;
  private aborted = false;
  private loop: Promise<void> | null = null;
  private stopper = new AbortController();
  private finishing = false;
  private finished: Promise<FinishOutcome> | null = null;
  private readonly promptDelayMs: number;
  private readonly quietMs: number;
  private readonly minPatchGapMs: number;
  /** When the loop's next regular PATCH is due, and when a prompt one is (if asked for). */
  private tickAt = Number.POSITIVE_INFINITY;
  private promptAt: number | undefined;
  /** Ends the loop's current sleep early (a prompt PATCH was asked for, or the sender stops). */
  private wake: AbortController | undefined;
  private lastPatchAt = Number.NEGATIVE_INFINITY;
  private lastWriteAt: number;
  private unwatch: (() => void) | undefined;
  /** PATCH requests sent (every attempt, the final flush included). */
  patchCount = 0;

  constructor(options: TraceSenderOptions) {
    super();
    this.o = options;
    this.clock = options.clock ?? systemClock;
    this.defaultIntervalMs = options.updateIntervalMs ?? DEFAULT_UPDATE_INTERVAL_MS;
    this.maxIntervalMs = options.maxUpdateIntervalMs ?? MAX_UPDATE_INTERVAL_MS;
    this.maxPatchBytes = options.maxPatchBytes ?? DEFAULT_TRACE_PATCH_LIMIT;
    this.intervalMs = this.defaultIntervalMs;
    this.forceSendIntervalMs = options.forceSendIntervalMs ?? DEFAULT_FORCE_SEND_INTERVAL_MS;
    this.offset = Math.max(0, options.serverLength ?? 0);
    this.lastSuccessAt = this.clock.now();
    this.lastWriteAt = this.clock.now();
    this.promptDelayMs = Math.max(0, options.promptDelayMs ?? DEFAULT_PROMPT_DELAY_MS);
    this.quietMs = Math.max(0, options.quietMs ?? DEFAULT_QUIET_MS);
    this.minPatchGapMs = Math.max(0, options.minPatchGapMs ?? DEFAULT_MIN_PATCH_GAP_MS);
  }

  /** Bytes GitLab is known to hold. */
  get sentOffset(): number {
    return this.offset;
  }

  /** The current update interval (from `X-GitLab-Trace-Update-Interval`). */
  get updateIntervalMs(): number {
    return this.intervalMs;
  }

  get cancelRequested(): boolean {
    return this.canceled;
  }

  get isAborted(): boolean {
    return this.aborted;
  }

  /**
   * Adoption: GitLab already holds `serverLength` bytes of this trace (e.g. from a 416's `Range`, or
   * a probe PATCH). The replayed trace regenerates them byte for byte; they are not sent again.
   */
  resumeAt(serverLength: number): void {
    this.offset = Math.max(0, serverLength);
  }

  /** Starts the periodic PATCH loop. */
  start(): void {
    if (this.loop || this.finishing) return;
    this.tickAt = this.clock.now() + this.intervalMs;
    if (this.promptDelayMs > 0) this.unwatch = this.o.source.onWrite?.(() => this.written());
    this.loop = this.run();
  }

  /** Stops the loop without a final update (after an abort, or when the job is handed off). */
  async stop(): Promise<void> {
    this.halt();
    await this.loop;
  }

  private halt(): void {
    this.stopper.abort(STOPPED);
    this.wake?.abort(WOKEN);
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /**
   * The first output of the job's own containers is in the source: send it after the coalescing
   * delay instead of at the next interval (a user watching the job sees it start).
   */
  flushSoon(): void {
    this.askPrompt(this.minPatchGapMs);
  }

  /** Output after a quiet spell is news too. */
  private written(): void {
    const now = this.clock.now();
    const quiet = now - this.lastWriteAt >= this.quietMs;
    this.lastWriteAt = now;
    if (quiet) this.askPrompt(Math.max(this.quietMs, this.minPatchGapMs));
  }

  private askPrompt(gapMs: number): void {
    if (!this.loop || this.stopper.signal.aborted || this.promptDelayMs <= 0) return;
    const at = Math.max(this.clock.now() + this.promptDelayMs, this.lastPatchAt + gapMs);
    if (at >= this.tickAt || (this.promptAt !== undefined && this.promptAt <= at)) return;
    this.promptAt = at;
    this.wake?.abort(WOKEN);
  }

  private async run(): Promise<void> {
    const signal = this.stopper.signal;
    while (!signal.aborted) {
      const due = Math.min(this.tickAt, this.promptAt ?? Number.POSITIVE_INFINITY);
      const wait = due - this.clock.now();
      if (wait > 0) {
        const wake = new AbortController();
        this.wake = wake;
        await this.clock.sleep(wait, wake.signal);
        this.wake = undefined;
        continue;
      }
      this.promptAt = undefined;
      const goOn = await this.incrementalUpdate();
      this.tickAt = this.clock.now() + this.intervalMs;
      if (!goOn) return;
    }
  }

  /** One tick; false when the job is no longer running on GitLab. */
  private async incrementalUpdate(): Promise<boolean> {
    const { state, cancelRequested } = await this.sendPatch();
    if (cancelRequested) this.requestCancel();
    if (state === 'abort') return false;
    if (state === 'succeeded') {
      const touch = await this.touchJob();
      if (touch?.kind === 'ok' && touch.cancelRequested) this.requestCancel();
      if (touch?.kind === 'abort') {
        this.abort({ source: 'update', status: touch.status, ...jobStatus(touch.jobStatus) });
        return false;
      }
    }
    return true;
  }

  private requestCancel(): void {
    if (this.canceled || this.aborted) return;
    this.canceled = true;
    this.emit('cancel');
  }

  private abort(info: AbortInfo): void {
    if (this.aborted) return;
    this.aborted = true;
    this.halt();
    if (!this.finishing) this.emit('abort', info);
  }

  private async sendPatch(): Promise<{ state: PatchState; cancelRequested: boolean }> {
    const offset = this.offset;
    let chunk: Uint8Array;
    try {
      chunk = this.o.source.bytes(offset, this.maxPatchBytes);
    } catch {
      // The spooled bytes GitLab asks for again could not be read back.
      return { state: 'failed', cancelRequested: false };
    }
    if (chunk.length === 0) return { state: 'succeeded', cancelRequested: false };
    let result: TracePatchResult;
    this.lastPatchAt = this.clock.now();
    this.patchCount++;
    try {
      result = await this.o.coordinator.patchTrace(
        this.o.jobId,
        this.o.jobToken,
        offset,
        chunk,
        this.o.debugTrace ?? false,
      );
    } catch (error) {
      result = { kind: 'failed', error: String(error) };
    }
    switch (result.kind) {
      case 'accepted':
        this.setUpdateInterval(result.updateIntervalSeconds);
        this.offset = offset + chunk.length;
        this.o.source.acknowledge?.(this.offset);
        this.lastSuccessAt = this.clock.now();
        return { state: 'succeeded', cancelRequested: result.cancelRequested };
      case 'range-mismatch':
        this.offset = Math.max(0, result.serverLength);
        this.lastSuccessAt = this.clock.now();
        return { state: 'range-mismatch', cancelRequested: false };
      case 'abort':
        this.abort({ source: 'patch', status: result.status, ...jobStatus(result.jobStatus) });
        return { state: 'abort', cancelRequested: false };
      case 'not-found':
        return { state: 'not-found', cancelRequested: false };
      default:
        return { state: 'failed', cancelRequested: false };
    }
  }

  /** The keep-alive PUT, when no PATCH or PUT succeeded for the force-send interval. */
  private async touchJob(): Promise<JobUpdateResult | null> {
    if (this.clock.now() - this.lastSuccessAt <= this.forceSendIntervalMs) return null;
    const result = await this.update({ state: 'running', output: this.output() });
    if (result.kind === 'ok') this.lastSuccessAt = this.clock.now();
    if (result.kind === 'accepted') this.setUpdateInterval(result.retryAfterSeconds);
    return result;
  }

  private async update(update: JobUpdate): Promise<JobUpdateResult> {
    try {
      return await this.o.coordinator.updateJob(this.o.jobId, this.o.jobToken, update);
    } catch (error) {
      return { kind: 'failed', error: String(error) };
    }
  }

  private output(): { checksum: string; bytesize: number } {
    return { checksum: this.o.source.checksum, bytesize: this.o.source.size };
  }

  private setUpdateInterval(seconds: number | undefined): void {
    if (!seconds || seconds <= 0) return;
    this.intervalMs = Math.min(seconds * 1000, this.maxIntervalMs);
    if (this.o.dynamicForceSendInterval) {
      this.forceSendIntervalMs = Math.min(
        Math.max(this.intervalMs * 4, DEFAULT_FORCE_SEND_INTERVAL_MS),
        MAX_FORCE_SEND_INTERVAL_MS,
      );
    }
  }

  /**
   * Ends the trace: stops the loop, sends every unsent byte back to back, then the final PUT —
   * repeated after the server's interval on 202, from offset 0 after 412, and retried with backoff
   * (1 s doubling, capped) up to the retry limit on other failures. Call after the JobTrace finished.
   */
  finish(state: FinalJobState, failureReason?: string, exitCode?: number): Promise<FinishOutcome> {
    this.finished ??= this.finalize(state, failureReason, exitCode);
    return this.finished;
  }

  private async finalize(
    state: FinalJobState,
    failureReason?: string,
    exitCode?: number,
  ): Promise<FinishOutcome> {
    this.finishing = true;
    await this.stop();
    if (this.aborted) return { result: 'aborted', attempts: 0 };
    const update: Omit<JobUpdate, 'output'> =
      state === 'failed'
        ? {
            state,
            failureReason: mapFailureReason(failureReason, this.o.supportedFailureReasons ?? []),
            ...(exitCode ? { exitCode } : {}),
          }
        : { state };
    this.intervalMs = this.defaultIntervalMs;
    const limit = Math.max(1, this.o.finalUpdateRetryLimit ?? DEFAULT_FINAL_UPDATE_RETRY_LIMIT);
    const backoffMax = this.o.finalUpdateBackoffMaxMs ?? DEFAULT_FINAL_UPDATE_BACKOFF_MAX_MS;
    let backoff = 1000;
    let lastError = '';
    for (let attempt = 1; attempt <= limit; attempt++) {
      const outcome = await this.finalUpdate(update);
      if (outcome.kind === 'done') return { result: 'completed', attempts: attempt };
      if (outcome.kind === 'aborted') return { result: 'aborted', attempts: attempt };
      lastError = outcome.error;
      if (attempt < limit) {
        await this.clock.sleep(backoff);
        backoff = Math.min(backoff * 2, backoffMax);
      }
    }
    return { result: 'failed', attempts: limit, error: lastError };
  }

  private async finalUpdate(
    update: Omit<JobUpdate, 'output'>,
  ): Promise<{ kind: 'done' } | { kind: 'aborted' } | { kind: 'failed'; error: string }> {
    for (;;) {
      const flushed = await this.flushAll();
      if (flushed !== 'ok')
        return flushed === 'aborted' ? { kind: 'aborted' } : { kind: 'failed', error: flushed };
      const result = await this.update({ ...update, output: this.output() });
      switch (result.kind) {
        case 'ok':
          return { kind: 'done' };
        case 'abort':
          this.aborted = true;
          return { kind: 'aborted' };
        case 'accepted':
          this.setUpdateInterval(result.retryAfterSeconds);
          await this.clock.sleep(this.intervalMs);
          break;
        case 'trace-reset':
          this.offset = 0;
          await this.clock.sleep(this.intervalMs);
          break;
        default:
          return { kind: 'failed', error: `final job update failed: ${result.error}` };
      }
    }
  }

  /** PATCHes back to back until GitLab holds every byte; 'ok', 'aborted' or an error text. */
  private async flushAll(): Promise<string> {
    while (this.offset < this.o.source.size) {
      const { state } = await this.sendPatch();
      switch (state) {
        case 'succeeded':
          continue;
        case 'abort':
          return 'aborted';
        case 'not-found':
          return 'ok';
        case 'range-mismatch':
          await this.clock.sleep(this.intervalMs);
          continue;
        default:
          return 'sending the trace failed';
      }
    }
    return 'ok';
  }
}

function jobStatus(status: RemoteJobStatus | undefined): { jobStatus?: RemoteJobStatus } {
  return status === undefined ? {} : { jobStatus: status };
}
