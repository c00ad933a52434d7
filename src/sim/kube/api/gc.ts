// The garbage collector (kube-controller-manager's, reduced to what a single store needs): when an
// owner is gone from storage its dependents go too (Background), dangling references of objects that
// keep another owner are dropped, objects created with only missing owners are deleted, and Foreground
// deletion waits for the blocking dependents before it lets the owner go.
import type { DeleteOptions, Registry } from './registry.ts';
import { allResources, type ResourceDef } from './resources.ts';
import { ApiError } from './status.ts';
import type { Entry, StoreEvent } from './store.ts';
import type { OwnerReference } from './types.ts';

interface DependentKey {
  def: ResourceDef;
  namespace: string;
  name: string;
}

export interface GarbageCollectorOptions {
  /** How long after an owner disappears its dependents are collected (a real GC takes well under a second). */
  delayMs: number;
}

export class GarbageCollector {
  private readonly registry: Registry;
  private readonly delayMs: number;
  /** owner uid → keys of dependents that reference it */
  private readonly dependents = new Map<string, Map<string, DependentKey>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private idleWaiters: (() => void)[] = [];
  private readonly defs = new Map(allResources.map((d) => [d.resource, d]));
  private stopped = false;

  constructor(registry: Registry, options: GarbageCollectorOptions) {
    this.registry = registry;
    this.delayMs = options.delayMs;
    registry.store.onChange((event) => this.observe(event));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Resolves once no collection is pending (tests, orderly shutdown). */
  whenIdle(): Promise<void> {
    if (this.timers.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private later(fn: () => void): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) fn();
      if (this.timers.size === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
    }, this.delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  private observe(event: StoreEvent): void {
    const def = this.defs.get(event.resource);
    if (!def) return;
    const key = `${event.resource}/${event.entry.namespace}/${event.entry.name}`;
    const dependent: DependentKey = { def, namespace: event.entry.namespace, name: event.entry.name };
    const oldRefs = event.prev?.obj.metadata.ownerReferences ?? [];
    const newRefs = event.type === 'DELETED' ? [] : (event.entry.obj.metadata.ownerReferences ?? []);
    for (const ref of oldRefs) {
      if (!newRefs.some((r) => r.uid === ref.uid)) this.dependents.get(ref.uid)?.delete(key);
    }
    for (const ref of newRefs) {
      let set = this.dependents.get(ref.uid);
      if (!set) {
        set = new Map();
        this.dependents.set(ref.uid, set);
      }
      set.set(key, dependent);
    }
    if (event.type === 'ADDED' && newRefs.length > 0) this.later(() => this.checkDependent(dependent));
    if (event.type === 'DELETED') {
      const uid = event.entry.uid;
      if (this.dependents.has(uid)) this.later(() => this.ownerGone(uid));
      for (const ref of oldRefs) this.later(() => this.checkForegroundOwner(ref.uid));
    }
    const finalizers = event.entry.obj.metadata.finalizers ?? [];
    if (
      event.type === 'MODIFIED' &&
      finalizers.includes('foregroundDeletion') &&
      event.entry.obj.metadata.deletionTimestamp
    ) {
      const owner = event.entry;
      const hadIt = (event.prev?.obj.metadata.finalizers ?? []).includes('foregroundDeletion');
      if (!hadIt) this.later(() => this.deleteDependentsOf(owner.uid, true));
    }
  }

  private ownerExists(ref: OwnerReference): boolean {
    const found = this.registry.store.getByUid(ref.uid);
    return found !== undefined && (this.defs.get(found.resource)?.kind ?? '') === ref.kind;
  }

  private ownerGone(uid: string): void {
    const set = this.dependents.get(uid);
    if (!set) return;
    for (const dependent of [...set.values()]) this.checkDependent(dependent);
    if (set.size === 0) this.dependents.delete(uid);
  }

  /** Deletes a dependent whose owners are all gone; drops dangling references otherwise. */
  private checkDependent(key: DependentKey): void {
    const entry = this.registry.store.get(key.def.resource, key.namespace, key.name);
    if (!entry) return;
    const refs = entry.obj.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;
    const solid = refs.filter((r) => this.ownerExists(r));
    if (solid.length === refs.length) return;
    if (solid.length === 0) {
      if (!entry.obj.metadata.deletionTimestamp)
        this.deleteQuietly(key.def, entry, { dryRun: false, propagationPolicy: 'Background' });
      return;
    }
    const obj = { ...entry.obj, metadata: { ...entry.obj.metadata, ownerReferences: solid } };
    this.registry.writeInternal(key.def, obj);
  }

  private deleteDependentsOf(ownerUid: string, _foreground: boolean): void {
    const set = this.dependents.get(ownerUid);
    for (const dependent of [...(set?.values() ?? [])]) {
      const entry = this.registry.store.get(dependent.def.resource, dependent.namespace, dependent.name);
      if (entry && !entry.obj.metadata.deletionTimestamp)
        this.deleteQuietly(dependent.def, entry, { dryRun: false, propagationPolicy: 'Background' });
    }
    this.checkForegroundOwner(ownerUid);
  }

  /** Lets a Foreground-deleted owner go once no dependent blocks it. */
  private checkForegroundOwner(ownerUid: string): void {
    const owner = this.registry.store.getByUid(ownerUid);
    if (!owner) return;
    const finalizers = owner.entry.obj.metadata.finalizers ?? [];
    if (!finalizers.includes('foregroundDeletion') || !owner.entry.obj.metadata.deletionTimestamp) return;
    const blocking = [...(this.dependents.get(ownerUid)?.values() ?? [])].some((d) => {
      const entry = this.registry.store.get(d.def.resource, d.namespace, d.name);
      return entry?.obj.metadata.ownerReferences?.some(
        (r) => r.uid === ownerUid && r.blockOwnerDeletion === true,
      );
    });
    if (blocking) return;
    const def = this.defs.get(owner.resource)!;
    this.registry.removeFinalizer(def, owner.entry, 'foregroundDeletion');
  }

  private deleteQuietly(def: ResourceDef, entry: Entry, options: DeleteOptions): void {
    try {
      this.registry.delete(def, entry.namespace, entry.name, options);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err;
    }
  }
}
