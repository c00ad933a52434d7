// The object store: every object of every kind, one cluster-wide resourceVersion counter, a bounded
// history of changes per resource (watch replay; older resourceVersions get 410), and synchronous change
// fan-out to watchers. Stored objects are deep-frozen and never mutated: a write stores a new object.
// Each entry caches its JSON so lists and watch events are assembled from strings, not re-serialized.
import { expired } from './status.ts';
import { deepCopy, type KubeObject } from './types.ts';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** A kind's type meta, and the JSON that starts a standalone object of it. */
export interface TypeMeta {
  kind: string;
  apiVersion: string;
  /** `{"kind":"Pod","apiVersion":"v1",` */
  prefix: string;
}

/** One stored version of one object. */
export class Entry {
  readonly obj: KubeObject;
  readonly rv: number;
  readonly type: TypeMeta;
  private itemJsonCache: string | undefined;
  private fullJsonCache: string | undefined;

  constructor(obj: KubeObject, rv: number, type: TypeMeta, itemJson?: string) {
    this.obj = obj;
    this.rv = rv;
    this.type = type;
    this.itemJsonCache = itemJson;
  }

  get namespace(): string {
    return this.obj.metadata.namespace ?? '';
  }

  get name(): string {
    return this.obj.metadata.name ?? '';
  }

  get uid(): string {
    return this.obj.metadata.uid ?? '';
  }

  /** JSON as a list item: no `kind`/`apiVersion`. */
  get itemJson(): string {
    this.itemJsonCache ??= JSON.stringify(this.obj);
    return this.itemJsonCache;
  }

  /** JSON as a standalone object, with `kind` and `apiVersion` first. */
  get fullJson(): string {
    this.fullJsonCache ??= `${this.type.prefix}${this.itemJson.slice(1)}`;
    return this.fullJsonCache;
  }

  /** A mutable deep copy, with `kind`/`apiVersion` first when asked. */
  clone(withKind = false): KubeObject {
    const copy = deepCopy(this.obj);
    if (!withKind) return copy;
    return { kind: this.type.kind, apiVersion: this.type.apiVersion, ...copy } as KubeObject;
  }
}

export interface StoreEvent {
  type: ChangeType;
  resource: string;
  entry: Entry;
  /** The state before this change (MODIFIED and DELETED). */
  prev: Entry | undefined;
}

/**
 * `{"type":…,"object":…}\n` from the entry's cached JSON. Not cached itself: the concatenation is a
 * cheap rope, and keeping it would double the memory the watch history holds.
 */
export function eventLine(event: StoreEvent): string {
  return `{"type":"${event.type}","object":${event.entry.fullJson}}\n`;
}

export interface Watcher {
  /** Only events of this namespace ('' = all). */
  namespace: string;
  deliver(event: StoreEvent): void;
}

interface ResourceState {
  type: TypeMeta;
  byNamespace: Map<string, Map<string, Entry>>;
  count: number;
  sortedAll: Entry[] | undefined;
  sortedByNamespace: Map<string, Entry[]>;
  history: StoreEvent[];
  historyStart: number;
  /** Every change with a resourceVersion above this one is still in `history`. */
  horizon: number;
  watchers: Set<Subscription>;
}

interface Subscription {
  watcher: Watcher;
  /** Events up to this resourceVersion reached the watcher already (replay or initial list). */
  seenRv: number;
}

export interface StoreOptions {
  /** Changes kept per resource for watch replay; a watch from an older resourceVersion gets 410. */
  historySize: number;
  /** A listener or watcher threw: report it (the store carries on). */
  onListenerError?: (err: unknown) => void;
}

export type ChangeListener = (event: StoreEvent) => void;

export class ObjectStore {
  private rv: number;
  private readonly resources = new Map<string, ResourceState>();
  private readonly byUid = new Map<string, { resource: string; entry: Entry }>();
  private readonly listeners: ChangeListener[] = [];
  private readonly options: StoreOptions;
  /** Changes waiting to be fanned out: a write made by a listener is delivered after the current one. */
  private readonly queue: { s: ResourceState; event: StoreEvent }[] = [];
  private draining = false;

  constructor(options: StoreOptions, initialRv = 1000) {
    this.options = options;
    this.rv = initialRv;
  }

