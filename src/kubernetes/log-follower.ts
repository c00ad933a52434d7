// Follows one container's log to its end through pods/log?follow&timestamps, resuming after a dropped
// stream without losing or repeating a line. Whether the log is complete is decided from the
// container's status in the shared pod watch, never from a stream ending.
import type { Cluster } from './cluster.ts';
import { KubeApiError } from './kube-errors.ts';
import { type LogRecord, LogRecordParser, ResumeFilter } from './log-records.ts';
import { containerPhase, containerStarted } from './pod-status.ts';
import type { PodWatch } from './pod-watch.ts';
import type { PodObject } from './wire.ts';

export type LogEnd = 'complete' | 'pod-deleted' | 'aborted' | 'not-started';

export interface FollowOptions {
  namespace: string;
  pod: string;
  container: string;
  /** Called for each new line, in order. */
  onRecord: (record: LogRecord) => void;
  signal?: AbortSignal;
  /** How long to wait for a status change before re-opening a stream that ended early. */
  recheckMs?: number;
  onError?: (err: unknown) => void;
  /** Start after this resume point (adoption replays from the beginning, so normally unset). */
  filter?: ResumeFilter;
}

export class LogFollower {
  readonly #cluster: Cluster;
  readonly #watch: PodWatch;
  /** Log streams opened (first opens and reconnects). */
  streamsOpened = 0;

  constructor(cluster: Cluster, watch: PodWatch) {
    this.#cluster = cluster;
    this.#watch = watch;
  }

  async follow(options: FollowOptions): Promise<LogEnd> {
    const { namespace, pod, container, signal } = options;
    const filter = options.filter ?? new ResumeFilter();
    const recheckMs = options.recheckMs ?? 1000;
    let failures = 0;
    for (;;) {
      if (signal?.aborted) return 'aborted';
      const current = this.#watch.get(pod);
      if (!current) return 'pod-deleted';
      if (!containerStarted(current, container)) {
        // Wait until the container runs or ran; a pod that finishes without it never started it.
        const next = await this.#watch.waitFor(
          pod,
          (p) =>
            containerStarted(p, container) || p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded',
          signal,
        );
        if (!next) return signal?.aborted ? 'aborted' : 'pod-deleted';
        if (!containerStarted(next, container)) return 'not-started';
        continue;
      }
      const terminatedBefore = containerPhase(current, container) === 'terminated';
      const parser = new LogRecordParser();
      filter.resume();
      let endedCleanly = false;
      try {
        const since = filter.sinceTime();
        const stream = await this.#cluster.streamLog(namespace, pod, {
          container,
          follow: !terminatedBefore,
          ...(since ? { sinceTime: since } : {}),
        });
        this.streamsOpened++;
        if (!stream) {
          await this.#changeOrTimeout(pod, recheckMs, signal);
          continue;
        }
        const onAbort = () => stream.abort();
        signal?.addEventListener('abort', onAbort, { once: true });
        try {
          for await (const chunk of stream.body) {
            for (const record of parser.push(chunk as Buffer))
              if (filter.accept(record)) options.onRecord(record);
          }
          endedCleanly = true;
        } finally {
          signal?.removeEventListener('abort', onAbort);
        }
      } catch (err) {
        if (signal?.aborted) return 'aborted';
        if (err instanceof KubeApiError && err.code === 'not-found') return 'pod-deleted';
        // 400 "waiting to start" right after Started, 5xx, drops: try again.
        if (!(err instanceof KubeApiError && err.code === 'bad-request')) options.onError?.(err);
        failures++;
        parser.discard();
        await this.#changeOrTimeout(pod, Math.min(5000, 100 * 2 ** Math.min(failures, 6)), signal);
        continue;
      }
      if (signal?.aborted) return 'aborted';
      const terminatedNow = containerPhase(this.#watch.get(pod), container) === 'terminated';
      if (endedCleanly && (terminatedBefore || terminatedNow)) {
        const tail = parser.finish();
        if (tail && filter.accept(tail)) options.onRecord(tail);
        return 'complete';
      }
      // Ended while the container still runs (or its end is not in the cache yet): the stream was
      // cut. Drop the partial line and reopen after the status changes or a short wait.
      parser.discard();
      failures = 0;
      await this.#changeOrTimeout(pod, recheckMs, signal);
    }
  }

  #changeOrTimeout(pod: string, ms: number, signal?: AbortSignal): Promise<PodObject | undefined> {
    const timeout = AbortSignal.timeout(ms);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let first = true;
    return this.#watch.waitFor(
      pod,
      () => {
        // The predicate is checked at once (skip that) and then on each change.
        if (first) {
          first = false;
          return false;
        }
        return true;
      },
      combined,
    );
  }
}
