// Pod volumes resolved into the runtime's terms. Secret, ConfigMap, downward API and projected
// volumes become files; a missing source fails the mount with the kubelet's FailedMount text, and the
// pod waits (ContainerCreating / PodInitializing) until it appears.
import type { V1DownwardAPIVolumeFile, V1KeyToPath, V1Volume } from '@kubernetes/client-node';
import type { PodObject, Wire } from '../kubelet-store.ts';
import type { ResolvedMount, ResolvedVolume } from '../runtime.ts';
import {
  type ApiLookup,
  type ContainerObject,
  decodeData,
  fieldRefValue,
  type PodRuntimeFacts,
  resourceFieldValue,
} from './env.ts';
import { memoryBytes } from './resources.ts';

export class VolumeMountError extends Error {
  override readonly name = 'VolumeMountError';
  readonly code = 'volume_mount';
  readonly volume: string;
  constructor(volume: string, detail: string) {
    // The kubelet's operation executor text, with its space before the colon.
    super(`MountVolume.SetUp failed for volume "${volume}" : ${detail}`);
    this.volume = volume;
  }
}

type FileEntry = { path: string; content: Uint8Array; mode: number };
type KeyToPath = Wire<V1KeyToPath>;

const defaultMode = 0o644;

function keyedFiles(
  volume: string,
  data: Record<string, Uint8Array>,
  items: KeyToPath[] | undefined,
  mode: number,
  kind: 'secret' | 'config',
  optional: boolean,
): FileEntry[] {
  if (!items || items.length === 0) {
    return Object.keys(data)
      .sort()
      .map((k) => ({ path: k, content: data[k] as Uint8Array, mode }));
  }
  const out: FileEntry[] = [];
  for (const item of items) {
    const content = data[item.key];
    if (content === undefined) {
      if (optional) continue;
      throw new VolumeMountError(volume, `references non-existent ${kind} key: ${item.key}`);
    }
    out.push({ path: item.path, content, mode: item.mode ?? mode });
  }
  return out;
}

function downwardFiles(
  items: Wire<V1DownwardAPIVolumeFile>[] | undefined,
  pod: PodObject,
  facts: PodRuntimeFacts,
  mode: number,
): FileEntry[] {
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  return (items ?? []).map((item) => {
    let text = '';
    if (item.fieldRef) text = fieldRefValue(pod, facts, item.fieldRef.fieldPath);
    else if (item.resourceFieldRef) {
      const target: ContainerObject | undefined = containers.find(
        (c) => c.name === item.resourceFieldRef?.containerName,
      );
      text = resourceFieldValue(target, facts, item.resourceFieldRef.resource, item.resourceFieldRef.divisor);
    }
    return { path: item.path, content: Buffer.from(text), mode: item.mode ?? mode };
  });
}

