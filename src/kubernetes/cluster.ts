// The small interface the job logic uses to reach Kubernetes. The client-node-backed implementation
// is `KubeCluster`; tests of the job logic may put a fake behind it.
import type { KubeStream } from './kube-http.ts';
import type { LeaseObject, ObjectList, OwnerReference, PodObject, SecretObject } from './wire.ts';

export interface LogRequest {
  container: string;
  follow: boolean;
  /** RFC 3339; the server rounds it down to whole seconds. */
  sinceTime?: string;
}

export interface Cluster {
  createSecret(namespace: string, secret: SecretObject): Promise<SecretObject>;
  createPod(namespace: string, pod: PodObject): Promise<PodObject>;
  /** Makes `owner` the controller of the Secret so Kubernetes deletes it with the pod. */
  setSecretOwner(namespace: string, name: string, owner: OwnerReference): Promise<void>;
  readSecret(namespace: string, name: string): Promise<SecretObject | undefined>;
  /** JSON merge patch of a pod's labels (a surviving manager moves a dead one's pods to itself). */
  setPodLabels(namespace: string, name: string, labels: Record<string, string>): Promise<void>;
  /** false when the object was already gone. */
  deletePod(namespace: string, name: string, gracePeriodSeconds?: number): Promise<boolean>;
  deleteSecret(namespace: string, name: string): Promise<boolean>;
  listPods(namespace: string, labelSelector: string): Promise<ObjectList<PodObject>>;
  /** A watch request; events arrive as raw NDJSON lines on the stream. */
  watchPods(
    namespace: string,
    labelSelector: string,
    resourceVersion: string,
    timeoutSeconds: number,
  ): Promise<KubeStream>;
  /** undefined when the pod is not scheduled yet (the API server answers 204). */
  streamLog(namespace: string, pod: string, request: LogRequest): Promise<KubeStream | undefined>;
  readLease(namespace: string, name: string): Promise<LeaseObject | undefined>;
  createLease(namespace: string, lease: LeaseObject): Promise<LeaseObject>;
  /** Optimistic update: throws KubeApiError `conflict` when `lease.metadata.resourceVersion` is stale. */
  replaceLease(namespace: string, lease: LeaseObject): Promise<LeaseObject>;
  deleteLease(namespace: string, name: string): Promise<boolean>;
  listLeases(namespace: string, labelSelector: string): Promise<ObjectList<LeaseObject>>;
  /** `GET /version`: decides native sidecars (1.29+) versus plain service containers. */
  serverVersion(): Promise<{ major: number; minor: number; gitVersion: string }>;
  /** Requests sent so far (for metrics and the benchmark). */
  readonly requestCount: number;
  close(): Promise<void>;
}
