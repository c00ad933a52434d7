// Discovery documents kubectl v1.32 accepts (legacy, non-aggregated): /version, /api, /apis, /apis/G,
// /api/v1, /apis/G/V, and the OpenAPI v3 documents `kubectl create -f` checks for server-side field
// validation (a PATCH operation per kind that declares the `fieldValidation` parameter).
import { createHash } from 'node:crypto';
import { groupVersions, type ResourceDef, resourcesOf } from './resources.ts';

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

export function versionInfo(): VersionInfo {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.2',
    gitCommit: '67a30c0adcf52bd3f56ff0893ce19966be12991f',
    gitTreeState: 'clean',
    buildDate: '2025-02-12T21:19:07Z',
    goVersion: 'go1.23.6',
    compiler: 'gc',
    platform: `linux/${arch}`,
  };
}

export function apiVersionsJson(serverAddress: string): string {
  return JSON.stringify({
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  });
}

function groupJson(group: string): Record<string, unknown> {
  const versions = groupVersions
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: `${group}/${gv.version}`, version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

const namedGroups = [...new Set(groupVersions.map((gv) => gv.group).filter((g) => g !== ''))];

export function apiGroupListJson(): string {
  return JSON.stringify({ kind: 'APIGroupList', apiVersion: 'v1', groups: namedGroups.map(groupJson) });
}

export function apiGroupJson(group: string): string | undefined {
  if (!namedGroups.includes(group)) return undefined;
  return JSON.stringify({ kind: 'APIGroup', apiVersion: 'v1', ...groupJson(group) });
}

function resourceEntries(def: ResourceDef): Record<string, unknown>[] {
  const main: Record<string, unknown> = {
    name: def.resource,
    singularName: def.singular,
    namespaced: def.namespaced,
    kind: def.kind,
    verbs: def.verbs,
  };
  if (def.shortNames.length > 0) main.shortNames = def.shortNames;
  if (def.categories.length > 0) main.categories = def.categories;
  main.storageVersionHash = def.storageVersionHash;
  const subs = def.subresources.map((sub) => ({
    name: `${def.resource}/${sub.name}`,
    singularName: '',
    namespaced: def.namespaced,
    ...(sub.group !== undefined ? { group: sub.group, version: sub.version } : {}),
    kind: sub.kind,
    verbs: sub.verbs,
  }));
  return [main, ...subs];
}

export function apiResourceListJson(group: string, version: string): string | undefined {
  if (!groupVersions.some((gv) => gv.group === group && gv.version === version)) return undefined;
  const resources = resourcesOf(group, version)
    .sort((a, b) => (a.resource < b.resource ? -1 : 1))
    .flatMap(resourceEntries);
  const groupVersion = group === '' ? version : `${group}/${version}`;
  const head = group === '' ? { kind: 'APIResourceList' } : { kind: 'APIResourceList', apiVersion: 'v1' };
  return JSON.stringify({ ...head, groupVersion, resources });
}

// ---- OpenAPI v3 -----------------------------------------------------------------------------------

function gvk(def: ResourceDef): Record<string, string> {
  return { group: def.group, version: def.version, kind: def.kind };
}

function param(name: string, location: 'query' | 'path', type = 'string'): Record<string, unknown> {
  return {
    name,
    in: location,
    ...(location === 'path' ? { required: true } : {}),
    schema: { type, uniqueItems: true },
  };
}

function operation(
  def: ResourceDef,
  action: string,
  id: string,
  extra: Record<string, unknown>[] = [],
): Record<string, unknown> {
  return {
    tags: [def.group === '' ? 'core_v1' : `${def.group.split('.')[0]}_${def.version}`],
    operationId: id,
    parameters: extra,
    responses: { '200': { description: 'OK' }, '401': { description: 'Unauthorized' } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk(def),
  };
}

function pathsFor(def: ResourceDef): Record<string, unknown> {
  const prefix = def.group === '' ? '/api/v1' : `/apis/${def.group}/${def.version}`;
  const scope = def.namespaced
    ? `${prefix}/namespaces/{namespace}/${def.resource}`
    : `${prefix}/${def.resource}`;
  const opName = `${def.group === '' ? 'CoreV1' : 'CoordinationV1'}${def.namespaced ? 'Namespaced' : ''}${def.kind}`;
  const pathParams = def.namespaced ? [param('namespace', 'path')] : [];
  const write = [param('dryRun', 'query'), param('fieldManager', 'query'), param('fieldValidation', 'query')];
  const collection: Record<string, unknown> = {
    get: operation(def, 'list', `list${opName}`),
    parameters: pathParams,
  };
  const item: Record<string, unknown> = {
    get: operation(def, 'get', `read${opName}`),
    parameters: [param('name', 'path'), ...pathParams],
  };
  if (!def.readOnly) {
    collection.post = operation(def, 'post', `create${opName}`, write);
    item.put = operation(def, 'put', `replace${opName}`, write);
    item.patch = operation(def, 'patch', `patch${opName}`, [...write, param('force', 'query', 'boolean')]);
    item.delete = operation(def, 'delete', `delete${opName}`, [
      param('dryRun', 'query'),
      param('gracePeriodSeconds', 'query', 'integer'),
    ]);
  }
  return { [scope]: collection, [`${scope}/{name}`]: item };
}

function openApiDocument(group: string, version: string): string {
  const paths: Record<string, unknown> = {};
  for (const def of resourcesOf(group, version)) Object.assign(paths, pathsFor(def));
  return JSON.stringify({
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: versionInfo().gitVersion },
    paths,
    components: { schemas: {} },
  });
}

export interface OpenApiDocuments {
  root: string;
  /** `api/v1` → document */
  byPath: Map<string, string>;
}

export function openApiDocuments(): OpenApiDocuments {
  const byPath = new Map<string, string>();
  const rootPaths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of groupVersions) {
    const key = gv.prefix.slice(1);
    const doc = openApiDocument(gv.group, gv.version);
    byPath.set(key, doc);
    const hash = createHash('sha512').update(doc).digest('hex').slice(0, 128).toUpperCase();
    rootPaths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
  }
  return { root: JSON.stringify({ paths: rootPaths }), byPath };
}
