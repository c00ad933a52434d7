// What a kubelet is told at start: its node, its capacity, its clocks and its faults.
import type { Logger } from 'pino';
import type { KubeletFaultsInput } from './faults.ts';

/** Every delay the kubelet and scheduler use; defaults are a real kubelet's where it has one. */
export interface KubeletTiming {
  /** How soon a pod worker retries after an error (pull failure → back-off, config error, mount error). */
  podResyncMs: number;
  /** Image pull back-off: first delay, doubling up to the max (kubelet: 10s → 300s). */
  imagePullBackOffMs: number;
  imagePullBackOffMaxMs: number;
  /** Container restart back-off (CrashLoopBackOff): first delay, doubling up to the max (10s → 300s). */
  crashLoopBackOffMs: number;
  crashLoopBackOffMaxMs: number;
  /** The runtime's minimum stop timeout: SIGKILL never comes sooner after SIGTERM (kubelet: 2s). */
  minStopGraceMs: number;
  /** The scheduler's retry back-off for unschedulable pods after a cluster change (1s → 10s). */
  schedulingBackOffMs: number;
  schedulingBackOffMaxMs: number;
  /** Unschedulable pods are retried at least this often even without a change (scheduler: 5 min). */
  unschedulableRetryMs: number;
  /**
   * Multiplies every duration that comes from a pod spec (grace periods, activeDeadlineSeconds,
   * probe periods and delays), so tests can run `terminationGracePeriodSeconds: 2` in 20 ms. 1 in use.
   */
  specTimeScale: number;
}

export const defaultTiming: KubeletTiming = {
  podResyncMs: 2_000,
  imagePullBackOffMs: 10_000,
  imagePullBackOffMaxMs: 300_000,
  crashLoopBackOffMs: 10_000,
  crashLoopBackOffMaxMs: 300_000,
  minStopGraceMs: 2_000,
  schedulingBackOffMs: 1_000,
  schedulingBackOffMaxMs: 10_000,
  unschedulableRetryMs: 300_000,
  specTimeScale: 1,
};

export interface KubeletOptions {
  nodeName: string;
  /** Extra node labels; `kubernetes.io/hostname`, `kubernetes.io/os` and `kubernetes.io/arch` are always set. */
  nodeLabels?: Record<string, string>;
  /** status.hostIP of every pod on this node. */
  nodeIP?: string;
  /** Allocatable resources: quantities as in a Node object (`cpu: "4"`, `memory: "8Gi"`, `pods: 110`). */
  capacity?: { cpu?: string | number; memory?: string | number; pods?: number };
  timing?: Partial<KubeletTiming>;
  /** The `kubelet:` section of a faults file (validated with `kubeletFaultsSchema`). */
  faults?: KubeletFaultsInput;
  /** Run the scheduler for unbound pods (default true). */
  scheduler?: boolean;
  log?: Logger;
  /** Randomness for probabilistic faults (tests pass a fixed sequence). */
  random?: () => number;
}
