// One shared list+watch of a runner's pods in one namespace: every job follows its pod through this
// cache, so the API sees one watch per namespace instead of a poll or an informer per job. Survives
// server-ended watches (re-watch from the last resourceVersion) and 410 Gone (re-list, and diff the
// new list against the cache so no deletion is missed).
import { createInterface } from 'node:readline';
import type { Cluster } from './cluster.ts';
import { KubeApiError } from './kube-errors.ts';
import type { PodObject, StatusObject, WatchEventType } from './wire.ts';

export type PodChange = 'ADDED' | 'MODIFIED' | 'DELETED';
export type PodListener = (type: PodChange, pod: PodObject) => void;

export interface PodWatchOptions {
  /** Server-side watch timeout; the watch is renewed after it. */
  timeoutSeconds?: number;
  /** Called for unexpected errors (the watch keeps retrying). */
  onError?: (err: unknown) => void;
  retryBaseMs?: number;
  retryMaxMs?: number;
}

export class PodWatch {
  readonly namespace: string;
  readonly labelSelector: string;
  readonly #cluster: Cluster;
  readonly #options: Required<Omit<PodWatchOptions, 'onError'>> & Pick<PodWatchOptions, 'onError'>;
  readonly #pods = new Map<string, PodObject>();
  readonly #byName = new Map<string, Set<PodListener>>();
  readonly #all = new Set<PodListener>();
  #resourceVersion: string | undefined;
  #stopped = false;
  #abortCurrent: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  /** Watch connections opened so far (re-watches and re-lists included). */
  watchesOpened = 0;
  relists = 0;

