// A small in-memory KubeletStore that behaves as the interface's doc comments say (ADDED replay,
// MODIFIED with deletionTimestamp on a graceful delete, DELETED on removal), plus what tests need:
// creating and deleting pods with the API server's defaults, and a record of every watch event,
// event and log line.
import { randomUUID } from 'node:crypto';
import type {
  ConfigMapObject,
  ContainerLogWriter,
  KubeletEvent,
  KubeletStore,
  PodEventType,
  PodObject,
  PodStatusObject,
  SecretObject,
} from '../../../../src/sim/kube/kubelet-store.ts';

export interface RecordedEvent extends KubeletEvent {
  count: number;
  at: number;
}

export interface LogChunk {
  stream: 'stdout' | 'stderr';
  text: string;
  time: Date;
}

// Objects are plain JSON (wire form): a JSON round trip is the cheapest deep copy.
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function nowSeconds(ms = Date.now()): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function defaultPullPolicy(image: string): string {
  const tail = image.slice(image.lastIndexOf('/') + 1);
  if (tail.includes('@')) return 'IfNotPresent';
  const colon = tail.indexOf(':');
  return colon < 0 || tail.slice(colon + 1) === 'latest' ? 'Always' : 'IfNotPresent';
}

export class MemoryStore implements KubeletStore {
  private rv = 0;
  private readonly pods = new Map<string, PodObject>();
  private readonly secrets = new Map<string, SecretObject>();
  private readonly configMaps = new Map<string, ConfigMapObject>();
  private readonly listeners = new Set<(type: PodEventType, pod: PodObject) => void>();
  private readonly changeListeners = new Set<() => void>();
  /** Every watch event, in order (deep copies). */
  readonly history: { type: PodEventType; pod: PodObject }[] = [];
  readonly events: RecordedEvent[] = [];
  private readonly eventIndex = new Map<string, RecordedEvent>();
  readonly logs = new Map<string, LogChunk[]>();
  /** Keep full history (tests); the benchmark turns it off. */
  recordHistory = true;
  recordLogs = true;
  statusWrites = 0;

  private key(ns: string, name: string): string {
    return `${ns}/${name}`;
  }

  private emit(type: PodEventType, pod: PodObject): void {
    if (this.recordHistory) this.history.push({ type, pod: clone(pod) });
    for (const l of [...this.listeners]) l(type, pod);
    this.notifyChange();
  }

  private notifyChange(): void {
    if (this.changeListeners.size === 0) return;
    // After the synchronous listeners (the kubelet's own queue) have run.
    queueMicrotask(() => {
      for (const l of [...this.changeListeners]) l();
    });
  }

  private bump(pod: PodObject): void {
    pod.metadata = { ...pod.metadata, resourceVersion: String(++this.rv) };
  }

  // ---- test-side API (what an API server would do)

