// What the simulated kubelet (and its scheduler) needs from the simulated API server's object store.
// The API server owns the store and implements this interface; the kubelet only reads pods, Secrets and
// ConfigMaps, writes pod status and events, and writes container logs, like a real kubelet through the
// API. Objects are wire JSON: the client-node model types with every Date as an RFC 3339 string.
import type { V1ConfigMap, V1Pod, V1PodStatus, V1Secret } from '@kubernetes/client-node';
import type { Wire } from '../../kubernetes/wire.ts';

export type { Wire };
export type PodObject = Wire<V1Pod>;
export type PodStatusObject = Wire<V1PodStatus>;
export type SecretObject = Wire<V1Secret>;
export type ConfigMapObject = Wire<V1ConfigMap>;

export type PodEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ObjectReference {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  resourceVersion?: string;
  /** e.g. `spec.containers{build}` or `spec.initContainers{helper}` */
  fieldPath?: string;
}

export interface KubeletEvent {
  involvedObject: ObjectReference;
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  /** `default-scheduler`, `kubelet`, `taint-eviction-controller`, … */
  source: { component: string; host?: string };
}

/** One run of one container; the API server's pods/log endpoint reads what was written. */
export interface ContainerLogWriter {
  write(stream: 'stdout' | 'stderr', chunk: Uint8Array, time: Date): void;
  /** The container terminated: followers see the end of the stream. */
  close(): void;
}

export interface KubeletStore {
  /**
   * Calls `listener` with ADDED for every existing pod, then with each change, synchronously and in
   * resourceVersion order. A pod being deleted gracefully arrives as MODIFIED with
   * `metadata.deletionTimestamp` set; DELETED means the object is gone. Returns an unsubscribe function.
   */
  watchPods(listener: (type: PodEventType, pod: PodObject) => void): () => void;
  getSecret(namespace: string, name: string): SecretObject | undefined;
  getConfigMap(namespace: string, name: string): ConfigMapObject | undefined;
  /** The scheduler's binding: sets `spec.nodeName`. False when the pod is gone or has another uid. */
  bindPod(namespace: string, name: string, uid: string, nodeName: string): boolean;
  /** Replaces the pod's status (a new resourceVersion, a MODIFIED event); undefined when the pod is gone. */
  updatePodStatus(
    namespace: string,
    name: string,
    uid: string,
    status: PodStatusObject,
  ): PodObject | undefined;
  /** Every container of a terminating pod has stopped: remove the object (DELETED), collect its dependents. */
  removePod(namespace: string, name: string, uid: string): void;
  /** Records a core/v1 Event (repeats of the same reason/message/object bump `count`, like a real cluster). */
  recordEvent(event: KubeletEvent): void;
  openContainerLog(podUid: string, container: string): ContainerLogWriter;
}
