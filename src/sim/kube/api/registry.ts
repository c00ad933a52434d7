// The generic registry: create, get, list, update, patch and delete with the API server's semantics
// (generateName, dryRun, optimistic concurrency, no-op updates, graceful pod deletion, finalizers,
// propagation policies), on top of the object store. Everything is synchronous.
import { randomUUID } from 'node:crypto';
import { checkTypeMeta, decodeObject, type FieldValidation } from './decode.ts';
import { checkSecretEncoding, configMapStrategy, secretStrategy } from './kinds/config.ts';
import {
  eventStrategy,
  leaseStrategy,
  namespaceStrategy,
  nodeStrategy,
  serviceStrategy,
} from './kinds/other.ts';
import { podStrategy } from './kinds/pods.ts';
import { genericStrategy, type KindStrategy } from './kinds/strategy.ts';
import { validateMetadata } from './metadata.ts';
import { generateName } from './names.ts';
import { applyPatch, type PatchType } from './patch.ts';
import { allResources, namespaces as namespacesDef, pods as podsDef, type ResourceDef } from './resources.ts';
import {
  compileFieldSelector,
  type FieldMatcher,
  type LabelMatcher,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.ts';
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  type FieldError,
  forbidden,
  generateNameConflict,
  invalid,
  notFound,
  type StatusObject,
  successStatus,
  unsupportedField,
} from './status.ts';
import { type Entry, ObjectStore } from './store.ts';
import { type Clock, formatTime } from './time.ts';
import { isPlainObject, type KubeObject } from './types.ts';

export interface RegistryOptions {
  clock: Clock;
  /** Changes kept per resource for watch replay. */
  historySize: number;
  /** Add the projected `kube-api-access-…` volume to pods that do not opt out. */
  serviceAccountVolume: boolean;
  /** A change listener or watcher threw. */
  onListenerError?: (err: unknown) => void;
}

export interface WriteOptions {
  dryRun: boolean;
  fieldValidation: FieldValidation;
}

export interface WriteResult {
  object: KubeObject;
  /** The stored entry; undefined for dryRun. */
  entry: Entry | undefined;
  warnings: string[];
}

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export interface DeleteOptions {
  gracePeriodSeconds?: number | undefined;
  propagationPolicy?: PropagationPolicy | undefined;
  preconditions?: { uid?: string | undefined; resourceVersion?: string | undefined } | undefined;
  dryRun: boolean;
}

export type DeleteResult =
  | { kind: 'object'; object: KubeObject; entry: Entry | undefined }
  | { kind: 'status'; status: StatusObject };

export interface Selection {
  labels: LabelMatcher;
  fields: FieldMatcher;
  /** True when nothing is filtered. */
  everything: boolean;
}

const protectedNamespaces = new Set(['default', 'kube-system', 'kube-public']);

export class Registry {
  readonly store: ObjectStore;
  readonly clock: Clock;
  private readonly strategies = new Map<string, KindStrategy>();
  /** Called after an object is removed from storage (garbage collection, namespace cleanup). */
  private readonly removalHooks: ((def: ResourceDef, entry: Entry) => void)[] = [];

  constructor(options: RegistryOptions) {
    this.clock = options.clock;
    this.store = new ObjectStore({
      historySize: options.historySize,
      ...(options.onListenerError ? { onListenerError: options.onListenerError } : {}),
    });
    for (const def of allResources) this.store.register(def.resource, def.kind, def.apiVersion);
    this.strategies.set('pods', podStrategy({ serviceAccountVolume: options.serviceAccountVolume }));
    this.strategies.set('secrets', secretStrategy);
    this.strategies.set('configmaps', configMapStrategy);
    this.strategies.set('services', serviceStrategy);
    this.strategies.set('events', eventStrategy);
    this.strategies.set('namespaces', namespaceStrategy);
    this.strategies.set('nodes', nodeStrategy);
    this.strategies.set('leases', leaseStrategy);
  }

  now(): number {
    return this.clock();
  }

  strategy(def: ResourceDef): KindStrategy {
    return this.strategies.get(def.resource) ?? genericStrategy;
  }

  onRemoved(hook: (def: ResourceDef, entry: Entry) => void): void {
    this.removalHooks.push(hook);
  }

