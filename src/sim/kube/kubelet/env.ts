// Environment resolution as the kubelet does it before creating a container: `envFrom` first, then
// `env` in order with `$(VAR)` expansion against what is defined so far; values from Secrets,
// ConfigMaps, the downward API and resource fields. A missing source fails the container start with
// the kubelet's message (the caller turns it into CreateContainerConfigError).
import type { V1Container } from '@kubernetes/client-node';
import type { ConfigMapObject, PodObject, SecretObject, Wire } from '../kubelet-store.ts';
import type { ResolvedEnvVar } from '../runtime.ts';
import { cpuMillis, memoryBytes, parseQuantity } from './resources.ts';

export type ContainerObject = Wire<V1Container>;

export interface ApiLookup {
  getSecret(namespace: string, name: string): SecretObject | undefined;
  getConfigMap(namespace: string, name: string): ConfigMapObject | undefined;
}

export interface PodRuntimeFacts {
  nodeName: string;
  hostIP: string;
  podIP: string;
  /** Node allocatable, used for resource fields when a container sets no limit. */
  allocatable: { cpuMillis: number; memoryBytes: number };
}

export class ContainerConfigError extends Error {
  override readonly name = 'ContainerConfigError';
  readonly code = 'container_config';
}

/** Kubernetes' `$(VAR)` expansion: `$$` is a literal `$`, unknown references stay as written. */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    let advance = 1;
    if (next === '$') {
      out += '$';
    } else if (next === '(') {
      const close = input.indexOf(')', cursor + 2);
      if (close < 0) {
        out += '$(';
      } else {
        const name = input.slice(cursor + 2, close);
        const value = lookup(name);
        out += value ?? `$(${name})`;
        advance = close - cursor;
      }
    } else {
      out += `$${next}`;
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

export function decodeData(data: Record<string, string> | undefined): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = Buffer.from(v, 'base64');
  return out;
}

function secretData(secret: SecretObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(decodeData(secret.data))) out[k] = Buffer.from(v).toString('utf8');
  // stringData is write-only on a real server; honour it if a store kept it.
  for (const [k, v] of Object.entries(secret.stringData ?? {})) out[k] = v;
  return out;
}

function configMapData(cm: ConfigMapObject): Record<string, string> {
  const out: Record<string, string> = { ...(cm.data ?? {}) };
  for (const [k, v] of Object.entries(cm.binaryData ?? {}))
    out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}

/** `metadata.name`, `metadata.labels['x']`, `status.podIP`…: the downward API's field paths. */
export function fieldRefValue(pod: PodObject, facts: PodRuntimeFacts, fieldPath: string): string {
  const meta = pod.metadata ?? {};
  const subscript = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (subscript) {
    const map = subscript[1] === 'labels' ? meta.labels : meta.annotations;
    return map?.[subscript[2] as string] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? 'default';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'metadata.labels':
      return formatMap(meta.labels);
    case 'metadata.annotations':
      return formatMap(meta.annotations);
    case 'spec.nodeName':
      return facts.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
      return facts.hostIP;
    case 'status.podIP':
    case 'status.podIPs':
      return facts.podIP;
    default:
      throw new ContainerConfigError(`unsupported fieldPath: ${fieldPath}`);
  }
}

