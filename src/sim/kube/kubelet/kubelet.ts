// The simulated kubelet (and the scheduler of its one-node cluster). It watches pods through the
// KubeletStore, binds unscheduled ones to its node, and runs the pods bound to it on a
// ContainerRuntime, writing their status and events the way a real kubelet does.
import type { KubeletStore, PodEventType, PodObject } from '../kubelet-store.ts';
import type { ContainerRuntime } from '../runtime.ts';
import { EventRecorder } from './events.ts';
import { type KubeletFaults, parseKubeletFaults, planPodFaults } from './faults.ts';
import { defaultTiming, type KubeletOptions, type KubeletTiming } from './options.ts';
import { PodWorker, type WorkerContext } from './pod-worker.ts';
import { cpuMillis, memoryBytes } from './resources.ts';
import { Scheduler, type SchedulerNode } from './scheduler.ts';
import { BackOff } from './timing.ts';

export type { KubeletOptions, KubeletTiming } from './options.ts';

export interface Kubelet {
  /** Stops watching, kills every container (no status writes) and closes nothing else. */
  stop(): Promise<void>;
}

const defaultCapacity = { cpu: '4', memory: '8Gi', pods: 110 };

/**
 * Batches status writes: every pod changed during one tick is written once, on the next. A large
 * batch is written in slices so that thousands of pods changing together do not stall the loop.
 */
class StatusWriter {
  private dirty = new Set<PodWorker>();
  private scheduled = false;
  private static readonly slice = 100;

  mark(worker: PodWorker): void {
    this.dirty.add(worker);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    let n = 0;
    for (const w of this.dirty) {
      this.dirty.delete(w);
      w.writeStatus();
      if (++n >= StatusWriter.slice) break;
    }
    if (this.dirty.size > 0) setImmediate(() => this.flush());
    else this.scheduled = false;
  }
}

export function startKubelet(
  store: KubeletStore,
  runtime: ContainerRuntime,
  options: KubeletOptions,
): Kubelet {
  const faults: KubeletFaults = parseKubeletFaults(options.faults);
  const timing: KubeletTiming = { ...defaultTiming, ...options.timing };
  const random = options.random ?? Math.random;
  const capacity = { ...defaultCapacity, ...options.capacity };
  const node: SchedulerNode = {
    name: options.nodeName,
    labels: {
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/hostname': options.nodeName,
      'kubernetes.io/os': 'linux',
      ...options.nodeLabels,
    },
    allocatable: {
      cpuMillis: cpuMillis(capacity.cpu) ?? 4000,
      memoryBytes: memoryBytes(capacity.memory) ?? 8 * 2 ** 30,
      pods: capacity.pods,
    },
  };
  const writer = new StatusWriter();
  const workers = new Map<string, PodWorker>();
  /** Pods this kubelet finished and removed, so late events do not revive them. */
  const done = new Set<string>();
  const plans = new Map<string, ReturnType<typeof planPodFaults>>();
  const planFor = (pod: PodObject) => {
    const uid = pod.metadata?.uid ?? '';
    let plan = plans.get(uid);
    if (!plan) {
      plan = planPodFaults(faults, pod, random);
      plans.set(uid, plan);
    }
    return plan;
  };

  const scheduler =
    options.scheduler === false
      ? undefined
      : new Scheduler({
          store,
          node,
          events: new EventRecorder(store, 'default-scheduler'),
          delayFor: (pod) => planFor(pod).schedulingDelayMs,
          backOffMs: timing.schedulingBackOffMs,
          backOffMaxMs: timing.schedulingBackOffMaxMs,
          unschedulableRetryMs: timing.unschedulableRetryMs,
        });

  const ctx: WorkerContext = {
    store,
    runtime,
    nodeName: options.nodeName,
    nodeIP: options.nodeIP ?? '127.0.0.1',
    allocatable: node.allocatable,
    timing,
    events: new EventRecorder(store, 'kubelet', options.nodeName),
    imageBackOff: new BackOff(timing.imagePullBackOffMs, timing.imagePullBackOffMaxMs),
    log: options.log,
    markDirty: (w) => writer.mark(w),
    podReleased: (uid) => scheduler?.released(uid),
    workerDone: (uid) => {
      workers.delete(uid);
      plans.delete(uid);
      done.add(uid);
    },
  };

  const handle = (type: PodEventType, pod: PodObject): void => {
    const uid = pod.metadata?.uid ?? '';
    scheduler?.observe(type, pod);
    if (type === 'DELETED') {
      workers.get(uid)?.deleted();
      plans.delete(uid);
      done.delete(uid);
      return;
    }
    if (pod.spec?.nodeName !== options.nodeName) return;
    const worker = workers.get(uid);
    if (worker) {
      worker.update(pod);
      return;
    }
    if (done.has(uid)) return;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      // Finished before this kubelet started: only a deletion is left to do.
      if (pod.metadata?.deletionTimestamp) {
        done.add(uid);
        store.removePod(pod.metadata.namespace ?? 'default', pod.metadata.name ?? '', uid);
      }
      return;
    }
    const created = new PodWorker(ctx, pod, planFor(pod));
    workers.set(uid, created);
    if (pod.metadata?.deletionTimestamp && !(pod.status?.containerStatuses ?? []).length) {
      // Deleted before it ever ran here: nothing to stop.
      done.add(uid);
      workers.delete(uid);
      store.removePod(pod.metadata.namespace ?? 'default', pod.metadata.name ?? '', uid);
      return;
    }
    const ran = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].some(
      (c) => c.state?.running !== undefined || c.state?.terminated !== undefined,
    );
    if (ran) created.recoverLost();
    else created.start();
    if (pod.metadata?.deletionTimestamp) created.update(pod);
  };

  // The store calls back synchronously, also from inside our own writes: handle events in order, later.
  const queue: [PodEventType, PodObject][] = [];
  let draining = false;
  const drain = (): void => {
    draining = false;
    for (let next = queue.shift(); next; next = queue.shift()) {
      try {
        handle(next[0], next[1]);
      } catch (error) {
        options.log?.error({ err: error }, 'kubelet failed to handle a pod event');
      }
    }
  };
  let stopped = false;
  const unsubscribe = store.watchPods((type, pod) => {
    if (stopped) return;
    queue.push([type, pod]);
    if (!draining) {
      draining = true;
      queueMicrotask(drain);
    }
  });

  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      unsubscribe();
      scheduler?.stop();
      await Promise.all([...workers.values()].map((w) => w.shutdown()));
      workers.clear();
    },
  };
}
