import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../src/config/load.ts';
import { tolerations } from '../../../../src/kubernetes/render/scheduling.ts';
import { baseInput, refused, rendered, runnerConfig } from './support.ts';

function placedRunner() {
  const text = readFileSync(
    new URL('../../../fixtures/config/kubernetes-scheduling.toml', import.meta.url),
    'utf8',
  );
  const loaded = parseConfig(text, { env: {} });
  if (!loaded.ok) throw new Error('fixture does not load');
  const runner = loaded.config.runners[0]!;
  return { ...runner, kubernetes: { ...runner.kubernetes!, image: 'alpine' } };
}

describe('scheduling', () => {
  it('render node selector (with allowed overwrites), tolerations, affinity, scheduler and priority class', () => {
    const r = rendered(
      baseInput({
        runner: placedRunner(),
        variables: [
          { key: 'KUBERNETES_NODE_SELECTOR_ARCH', value: 'kubernetes.io/arch=arm64', public: true },
        ],
      }),
    );
    const spec = r.pod.spec!;
    expect(spec.nodeSelector).toEqual({ 'node.example.com/pool': 'ci', 'kubernetes.io/arch': 'arm64' });
    expect(spec.tolerations).toEqual([
      { key: 'dedicated', operator: 'Equal', value: 'ci', effect: 'NoSchedule' },
      { key: 'spot', operator: 'Exists', effect: 'NoExecute' },
    ]);
    expect(spec.schedulerName).toBe('ci-scheduler');
    expect(spec.priorityClassName).toBe('ci-low');
    expect(spec.affinity).toEqual({
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] }] },
          ],
        },
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 100,
            preference: {
              matchExpressions: [
                { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['eu-west-1a', 'eu-west-1b'] },
              ],
            },
          },
        ],
      },
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 50,
            podAffinityTerm: {
              topologyKey: 'kubernetes.io/hostname',
              labelSelector: { matchLabels: { 'job.runner.gitlab.com/pod': 'heavy' } },
            },
          },
        ],
      },
    });
  });

  it('render DNS policy and config, and host aliases after the services', () => {
    const spec = rendered(baseInput({ runner: placedRunner() })).pod.spec!;
    expect(spec.dnsPolicy).toBe('None');
    expect(spec.dnsConfig).toEqual({
      nameservers: ['10.0.0.10'],
      searches: ['ci.svc.cluster.local'],
      options: [{ name: 'ndots', value: '2' }, { name: 'single-request-reopen' }],
    });
    expect(spec.hostAliases).toEqual([
      { ip: '10.1.2.3', hostnames: ['registry.internal', 'mirror.internal'] },
    ]);
  });

  it('apply lifecycle hooks to build, uploader and services, never the helper init container', () => {
    const runner = placedRunner();
    runner.kubernetes.services = [{ name: 'redis:7' }];
    const spec = rendered(baseInput({ runner, uploader: true })).pod.spec!;
    const hooks = {
      preStop: { exec: { command: ['sh', '-c', 'sleep 5'] } },
      postStart: { httpGet: { port: 8080, path: '/ready', scheme: 'HTTP' } },
    };
    expect(spec.containers[0]!.lifecycle).toEqual(hooks);
    expect(spec.containers[1]!.lifecycle).toEqual(hooks);
    expect(spec.initContainers![1]!.lifecycle).toEqual(hooks);
    expect(spec.initContainers![0]!.lifecycle).toBeUndefined();
  });

  it('map tolerations like upstream: key=value → Equal, key → Exists, "" → tolerate everything', () => {
    expect(tolerations({ '': '', 'a=b': '', c: 'NoSchedule' })).toEqual([
      { operator: 'Exists' },
      { key: 'a', operator: 'Equal', value: 'b' },
      { key: 'c', operator: 'Exists', effect: 'NoSchedule' },
    ]);
    expect(tolerations({})).toBeUndefined();
  });

  it('refuse dns_policy "none" without a nameserver', () => {
    expect(refused(baseInput({ runner: runnerConfig('image = "a"\ndns_policy = "none"') })).code).toBe(
      'DNS_CONFIG_REQUIRED',
    );
  });

  it('set the service account (or its allowed overwrite) and the namespace (or its allowed overwrite)', () => {
    const runner = runnerConfig(
      'image = "a"\nservice_account = "ci"\nservice_account_overwrite_allowed = "^ci-"\nnamespace_overwrite_allowed = "^ci-"',
    );
    const plain = rendered(baseInput({ runner }));
    expect(plain.pod.spec!.serviceAccountName).toBe('ci');
    expect(plain.namespace).toBe('ci');
    const over = rendered(
      baseInput({
        runner,
        variables: [
          { key: 'KUBERNETES_SERVICE_ACCOUNT_OVERWRITE', value: 'ci-deploy', public: true },
          { key: 'KUBERNETES_NAMESPACE_OVERWRITE', value: 'ci-team', public: true },
        ],
      }),
    );
    expect(over.pod.spec!.serviceAccountName).toBe('ci-deploy');
    expect([over.namespace, over.pod.metadata!.namespace, over.secret.metadata!.namespace]).toEqual([
      'ci-team',
      'ci-team',
      'ci-team',
    ]);
  });
});

describe('namespace', () => {
  it('is the configured one, else the given default, else "default" with a warning', () => {
    expect(rendered(baseInput({ runner: runnerConfig('image = "a"\nnamespace = "jobs"') })).namespace).toBe(
      'jobs',
    );
    expect(rendered(baseInput({ namespace: 'runner-ns' })).namespace).toBe('runner-ns');
    const none = rendered(baseInput({ namespace: '' }));
    expect(none.namespace).toBe('default');
    expect(none.log).toContain("WARNING: Namespace is empty, therefore assuming 'default'.");
  });
});
