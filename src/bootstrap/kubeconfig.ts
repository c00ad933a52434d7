// k3s writes a kubeconfig whose server is https://127.0.0.1:6443, right only inside the k3s
// container. Another container reaches it by its service name (k3s is started with --tls-san=k3s).
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { BootstrapError } from './errors.ts';

const kubeconfigSchema = z.looseObject({
  clusters: z
    .array(z.looseObject({ name: z.string(), cluster: z.looseObject({ server: z.string() }) }))
    .min(1, 'it names no cluster'),
});

/** The same kubeconfig with every cluster's server replaced by `server`. */
export function pointKubeconfigAt(text: string, server: string): string {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new BootstrapError('kubeconfig_invalid', `the kubeconfig is not YAML: ${(error as Error).message}`);
  }
  const parsed = kubeconfigSchema.safeParse(document);
  if (!parsed.success) {
    throw new BootstrapError(
      'kubeconfig_invalid',
      `the kubeconfig is not usable: ${parsed.error.issues[0]?.message}`,
    );
  }
  for (const entry of parsed.data.clusters) entry.cluster.server = server;
  return stringify(parsed.data);
}