  // ---- reads -------------------------------------------------------------------------------------

  get(def: ResourceDef, namespace: string, name: string): Entry {
    const entry = this.store.get(def.resource, def.namespaced ? namespace : '', name);
    if (!entry) throw notFound(def.resource, name, def.group);
    return entry;
  }

  find(def: ResourceDef, namespace: string, name: string): Entry | undefined {
    return this.store.get(def.resource, def.namespaced ? namespace : '', name);
  }

  selection(
    def: ResourceDef,
    labelSelector: string | undefined,
    fieldSelector: string | undefined,
  ): Selection {
    const labels = parseLabelSelector(labelSelector);
    const fieldReqs = parseFieldSelector(fieldSelector);
    const supported = new Set(def.fields ?? ['metadata.name', 'metadata.namespace']);
    const fields = compileFieldSelector(
      fieldReqs,
      supported,
      def.fieldAliases ?? {},
      def.fields === undefined,
    );
    return {
      labels: labels.matches,
      fields,
      everything: labels.requirements.length === 0 && fieldReqs.length === 0,
    };
  }

  matches(def: ResourceDef, selection: Selection, obj: KubeObject): boolean {
    if (selection.everything) return true;
    return selection.labels(obj.metadata.labels) && selection.fields(this.strategy(def).fields(obj));
  }

  list(def: ResourceDef, namespace: string, selection: Selection): { items: readonly Entry[]; rv: number } {
    const all = this.store.list(def.resource, def.namespaced ? namespace : '');
    const items = selection.everything ? all : all.filter((e) => this.matches(def, selection, e.obj));
    return { items, rv: this.store.currentRv() };
  }

  // ---- create ------------------------------------------------------------------------------------

  create(def: ResourceDef, namespace: string, body: unknown, options: WriteOptions): WriteResult {
    const { object: decoded, unknownFields } = decodeObject(
      body,
      def.model,
      def.kind,
      def.apiVersion,
      options.fieldValidation,
    );
    checkTypeMeta(decoded, def.kind, def.apiVersion);
    if (def.resource === 'secrets') checkSecretEncoding(decoded);
    // the decoded body is this request's own fresh object: it can be changed in place
    const obj = decoded as KubeObject;
    delete obj.kind;
    delete obj.apiVersion;
    obj.metadata = isPlainObject(obj.metadata) ? obj.metadata : {};
    const meta = obj.metadata;
    if (def.namespaced) {
      if (meta.namespace && meta.namespace !== namespace) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      meta.namespace = namespace;
    } else delete meta.namespace;

    const generated = !meta.name && !!meta.generateName;
    if (generated) meta.name = generateName(meta.generateName!);
    const now = this.now();
    meta.uid = randomUUID();
    meta.creationTimestamp = formatTime(now);
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.selfLink;
    delete meta.managedFields;
    this.strategy(def).prepareForCreate(obj, { now, store: this.store });
    this.assertValid(def, obj, this.strategy(def).validate(obj));
    if (def.namespaced)
      this.assertNamespaceWritable(def, namespace, generated ? meta.generateName! : meta.name!);

    if (this.find(def, namespace, meta.name!)) {
      if (!generated) throw alreadyExists(def.resource, meta.name!, def.group);
      let attempts = 1;
      while (this.find(def, namespace, meta.name!)) {
        if (attempts++ >= 8) throw generateNameConflict(def.resource, meta.name!, def.group);
        meta.name = generateName(meta.generateName!);
      }
    }
    const warnings = unknownFields.map((f) => `unknown field "${f}"`);
    if (options.dryRun) return { object: obj, entry: undefined, warnings };
    const entry = this.store.create(def.resource, obj);
    return { object: entry.obj, entry, warnings };
  }

  /** Stores an object the cluster itself makes (namespaces, the node, events): defaults, no validation. */
  createInternal(def: ResourceDef, obj: KubeObject): Entry {
    const now = this.now();
    obj.metadata.uid ??= randomUUID();
    obj.metadata.creationTimestamp ??= formatTime(now);
    this.strategy(def).prepareForCreate(obj, { now, store: this.store });
    return this.store.create(def.resource, obj);
  }

