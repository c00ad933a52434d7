// Everything a stage needs about the job, built once from job.json and helper.json.
import type { JobPayload } from '../src/gitlab/payload.ts';
import type { HelperSettings } from './contract.ts';
import type { Trace } from './output/trace.ts';
import type { BuildSettings } from './settings.ts';
import type { JobVariables } from './variables.ts';

export interface JobContext {
  job: JobPayload;
  vars: JobVariables;
  helper: HelperSettings;
  build: BuildSettings;
  trace: Trace;
  projectDir: string;
  /** Aborted when the helper must stop (second SIGTERM, timeouts). */
  signal?: AbortSignal;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Upstream's stage retry wait: min, ×1.5 per attempt, max, with jitter. */
export function stageBackoffMs(attempt: number, minMs: number, maxMs: number): number {
  const base = Math.min(maxMs, minMs * 1.5 ** attempt);
  return Math.round(base / 2 + (Math.random() * base) / 2);
}

/**
 * Runs a stage up to `attempts` times like upstream's `EXECUTOR_JOB_SECTION_ATTEMPTS` family
 * (GET_SOURCES_ATTEMPTS, ARTIFACT_DOWNLOAD_ATTEMPTS, RESTORE_CACHE_ATTEMPTS): each try is its own
 * section; between tries the exponential stage backoff (when its feature flag is on).
 */
export async function withStageAttempts(
  ctx: JobContext,
  attempts: number,
  tryOnce: (attempt: number) => Promise<void>,
): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      await tryOnce(attempt);
      return;
    } catch (error) {
      if (attempt === attempts - 1 || ctx.signal?.aborted) throw error;
      if (ctx.build.featureFlags.FF_USE_EXPONENTIAL_BACKOFF_STAGE_RETRY) {
        const wait = stageBackoffMs(attempt, ctx.helper.retry.stageMinMs, ctx.helper.retry.stageMaxMs);
        ctx.trace.println(`Retrying in ${(wait / 1000).toFixed(1)}s`);
        await sleep(wait, ctx.signal);
      }
    }
  }
}
