import { describe, expect, it } from 'vitest';
import { kubernetesConfigSchema } from '../../../../src/config/schema/kubernetes.ts';
import { RenderError } from '../../../../src/kubernetes/render/errors.ts';
import {
  computeOverwrites,
  goRegExp,
  serviceResources,
} from '../../../../src/kubernetes/render/overwrites.ts';
import { compareQuantities, parseQuantity } from '../../../../src/kubernetes/render/quantity.ts';
import { type RenderVariable, VariableSet } from '../../../../src/kubernetes/render/variables.ts';
import { baseInput, fixture, refused, rendered, runnerConfig } from './support.ts';

const config = (input: Record<string, unknown>) => kubernetesConfigSchema.parse(input);
const vars = (entries: Record<string, string>): VariableSet =>
  new VariableSet(
    Object.entries(entries).map(([key, value]): RenderVariable => ({ key, value, public: true })),
  );

function error(fn: () => unknown): RenderError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RenderError) return e;
    throw e;
  }
  throw new Error('expected a RenderError');
}

describe('quantities', () => {
  it('compare exactly across suffixes and exponents', () => {
    const q = (s: string) => parseQuantity(s)!;
    expect(compareQuantities(q('500m'), q('0.5'))).toBe(0);
    expect(compareQuantities(q('1Gi'), q('1G'))).toBe(1);
    expect(compareQuantities(q('1024Mi'), q('1Gi'))).toBe(0);
    expect(compareQuantities(q('1e3'), q('1k'))).toBe(0);
    expect(compareQuantities(q('2E'), q('1Ei'))).toBe(1);
    expect(compareQuantities(q('100n'), q('1u'))).toBe(-1);
  });

  it('refuse what is not a quantity', () => {
    for (const bad of ['', 'two', '1 Gi', '1GB', '--1']) expect(parseQuantity(bad), bad).toBeUndefined();
  });
});

describe('string overwrites (namespace, service account)', () => {
  it('are inert unless the *_overwrite_allowed regex is set', () => {
    const log: string[] = [];
    const o = computeOverwrites(
      config({ service_account: 'ci' }),
      vars({ KUBERNETES_NAMESPACE_OVERWRITE: 'x', KUBERNETES_SERVICE_ACCOUNT_OVERWRITE: 'y' }),
      'ci',
      log,
    );
    expect([o.namespace, o.serviceAccount]).toEqual(['ci', 'ci']);
    expect(log).toEqual([]);
  });

  it('apply when the value matches (unanchored, like Go) and are logged', () => {
    const log: string[] = [];
    const o = computeOverwrites(
      config({ namespace_overwrite_allowed: 'ci-.*', service_account_overwrite_allowed: '^deploy$' }),
      vars({ KUBERNETES_NAMESPACE_OVERWRITE: 'ci-team', KUBERNETES_SERVICE_ACCOUNT_OVERWRITE: 'deploy' }),
      'ci',
      log,
    );
    expect([o.namespace, o.serviceAccount]).toEqual(['ci-team', 'deploy']);
    expect(log).toEqual([
      '"Namespace" overwritten with "ci-team"',
      '"ServiceAccount" overwritten with "deploy"',
    ]);
  });

  it('fail the job when the value does not match', () => {
    const e = error(() =>
      computeOverwrites(
        config({ namespace_overwrite_allowed: '^ci-.*' }),
        vars({ KUBERNETES_NAMESPACE_OVERWRITE: 'kube-system' }),
        'ci',
        [],
      ),
    );
    expect(e.code).toBe('OVERWRITE_NOT_ALLOWED');
    expect(e.message).toBe('provided value "kube-system" does not match "^ci-.*"');
  });

  it("read Go's regexp flags and named groups, and report a regex that does not compile", () => {
    expect(goRegExp('(?i)^CI-').test('ci-x')).toBe(true);
    expect(goRegExp('^(?P<team>[a-z]+)-ci\\z').test('web-ci')).toBe(true);
    expect(goRegExp('^(?P<team>[a-z]+)-ci\\z').test('web-ci-x')).toBe(false);
    expect(error(() => goRegExp('(')).code).toBe('OVERWRITE_REGEX_INVALID');
  });
});