  createPod(input: PodObject): PodObject {
    const pod = clone(input);
    const meta = pod.metadata ?? {};
    pod.metadata = meta;
    meta.namespace ??= 'default';
    meta.uid = randomUUID();
    meta.creationTimestamp = nowSeconds();
    const spec = pod.spec ?? { containers: [] };
    pod.spec = spec;
    spec.restartPolicy ??= 'Always';
    spec.terminationGracePeriodSeconds ??= 30;
    spec.schedulerName ??= 'default-scheduler';
    spec.dnsPolicy ??= 'ClusterFirst';
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      c.terminationMessagePath ??= '/dev/termination-log';
      c.terminationMessagePolicy ??= 'File';
      c.imagePullPolicy ??= defaultPullPolicy(c.image ?? '');
    }
    pod.status = { phase: 'Pending', qosClass: 'BestEffort' };
    const key = this.key(meta.namespace, meta.name ?? '');
    if (this.pods.has(key)) throw new Error(`pods "${meta.name}" already exists`);
    this.bump(pod);
    this.pods.set(key, pod);
    this.emit('ADDED', pod);
    return clone(pod);
  }

  /** A DELETE with the API server's grace rules (docs §6.2). */
  deletePod(ns: string, name: string, gracePeriodSeconds?: number): PodObject | undefined {
    const key = this.key(ns, name);
    const pod = this.pods.get(key);
    if (!pod) return undefined;
    let grace = gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 0;
    const phase = pod.status?.phase;
    if (!pod.spec?.nodeName || phase === 'Succeeded' || phase === 'Failed') grace = 0;
    if (grace < 0) grace = 1;
    const meta = pod.metadata ?? {};
    if (meta.deletionTimestamp !== undefined && (meta.deletionGracePeriodSeconds ?? 0) <= grace) {
      return clone(pod);
    }
    meta.deletionTimestamp = nowSeconds(Date.now() + grace * 1000);
    meta.deletionGracePeriodSeconds = grace;
    pod.metadata = meta;
    this.bump(pod);
    this.emit('MODIFIED', pod);
    if (grace === 0) {
      this.pods.delete(key);
      this.emit('DELETED', pod);
    }
    return clone(pod);
  }

  putSecret(ns: string, name: string, data: Record<string, string>): void {
    const encoded: Record<string, string> = {};
    for (const [k, v] of Object.entries(data)) encoded[k] = Buffer.from(v).toString('base64');
    this.secrets.set(this.key(ns, name), {
      metadata: { namespace: ns, name },
      data: encoded,
      type: 'Opaque',
    });
  }

  putConfigMap(ns: string, name: string, data: Record<string, string>): void {
    this.configMaps.set(this.key(ns, name), { metadata: { namespace: ns, name }, data });
  }

  getPod(ns: string, name: string): PodObject | undefined {
    const pod = this.pods.get(this.key(ns, name));
    return pod ? clone(pod) : undefined;
  }

  podCount(): number {
    return this.pods.size;
  }

  /** Resolves with the pod once `predicate` holds (or with undefined once it is gone, if `gone` is asked). */
  waitForPod(
    ns: string,
    name: string,
    predicate: (pod: PodObject) => boolean,
    timeoutMs = 10_000,
  ): Promise<PodObject> {
    return new Promise((resolve, reject) => {
      const current = this.pods.get(this.key(ns, name));
      if (current && predicate(current)) {
        resolve(clone(current));
        return;
      }
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(
          new Error(
            `timed out waiting for pod ${ns}/${name}; last: ${JSON.stringify(this.pods.get(this.key(ns, name))?.status)}`,
          ),
        );
      }, timeoutMs);
      const listener = (type: PodEventType, pod: PodObject): void => {
        if (pod.metadata?.namespace !== ns || pod.metadata?.name !== name) return;
        if (type !== 'DELETED' && predicate(pod)) {
          clearTimeout(timer);
          this.listeners.delete(listener);
          resolve(clone(pod));
        }
      };
      this.listeners.add(listener);
    });
  }

  waitForGone(ns: string, name: string, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.pods.has(this.key(ns, name))) {
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`timed out waiting for pod ${ns}/${name} to be removed`));
      }, timeoutMs);
      const listener = (type: PodEventType, pod: PodObject): void => {
        if (type === 'DELETED' && pod.metadata?.namespace === ns && pod.metadata?.name === name) {
          clearTimeout(timer);
          this.listeners.delete(listener);
          resolve();
        }
      };
      this.listeners.add(listener);
    });
  }

  /** Resolves once `check()` holds; re-checked after every pod change and every recorded event. */
  waitUntil(check: () => boolean, what = 'condition', timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      if (check()) {
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        this.changeListeners.delete(listener);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const listener = (): void => {
        if (!check()) return;
        clearTimeout(timer);
        this.changeListeners.delete(listener);
        resolve();
      };
      this.changeListeners.add(listener);
    });
  }

  /** Resolves once an event about `name` matches (`reason: message [fieldPath]` form). */
  waitForEvent(name: string, match: RegExp | string, timeoutMs = 10_000): Promise<void> {
    const test = (e: string): boolean => (typeof match === 'string' ? e.startsWith(match) : match.test(e));
    return this.waitUntil(
      () => this.eventsFor(name).some(test),
      `event ${String(match)} of ${name}`,
      timeoutMs,
    );
  }

  /** Events about one pod, in order: `reason: message` (with `[fieldPath]` when set). */
  eventsFor(name: string): string[] {
    return this.events
      .filter((e) => e.involvedObject.name === name)
      .map(
        (e) =>
          `${e.reason}: ${e.message}${e.involvedObject.fieldPath ? ` [${e.involvedObject.fieldPath}]` : ''}`,
      );
  }

  logText(uid: string, container: string): string {
    return (this.logs.get(`${uid}/${container}`) ?? []).map((c) => c.text).join('');
  }

  // ---- KubeletStore

  watchPods(listener: (type: PodEventType, pod: PodObject) => void): () => void {
    const sorted = [...this.pods.values()].sort(
      (a, b) => Number(a.metadata?.resourceVersion) - Number(b.metadata?.resourceVersion),
    );
    for (const pod of sorted) listener('ADDED', pod);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  getSecret(namespace: string, name: string): SecretObject | undefined {
    const s = this.secrets.get(this.key(namespace, name));
    return s ? clone(s) : undefined;
  }

  getConfigMap(namespace: string, name: string): ConfigMapObject | undefined {
    const c = this.configMaps.get(this.key(namespace, name));
    return c ? clone(c) : undefined;
  }

  bindPod(namespace: string, name: string, uid: string, nodeName: string): boolean {
    const pod = this.pods.get(this.key(namespace, name));
    if (!pod || pod.metadata?.uid !== uid || pod.spec?.nodeName) return false;
    (pod.spec as NonNullable<PodObject['spec']>).nodeName = nodeName;
    const conditions = (pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    conditions.push({
      type: 'PodScheduled',
      status: 'True',
      lastProbeTime: null as unknown as string,
      lastTransitionTime: nowSeconds(),
    });
    pod.status = { ...pod.status, conditions };
    this.bump(pod);
    this.emit('MODIFIED', pod);
    return true;
  }

  updatePodStatus(
    namespace: string,
    name: string,
    uid: string,
    status: PodStatusObject,
  ): PodObject | undefined {
    const pod = this.pods.get(this.key(namespace, name));
    if (!pod || pod.metadata?.uid !== uid) return undefined;
    this.statusWrites++;
    if (JSON.stringify(pod.status) === JSON.stringify(status)) return clone(pod);
    pod.status = clone(status);
    this.bump(pod);
    this.emit('MODIFIED', pod);
    return clone(pod);
  }

  removePod(namespace: string, name: string, uid: string): void {
    const key = this.key(namespace, name);
    const pod = this.pods.get(key);
    if (!pod || pod.metadata?.uid !== uid) return;
    pod.metadata = { ...pod.metadata, deletionTimestamp: nowSeconds(), deletionGracePeriodSeconds: 0 };
    this.bump(pod);
    this.emit('MODIFIED', pod);
    this.pods.delete(key);
    this.emit('DELETED', pod);
  }

  recordEvent(event: KubeletEvent): void {
    const o = event.involvedObject;
    const key = [
      event.source.component,
      o.uid,
      o.fieldPath ?? '',
      event.type,
      event.reason,
      event.message,
    ].join('\0');
    const same = this.eventIndex.get(key);
    if (same) same.count++;
    else {
      const recorded = { ...clone(event), count: 1, at: Date.now() };
      this.events.push(recorded);
      this.eventIndex.set(key, recorded);
    }
    this.notifyChange();
  }

  openContainerLog(podUid: string, container: string): ContainerLogWriter {
    const key = `${podUid}/${container}`;
    const chunks = this.logs.get(key) ?? [];
    this.logs.set(key, chunks);
    return {
      write: (stream, chunk, time) => {
        if (this.recordLogs) chunks.push({ stream, text: Buffer.from(chunk).toString('utf8'), time });
      },
      close: () => {},
    };
  }
}