  /** Registers a resource; `kindPrefix` is `{"kind":"Pod","apiVersion":"v1",`. */
  register(resource: string, kind: string, apiVersion: string): void {
    if (this.resources.has(resource)) return;
    this.resources.set(resource, {
      type: {
        kind,
        apiVersion,
        prefix: `{"kind":${JSON.stringify(kind)},"apiVersion":${JSON.stringify(apiVersion)},`,
      },
      byNamespace: new Map(),
      count: 0,
      sortedAll: undefined,
      sortedByNamespace: new Map(),
      history: [],
      historyStart: 0,
      horizon: this.rv,
      watchers: new Set(),
    });
  }

  /** The cluster-wide resourceVersion of the latest write. */
  currentRv(): number {
    return this.rv;
  }

  /** Called synchronously after every change, before watchers (GC, the kubelet adapter). */
  onChange(listener: ChangeListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  get(resource: string, namespace: string, name: string): Entry | undefined {
    return this.state(resource).byNamespace.get(namespace)?.get(name);
  }

  getByUid(uid: string): { resource: string; entry: Entry } | undefined {
    return this.byUid.get(uid);
  }

  count(resource: string): number {
    return this.state(resource).count;
  }

  /** Entries ordered by namespace, then name (etcd key order). `namespace` '' lists all namespaces. */
  list(resource: string, namespace: string): readonly Entry[] {
    const s = this.state(resource);
    if (namespace !== '') {
      let sorted = s.sortedByNamespace.get(namespace);
      if (!sorted) {
        const map = s.byNamespace.get(namespace);
        if (!map) return [];
        sorted = [...map.values()].sort(byName);
        s.sortedByNamespace.set(namespace, sorted);
      }
      return sorted;
    }
    if (!s.sortedAll) {
      const namespaces = [...s.byNamespace.keys()].sort(compareStrings);
      s.sortedAll = namespaces.flatMap((ns) => [...s.byNamespace.get(ns)!.values()].sort(byName));
    }
    return s.sortedAll;
  }

  /** Stores a new object; the caller has checked it does not exist. */
  create(resource: string, obj: KubeObject): Entry {
    const s = this.state(resource);
    const rv = ++this.rv;
    const entry = new Entry(freezeWithVersion(obj, rv), rv, s.type);
    let map = s.byNamespace.get(entry.namespace);
    if (!map) {
      map = new Map();
      s.byNamespace.set(entry.namespace, map);
    }
    map.set(entry.name, entry);
    s.count++;
    this.invalidateOrder(s, entry.namespace);
    this.byUid.set(entry.uid, { resource, entry });
    this.emit(s, { type: 'ADDED', resource, entry, prev: undefined });
    return entry;
  }

  /**
   * Replaces a stored object. An update that changes nothing is not written: the stored entry comes
   * back and no event is sent (etcd's GuaranteedUpdate short-circuit).
   */
  update(resource: string, obj: KubeObject): Entry {
    const s = this.state(resource);
    const namespace = obj.metadata.namespace ?? '';
    const name = obj.metadata.name ?? '';
    const prev = s.byNamespace.get(namespace)?.get(name);
    if (!prev) throw new Error(`update of a missing object ${resource} ${namespace}/${name}`);
    // one serialization: with a placeholder for the resourceVersion, compared with the old one's JSON
    const json = JSON.stringify({ ...obj, metadata: { ...obj.metadata, resourceVersion: rvPlaceholder } });
    const at = json.indexOf(rvPlaceholderJson);
    const before = json.slice(0, at);
    const after = json.slice(at + rvPlaceholderJson.length);
    if (`${before}"${prev.rv}"${after}` === prev.itemJson) return prev;
    const rv = ++this.rv;
    const entry = new Entry(freezeWithVersion(obj, rv), rv, s.type, `${before}"${rv}"${after}`);
    s.byNamespace.get(namespace)!.set(name, entry);
    this.replaceInOrder(s, prev, entry);
    this.byUid.set(entry.uid, { resource, entry });
    this.emit(s, { type: 'MODIFIED', resource, entry, prev });
    return entry;
  }

  /** Removes an object; the DELETED entry is its last state with the deletion's resourceVersion. */
  remove(resource: string, namespace: string, name: string): Entry | undefined {
    const s = this.state(resource);
    const map = s.byNamespace.get(namespace);
    const prev = map?.get(name);
    if (!map || !prev) return undefined;
    map.delete(name);
    if (map.size === 0) s.byNamespace.delete(namespace);
    s.count--;
    this.invalidateOrder(s, namespace);
    this.byUid.delete(prev.uid);
    const rv = ++this.rv;
    const entry = new Entry(freezeWithVersion(prev.obj, rv), rv, s.type);
    this.emit(s, { type: 'DELETED', resource, entry, prev });
    return entry;
  }

  /**
   * Registers a watcher after replaying the changes after `sinceRv` (undefined: no replay). Throws 410
   * Expired when `sinceRv` is older than the history kept. Returns the unsubscribe function.
   */
  watch(resource: string, sinceRv: number | undefined, watcher: Watcher): () => void {
    const s = this.state(resource);
    if (sinceRv !== undefined) {
      if (sinceRv < s.horizon) throw expired(`too old resource version: ${sinceRv} (${s.horizon})`);
      for (let i = s.historyStart; i < s.history.length; i++) {
        const event = s.history[i]!;
        if (
          event.entry.rv > sinceRv &&
          (watcher.namespace === '' || event.entry.namespace === watcher.namespace)
        )
          watcher.deliver(event);
      }
    }
    const subscription: Subscription = { watcher, seenRv: this.rv };
    s.watchers.add(subscription);
    return () => s.watchers.delete(subscription);
  }

  /** The oldest resourceVersion a watch of `resource` can still start from. */
  horizon(resource: string): number {
    return this.state(resource).horizon;
  }

  watcherCount(resource: string): number {
    return this.state(resource).watchers.size;
  }

  /** Forgets the history up to now (tests and fault injection: every older resourceVersion gets 410). */
  compact(resource: string): void {
    const s = this.state(resource);
    s.history = [];
    s.historyStart = 0;
    s.horizon = this.rv;
  }

  private state(resource: string): ResourceState {
    const s = this.resources.get(resource);
    if (!s) throw new Error(`unknown resource ${resource}`);
    return s;
  }

  private emit(s: ResourceState, event: StoreEvent): void {
    s.history.push(event);
    if (s.history.length - s.historyStart > this.options.historySize) {
      const dropped = s.history[s.historyStart]!;
      s.history[s.historyStart] = undefined as unknown as StoreEvent;
      s.historyStart++;
      s.horizon = dropped.entry.rv;
      if (s.historyStart > 1024 && s.historyStart * 2 > s.history.length) {
        s.history = s.history.slice(s.historyStart);
        s.historyStart = 0;
      }
    }
    this.queue.push({ s, event });
    if (this.draining) return;
    this.draining = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) this.fanOut(next.s, next.event);
    } finally {
      this.draining = false;
    }
  }

  private fanOut(s: ResourceState, event: StoreEvent): void {
    const rv = event.entry.rv;
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.reportError(err);
      }
    }
    for (const subscription of s.watchers) {
      const { watcher } = subscription;
      if (subscription.seenRv >= rv) continue;
      subscription.seenRv = rv;
      if (watcher.namespace !== '' && watcher.namespace !== event.entry.namespace) continue;
      try {
        watcher.deliver(event);
      } catch (err) {
        this.reportError(err);
      }
    }
  }

  private reportError(err: unknown): void {
    if (this.options.onListenerError) this.options.onListenerError(err);
    else console.error(err);
  }

  private invalidateOrder(s: ResourceState, namespace: string): void {
    s.sortedAll = undefined;
    s.sortedByNamespace.delete(namespace);
  }

  private replaceInOrder(s: ResourceState, prev: Entry, next: Entry): void {
    const replace = (list: Entry[] | undefined) => {
      if (!list) return;
      const i = list.indexOf(prev);
      if (i >= 0) list[i] = next;
    };
    replace(s.sortedByNamespace.get(prev.namespace));
    replace(s.sortedAll);
  }
}

const rvPlaceholder = '\u0001resourceVersion\u0001';
const rvPlaceholderJson = JSON.stringify(rvPlaceholder);

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byName(a: Entry, b: Entry): number {
  return compareStrings(a.name, b.name);
}

function freezeWithVersion(obj: KubeObject, rv: number): KubeObject {
  const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
  return deepFreeze(stored);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