describe('map overwrites (labels, annotations, node selector, tolerations)', () => {
  it('merge KUBERNETES_*_<anything> = "k=v" over the configured map when allowed', () => {
    const log: string[] = [];
    const o = computeOverwrites(
      config({
        pod_labels: { team: 'a' },
        pod_labels_overwrite_allowed: '.*',
        pod_annotations_overwrite_allowed: '^note=',
        node_selector: { pool: 'ci' },
        node_selector_overwrite_allowed: '^pool=',
        node_tolerations_overwrite_allowed: '.*',
      }),
      vars({
        KUBERNETES_POD_LABELS_1: 'team=b',
        KUBERNETES_POD_LABELS_2: 'extra=1=2',
        KUBERNETES_POD_ANNOTATIONS_X: 'note=hi',
        KUBERNETES_NODE_SELECTOR_POOL: 'pool=gpu',
        KUBERNETES_NODE_TOLERATIONS_1: 'dedicated=ci:NoSchedule',
        KUBERNETES_NODE_TOLERATIONS_2: 'spot',
      }),
      'ci',
      log,
    );
    expect(o.podLabels).toEqual({ team: 'b', extra: '1=2' });
    expect(o.podAnnotations).toEqual({ note: 'hi' });
    expect(o.nodeSelector).toEqual({ pool: 'gpu' });
    expect(o.nodeTolerations).toEqual({ 'dedicated=ci': 'NoSchedule', spot: '' });
    expect(log).toContain('"PodLabels" "team" overwritten with "b"');
  });

  it('ignore the variables when no regex is configured', () => {
    const o = computeOverwrites(
      config({ node_selector: { pool: 'ci' } }),
      vars({ KUBERNETES_NODE_SELECTOR_1: 'pool=gpu' }),
      'ci',
      [],
    );
    expect(o.nodeSelector).toEqual({ pool: 'ci' });
  });

  it('refuse a value that fails the regex or is not k=v', () => {
    const c = config({ pod_labels_overwrite_allowed: '^team=', node_selector_overwrite_allowed: '.*' });
    expect(
      error(() => computeOverwrites(c, vars({ KUBERNETES_POD_LABELS_1: 'owner=me' }), 'ci', [])).code,
    ).toBe('OVERWRITE_NOT_ALLOWED');
    const e = error(() => computeOverwrites(c, vars({ KUBERNETES_NODE_SELECTOR_1: 'novalue' }), 'ci', []));
    expect(e.code).toBe('OVERWRITE_MALFORMED');
    expect(e.message).toBe('provided value "novalue" does not match "k=v"');
  });
});

