// The default scheduler for a one-node cluster: node selector and required node affinity, and the
// node's capacity of CPU, memory and pods. A pod that does not fit stays Pending with
// `PodScheduled=False reason=Unschedulable` and a FailedScheduling event, and is retried when a pod
// leaves the node (back-off 1s → 10s) and every few minutes.
import type { V1NodeSelectorRequirement } from '@kubernetes/client-node';
import type { KubeletStore, PodObject, PodStatusObject, Wire } from '../kubelet-store.ts';
import type { EventRecorder } from './events.ts';
import { podRequests, type Requests } from './resources.ts';
import { rfc3339Seconds } from './status.ts';

export interface SchedulerNode {
  name: string;
  labels: Record<string, string>;
  allocatable: { cpuMillis: number; memoryBytes: number; pods: number };
}

type Requirement = Wire<V1NodeSelectorRequirement>;

function matchesRequirement(labels: Record<string, string>, r: Requirement): boolean {
  const value = labels[r.key];
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
      return value !== undefined && Number(value) > Number(values[0]);
    case 'Lt':
      return value !== undefined && Number(value) < Number(values[0]);
    default:
      return false;
  }
}

/** `spec.nodeSelector` and `requiredDuringSchedulingIgnoredDuringExecution` node affinity. */
export function matchesNode(pod: PodObject, node: SchedulerNode): boolean {
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) if (node.labels[k] !== v) return false;
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) {
    const terms = required.nodeSelectorTerms ?? [];
    const anyTerm = terms.some(
      (t) =>
        (t.matchExpressions ?? []).every((r) => matchesRequirement(node.labels, r)) &&
        (t.matchFields ?? []).every((r) =>
          r.key === 'metadata.name' ? matchesRequirement({ 'metadata.name': node.name }, r) : false,
        ),
    );
    if (!anyTerm) return false;
  }
  return true;
}

/** The scheduler's FitError text for a one-node cluster, or undefined when the pod fits. */
export function fitError(
  pod: PodObject,
  node: SchedulerNode,
  used: { cpuMillis: number; memoryBytes: number; pods: number },
  requests: Requests = podRequests(pod),
): string | undefined {
  let reasons: string[];
  let preemption: string;
  if (!matchesNode(pod, node)) {
    reasons = ["node(s) didn't match Pod's node affinity/selector"];
    preemption = 'Preemption is not helpful for scheduling';
  } else {
    reasons = [];
    if (used.pods + 1 > node.allocatable.pods) reasons.push('Too many pods');
    if (requests.cpuMillis > 0 && used.cpuMillis + requests.cpuMillis > node.allocatable.cpuMillis) {
      reasons.push('Insufficient cpu');
    }
    if (requests.memoryBytes > 0 && used.memoryBytes + requests.memoryBytes > node.allocatable.memoryBytes) {
      reasons.push('Insufficient memory');
    }
    if (reasons.length === 0) return undefined;
    preemption = 'No preemption victims found for incoming pod';
  }
  const histogram = reasons
    .sort()
    .map((r) => `1 ${r}`)
    .join(', ');
  const base = `0/1 nodes are available: ${histogram}.`;
  if (pod.spec?.preemptionPolicy === 'Never')
    return `${base} preemption: not eligible due to preemptionPolicy=Never.`;
  return `${base} preemption: 0/1 nodes are available: 1 ${preemption}.`;
}

/** Cuts a FailedScheduling message the way the event recorder does (1024 bytes, ` ...`). */
export function cutEventMessage(message: string): string {
  const bytes = Buffer.from(message);
  if (bytes.byteLength <= 1024) return message;
  return `${bytes.subarray(0, 1020).toString('utf8')} ...`;
}

export interface SchedulerOptions {
  store: KubeletStore;
  node: SchedulerNode;
  events: EventRecorder;
  delayFor(pod: PodObject): number;
  backOffMs: number;
  backOffMaxMs: number;
  unschedulableRetryMs: number;
}

interface Pending {
  pod: PodObject;
  attempts: number;
  unschedulable: boolean;
  timer?: NodeJS.Timeout;
  queued: boolean;
}

export class Scheduler {
  private readonly o: SchedulerOptions;
  /** Pods bound to this node that hold resources (not yet Succeeded/Failed). */
  private readonly bound = new Map<string, Requests>();
  private readonly pending = new Map<string, Pending>();
  private readonly queue: string[] = [];
  private drainScheduled = false;
  private flushTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(options: SchedulerOptions) {
    this.o = options;
  }

