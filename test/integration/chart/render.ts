import { parseAllDocuments } from 'yaml';
import { helm } from '../../support/helm.ts';
import type { KubeObject } from '../../support/k8s-schema.ts';

export const chartDir = 'charts/podrunner';
export const userValues = 'charts/podrunner/ci/gitlab-runner-values.yaml';

/** `helm template` of the chart; extra args are passed as they are (-f, --set, ...). */
export async function render(release: string, namespace: string, args: string[] = []): Promise<KubeObject[]> {
  const { stdout } = await helm(['template', release, chartDir, '--namespace', namespace, ...args]);
  return parseManifests(stdout);
}

export function parseManifests(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]?.message}`);
      return doc.toJS() as KubeObject | null;
    })
    .filter((o): o is KubeObject => o !== null);
}

export function find(objects: KubeObject[], kind: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0] as KubeObject;
}

// Narrow views of the rendered objects the tests look into.
export interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  startupProbe?: { httpGet?: { path: string; port: string | number } };
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: {
    serviceAccountName: string;
    terminationGracePeriodSeconds: number;
    securityContext?: Record<string, unknown>;
    containers: Container[];
    volumes: { name: string; [key: string]: unknown }[];
    nodeSelector?: Record<string, string>;
    tolerations?: unknown[];
    affinity?: unknown;
    hostAliases?: unknown[];
  };
}

export function podTemplate(objects: KubeObject[]): PodTemplate {
  const deployment = find(objects, 'Deployment') as unknown as { spec: { template: PodTemplate } };
  return deployment.spec.template;
}

export function manager(objects: KubeObject[]): Container {
  const container = podTemplate(objects).spec.containers[0];
  if (!container) throw new Error('the Deployment has no container');
  return container;
}

export function env(container: Container): Map<string, string | undefined> {
  return new Map((container.env ?? []).map((e) => [e.name, e.value]));
}

export function configMapData(objects: KubeObject[]): Record<string, string> {
  return (find(objects, 'ConfigMap') as unknown as { data: Record<string, string> }).data;
}

export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export function rules(objects: KubeObject[], kind = 'Role'): Rule[] {
  return (find(objects, kind) as unknown as { rules: Rule[] }).rules;
}