/** The downward API's file format for label and annotation maps: sorted `key="value"` lines. */
export function formatMap(map: Record<string, string> | undefined): string {
  return Object.keys(map ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(map?.[k] ?? '')}`)
    .join('\n');
}

/** `limits.cpu`, `requests.memory`… of a container, divided by `divisor` and rounded up. */
export function resourceFieldValue(
  container: ContainerObject | undefined,
  facts: PodRuntimeFacts,
  resource: string,
  divisor: string | undefined,
): string {
  const [kind, name] = resource.split('.', 2) as [string, string | undefined];
  const req = container?.resources?.requests ?? {};
  const lim = container?.resources?.limits ?? {};
  const div = parseQuantity(divisor ?? '1') || 1;
  if (name === 'cpu') {
    let millis = kind === 'limits' ? cpuMillis(lim.cpu) : cpuMillis(req.cpu ?? lim.cpu);
    if (millis === undefined) millis = kind === 'limits' ? facts.allocatable.cpuMillis : 0;
    return String(Math.ceil(millis / 1000 / div - 1e-9));
  }
  if (name === 'memory' || name === 'ephemeral-storage') {
    let bytes = kind === 'limits' ? memoryBytes(lim[name]) : memoryBytes(req[name] ?? lim[name]);
    if (bytes === undefined) bytes = kind === 'limits' ? facts.allocatable.memoryBytes : 0;
    return String(Math.ceil(bytes / div - 1e-9));
  }
  throw new ContainerConfigError(`unsupported resource: ${resource}`);
}

/** The container's environment, or a ContainerConfigError with the kubelet's message. */
export function resolveEnv(
  pod: PodObject,
  container: ContainerObject,
  api: ApiLookup,
  facts: PodRuntimeFacts,
): ResolvedEnvVar[] {
  const ns = pod.metadata?.namespace ?? 'default';
  const env = new Map<string, string>();

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const name = from.configMapRef.name ?? '';
      const cm = api.getConfigMap(ns, name);
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${name}" not found`);
      }
      for (const [k, v] of Object.entries(configMapData(cm))) env.set(prefix + k, v);
    } else if (from.secretRef) {
      const name = from.secretRef.name ?? '';
      const secret = api.getSecret(ns, name);
      if (!secret) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${name}" not found`);
      }
      for (const [k, v] of Object.entries(secretData(secret))) env.set(prefix + k, v);
    }
  }

  const lookup = (name: string): string | undefined => env.get(name);
  for (const e of container.env ?? []) {
    if (e.valueFrom === undefined) {
      env.set(e.name, expand(e.value ?? '', lookup));
      continue;
    }
    const from = e.valueFrom;
    if (from.fieldRef) {
      env.set(e.name, fieldRefValue(pod, facts, from.fieldRef.fieldPath));
    } else if (from.resourceFieldRef) {
      const target = from.resourceFieldRef.containerName
        ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find(
            (c) => c.name === from.resourceFieldRef?.containerName,
          )
        : container;
      env.set(
        e.name,
        resourceFieldValue(target, facts, from.resourceFieldRef.resource, from.resourceFieldRef.divisor),
      );
    } else if (from.configMapKeyRef) {
      const { name = '', key, optional } = from.configMapKeyRef;
      const cm = api.getConfigMap(ns, name);
      if (!cm) {
        if (optional) continue;
        throw new ContainerConfigError(`configmap "${name}" not found`);
      }
      const value = configMapData(cm)[key];
      if (value === undefined) {
        if (optional) continue;
        throw new ContainerConfigError(`couldn't find key ${key} in ConfigMap ${ns}/${name}`);
      }
      env.set(e.name, value);
    } else if (from.secretKeyRef) {
      const { name = '', key, optional } = from.secretKeyRef;
      const secret = api.getSecret(ns, name);
      if (!secret) {
        if (optional) continue;
        throw new ContainerConfigError(`secret "${name}" not found`);
      }
      const value = secretData(secret)[key];
      if (value === undefined) {
        if (optional) continue;
        throw new ContainerConfigError(`couldn't find key ${key} in Secret ${ns}/${name}`);
      }
      env.set(e.name, value);
    }
  }
  return [...env].map(([name, value]) => ({ name, value }));
}

/** `$(VAR)` in command and args, against the container's final environment. */
export function expandCommand(words: string[] | undefined, env: ResolvedEnvVar[]): string[] | undefined {
  if (words === undefined) return undefined;
  const map = new Map(env.map((e) => [e.name, e.value]));
  return words.map((w) => expand(w, (n) => map.get(n)));
}
