// Offline validation of rendered Kubernetes objects, as strict as `kubectl apply --validate=strict`:
// - types, required fields and formats from the Kubernetes OpenAPI schemas compiled into the
//   `kubernetes-models` packages (prometheus-operator's for ServiceMonitor);
// - unknown fields (a typo such as `sercurityContext` is silently dropped by a lenient client)
//   from the OpenAPI-generated model type maps of @kubernetes/client-node;
// - object names and label values against the API server's syntax rules.
import * as k8s from '@kubernetes/client-node';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

interface Attribute {
  baseName: string;
  type: string;
}

interface ValidatingModel {
  validate(): void;
}

type ModelClass = new (data: unknown) => ValidatingModel;

function modulePath(apiVersion: string, kind: string): string {
  if (apiVersion === 'v1') return `kubernetes-models/v1/${kind}`;
  if (apiVersion.startsWith('monitoring.coreos.com/'))
    return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

async function schemaProblems(object: KubeObject): Promise<string[]> {
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(modulePath(object.apiVersion, object.kind))) as Record<string, unknown>;
  } catch {
    return [`no schema for ${object.apiVersion} ${object.kind}`];
  }
  const Model = loaded[object.kind] as ModelClass | undefined;
  if (typeof Model !== 'function') return [`no schema for ${object.apiVersion} ${object.kind}`];
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    const errors = (error as { errors?: { instancePath: string; message?: string; params?: unknown }[] })
      .errors;
    if (!errors) return [String(error)];
    return errors.map(
      (e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'} ${JSON.stringify(e.params ?? {})}`,
    );
  }
}

function modelAttributes(typeName: string): Attribute[] | undefined {
  const model = (k8s as unknown as Record<string, { attributeTypeMap?: Attribute[] } | undefined>)[typeName];
  return model?.attributeTypeMap;
}

function rootModelName(apiVersion: string, kind: string): string {
  const version = apiVersion.split('/').pop() ?? apiVersion;
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
}

/** Fields the API server does not know, as JSON paths. Type mismatches are left to the schema check. */
export function unknownFields(value: unknown, typeName: string, path = ''): string[] {
  if (value === null || typeof value !== 'object') return [];
  const array = /^Array<(.+)>$/.exec(typeName);
  if (array) {
    if (!Array.isArray(value)) return [];
    return value.flatMap((item, i) => unknownFields(item, array[1] as string, `${path}[${i}]`));
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(typeName);
  if (map) {
    return Object.entries(value).flatMap(([key, item]) =>
      unknownFields(item, map[1] as string, `${path}.${key}`),
    );
  }
  const attributes = modelAttributes(typeName);
  if (!attributes || Array.isArray(value)) return [];
  const known = new Map(attributes.map((a) => [a.baseName, a.type]));
  return Object.entries(value).flatMap(([key, item]) => {
    const type = known.get(key);
    const at = path ? `${path}.${key}` : key;
    return type === undefined ? [`${at}: unknown field`] : unknownFields(item, type, at);
  });
}

const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function nameProblems(object: KubeObject): string[] {
  const problems: string[] = [];
  const { name, namespace, labels } = object.metadata;
  const limit = object.kind === 'Service' ? 63 : 253;
  if (!name || name.length > limit || !(object.kind === 'Service' ? dnsLabel : dnsSubdomain).test(name)) {
    problems.push(`metadata.name ${JSON.stringify(name)} is not a valid ${object.kind} name`);
  }
  if (namespace !== undefined && (namespace.length > 63 || !dnsLabel.test(namespace))) {
    problems.push(`metadata.namespace ${JSON.stringify(namespace)} is not a valid namespace`);
  }
  for (const [key, value] of Object.entries(labels ?? {})) {
    if (typeof value !== 'string' || value.length > 63 || !labelValue.test(value)) {
      problems.push(`metadata.labels.${key}: ${JSON.stringify(value)} is not a valid label value`);
    }
  }
  return problems;
}

/** Every problem the API server would reject the object for (as far as can be known offline). */
export async function validateObject(object: KubeObject): Promise<string[]> {
  const problems = await schemaProblems(object);
  const root = rootModelName(object.apiVersion, object.kind);
  if (modelAttributes(root)) problems.push(...unknownFields(object, root));
  else if (!object.apiVersion.startsWith('monitoring.coreos.com/'))
    problems.push(`no field list for ${root}`);
  if (object.metadata) problems.push(...nameProblems(object));
  else problems.push('metadata is missing');
  return problems.map((p) => `${object.kind}/${object.metadata?.name ?? '?'}: ${p}`);
}
