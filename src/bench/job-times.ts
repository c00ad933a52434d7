// What the benchmark knows about one job: when each side saw each step, in epoch milliseconds on the bench
// process's clock. GitLab-side times come from the embedded GitLab's events; pod-side times from the
// Kubernetes stand-in (or a watch on a real cluster) and stay undefined with the fake executor.

export interface JobTimes {
  id: number;
  /** Queued in GitLab (pipeline created). */
  queuedAt?: number;
  /** The manager's accept reached GitLab (two-phase commit `PUT state=running`; the job turns running). */
  acceptedAt?: number;
  /** GitLab stored the first bytes of the job's trace (the manager's own lines count). */
  firstTraceAt?: number;
  /**
   * GitLab stored the first bytes the job's pod printed: a record of a container stream (not `00`, the
   * runner's) in the timestamped trace format (FF_TIMESTAMPS). Undefined when the trace has no such
   * records (the fake executor, a trace without timestamps).
   */
  firstPodOutputAt?: number;
  /** GitLab holds the final state. */
  finishedAt?: number;
  /** The final status (`success`, `failed`, `canceled`). */
  status?: string;
  /** GitLab's failure reason of a job that did not succeed. */
  failureReason?: string;
  traceBytes: number;
  /** The job's pod exists in Kubernetes. */
  podCreatedAt?: number;
  /** The pod's first container is running. */
  podStartedAt?: number;
  /** The pod's last container terminated (phase Succeeded/Failed). */
  terminatedAt?: number;
}

/** Epoch milliseconds with sub-millisecond resolution. */
export function clockNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Pod-side times of a job, from whatever watches the pods. */
export type PodTimes = Pick<JobTimes, 'podCreatedAt' | 'podStartedAt' | 'terminatedAt'>;
