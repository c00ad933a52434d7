// `[[runners.kubernetes.pod_spec]]` patches, applied in order to the rendered PodSpec when
// FF_USE_ADVANCED_POD_SPEC_CONFIGURATION is on (kubernetes-executor.md §1.4 "Pod spec patches"):
// `strategic` (default; Kubernetes strategic merge with the PodSpec's merge keys), `merge` (RFC 7386)
// or `json` (RFC 6902, via fast-json-patch). The patch text is YAML or JSON.
import type { V1PodSpec } from '@kubernetes/client-node';
import jsonPatch, { type Operation } from 'fast-json-patch';
import { parse as parseYaml } from 'yaml';
import type { KubernetesConfig } from '../../config/schema/kubernetes.ts';
import { RenderError } from './errors.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** Merge keys of the lists that strategic merge patch merges instead of replacing (from the API types). */
interface Schema {
  lists?: Record<string, { key: string; element?: Schema }>;
  maps?: Record<string, Schema>;
}

const containerSchema: Schema = {
  lists: {
    env: { key: 'name' },
    volumeMounts: { key: 'mountPath' },
    volumeDevices: { key: 'devicePath' },
    ports: { key: 'containerPort' },
    resizePolicy: { key: 'resourceName' },
  },
};

export const podSpecSchema: Schema = {
  lists: {
    containers: { key: 'name', element: containerSchema },
    initContainers: { key: 'name', element: containerSchema },
    ephemeralContainers: { key: 'name', element: containerSchema },
    volumes: { key: 'name' },
    imagePullSecrets: { key: 'name' },
    hostAliases: { key: 'ip' },
    topologySpreadConstraints: { key: 'topologyKey' },
    resourceClaims: { key: 'name' },
    schedulingGates: { key: 'name' },
  },
};

class PatchError extends Error {}

function mergeList(
  original: Json | undefined,
  patch: Json[],
  key: string,
  element: Schema | undefined,
): Json[] {
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) {
    return patch.filter((p) => !(isObject(p) && p.$patch === 'replace'));
  }
  const result: Json[] = Array.isArray(original) ? [...original] : [];
  for (const item of patch) {
    if (!isObject(item))
      throw new PatchError(`a list merged by "${key}" holds a non-object: ${JSON.stringify(item)}`);
    const id = item[key];
    if (id === undefined)
      throw new PatchError(`an element lacks its merge key "${key}": ${JSON.stringify(item)}`);
    const at = result.findIndex((o) => isObject(o) && o[key] === id);
    if (item.$patch === 'delete') {
      if (at >= 0) result.splice(at, 1);
      continue;
    }
    if (at >= 0) result[at] = strategicMerge(result[at], item, element ?? {});
    else result.push(strategicMerge(undefined, item, element ?? {}));
  }
  return result;
}

/** Kubernetes strategic merge patch of one object, as far as PodSpec needs it. */
export function strategicMerge(
  original: Json | undefined,
  patch: Json,
  schema: Schema = podSpecSchema,
): Json {
  if (!isObject(patch)) return patch;
  const directive = patch.$patch;
  const body: JsonObject = {};
  for (const [k, v] of Object.entries(patch)) if (k !== '$patch') body[k] = v;
  if (directive === 'replace') return stripDirectives(body);
  if (directive === 'delete') throw new PatchError('"$patch: delete" is only valid inside a merged list');
  if (directive !== undefined && directive !== 'merge')
    throw new PatchError(`unknown $patch directive ${JSON.stringify(directive)}`);

  const result: JsonObject = isObject(original) ? { ...original } : {};
  let retainKeys: string[] | undefined;
  for (const [key, value] of Object.entries(body)) {
    if (key === '$retainKeys') {
      if (!Array.isArray(value)) throw new PatchError('$retainKeys must be a list');
      retainKeys = value.map(String);
      continue;
    }
    if (key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const current = result[field];
      if (Array.isArray(current) && Array.isArray(value))
        result[field] = current.filter((x) => !value.includes(x));
      continue;
    }
    if (value === null) {
      delete result[key];
      continue;
    }
    const list = schema.lists?.[key];
    if (Array.isArray(value)) {
      result[key] = list ? mergeList(result[key], value, list.key, list.element) : stripDirectives(value);
    } else if (isObject(value)) {
      result[key] = strategicMerge(result[key], value, schema.maps?.[key] ?? {});
    } else {
      result[key] = value;
    }
  }
  if (retainKeys) for (const key of Object.keys(result)) if (!retainKeys.includes(key)) delete result[key];
  return result;
}

function stripDirectives(value: Json): Json {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) if (!k.startsWith('$')) out[k] = stripDirectives(v);
  return out;
}

type PatchConfig = KubernetesConfig['pod_spec'][number];

/** The files named by `patch_path`: the caller reads them and passes their text to `applyPodSpecPatches`. */
export function podSpecPatchPaths(config: Pick<KubernetesConfig, 'pod_spec'>): string[] {
  return config.pod_spec.flatMap((p) => (p.patch_path ? [p.patch_path] : []));
}

function patchText(p: PatchConfig, files: Readonly<Record<string, string>>): string {
  if (p.patch_path) {
    const text = files[p.patch_path];
    if (text === undefined) throw new PatchError(`patch_path ${JSON.stringify(p.patch_path)} was not read`);
    return text;
  }
  return p.patch ?? '';
}

/** Applies every patch in order; throws RenderError POD_SPEC_PATCH_INVALID naming the patch. */
export function applyPodSpecPatches(
  spec: V1PodSpec,
  patches: readonly PatchConfig[],
  files: Readonly<Record<string, string>> = {},
): V1PodSpec {
  let doc = JSON.parse(JSON.stringify(spec)) as Json;
  patches.forEach((p, i) => {
    const name = p.name ? `"${p.name}"` : `#${i + 1}`;
    try {
      const parsed = parseYaml(patchText(p, files)) as Json;
      if (p.patch_type === 'json') {
        if (!Array.isArray(parsed)) throw new PatchError('a json patch is a list of operations');
        doc = jsonPatch.applyPatch(doc, parsed as unknown as Operation[], true, false).newDocument as Json;
      } else {
        if (!isObject(parsed)) throw new PatchError(`a ${p.patch_type} patch is a map of PodSpec fields`);
        doc = p.patch_type === 'merge' ? mergePatch(doc, parsed) : strategicMerge(doc, parsed);
      }
      if (!isObject(doc)) throw new PatchError('the patched PodSpec is not an object');
    } catch (error) {
      const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
      throw new RenderError(
        'POD_SPEC_PATCH_INVALID',
        `applying pod_spec patch ${name} (${p.patch_type}): ${message}`,
      );
    }
  });
  return doc as unknown as V1PodSpec;
}
