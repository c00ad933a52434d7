// What the scheduler and the kubelet do to pods through the API: binding (spec.nodeName and the
// PodScheduled condition), status writes (kubelet-owned conditions replaced, others kept), and
// eviction (a DisruptionTarget condition, then a graceful delete).
import type { V1PodCondition } from '@kubernetes/client-node';
import type { PodObject, PodStatusObject, Wire } from '../kubelet-store.ts';
import type { DeleteOptions, Registry } from './registry.ts';
import { pods } from './resources.ts';
import { ApiError, conflict, createdStatus, notFound, type StatusObject } from './status.ts';
import type { Entry } from './store.ts';
import { formatTime } from './time.ts';
import type { KubeObject } from './types.ts';

type Condition = Wire<V1PodCondition>;

const kubeletConditions = new Set(['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady']);

function setCondition(conditions: Condition[], condition: Condition): Condition[] {
  const out = conditions.filter((c) => c.type !== condition.type);
  const old = conditions.find((c) => c.type === condition.type);
  const transition =
    old && old.status === condition.status ? old.lastTransitionTime : condition.lastTransitionTime;
  out.push({ ...condition, lastTransitionTime: transition });
  return out;
}

/** pods/binding: assigns the pod to a node. */
export function bindPod(
  registry: Registry,
  namespace: string,
  name: string,
  uid: string | undefined,
  nodeName: string,
): PodObject {
  const current = registry.find(pods, namespace, name);
  if (!current || (uid !== undefined && current.uid !== uid)) throw notFound('pods', name);
  const pod = current.obj as PodObject;
  if (pod.metadata?.deletionTimestamp) {
    throw conflict('pods/binding', name, '', `pod ${name} is being deleted, cannot be assigned to a host`);
  }
  if (pod.spec?.nodeName) {
    throw conflict(
      'pods/binding',
      name,
      '',
      `pod ${name} is already assigned to node "${pod.spec.nodeName}"`,
    );
  }
  if ((pod.spec?.schedulingGates?.length ?? 0) > 0) {
    throw conflict('pods/binding', name, '', `pod ${name} has non-empty .spec.schedulingGates`);
  }
  const now = formatTime(registry.now());
  const conditions = setCondition((pod.status?.conditions ?? []) as Condition[], {
    type: 'PodScheduled',
    status: 'True',
    lastProbeTime: null as unknown as string,
    lastTransitionTime: now,
  });
  const updated = {
    ...pod,
    spec: { ...pod.spec!, nodeName },
    status: { ...(pod.status ?? {}), conditions },
  } as unknown as KubeObject;
  return registry.writeInternal(pods, updated).obj as PodObject;
}

/** The kubelet's status write: its own conditions replace the old ones, the others are kept. */
export function writePodStatus(
  registry: Registry,
  namespace: string,
  name: string,
  uid: string,
  status: PodStatusObject,
): Entry | undefined {
  const current = registry.find(pods, namespace, name);
  if (!current || current.uid !== uid) return undefined;
  const old = (current.obj as PodObject).status ?? {};
  const incoming = (status.conditions ?? []) as Condition[];
  const types = new Set(incoming.map((c) => c.type));
  const keptBefore: Condition[] = [];
  const keptAfter: Condition[] = [];
  for (const c of (old.conditions ?? []) as Condition[]) {
    if (types.has(c.type) || kubeletConditions.has(c.type)) continue;
    if (c.type === 'PodScheduled') keptAfter.push(c);
    else keptBefore.push(c);
  }
  const conditions = [...keptBefore, ...incoming, ...keptAfter];
  const merged: PodStatusObject = { ...status };
  if (conditions.length > 0) merged.conditions = conditions;
  if (old.qosClass && !merged.qosClass) merged.qosClass = old.qosClass;
  const updated = { ...current.obj, status: merged } as KubeObject;
  return registry.writeInternal(pods, updated);
}

/** pods/eviction (no PodDisruptionBudgets here): DisruptionTarget, then delete. */
export function evictPod(
  registry: Registry,
  namespace: string,
  name: string,
  options: DeleteOptions,
): StatusObject {
  const current = registry.get(pods, namespace, name);
  const pod = current.obj as PodObject;
  const phase = pod.status?.phase;
  if (!options.dryRun && phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata?.deletionTimestamp) {
    const conditions = setCondition((pod.status?.conditions ?? []) as Condition[], {
      type: 'DisruptionTarget',
      status: 'True',
      lastProbeTime: null as unknown as string,
      lastTransitionTime: formatTime(registry.now()),
      reason: 'EvictionByEvictionAPI',
      message: 'Eviction API: evicting',
    });
    registry.writeInternal(pods, {
      ...current.obj,
      status: { ...(pod.status ?? {}), conditions },
    } as KubeObject);
  }
  try {
    registry.delete(pods, namespace, name, options);
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 404)) throw err;
  }
  return createdStatus();
}
