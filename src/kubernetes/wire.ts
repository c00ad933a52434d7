// Kubernetes objects as they travel on the wire: client-node's model types with every Date as an
// RFC 3339 string (watch events, list answers and our own request bodies are all in this shape).
import type {
  V1ContainerStatus,
  V1Lease,
  V1ObjectMeta,
  V1OwnerReference,
  V1Pod,
  V1Secret,
  V1Status,
} from '@kubernetes/client-node';

export type Wire<T> = T extends Date
  ? string
  : T extends (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

export type PodObject = Wire<V1Pod>;
export type SecretObject = Wire<V1Secret>;
export type LeaseObject = Wire<V1Lease>;
export type ObjectMeta = Wire<V1ObjectMeta>;
export type OwnerReference = Wire<V1OwnerReference>;
export type ContainerStatusObject = Wire<V1ContainerStatus>;
export type StatusObject = Wire<V1Status>;

export interface ObjectList<T> {
  items: T[];
  metadata: { resourceVersion?: string };
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
