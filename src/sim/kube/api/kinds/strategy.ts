// What differs between kinds on create, update and status update, and which fields they can be
// selected by (the API server's per-kind "strategy").
import type { FieldSet } from '../selectors.ts';
import type { FieldError } from '../status.ts';
import type { ObjectStore } from '../store.ts';
import type { KubeObject } from '../types.ts';

export interface StrategyContext {
  now: number;
  store: ObjectStore;
}

export interface KindStrategy {
  /** Defaults and server-set fields on create; mutates a fresh copy. */
  prepareForCreate(obj: KubeObject, ctx: StrategyContext): void;
  validate(obj: KubeObject): FieldError[];
  /** Carries over what an update of the main resource may not change (e.g. a pod's status). */
  prepareForUpdate(obj: KubeObject, old: KubeObject): void;
  validateUpdate(obj: KubeObject, old: KubeObject): FieldError[];
  /** An update through the `status` subresource: the new object keeps everything but the status. */
  prepareForStatusUpdate(obj: KubeObject, old: KubeObject): KubeObject;
  fields(obj: KubeObject): FieldSet;
}

export function metadataFields(obj: KubeObject): FieldSet {
  return { 'metadata.name': obj.metadata.name ?? '', 'metadata.namespace': obj.metadata.namespace ?? '' };
}

export const genericStrategy: KindStrategy = {
  prepareForCreate() {},
  validate: () => [],
  prepareForUpdate() {},
  validateUpdate: () => [],
  prepareForStatusUpdate: (obj, old) => ({ ...old, status: obj.status }),
  fields: metadataFields,
};

/** Keeps the old status on updates of the main resource (kinds with a status subresource). */
export function keepStatus(obj: KubeObject, old: KubeObject): void {
  if (old.status === undefined) delete obj.status;
  else obj.status = old.status;
}

export function rec(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** The objects of a list field (anything else in it, or a missing field, counts as none). */
export function list(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value)
    ? value.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null)
    : [];
}

/** `parent[key]`, created with `init()` when missing. */
export function child<T>(parent: Record<string, unknown>, key: string, init: () => T): T {
  if (parent[key] === undefined || parent[key] === null) parent[key] = init();
  return parent[key] as T;
}