describe('resource overwrites', () => {
  const c = config({
    cpu_limit: '1',
    cpu_limit_overwrite_max_allowed: '2',
    memory_request: '256Mi',
    memory_request_overwrite_max_allowed: '1Gi',
    ephemeral_storage_limit: '1Gi',
    helper_memory_limit: '128Mi',
    helper_memory_limit_overwrite_max_allowed: '512Mi',
    service_cpu_request: '100m',
    service_cpu_request_overwrite_max_allowed: '500m',
    pod_memory_limit: '4Gi',
    pod_memory_limit_overwrite_max_allowed: '8Gi',
  });

  it('take the configured values and the job values within their ceilings', () => {
    const log: string[] = [];
    const o = computeOverwrites(
      c,
      vars({
        KUBERNETES_CPU_LIMIT: '1500m',
        KUBERNETES_MEMORY_REQUEST: '1Gi',
        KUBERNETES_EPHEMERAL_STORAGE_LIMIT: '100Gi',
        KUBERNETES_HELPER_MEMORY_LIMIT: '512Mi',
        KUBERNETES_SERVICE_CPU_REQUEST: '200m',
        KUBERNETES_POD_MEMORY_LIMIT: '6Gi',
      }),
      'ci',
      log,
    );
    expect(o.build).toEqual({
      requests: { memory: '1Gi' },
      limits: { cpu: '1500m', 'ephemeral-storage': '1Gi' },
    });
    expect(o.helper).toEqual({ requests: {}, limits: { memory: '512Mi' } });
    expect(o.service).toEqual({ requests: { cpu: '200m' }, limits: {} });
    expect(o.pod).toEqual({ requests: {}, limits: { memory: '6Gi' } });
    expect(log).toContain('"CPULimit" overwritten with "1500m"');
    expect(log).not.toContain('"EphemeralStorageLimit" overwritten with "100Gi"');
  });

  it("fail above the ceiling with upstream's message", () => {
    const e = error(() => computeOverwrites(c, vars({ KUBERNETES_CPU_LIMIT: '3' }), 'ci', []));
    expect(e.code).toBe('OVERWRITE_TOO_HIGH');
    expect(e.message).toBe(
      'invalid build limits specified: the resource "CPULimit" requested "3" is higher than limit allowed "2"',
    );
    const h = error(() => computeOverwrites(c, vars({ KUBERNETES_HELPER_MEMORY_LIMIT: '1Gi' }), 'ci', []));
    expect(h.message).toMatch(/^invalid helper limits specified: the resource "HelperMemoryLimit"/);
  });

  it('fail on a job value that is not a quantity', () => {
    const e = error(() => computeOverwrites(c, vars({ KUBERNETES_MEMORY_REQUEST: 'lots' }), 'ci', []));
    expect(e.code).toBe('QUANTITY_INVALID');
    expect(e.message).toMatch(/^invalid build requests specified: parsing resource limit/);
  });

  it("let a service's own KUBERNETES_SERVICE_* variables overwrite the job-wide service values", () => {
    const o = computeOverwrites(c, vars({ KUBERNETES_SERVICE_CPU_REQUEST: '200m' }), 'ci', []);
    expect(
      serviceResources(c, o.service, [{ key: 'KUBERNETES_SERVICE_CPU_REQUEST', value: '400m' }], []),
    ).toEqual({
      requests: { cpu: '400m' },
      limits: {},
    });
    expect(serviceResources(c, o.service, [], [])).toEqual(o.service);
    expect(
      error(() => serviceResources(c, o.service, [{ key: 'KUBERNETES_SERVICE_CPU_REQUEST', value: '1' }], []))
        .code,
    ).toBe('OVERWRITE_TOO_HIGH');
  });

  it('reach the containers of the rendered pod', () => {
    const { job, raw } = fixture('job-full.json');
    const runner = runnerConfig(
      [
        'image = "alpine"',
        'cpu_limit = "1"',
        'cpu_limit_overwrite_max_allowed = "4"',
        'helper_memory_request = "300Mi"',
        'service_memory_limit = "1Gi"',
        'pod_cpu_limit = "6"',
      ].join('\n'),
    );
    const r = rendered(
      baseInput({
        job,
        rawPayload: raw,
        runner,
        variables: [...job.variables, { key: 'KUBERNETES_CPU_LIMIT', value: '3', public: true }],
      }),
    );
    const spec = r.pod.spec!;
    expect(spec.containers[0]!.resources).toEqual({ limits: { cpu: '3' } });
    expect(spec.initContainers![0]!.resources).toEqual({ requests: { memory: '300Mi' } });
    expect(spec.initContainers![1]!.resources).toEqual({ limits: { memory: '1Gi' } });
    expect(spec.resources).toEqual({ limits: { cpu: '6' } });
    expect(r.log).toContain('"CPULimit" overwritten with "3"');
  });

  it('fail the render with the code the caller maps to a configuration failure', () => {
    const e = refused(
      baseInput({
        runner: runnerConfig('image = "a"\ncpu_limit_overwrite_max_allowed = "1"'),
        variables: [{ key: 'KUBERNETES_CPU_LIMIT', value: '2', public: true }],
      }),
    );
    expect(e.code).toBe('OVERWRITE_TOO_HIGH');
  });
});
