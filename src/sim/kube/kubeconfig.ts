// The kubeconfig `podrunner sim kube` writes: one cluster (plain HTTP on loopback, so
// `insecure-skip-tls-verify: true`, which @kubernetes/client-node 2.x requires for http://), one user
// with a bearer token (the stand-in accepts any; without credentials kubectl prompts for a username
// on HTTPS), one context with a default namespace.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';

export interface KubeconfigOptions {
  server: string;
  /** Names the cluster, user and context (default `podrunner-sim`). */
  name?: string;
  namespace?: string;
}

export function kubeconfigYaml(options: KubeconfigOptions): string {
  const name = options.name ?? 'podrunner-sim';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: options.server, 'insecure-skip-tls-verify': true } }],
    users: [{ name, user: { token: 'podrunner-sim' } }],
    contexts: [{ name, context: { cluster: name, user: name, namespace: options.namespace ?? 'default' } }],
    'current-context': name,
    preferences: {},
  });
}

export async function writeKubeconfig(path: string, options: KubeconfigOptions): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, kubeconfigYaml(options), { mode: 0o600 });
  await chmod(path, 0o600);
}

/** Where `podrunner sim kube` writes its kubeconfig when `--kubeconfig` is not given. */
export function defaultKubeconfigPath(): string {
  const state = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(state, 'podrunner', 'sim-kube.kubeconfig');
}
