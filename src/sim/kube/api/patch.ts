// PATCH bodies: JSON merge patch (RFC 7386), strategic merge patch for the fields of the core kinds
// served here (lists merged by their patchMergeKey, `$patch`, `$deleteFromPrimitiveList`,
// `$setElementOrder`, `$retainKeys`), and JSON patch (RFC 6902).
import { ApiError, badRequest, unsupportedMediaType } from './status.ts';
import { isPlainObject } from './types.ts';

export type PatchType = 'merge' | 'strategic' | 'json';

export function patchTypeOf(contentType: string | undefined): PatchType {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/merge-patch+json') return 'merge';
  if (type === 'application/strategic-merge-patch+json') return 'strategic';
  if (type === 'application/json-patch+json') return 'json';
  throw unsupportedMediaType([
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/strategic-merge-patch+json',
  ]);
}

export function applyPatch(target: unknown, patch: unknown, type: PatchType): unknown {
  switch (type) {
    case 'merge':
      if (!isPlainObject(patch))
        throw badRequest('json: cannot unmarshal array into Go value of type map[string]interface {}');
      return mergePatch(target, patch);
    case 'strategic':
      if (!isPlainObject(patch))
        throw badRequest('json: cannot unmarshal array into Go value of type map[string]interface {}');
      return strategicMerge(target, patch, '');
    case 'json':
      if (!Array.isArray(patch))
        throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
      return jsonPatch(target, patch);
  }
}

/** RFC 7386. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** patchMergeKey of list fields, by field name (the core types agree on these). */
const mergeKeys: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  conditions: 'type',
  containerStatuses: 'name',
  initContainerStatuses: 'name',
  ephemeralContainerStatuses: 'name',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  ownerReferences: 'uid',
  podIPs: 'ip',
  hostIPs: 'ip',
  resourceClaims: 'name',
  schedulingGates: 'name',
  addresses: 'type',
  secrets: 'name',
  images: 'names',
};

/** Lists of scalars with patchStrategy merge: union. */
const mergedScalarLists = new Set(['finalizers']);

function listMergeKey(field: string, items: unknown[]): string | undefined {
  if (field === 'ports') {
    // container ports merge on containerPort, service ports on port
    return items.some((i) => isPlainObject(i) && 'containerPort' in i) ? 'containerPort' : 'port';
  }
  return mergeKeys[field];
}

export function strategicMerge(target: unknown, patch: Record<string, unknown>, field: string): unknown {
  const directive = patch.$patch;
  if (directive === 'replace') {
    const { $patch: _, ...rest } = patch;
    return stripDirectives(rest);
  }
  if (directive === 'delete') return undefined;
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  const retainKeys = patch.$retainKeys;
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys') continue;
    if (key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const listField = key.slice('$deleteFromPrimitiveList/'.length);
      const current = out[listField];
      if (Array.isArray(current) && Array.isArray(value))
        out[listField] = current.filter((v) => !value.includes(v));
      continue;
    }
    if (value === null) {
      delete out[key];
      continue;
    }
    const current = out[key];
    if (Array.isArray(value)) {
      out[key] = mergeList(key, Array.isArray(current) ? current : [], value);
    } else if (isPlainObject(value)) {
      const merged = strategicMerge(current, value, key);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    } else {
      out[key] = value;
    }
  }
  if (Array.isArray(retainKeys)) {
    for (const key of Object.keys(out)) if (!retainKeys.includes(key) && !(key in patch)) delete out[key];
  }
  void field;
  return out;
}

function mergeList(field: string, current: unknown[], patch: unknown[]): unknown[] {
  const replaceDirective = patch.find((p) => isPlainObject(p) && p.$patch === 'replace');
  if (replaceDirective) return patch.filter((p) => p !== replaceDirective).map(stripDirectives);
  if (mergedScalarLists.has(field)) {
    const out = [...current];
    for (const v of patch) if (!out.includes(v)) out.push(v);
    return out;
  }
  const key = listMergeKey(field, [...current, ...patch]);
  if (!key) return patch.map(stripDirectives);
  const out = [...current];
  for (const item of patch) {
    if (!isPlainObject(item)) {
      out.push(item);
      continue;
    }
    const index = out.findIndex((c) => isPlainObject(c) && c[key] === item[key]);
    if (item.$patch === 'delete') {
      if (index >= 0) out.splice(index, 1);
      continue;
    }
    if (index >= 0) out[index] = strategicMerge(out[index], item, field);
    else out.push(stripDirectives(item));
  }
  return out;
}