/** A token-shaped placeholder: the simulator issues no real service account tokens. */
function fakeToken(pod: PodObject, audience: string | undefined): Uint8Array {
  const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const ns = pod.metadata?.namespace ?? 'default';
  const sa = pod.spec?.serviceAccountName ?? 'default';
  const payload = {
    aud: [audience ?? 'https://kubernetes.default.svc'],
    sub: `system:serviceaccount:${ns}:${sa}`,
  };
  return Buffer.from(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`);
}

function resolveVolume(
  v: Wire<V1Volume>,
  pod: PodObject,
  api: ApiLookup,
  facts: PodRuntimeFacts,
): ResolvedVolume {
  const ns = pod.metadata?.namespace ?? 'default';
  const name = v.name;
  if (v.emptyDir) {
    const medium = v.emptyDir.medium === 'Memory' ? 'Memory' : '';
    const limit = v.emptyDir.sizeLimit === undefined ? undefined : memoryBytes(String(v.emptyDir.sizeLimit));
    return { name, kind: 'emptyDir', medium, ...(limit !== undefined ? { sizeLimitBytes: limit } : {}) };
  }
  if (v.hostPath) {
    return {
      name,
      kind: 'hostPath',
      path: v.hostPath.path,
      ...(v.hostPath.type ? { type: v.hostPath.type } : {}),
    };
  }
  if (v.secret) {
    const secretName = v.secret.secretName ?? '';
    const secret = api.getSecret(ns, secretName);
    const mode = v.secret.defaultMode ?? defaultMode;
    if (!secret) {
      if (v.secret.optional) return { name, kind: 'files', files: [] };
      throw new VolumeMountError(name, `secret "${secretName}" not found`);
    }
    const files = keyedFiles(
      name,
      decodeData(secret.data),
      v.secret.items,
      mode,
      'secret',
      !!v.secret.optional,
    );
    return { name, kind: 'files', files };
  }
  if (v.configMap) {
    const cmName = v.configMap.name ?? '';
    const cm = api.getConfigMap(ns, cmName);
    const mode = v.configMap.defaultMode ?? defaultMode;
    if (!cm) {
      if (v.configMap.optional) return { name, kind: 'files', files: [] };
      throw new VolumeMountError(name, `configmap "${cmName}" not found`);
    }
    const files = keyedFiles(
      name,
      configMapBytes(cm),
      v.configMap.items,
      mode,
      'config',
      !!v.configMap.optional,
    );
    return { name, kind: 'files', files };
  }
  if (v.downwardAPI) {
    const mode = v.downwardAPI.defaultMode ?? defaultMode;
    return { name, kind: 'files', files: downwardFiles(v.downwardAPI.items, pod, facts, mode) };
  }
  if (v.projected) {
    const mode = v.projected.defaultMode ?? defaultMode;
    const files: FileEntry[] = [];
    for (const source of v.projected.sources ?? []) {
      if (source.secret) {
        const secretName = source.secret.name ?? '';
        const secret = api.getSecret(ns, secretName);
        if (!secret) {
          if (source.secret.optional) continue;
          throw new VolumeMountError(name, `secret "${secretName}" not found`);
        }
        files.push(
          ...keyedFiles(
            name,
            decodeData(secret.data),
            source.secret.items,
            mode,
            'secret',
            !!source.secret.optional,
          ),
        );
      } else if (source.configMap) {
        const cmName = source.configMap.name ?? '';
        const cm = api.getConfigMap(ns, cmName);
        if (!cm) {
          if (source.configMap.optional) continue;
          // Every real namespace has the cluster CA bundle; the simulator has no cluster CA.
          if (cmName === 'kube-root-ca.crt') {
            files.push({ path: 'ca.crt', content: new Uint8Array(), mode });
            continue;
          }
          throw new VolumeMountError(name, `configmap "${cmName}" not found`);
        }
        files.push(
          ...keyedFiles(
            name,
            configMapBytes(cm),
            source.configMap.items,
            mode,
            'config',
            !!source.configMap.optional,
          ),
        );
      } else if (source.downwardAPI) {
        files.push(...downwardFiles(source.downwardAPI.items, pod, facts, mode));
      } else if (source.serviceAccountToken) {
        files.push({
          path: source.serviceAccountToken.path,
          content: fakeToken(pod, source.serviceAccountToken.audience),
          mode,
        });
      }
    }
    return { name, kind: 'files', files };
  }
  const sourceType = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
  return { name, kind: 'placeholder', sourceType };
}

function configMapBytes(cm: { data?: Record<string, string>; binaryData?: Record<string, string> }) {
  const out: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(cm.data ?? {})) out[k] = Buffer.from(v);
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) out[k] = Buffer.from(v, 'base64');
  return out;
}

/** Every volume of the pod, or the first VolumeMountError (the kubelet reports them one at a time). */
export function resolveVolumes(pod: PodObject, api: ApiLookup, facts: PodRuntimeFacts): ResolvedVolume[] {
  return (pod.spec?.volumes ?? []).map((v) => resolveVolume(v, pod, api, facts));
}

export function resolveMounts(container: ContainerObject): ResolvedMount[] {
  return (container.volumeMounts ?? []).map((m) => ({
    volume: m.name,
    mountPath: m.mountPath,
    ...(m.subPath ? { subPath: m.subPath } : {}),
    readOnly: m.readOnly ?? false,
  }));
}
