// Pure readers of a pod's status, shared by the log follower and the job's result decisions.
import type { ContainerStatusObject, PodObject } from './wire.ts';

export function containerStatus(
  pod: PodObject | undefined,
  container: string,
): ContainerStatusObject | undefined {
  const status = pod?.status;
  if (!status) return undefined;
  return (
    status.containerStatuses?.find((c) => c.name === container) ??
    status.initContainerStatuses?.find((c) => c.name === container)
  );
}

export type ContainerPhase = 'unknown' | 'waiting' | 'running' | 'terminated';

export function containerPhase(pod: PodObject | undefined, container: string): ContainerPhase {
  const state = containerStatus(pod, container)?.state;
  if (!state) return 'unknown';
  if (state.terminated) return 'terminated';
  if (state.running) return 'running';
  return 'waiting';
}

/** The container has produced (or may produce) a log: it is running or has run. */
export function containerStarted(pod: PodObject | undefined, container: string): boolean {
  const phase = containerPhase(pod, container);
  return phase === 'running' || phase === 'terminated';
}

/** The pod will run nothing more: Succeeded/Failed, or every container terminated. */
export function podFinished(pod: PodObject | undefined): boolean {
  const phase = pod?.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}
