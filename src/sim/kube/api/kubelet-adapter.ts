// The KubeletStore the simulated kubelet works through: the same registry, store and log store the
// HTTP API serves, called in-process and synchronously. Objects handed out are copies.
import type {
  ConfigMapObject,
  ContainerLogWriter,
  KubeletEvent,
  KubeletStore,
  PodEventType,
  PodObject,
  PodStatusObject,
  SecretObject,
} from '../kubelet-store.ts';
import type { EventRecorder } from './events.ts';
import type { LogStore } from './logs.ts';
import { bindPod, writePodStatus } from './pod-actions.ts';
import type { Registry } from './registry.ts';
import { ApiError } from './status.ts';
import { deepCopy } from './types.ts';

export function createKubeletStore(registry: Registry, logs: LogStore, events: EventRecorder): KubeletStore {
  return {
    watchPods(listener: (type: PodEventType, pod: PodObject) => void): () => void {
      for (const entry of registry.store.list('pods', '')) listener('ADDED', entry.clone(true) as PodObject);
      return registry.store.watch('pods', undefined, {
        namespace: '',
        deliver: (event) => listener(event.type, event.entry.clone(true) as PodObject),
      });
    },
    getSecret(namespace: string, name: string): SecretObject | undefined {
      const entry = registry.store.get('secrets', namespace, name);
      return entry ? (entry.clone(true) as SecretObject) : undefined;
    },
    getConfigMap(namespace: string, name: string): ConfigMapObject | undefined {
      const entry = registry.store.get('configmaps', namespace, name);
      return entry ? (entry.clone(true) as ConfigMapObject) : undefined;
    },
    bindPod(namespace: string, name: string, uid: string, nodeName: string): boolean {
      // already on this node (e.g. spec.nodeName given at create): nothing to do
      const current = registry.store.get('pods', namespace, name);
      if (
        current?.uid === uid &&
        (current.obj.spec as { nodeName?: string } | undefined)?.nodeName === nodeName
      )
        return true;
      try {
        bindPod(registry, namespace, name, uid, nodeName);
        return true;
      } catch (err) {
        if (err instanceof ApiError) return false;
        throw err;
      }
    },
    updatePodStatus(
      namespace: string,
      name: string,
      uid: string,
      status: PodStatusObject,
    ): PodObject | undefined {
      const entry = writePodStatus(registry, namespace, name, uid, deepCopy(status));
      return entry ? (entry.clone(true) as PodObject) : undefined;
    },
    removePod(namespace: string, name: string, uid: string): void {
      registry.removePodAfterTermination(namespace, name, uid);
    },
    recordEvent(event: KubeletEvent): void {
      events.record(event);
    },
    openContainerLog(podUid: string, container: string): ContainerLogWriter {
      return logs.open(podUid, container);
    },
  };
}