  private assertNamespaceWritable(def: ResourceDef, namespace: string, name: string): void {
    const ns = this.store.get('namespaces', '', namespace);
    if (!ns) throw notFound('namespaces', namespace);
    if (ns.obj.metadata.deletionTimestamp) {
      const err = forbidden(
        def.resource,
        name,
        `unable to create new content in namespace ${namespace} because it is being terminated`,
        def.group,
      );
      throw new ApiError(err.code, err.reason, err.message, {
        ...err.details,
        causes: [
          {
            reason: 'NamespaceTerminating',
            message: `namespace ${namespace} is being terminated`,
            field: 'metadata.namespace',
          },
        ],
      });
    }
  }

  private assertValid(def: ResourceDef, obj: KubeObject, kindErrors: FieldError[]): void {
    const errors = [...validateMetadata(def, obj), ...kindErrors];
    if (errors.length > 0) throw invalid(def.kind, obj.metadata.name ?? '', errors, def.group);
  }

  // ---- update / patch ----------------------------------------------------------------------------

  update(
    def: ResourceDef,
    namespace: string,
    name: string,
    body: unknown,
    options: WriteOptions,
    subresource?: 'status',
  ): WriteResult {
    const { object: decoded, unknownFields } = decodeObject(
      body,
      def.model,
      def.kind,
      def.apiVersion,
      options.fieldValidation,
    );
    checkTypeMeta(decoded, def.kind, def.apiVersion);
    if (def.resource === 'secrets') checkSecretEncoding(decoded);
    const obj = decoded as KubeObject;
    obj.metadata = isPlainObject(obj.metadata) ? obj.metadata : {};
    if ((obj.metadata.name ?? '') !== name) {
      throw badRequest(
        `the name of the object (${obj.metadata.name ?? ''}) does not match the name on the URL (${name})`,
      );
    }
    if (def.namespaced && obj.metadata.namespace && obj.metadata.namespace !== namespace) {
      throw badRequest(
        `the namespace of the object (${obj.metadata.namespace}) does not match the namespace on the URL (${namespace})`,
      );
    }
    const old = this.get(def, namespace, name);
    const result = this.applyUpdate(def, old, obj, options, subresource);
    result.warnings.unshift(...unknownFields.map((f) => `unknown field "${f}"`));
    return result;
  }

