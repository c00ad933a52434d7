// The per-job Secret (docs/pod-contract.md): type Opaque, named like the pod, holding `job.json`,
// `helper.json`, the build script files and the values of the services' environment. The Pod only
// names keys of it, so `kubectl get pod -o yaml` shows no variable value, token or credential.
//
// Key scheme for service environment values (Secret keys are `[-._a-zA-Z0-9]+`):
//   `env.<NAME>`              a public job variable, shared by every service that gets it;
//   `svc.<container>.<NAME>`  a service's own variable (`services:[].variables`, config `environment`);
//   `env-hex.<hex>` and `svc-hex.<container>.<hex>` for a name with other characters (hex of its UTF-8).
// File keys (`job.json`, `helper.json`, the script files) never start with `env` or `svc`.
import type { V1ObjectMeta, V1OwnerReference, V1Pod, V1Secret } from '@kubernetes/client-node';
import { HELPER_JSON_KEY, JOB_JSON_KEY } from './contract.ts';
import { RenderError } from './errors.ts';

const secretKeyChars = /^[-._a-zA-Z0-9]+$/;
const hex = (name: string) => Buffer.from(name, 'utf8').toString('hex');

/** The Secret key holding the value of public job variable `name`. */
export function jobVariableKey(name: string): string {
  return secretKeyChars.test(name) ? `env.${name}` : `env-hex.${hex(name)}`;
}

/** The Secret key holding service `container`'s own variable `name`. */
export function serviceVariableKey(container: string, name: string): string {
  return secretKeyChars.test(name) ? `svc.${container}.${name}` : `svc-hex.${container}.${hex(name)}`;
}

export interface JobSecretInput {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  rawPayload: string;
  helperSettings: string;
  /** The build script files from `src/scripts` (`build.sh`, …). */
  scriptFiles: Readonly<Record<string, string>>;
  /** Key → value for the services' environment (keys from jobVariableKey/serviceVariableKey). */
  envValues: ReadonlyMap<string, string>;
}

const reservedFilePrefix = /^(env|svc)[-.]/;

export function jobSecret(input: JobSecretInput): V1Secret {
  const entries = new Map<string, string>([
    [JOB_JSON_KEY, input.rawPayload],
    [HELPER_JSON_KEY, input.helperSettings],
  ]);
  for (const [key, content] of Object.entries(input.scriptFiles)) {
    if (entries.has(key) || reservedFilePrefix.test(key) || !secretKeyChars.test(key)) {
      throw new RenderError(
        'SECRET_KEY_CONFLICT',
        `the build script file ${JSON.stringify(key)} cannot be a job Secret key (reserved, duplicate or invalid)`,
      );
    }
    entries.set(key, content);
  }
  for (const [key, value] of input.envValues) entries.set(key, value);
  const data: Record<string, string> = {};
  for (const [key, value] of entries) data[key] = Buffer.from(value, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: input.name, namespace: input.namespace, labels: { ...input.labels } },
    type: 'Opaque',
    // The kubelet does not watch an immutable Secret; metadata (the ownerReference) can still change.
    immutable: true,
    data,
  };
}

/**
 * The ownerReference that makes Kubernetes delete a job's Secrets with its pod. The caller sets it on
 * the Secret(s) once the pod exists (it needs the pod's uid).
 */
export function secretOwnerReference(pod: Pick<V1Pod, 'metadata'>): V1OwnerReference {
  const meta: V1ObjectMeta | undefined = pod.metadata;
  if (!meta?.name || !meta.uid) throw new Error('secretOwnerReference needs a created pod (name and uid)');
  return { apiVersion: 'v1', kind: 'Pod', name: meta.name, uid: meta.uid, blockOwnerDeletion: false };
}
