// Starts a kubelet on a MemoryStore with fast clocks, and summarises pod statuses for assertions.

import { type Kubelet, type KubeletOptions, startKubelet } from '../../../../src/sim/kube/kubelet/kubelet.ts';
import type { PodObject } from '../../../../src/sim/kube/kubelet-store.ts';
import type { ContainerRuntime } from '../../../../src/sim/kube/runtime.ts';
import {
  createVirtualRuntime,
  type VirtualRuntimeOptions,
} from '../../../../src/sim/kube/virtual/virtual-runtime.ts';
import { MemoryStore } from './memory-store.ts';

export const fastTiming = {
  podResyncMs: 30,
  imagePullBackOffMs: 150,
  imagePullBackOffMaxMs: 600,
  crashLoopBackOffMs: 100,
  crashLoopBackOffMaxMs: 400,
  minStopGraceMs: 50,
  schedulingBackOffMs: 20,
  schedulingBackOffMaxMs: 100,
  unschedulableRetryMs: 60_000,
  specTimeScale: 0.02,
};

export interface Harness {
  store: MemoryStore;
  kubelet: Kubelet;
  runtime: ContainerRuntime;
  stop(): Promise<void>;
}

export function startHarness(
  options: Partial<KubeletOptions> = {},
  runtime: ContainerRuntime = createVirtualRuntime(fastVirtual),
  store = new MemoryStore(),
): Harness {
  const kubelet = startKubelet(store, runtime, {
    nodeName: 'node-1',
    ...options,
    timing: { ...fastTiming, ...options.timing },
  });
  return {
    store,
    kubelet,
    runtime,
    async stop() {
      await kubelet.stop();
      await runtime.close();
    },
  };
}

export const fastVirtual: VirtualRuntimeOptions = {
  defaultDurationMs: 50,
  unknownCommandMs: 5,
  helperMs: 20,
  uploaderMs: 20,
  pullDelayMs: 5,
};

type Summary = string;

function containerSummary(s: {
  name: string;
  state?: {
    waiting?: { reason?: string };
    running?: unknown;
    terminated?: { reason?: string; exitCode: number };
  };
  ready: boolean;
  started?: boolean;
}): string {
  const st = s.state ?? {};
  const state = st.waiting
    ? `waiting:${st.waiting.reason}`
    : st.running
      ? 'running'
      : st.terminated
        ? `terminated:${st.terminated.reason}:${st.terminated.exitCode}`
        : 'none';
  return `${s.name}=${state}${s.ready ? ',ready' : ''}${s.started ? ',started' : ''}`;
}

/** One line per status: phase, reason, conditions that are True, then every container. */
export function summarise(pod: PodObject): Summary {
  const st = pod.status ?? {};
  const conds = (st.conditions ?? [])
    .filter((c) => c.status === 'True')
    .map((c) => c.type)
    .join(',');
  const init = (st.initContainerStatuses ?? []).map(containerSummary).join(' ');
  const main = (st.containerStatuses ?? []).map(containerSummary).join(' ');
  return `${st.phase}${st.reason ? `(${st.reason})` : ''} [${conds}] ${init ? `init: ${init} | ` : ''}${main}`.trim();
}

/** The distinct summaries of every watch event of one pod, in order. */
export function timeline(store: MemoryStore, name: string): string[] {
  const out: string[] = [];
  for (const h of store.history) {
    if (h.pod.metadata?.name !== name) continue;
    const s = `${h.type === 'DELETED' ? 'DELETED ' : ''}${summarise(h.pod)}`;
    if (out[out.length - 1] !== s) out.push(s);
  }
  return out;
}

/**
 * Checks that `expected` appears in `actual` in the same order (other entries may come between);
 * returns `actual` when it does, else a report naming the first missing entry (for a readable diff).
 */
export function inOrder(actual: string[], expected: string[]): string[] | string {
  let i = 0;
  for (const a of actual) if (i < expected.length && a === expected[i]) i++;
  if (i === expected.length) return actual;
  return `missing, in order: ${expected[i]}\n--- actual:\n${actual.join('\n')}`;
}

export function pod(
  name: string,
  spec: NonNullable<PodObject['spec']>,
  annotations?: Record<string, string>,
): PodObject {
  return { metadata: { name, namespace: 'ci', ...(annotations ? { annotations } : {}) }, spec };
}