  constructor(cluster: Cluster, namespace: string, labelSelector: string, options: PodWatchOptions = {}) {
    this.#cluster = cluster;
    this.namespace = namespace;
    this.labelSelector = labelSelector;
    this.#options = {
      timeoutSeconds: options.timeoutSeconds ?? 300,
      retryBaseMs: options.retryBaseMs ?? 200,
      retryMaxMs: options.retryMaxMs ?? 5000,
      ...(options.onError ? { onError: options.onError } : {}),
    };
  }

  /** Lists once (so the cache is complete when this resolves), then keeps watching. */
  async start(): Promise<void> {
    await this.#relist();
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abortCurrent?.();
    await this.#loop;
  }

  get(name: string): PodObject | undefined {
    return this.#pods.get(name);
  }

  pods(): IterableIterator<PodObject> {
    return this.#pods.values();
  }

  /** Changes of one pod, by name. */
  subscribe(name: string, listener: PodListener): () => void {
    let set = this.#byName.get(name);
    if (!set) {
      set = new Set();
      this.#byName.set(name, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#byName.delete(name);
    };
  }

  /** Changes of every pod. */
  onChange(listener: PodListener): () => void {
    this.#all.add(listener);
    return () => this.#all.delete(listener);
  }

  /**
   * Resolves with the pod once `predicate` holds (checked now and on every change), or with
   * undefined once the pod is deleted or `signal` aborts.
   */
  waitFor(
    name: string,
    predicate: (pod: PodObject) => boolean,
    signal?: AbortSignal,
  ): Promise<PodObject | undefined> {
    const now = this.#pods.get(name);
    if (now && predicate(now)) return Promise.resolve(now);
    return new Promise((resolve) => {
      const done = (pod: PodObject | undefined) => {
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        resolve(pod);
      };
      const onAbort = () => done(this.#pods.get(name));
      const unsubscribe = this.subscribe(name, (type, pod) => {
        if (type === 'DELETED') done(undefined);
        else if (predicate(pod)) done(pod);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      try {
        if (this.#resourceVersion === undefined) await this.#relist();
        const sawEvents = await this.#watchOnce();
        failures = sawEvents ? 0 : failures + 1;
      } catch (err) {
        if (this.#stopped) break;
        if (err instanceof KubeApiError && err.code === 'gone') {
          this.#resourceVersion = undefined;
          continue;
        }
        failures++;
        this.#options.onError?.(err);
      }
      // A watch that ends at once (server dropping watches, or an error) backs off exponentially.
      if (failures > 0 && !this.#stopped) {
        const ms = Math.min(this.#options.retryMaxMs, this.#options.retryBaseMs * 2 ** (failures - 1));
        await new Promise((r) => setTimeout(r, ms));
      }
    }
  }

  /** One watch connection; resolves when it ends. Returns whether any event arrived. */
  async #watchOnce(): Promise<boolean> {
    const stream = await this.#cluster.watchPods(
      this.namespace,
      this.labelSelector,
      this.#resourceVersion ?? '0',
      this.#options.timeoutSeconds,
    );
    this.watchesOpened++;
    this.#abortCurrent = stream.abort;
    if (this.#stopped) stream.abort();
    let sawEvents = false;
    const lines = createInterface({ input: stream.body, crlfDelay: Number.POSITIVE_INFINITY });
    try {
      for await (const line of lines) {
        if (line.trim() === '') continue;
        const event = parseEvent(line);
        if (!event) continue;
        sawEvents = true;
        if (event.type === 'ERROR') {
          const status = event.object as StatusObject;
          if (status.code === 410) this.#resourceVersion = undefined;
          else this.#options.onError?.(new Error(`pod watch error: ${status.message ?? 'unknown'}`));
          stream.abort();
          break;
        }
        const pod = event.object as PodObject;
        const rv = pod.metadata?.resourceVersion;
        if (rv) this.#resourceVersion = rv;
        if (event.type === 'BOOKMARK') continue;
        this.#apply(event.type, pod);
      }
    } catch (err) {
      // A dropped connection surfaces here; the loop re-watches from the last resourceVersion.
      if (!this.#stopped) this.#options.onError?.(err);
    } finally {
      this.#abortCurrent = undefined;
      lines.close();
    }
    return sawEvents;
  }

  async #relist(): Promise<void> {
    const list = await this.#cluster.listPods(this.namespace, this.labelSelector);
    this.relists++;
    const seen = new Set<string>();
    for (const pod of list.items) {
      const name = pod.metadata?.name;
      if (!name) continue;
      seen.add(name);
      const old = this.#pods.get(name);
      if (!old) this.#apply('ADDED', pod);
      else if (old.metadata?.resourceVersion !== pod.metadata?.resourceVersion) this.#apply('MODIFIED', pod);
    }
    for (const [name, pod] of this.#pods) if (!seen.has(name)) this.#apply('DELETED', pod);
    this.#resourceVersion = list.metadata.resourceVersion ?? '0';
  }

  #apply(type: PodChange, full: PodObject): void {
    const name = full.metadata?.name;
    if (!name) return;
    const pod = cachedPod(full);
    if (type === 'DELETED') this.#pods.delete(name);
    else this.#pods.set(name, pod);
    for (const listener of this.#all) safeCall(listener, type, pod, this.#options.onError);
    const set = this.#byName.get(name);
    if (set) for (const listener of [...set]) safeCall(listener, type, pod, this.#options.onError);
  }
}

/**
 * What the cache keeps of a pod: its identity, labels and status. A job pod's spec (containers, env,
 * volumes) is most of its size and nothing downstream reads it: with 1,000 jobs running, keeping
 * whole pods cost ~80 MiB of heap.
 */
function cachedPod(pod: PodObject): PodObject {
  const m = pod.metadata ?? {};
  return {
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
      ...(m.deletionGracePeriodSeconds !== undefined
        ? { deletionGracePeriodSeconds: m.deletionGracePeriodSeconds }
        : {}),
      ...(m.labels ? { labels: m.labels } : {}),
    },
    ...(pod.status ? { status: pod.status } : {}),
  };
}

function parseEvent(line: string): { type: WatchEventType; object: unknown } | undefined {
  try {
    const parsed = JSON.parse(line) as { type?: unknown; object?: unknown };
    if (typeof parsed.type !== 'string' || typeof parsed.object !== 'object') return undefined;
    return { type: parsed.type as WatchEventType, object: parsed.object };
  } catch {
    return undefined;
  }
}

function safeCall(
  listener: PodListener,
  type: PodChange,
  pod: PodObject,
  onError: ((err: unknown) => void) | undefined,
): void {
  try {
    listener(type, pod);
  } catch (err) {
    onError?.(err);
  }
}
