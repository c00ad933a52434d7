// The per-job registry credentials (kubernetes-executor.md §1.4 "Images and pull policy"): the payload's
// `credentials` of type `registry` and the `DOCKER_AUTH_CONFIG` variable, as one Secret of type
// `kubernetes.io/dockerconfigjson` named `<pod name>-pull`, listed in the pod's imagePullSecrets.
// DOCKER_AUTH_CONFIG wins over GitLab's credentials for the same registry, as in upstream's resolver.
import type { V1Secret } from '@kubernetes/client-node';
import type { JobPayload } from '../../gitlab/payload.ts';
import { RenderError } from './errors.ts';

export interface RegistryAuth {
  username?: string;
  password?: string;
  auth: string;
}

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

function fromDockerAuthConfig(text: string): Record<string, RegistryAuth> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new RenderError(
      'DOCKER_AUTH_CONFIG_INVALID',
      `DOCKER_AUTH_CONFIG is not JSON: ${(error as Error).message}`,
    );
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new RenderError(
      'DOCKER_AUTH_CONFIG_INVALID',
      'DOCKER_AUTH_CONFIG must be a JSON object like {"auths": {...}}',
    );
  }
  const auths = (doc as { auths?: unknown }).auths ?? {};
  if (typeof auths !== 'object' || auths === null || Array.isArray(auths)) {
    throw new RenderError(
      'DOCKER_AUTH_CONFIG_INVALID',
      'DOCKER_AUTH_CONFIG "auths" must be an object keyed by registry',
    );
  }
  const result: Record<string, RegistryAuth> = {};
  for (const [registry, entry] of Object.entries(auths as Record<string, unknown>)) {
    if (typeof entry !== 'object' || entry === null) continue;
    const e = entry as { auth?: unknown; username?: unknown; password?: unknown };
    if (typeof e.auth === 'string' && e.auth) {
      result[registry] = { auth: e.auth };
    } else if (typeof e.username === 'string' && typeof e.password === 'string') {
      result[registry] = {
        username: e.username,
        password: e.password,
        auth: base64(`${e.username}:${e.password}`),
      };
    }
  }
  return result;
}

/** Registry host → credentials; empty when the job brings none. */
export function registryAuths(
  job: Pick<JobPayload, 'credentials'>,
  dockerAuthConfig: string | undefined,
): Record<string, RegistryAuth> {
  const result: Record<string, RegistryAuth> = {};
  for (const c of job.credentials) {
    if (c.type !== 'registry' || !c.url) continue;
    result[c.url] = {
      username: c.username,
      password: c.password,
      auth: base64(`${c.username}:${c.password}`),
    };
  }
  if (dockerAuthConfig?.trim()) Object.assign(result, fromDockerAuthConfig(dockerAuthConfig));
  return result;
}

export function pullSecret(
  name: string,
  namespace: string,
  labels: Record<string, string>,
  auths: Record<string, RegistryAuth>,
): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: { ...labels } },
    type: 'kubernetes.io/dockerconfigjson',
    // The kubelet does not watch an immutable Secret; metadata (the ownerReference) can still change.
    immutable: true,
    data: { '.dockerconfigjson': base64(JSON.stringify({ auths })) },
  };
}