  /** Every pod event from the watch. */
  observe(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: PodObject): void {
    const uid = pod.metadata?.uid ?? '';
    const nodeName = pod.spec?.nodeName;
    if (type === 'DELETED') {
      this.forget(uid);
      if (this.bound.delete(uid)) this.capacityFreed();
      return;
    }
    if (nodeName) {
      this.forget(uid);
      if (nodeName !== this.o.node.name) return;
      const phase = pod.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') {
        if (this.bound.delete(uid)) this.capacityFreed();
      } else if (!this.bound.has(uid)) {
        this.bound.set(uid, podRequests(pod));
      }
      return;
    }
    if ((pod.spec?.schedulerName ?? 'default-scheduler') !== 'default-scheduler') return;
    if ((pod.spec?.schedulingGates ?? []).length > 0) return;
    if (pod.metadata?.deletionTimestamp) return;
    const known = this.pending.get(uid);
    if (known) {
      known.pod = pod;
      return;
    }
    const entry: Pending = { pod, attempts: 0, unschedulable: false, queued: false };
    this.pending.set(uid, entry);
    const delay = this.o.delayFor(pod);
    if (delay > 0) {
      entry.timer = setTimeout(() => {
        entry.timer = undefined;
        this.enqueue(uid);
      }, delay);
    } else {
      this.enqueue(uid);
    }
  }

  /** A bound pod finished (its phase turned terminal in the kubelet): free its resources now. */
  released(uid: string): void {
    if (this.bound.delete(uid)) this.capacityFreed();
  }

  stop(): void {
    this.stopped = true;
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    clearInterval(this.flushTimer);
  }

  private forget(uid: string): void {
    const p = this.pending.get(uid);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(uid);
  }

  private enqueue(uid: string): void {
    const p = this.pending.get(uid);
    if (!p || p.queued || this.stopped) return;
    p.queued = true;
    this.queue.push(uid);
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.drainScheduled = false;
    const batch = this.queue.splice(0, this.queue.length);
    for (const uid of batch) {
      const p = this.pending.get(uid);
      if (!p) continue;
      p.queued = false;
      this.attempt(uid, p);
    }
  }

  private used(): { cpuMillis: number; memoryBytes: number; pods: number } {
    let cpuMillis = 0;
    let memoryBytes = 0;
    for (const r of this.bound.values()) {
      cpuMillis += r.cpuMillis;
      memoryBytes += r.memoryBytes;
    }
    return { cpuMillis, memoryBytes, pods: this.bound.size };
  }

  private attempt(uid: string, p: Pending): void {
    const pod = p.pod;
    const meta = pod.metadata ?? {};
    const ns = meta.namespace ?? 'default';
    const name = meta.name ?? '';
    const requests = podRequests(pod);
    const error = fitError(pod, this.o.node, this.used(), requests);
    if (error === undefined) {
      if (!this.o.store.bindPod(ns, name, uid, this.o.node.name)) {
        this.forget(uid);
        return;
      }
      this.forget(uid);
      this.bound.set(uid, requests);
      this.o.events.record(
        pod,
        'Normal',
        'Scheduled',
        `Successfully assigned ${ns}/${name} to ${this.o.node.name}`,
      );
      return;
    }
    p.attempts++;
    p.unschedulable = true;
    const updated = this.o.store.updatePodStatus(ns, name, uid, unschedulableStatus(pod.status, error));
    if (!updated) {
      this.forget(uid);
      return;
    }
    p.pod = updated;
    this.o.events.record(updated, 'Warning', 'FailedScheduling', cutEventMessage(error));
    this.armFlush();
  }

  /** A pod left the node: retry the unschedulable ones, each after its own back-off. */
  private capacityFreed(): void {
    for (const [uid, p] of this.pending) {
      if (!p.unschedulable || p.timer) continue;
      const backOff = Math.min(this.o.backOffMs * 2 ** Math.max(0, p.attempts - 1), this.o.backOffMaxMs);
      p.timer = setTimeout(() => {
        p.timer = undefined;
        this.enqueue(uid);
      }, backOff);
    }
  }

  private armFlush(): void {
    if (this.flushTimer || this.stopped) return;
    this.flushTimer = setInterval(() => {
      let any = false;
      for (const [uid, p] of this.pending) {
        if (!p.unschedulable) continue;
        any = true;
        if (!p.timer) this.enqueue(uid);
      }
      if (!any) {
        clearInterval(this.flushTimer);
        this.flushTimer = undefined;
      }
    }, this.o.unschedulableRetryMs);
    this.flushTimer.unref();
  }
}

/** The pod's status with `PodScheduled=False reason=Unschedulable` (transition time kept if unchanged). */
function unschedulableStatus(current: PodStatusObject | undefined, message: string): PodStatusObject {
  const conditions = [...(current?.conditions ?? [])];
  const index = conditions.findIndex((c) => c.type === 'PodScheduled');
  const before = index >= 0 ? conditions[index] : undefined;
  const condition = {
    type: 'PodScheduled',
    status: 'False',
    lastProbeTime: null as unknown as string,
    lastTransitionTime:
      before?.status === 'False' && before.lastTransitionTime ? before.lastTransitionTime : rfc3339Seconds(),
    reason: 'Unschedulable',
    message,
  };
  if (index >= 0) conditions[index] = condition;
  else conditions.push(condition);
  return { ...current, phase: current?.phase ?? 'Pending', conditions };
}
