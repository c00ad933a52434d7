// The resources the stand-in serves, as discovery describes them (`/api/v1`, `/apis/G/V`).
import type { NameRule } from './names.ts';

export interface SubresourceDef {
  name: string;
  kind: string;
  verbs: string[];
  group?: string;
  version?: string;
}

export interface ResourceDef {
  group: string;
  version: string;
  /** `v1` or `coordination.k8s.io/v1`. */
  apiVersion: string;
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames: string[];
  categories: string[];
  storageVersionHash: string;
  subresources: SubresourceDef[];
  /** The client-node model class that describes the object (schema for decoding). */
  model: string;
  nameRule: NameRule;
  /** Field selectors beyond metadata.name/metadata.namespace; undefined = the generic pair only. */
  fields?: string[];
  fieldAliases?: Record<string, string>;
  /** Served but not writable through the API (the node the simulator runs). */
  readOnly?: boolean;
}

const allVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function core(def: Omit<ResourceDef, 'group' | 'version' | 'apiVersion'>): ResourceDef {
  return { group: '', version: 'v1', apiVersion: 'v1', ...def };
}

export const pods = core({
  resource: 'pods',
  singular: 'pod',
  kind: 'Pod',
  namespaced: true,
  verbs: allVerbs,
  shortNames: ['po'],
  categories: ['all'],
  storageVersionHash: 'xPOwRZ+Yhw8=',
  subresources: [
    { name: 'binding', kind: 'Binding', verbs: ['create'] },
    { name: 'eviction', kind: 'Eviction', verbs: ['create'], group: 'policy', version: 'v1' },
    { name: 'log', kind: 'Pod', verbs: ['get'] },
    { name: 'status', kind: 'Pod', verbs: ['get', 'patch', 'update'] },
  ],
  model: 'V1Pod',
  nameRule: 'subdomain',
  fields: [
    'metadata.name',
    'metadata.namespace',
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'spec.hostNetwork',
    'status.phase',
    'status.podIP',
    'status.podIPs',
    'status.nominatedNodeName',
  ],
  fieldAliases: { 'spec.host': 'spec.nodeName' },
});

export const secrets = core({
  resource: 'secrets',
  singular: 'secret',
  kind: 'Secret',
  namespaced: true,
  verbs: allVerbs,
  shortNames: [],
  categories: [],
  storageVersionHash: 'S6u1pOWzb84=',
  subresources: [],
  model: 'V1Secret',
  nameRule: 'subdomain',
  fields: ['metadata.name', 'metadata.namespace', 'type'],
});

export const configmaps = core({
  resource: 'configmaps',
  singular: 'configmap',
  kind: 'ConfigMap',
  namespaced: true,
  verbs: allVerbs,
  shortNames: ['cm'],
  categories: [],
  storageVersionHash: 'qFsyl6wFWjQ=',
  subresources: [],
  model: 'V1ConfigMap',
  nameRule: 'subdomain',
});

export const events = core({
  resource: 'events',
  singular: 'event',
  kind: 'Event',
  namespaced: true,
  verbs: allVerbs,
  shortNames: ['ev'],
  categories: [],
  storageVersionHash: 'r2yiGXH7wu8=',
  subresources: [],
  model: 'CoreV1Event',
  nameRule: 'subdomain',
  fields: [
    'metadata.name',
    'metadata.namespace',
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
});

export const services = core({
  resource: 'services',
  singular: 'service',
  kind: 'Service',
  namespaced: true,
  verbs: allVerbs,
  shortNames: ['svc'],
  categories: ['all'],
  storageVersionHash: '0/CO1lhkEBI=',
  subresources: [{ name: 'status', kind: 'Service', verbs: ['get', 'patch', 'update'] }],
  model: 'V1Service',
  nameRule: 'dns1035',
  fields: ['metadata.name', 'metadata.namespace', 'spec.clusterIP', 'spec.type'],
});

export const serviceaccounts = core({
  resource: 'serviceaccounts',
  singular: 'serviceaccount',
  kind: 'ServiceAccount',
  namespaced: true,
  verbs: allVerbs,
  shortNames: ['sa'],
  categories: [],
  storageVersionHash: 'pbx9ZvyFpBE=',
  subresources: [],
  model: 'V1ServiceAccount',
  nameRule: 'subdomain',
});

export const namespaces = core({
  resource: 'namespaces',
  singular: 'namespace',
  kind: 'Namespace',
  namespaced: false,
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  shortNames: ['ns'],
  categories: [],
  storageVersionHash: 'Q3oi5N2YM8M=',
  subresources: [
    { name: 'finalize', kind: 'Namespace', verbs: ['update'] },
    { name: 'status', kind: 'Namespace', verbs: ['get', 'patch', 'update'] },
  ],
  model: 'V1Namespace',
  nameRule: 'label',
  fields: ['metadata.name', 'status.phase'],
});

export const nodes = core({
  resource: 'nodes',
  singular: 'node',
  kind: 'Node',
  namespaced: false,
  verbs: ['get', 'list', 'watch'],
  shortNames: ['no'],
  categories: [],
  storageVersionHash: 'XwShjMxG9Fs=',
  subresources: [{ name: 'status', kind: 'Node', verbs: ['get'] }],
  model: 'V1Node',
  nameRule: 'subdomain',
  fields: ['metadata.name', 'spec.unschedulable'],
  readOnly: true,
});

export const leases: ResourceDef = {
  group: 'coordination.k8s.io',
  version: 'v1',
  apiVersion: 'coordination.k8s.io/v1',
  resource: 'leases',
  singular: 'lease',
  kind: 'Lease',
  namespaced: true,
  verbs: allVerbs,
  shortNames: [],
  categories: [],
  storageVersionHash: 'gqkMMb/YqFM=',
  subresources: [],
  model: 'V1Lease',
  nameRule: 'subdomain',
};

export const allResources: readonly ResourceDef[] = [
  configmaps,
  events,
  namespaces,
  nodes,
  pods,
  secrets,
  serviceaccounts,
  services,
  leases,
];

/** Group versions served, in discovery order. */
export const groupVersions: readonly { group: string; version: string; prefix: string }[] = [
  { group: '', version: 'v1', prefix: '/api/v1' },
  { group: 'coordination.k8s.io', version: 'v1', prefix: '/apis/coordination.k8s.io/v1' },
];

export function resourcesOf(group: string, version: string): ResourceDef[] {
  return allResources.filter((r) => r.group === group && r.version === version);
}

export function findResource(group: string, version: string, resource: string): ResourceDef | undefined {
  return allResources.find((r) => r.group === group && r.version === version && r.resource === resource);
}
