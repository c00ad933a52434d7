import { describe, expect, it } from 'vitest';
import { isRenderError } from '../../../../src/kubernetes/render/errors.ts';
import { renderJob } from '../../../../src/kubernetes/render/render-job.ts';
import { type KubeObject, validateObject } from '../../../support/k8s-schema.ts';
import { baseInput, fixture, jobVariables, rendered, richRunner, runnerConfig } from './support.ts';

function fullInput(overrides: Parameters<typeof baseInput>[0] = {}) {
  const { job, raw } = fixture('job-full.json');
  return baseInput({
    job,
    rawPayload: raw,
    variables: jobVariables(job, [
      { key: 'KUBERNETES_CPU_LIMIT', value: '3', public: true },
      { key: 'KUBERNETES_NODE_SELECTOR_ARCH', value: 'kubernetes.io/arch=amd64', public: true },
      { key: 'KUBERNETES_POD_LABELS_1', value: 'tier=ci', public: true },
      { key: 'KUBERNETES_NAMESPACE_OVERWRITE', value: 'ci-web', public: true },
    ]),
    uploader: true,
    runner: richRunner(),
    ...overrides,
  });
}

async function expectValid(objects: (object | undefined)[]): Promise<void> {
  const problems: string[] = [];
  for (const o of objects) if (o) problems.push(...(await validateObject(o as KubeObject)));
  expect(problems).toEqual([]);
}

describe('renderJob', () => {
  it('renders the minimal job into a Pod and Secret the API server accepts', async () => {
    const r = rendered(baseInput());
    expect(r.pod.spec!.initContainers!.map((c) => c.name)).toEqual(['helper']);
    expect(r.pod.spec!.containers.map((c) => c.name)).toEqual(['build']);
    expect(r.pod.spec!.containers[0]).toEqual({
      name: 'build',
      image: 'alpine:3.20',
      command: ['sh', '-c', 'exec sh /podrunner/job/build.sh'],
      securityContext: { capabilities: { drop: ['NET_RAW'] } },
      volumeMounts: [
        { name: 'builds', mountPath: '/builds' },
        { name: 'podrunner-job', mountPath: '/podrunner/job', readOnly: true },
        { name: 'podrunner-status', mountPath: '/podrunner/status' },
      ],
    });
    expect(r.pod.spec!.initContainers![0]!.command).toEqual(['podrunner-helper', 'prepare']);
    await expectValid([r.pod, r.secret]);
  });

  it('renders the full job with a maximal config into valid objects', async () => {
    const r = rendered(fullInput());
    await expectValid([r.pod, r.secret, r.pullSecret]);
    const spec = r.pod.spec!;
    expect(r.namespace).toBe('ci-web');
    expect(spec.initContainers!.map((c) => c.name)).toEqual(['helper', 'cache', 'docker', 'db']);
    expect(spec.containers.map((c) => c.name)).toEqual(['build', 'uploader']);
    expect(spec.containers[1]!.command).toEqual(['podrunner-helper', 'upload']);
    expect(spec.hostname).toBe('ci-job');
    expect(spec.containers[0]!.workingDir).toBe('/builds');
    expect(spec.containers[0]!.resources).toEqual({
      requests: { cpu: '500m', memory: '512Mi', 'ephemeral-storage': '1Gi' },
      limits: { cpu: '3', memory: '2Gi', 'ephemeral-storage': '10Gi' },
    });
    expect(spec.imagePullSecrets).toEqual([
      { name: 'registry-cred' },
      { name: `${r.pod.metadata!.name}-pull` },
    ]);
    expect(spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' });
    expect(r.pod.metadata!.labels).toMatchObject({ team: 'platform', tier: 'ci', leak: '' });
    expect(spec.terminationGracePeriodSeconds).toBe(600);
  });

  it('renders the fallback layout into valid objects too', async () => {
    const r = rendered(fullInput({ nativeSidecars: false }));
    await expectValid([r.pod, r.secret]);
    expect(r.pod.spec!.containers.map((c) => c.name)).toEqual(['build', 'uploader', 'cache', 'docker', 'db']);
  });

  it('honours FF_KUBERNETES_HONOR_ENTRYPOINT: the script command becomes the args', () => {
    const r = rendered(
      baseInput({
        runner: runnerConfig('image = "a"', '[runners.feature_flags]\nFF_KUBERNETES_HONOR_ENTRYPOINT = true'),
      }),
    );
    expect(r.pod.spec!.containers[0]!.command).toBeUndefined();
    expect(r.pod.spec!.containers[0]!.args).toEqual(['sh', '-c', 'exec sh /podrunner/job/build.sh']);
  });

  it('is pure: the same input renders the same objects and is not changed', () => {
    const input = fullInput();
    const before = JSON.stringify(input);
    expect(JSON.stringify(renderJob(input))).toBe(JSON.stringify(renderJob(input)));
    expect(JSON.stringify(input)).toBe(before);
  });

  it('returns refusals as RenderError values with a code', () => {
    const r = renderJob(baseInput({ runner: runnerConfig('') }));
    expect(isRenderError(r) && r.code).toBe('NO_IMAGE');
    expect(isRenderError(renderJob(baseInput({ projectSlot: -1 })))).toBe(true);
  });

  it('warns when the helper memory limit is too small for transfers', () => {
    const r = rendered(
      baseInput({ uploader: true, runner: runnerConfig('image = "a"\nhelper_memory_limit = "128Mi"') }),
    );
    expect(r.log.join('\n')).toMatch(/helper memory limit 128Mi is below 256Mi/);
  });
});