  patch(
    def: ResourceDef,
    namespace: string,
    name: string,
    type: PatchType,
    patchBody: unknown,
    options: WriteOptions,
    subresource?: 'status',
  ): WriteResult {
    const old = this.get(def, namespace, name);
    const patched = applyPatch(old.clone(), patchBody, type);
    const { object: decoded, unknownFields } = decodeObject(
      patched,
      def.model,
      def.kind,
      def.apiVersion,
      options.fieldValidation,
    );
    if (def.resource === 'secrets') checkSecretEncoding(decoded);
    const obj = decoded as KubeObject;
    obj.metadata = isPlainObject(obj.metadata) ? obj.metadata : {};
    if ((obj.metadata.name ?? name) !== name) {
      throw badRequest(
        `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    obj.metadata.name = name;
    const result = this.applyUpdate(def, old, obj, options, subresource);
    result.warnings.unshift(...unknownFields.map((f) => `unknown field "${f}"`));
    return result;
  }

  private applyUpdate(
    def: ResourceDef,
    old: Entry,
    incoming: KubeObject,
    options: WriteOptions,
    subresource: 'status' | undefined,
  ): WriteResult {
    if (def.readOnly)
      throw new ApiError(
        405,
        'MethodNotAllowed',
        'the server does not allow this method on the requested resource',
        {},
      );
    const rv = incoming.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== String(old.rv))
      throw conflict(def.resource, old.name, def.group);
    delete incoming.kind;
    delete incoming.apiVersion;
    const strategy = this.strategy(def);
    let obj: KubeObject;
    if (subresource === 'status') {
      obj = strategy.prepareForStatusUpdate(incoming, old.clone());
    } else {
      obj = incoming;
      strategy.prepareForUpdate(obj, old.obj);
    }
    const oldMeta = old.obj.metadata;
    const meta = { ...obj.metadata };
    if (meta.uid !== undefined && meta.uid !== '' && meta.uid !== oldMeta.uid) {
      throw invalid(
        def.kind,
        old.name,
        [
          {
            type: 'FieldValueInvalid',
            field: 'metadata.uid',
            detail: `Invalid value: "${meta.uid}": field is immutable`,
          },
        ],
        def.group,
      );
    }
    meta.uid = oldMeta.uid;
    meta.name = oldMeta.name;
    if (def.namespaced) meta.namespace = oldMeta.namespace;
    meta.creationTimestamp = oldMeta.creationTimestamp;
    meta.generateName = oldMeta.generateName;
    if (meta.generateName === undefined) delete meta.generateName;
    copyOrDelete(meta, oldMeta, 'deletionTimestamp');
    copyOrDelete(meta, oldMeta, 'deletionGracePeriodSeconds');
    delete meta.resourceVersion;
    delete meta.selfLink;
    delete meta.managedFields;
    obj.metadata = meta;
    if (subresource !== 'status') this.assertValid(def, obj, strategy.validateUpdate(obj, old.obj));
    if (oldMeta.deletionTimestamp) {
      // No new finalizers on an object being deleted.
      const added = (meta.finalizers ?? []).filter((f) => !(oldMeta.finalizers ?? []).includes(f));
      if (added.length > 0) {
        throw invalid(
          def.kind,
          old.name,
          [
            {
              type: 'FieldValueForbidden',
              field: 'metadata.finalizers',
              detail: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => `"${f}"`).join(', ')}}`,
            },
          ],
          def.group,
        );
      }
    }
    if (options.dryRun)
      return {
        object: { ...obj, metadata: { ...meta, resourceVersion: String(old.rv) } },
        entry: undefined,
        warnings: [],
      };
    const entry = this.store.update(def.resource, obj);
    const finalEntry = this.finalizeIfReady(def, entry) ?? entry;
    return { object: finalEntry.obj, entry: finalEntry, warnings: [] };
  }

  /** Writes an object the cluster itself changes (kubelet status, binding, controllers). */
  writeInternal(def: ResourceDef, obj: KubeObject): Entry {
    return this.store.update(def.resource, obj);
  }

  /** Removes an object whose deletion is complete (deletionTimestamp set, no finalizers left). */
  private finalizeIfReady(def: ResourceDef, entry: Entry): Entry | undefined {
    const meta = entry.obj.metadata;
    if (!meta.deletionTimestamp || (meta.finalizers?.length ?? 0) > 0) return undefined;
    // A pod being deleted gracefully stays until its kubelet is done (deletionGracePeriodSeconds 0).
    if (def.resource === 'pods' && (meta.deletionGracePeriodSeconds ?? 0) > 0) return undefined;
    if (def.resource === 'namespaces') return undefined;
    return this.removeNow(def, entry.namespace, entry.name);
  }

  /** Takes an object out of storage now (DELETED) and runs the removal hooks. */
  removeNow(def: ResourceDef, namespace: string, name: string): Entry | undefined {
    const removed = this.store.remove(def.resource, namespace, name);
    if (!removed) return undefined;
    for (const hook of this.removalHooks) hook(def, removed);
    if (def.namespaced) this.finishNamespaceIfEmpty(namespace);
    return removed;
  }

  // ---- delete ------------------------------------------------------------------------------------

  delete(def: ResourceDef, namespace: string, name: string, options: DeleteOptions): DeleteResult {
    if (def.readOnly)
      throw new ApiError(
        405,
        'MethodNotAllowed',
        'the server does not allow this method on the requested resource',
        {},
      );
    const current = this.get(def, namespace, name);
    checkPreconditions(def, current, options);
    if (
      options.propagationPolicy !== undefined &&
      !['Background', 'Foreground', 'Orphan'].includes(options.propagationPolicy)
    ) {
      throw invalid(
        'DeleteOptions',
        '',
        [
          unsupportedField('propagationPolicy', options.propagationPolicy, [
            'Foreground',
            'Background',
            'Orphan',
          ]),
        ],
        'meta.k8s.io',
      );
    }
    if (def.resource === 'namespaces') return this.deleteNamespace(current, options);
    const policy = options.propagationPolicy ?? 'Background';
    const now = this.now();
    const meta = current.obj.metadata;
    const finalizers = [...(meta.finalizers ?? [])];
    if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion'))
      finalizers.push('foregroundDeletion');
    if (policy === 'Orphan' && !options.dryRun) this.orphanDependents(current);

    if (def.resource === 'pods') return this.deletePod(current, options, finalizers, now);

    if (finalizers.length > 0) {
      if (meta.deletionTimestamp && JSON.stringify(finalizers) === JSON.stringify(meta.finalizers ?? [])) {
        return { kind: 'object', object: current.obj, entry: current };
      }
      const obj = withMeta(current.obj, {
        deletionTimestamp: meta.deletionTimestamp ?? formatTime(now),
        deletionGracePeriodSeconds: 0,
        finalizers,
      });
      if (options.dryRun) return { kind: 'object', object: obj, entry: undefined };
      const entry = this.store.update(def.resource, obj);
      return { kind: 'object', object: entry.obj, entry };
    }
    const details = {
      name,
      ...(def.group ? { group: def.group } : {}),
      kind: def.resource,
      uid: meta.uid ?? '',
    };
    if (!options.dryRun) this.removeNow(def, current.namespace, name);
    return { kind: 'status', status: successStatus(details) };
  }

  private deletePod(current: Entry, options: DeleteOptions, finalizers: string[], now: number): DeleteResult {
    const pod = current.obj;
    const spec = (pod.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
    const phase = ((pod.status ?? {}) as { phase?: string }).phase;
    let period = options.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 0;
    if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') period = 0;
    if (period < 0) period = 1;
    const meta = pod.metadata;
    let obj: KubeObject;
    if (meta.deletionTimestamp) {
      const currentPeriod = meta.deletionGracePeriodSeconds ?? 0;
      if (period >= currentPeriod && JSON.stringify(finalizers) === JSON.stringify(meta.finalizers ?? [])) {
        return { kind: 'object', object: pod, entry: current };
      }
      const shorter = period < currentPeriod;
      obj = withMeta(pod, {
        deletionTimestamp: shorter ? formatTime(now + period * 1000) : meta.deletionTimestamp,
        deletionGracePeriodSeconds: shorter ? period : currentPeriod,
        finalizers,
      });
    } else {
      obj = withMeta(pod, {
        deletionTimestamp: formatTime(now + period * 1000),
        deletionGracePeriodSeconds: period,
        finalizers,
        ...(meta.generation !== undefined ? { generation: meta.generation + 1 } : {}),
      });
    }
    if (options.dryRun) return { kind: 'object', object: obj, entry: undefined };
    const entry = this.store.update('pods', obj);
    const removed = this.finalizeIfReady(podsDef, entry);
    return { kind: 'object', object: (removed ?? entry).obj, entry: removed ?? entry };
  }

  /** The kubelet's final delete: grace 0 (a MODIFIED with deletionGracePeriodSeconds 0), then DELETED. */
  removePodAfterTermination(namespace: string, name: string, uid: string): void {
    const current = this.store.get('pods', namespace, name);
    if (!current || current.uid !== uid) return;
    const meta = current.obj.metadata;
    if (meta.deletionTimestamp && meta.deletionGracePeriodSeconds === 0) {
      this.finalizeIfReady(podsDef, current);
      return;
    }
    const entry = this.store.update(
      'pods',
      withMeta(current.obj, { deletionTimestamp: formatTime(this.now()), deletionGracePeriodSeconds: 0 }),
    );
    this.finalizeIfReady(podsDef, entry);
  }

  /** Foreground deletion finished: drop the finalizer, which removes the object if nothing else holds it. */
  removeFinalizer(def: ResourceDef, entry: Entry, finalizer: string): void {
    const finalizers = (entry.obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    const obj = withMeta(entry.obj, { finalizers });
    if (finalizers.length === 0) delete obj.metadata.finalizers;
    const updated = this.store.update(def.resource, obj);
    this.finalizeIfReady(def, updated);
  }

  private orphanDependents(owner: Entry): void {
    for (const def of allResources) {
      if (!def.namespaced && owner.namespace !== '') continue;
      for (const dependent of this.store.list(def.resource, def.namespaced ? owner.namespace : '')) {
        const refs = dependent.obj.metadata.ownerReferences ?? [];
        if (!refs.some((r) => r.uid === owner.uid)) continue;
        const remaining = refs.filter((r) => r.uid !== owner.uid);
        const obj = withMeta(dependent.obj, { ownerReferences: remaining });
        if (remaining.length === 0) delete obj.metadata.ownerReferences;
        this.store.update(def.resource, obj);
      }
    }
  }

  deleteCollection(
    def: ResourceDef,
    namespace: string,
    selection: Selection,
    options: DeleteOptions,
  ): KubeObject[] {
    const deleted: KubeObject[] = [];
    for (const entry of [...this.list(def, namespace, selection).items]) {
      try {
        const result = this.delete(def, entry.namespace, entry.name, options);
        deleted.push(result.kind === 'object' ? result.object : entry.obj);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
      }
    }
    return deleted;
  }

  // ---- namespaces --------------------------------------------------------------------------------

  private deleteNamespace(current: Entry, options: DeleteOptions): DeleteResult {
    const name = current.name;
    if (protectedNamespaces.has(name))
      throw forbidden('namespaces', name, 'this namespace may not be deleted');
    if (current.obj.metadata.deletionTimestamp)
      return { kind: 'object', object: current.obj, entry: current };
    const obj = withMeta(current.obj, {
      deletionTimestamp: formatTime(this.now()),
      deletionGracePeriodSeconds: 0,
    });
    obj.status = { phase: 'Terminating' };
    if (options.dryRun) return { kind: 'object', object: obj, entry: undefined };
    const entry = this.store.update('namespaces', obj);
    queueMicrotask(() => this.emptyNamespace(name));
    return { kind: 'object', object: entry.obj, entry };
  }

  /** The namespace controller: delete everything in a terminating namespace, then the namespace. */
  private emptyNamespace(name: string): void {
    const ns = this.store.get('namespaces', '', name);
    if (!ns?.obj.metadata.deletionTimestamp) return;
    for (const def of allResources) {
      if (!def.namespaced) continue;
      for (const entry of [...this.store.list(def.resource, name)]) {
        if (entry.obj.metadata.deletionTimestamp && def.resource === 'pods') continue;
        try {
          this.delete(def, name, entry.name, { dryRun: false });
        } catch (err) {
          if (!(err instanceof ApiError && err.code === 404)) throw err;
        }
      }
    }
    this.finishNamespaceIfEmpty(name);
  }

  /** Removes a terminating namespace once nothing is left in it. */
  finishNamespaceIfEmpty(name: string): void {
    const ns = this.store.get('namespaces', '', name);
    if (!ns?.obj.metadata.deletionTimestamp) return;
    for (const def of allResources) {
      if (def.namespaced && this.store.list(def.resource, name).length > 0) return;
    }
    if ((ns.obj.metadata.finalizers?.length ?? 0) > 0) return;
    this.removeNow(namespacesDef, '', name);
  }
}

function copyOrDelete(target: Record<string, unknown>, source: Record<string, unknown>, key: string): void {
  if (source[key] === undefined) delete target[key];
  else target[key] = source[key];
}

function withMeta(obj: KubeObject, changes: Partial<KubeObject['metadata']>): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, ...changes } };
}

function checkPreconditions(def: ResourceDef, current: Entry, options: DeleteOptions): void {
  const pre = options.preconditions;
  if (!pre) return;
  if (pre.uid && pre.uid !== current.uid) {
    throw new ApiError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${def.kind} "${current.name}": the UID in the precondition (${pre.uid}) does not match the UID in record (${current.uid}). The object might have been deleted and then recreated`,
      { name: current.name, ...(def.group ? { group: def.group } : {}), kind: def.kind },
    );
  }
  if (pre.resourceVersion && pre.resourceVersion !== String(current.rv)) {
    throw new ApiError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${def.kind} "${current.name}": the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${current.rv}). The object might have been modified`,
      { name: current.name, ...(def.group ? { group: def.group } : {}), kind: def.kind },
    );
  }
}
