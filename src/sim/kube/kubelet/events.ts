// The kubelet's and scheduler's events, with the reasons and messages a real cluster records.
import type { KubeletEvent, KubeletStore, PodObject } from '../kubelet-store.ts';

export type EventType = 'Normal' | 'Warning';

/** The kubelet's pod format in messages: `name_namespace(uid)`. */
export function podDescription(pod: PodObject): string {
  const m = pod.metadata ?? {};
  return `${m.name ?? ''}_${m.namespace ?? 'default'}(${m.uid ?? ''})`;
}

export class EventRecorder {
  private readonly store: KubeletStore;
  private readonly component: string;
  private readonly host: string | undefined;

  constructor(store: KubeletStore, component: string, host?: string) {
    this.store = store;
    this.component = component;
    this.host = host;
  }

  record(pod: PodObject, type: EventType, reason: string, message: string, fieldPath?: string): void {
    const m = pod.metadata ?? {};
    const event: KubeletEvent = {
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: m.namespace ?? 'default',
        name: m.name ?? '',
        uid: m.uid ?? '',
        ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
        ...(fieldPath ? { fieldPath } : {}),
      },
      reason,
      message,
      type,
      source: { component: this.component, ...(this.host ? { host: this.host } : {}) },
    };
    this.store.recordEvent(event);
  }
}