function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith('$')) continue;
    if (v === null) continue;
    out[k] = stripDirectives(v);
  }
  return out;
}

/** RFC 6902. */
export function jsonPatch(target: unknown, operations: unknown[]): unknown {
  let doc = structuredClone(target);
  for (const raw of operations) {
    if (!isPlainObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw badRequest('the server rejected our request due to an error in our request');
    }
    const op = raw.op;
    const path = raw.path;
    switch (op) {
      case 'add':
        doc = pointerSet(doc, path, structuredClone(raw.value), 'add');
        break;
      case 'replace':
        pointerGet(doc, path);
        doc = pointerSet(doc, path, structuredClone(raw.value), 'replace');
        break;
      case 'remove':
        doc = pointerRemove(doc, path);
        break;
      case 'move': {
        if (typeof raw.from !== 'string') throw patchError(`missing from in move`);
        const value = pointerGet(doc, raw.from);
        doc = pointerRemove(doc, raw.from);
        doc = pointerSet(doc, path, value, 'add');
        break;
      }
      case 'copy': {
        if (typeof raw.from !== 'string') throw patchError(`missing from in copy`);
        doc = pointerSet(doc, path, structuredClone(pointerGet(doc, raw.from)), 'add');
        break;
      }
      case 'test': {
        const actual = pointerGet(doc, path);
        if (JSON.stringify(actual) !== JSON.stringify(raw.value))
          throw patchError(`testing value ${path} failed`);
        break;
      }
      default:
        throw patchError(`Unexpected kind: ${op}`);
    }
  }
  return doc;
}

function patchError(message: string): ApiError {
  return new ApiError(422, 'Invalid', message);
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw patchError(`invalid JSON pointer: ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function pointerGet(doc: unknown, path: string): unknown {
  let node = doc;
  for (const part of parsePointer(path)) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isPlainObject(node) && Object.hasOwn(node, part)) node = node[part];
    else throw patchError(`doc is missing path: "${path}": missing value`);
    if (node === undefined) throw patchError(`doc is missing path: "${path}": missing value`);
  }
  return node;
}

function pointerSet(doc: unknown, path: string, value: unknown, mode: 'add' | 'replace'): unknown {
  const parts = parsePointer(path);
  if (parts.length === 0) return value;
  const last = parts.pop()!;
  const parent = pointerGet(doc, parts.length === 0 ? '' : `/${parts.map(escapePointer).join('/')}`);
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(index) || index < 0 || index > parent.length)
      throw patchError(`unable to access invalid index: ${last}`);
    if (mode === 'add') parent.splice(index, 0, value);
    else parent[index] = value;
  } else if (isPlainObject(parent)) {
    parent[last] = value;
  } else throw patchError(`doc is missing path: "${path}": missing value`);
  return doc;
}

function pointerRemove(doc: unknown, path: string): unknown {
  const parts = parsePointer(path);
  if (parts.length === 0) throw patchError('cannot remove the whole document');
  const last = parts.pop()!;
  const parent = pointerGet(doc, parts.length === 0 ? '' : `/${parts.map(escapePointer).join('/')}`);
  if (Array.isArray(parent)) {
    const index = Number(last);
    if (!Number.isInteger(index) || index < 0 || index >= parent.length)
      throw patchError(`unable to remove nonexistent key: ${last}: missing value`);
    parent.splice(index, 1);
  } else if (isPlainObject(parent) && Object.hasOwn(parent, last)) delete parent[last];
  else throw patchError(`unable to remove nonexistent key: ${last}: missing value`);
  return doc;
}

function escapePointer(part: string): string {
  return part.replace(/~/g, '~0').replace(/\//g, '~1');
}
