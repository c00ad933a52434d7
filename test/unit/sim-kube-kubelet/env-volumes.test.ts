// Environment and volume resolution, and what a missing Secret or ConfigMap does (§1.5, §3.2).
import { afterEach, describe, expect, it } from 'vitest';
import type { PodObject } from '../../../src/sim/kube/kubelet-store.ts';
import type { ResolvedVolume } from '../../../src/sim/kube/runtime.ts';
import { FakeRuntime } from './support/fake-runtime.ts';
import { type Harness, pod, startHarness } from './support/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const main = (p: PodObject) => p.status?.containerStatuses?.find((c) => c.name === 'main');

describe('environment', () => {
  it('resolves values, references, the downward API, Secrets, ConfigMaps and envFrom like the kubelet', async () => {
    const runtime = new FakeRuntime();
    h = startHarness({ nodeName: 'node-7' }, runtime);
    const { store } = h;
    store.putSecret('ci', 'creds', { token: 's3cr3t', user: 'bot' });
    store.putConfigMap('ci', 'settings', { LEVEL: 'debug', MODE: 'fast' });
    store.createPod({
      metadata: { name: 'envy', namespace: 'ci', labels: { app: 'web' } },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'main',
            image: 'alpine:3.19',
            command: ['sh', '-c', 'echo $(GREETING) $$(NOT_EXPANDED)'],
            args: ['$(UNKNOWN)'],
            resources: { limits: { memory: '256Mi', cpu: '1500m' } },
            envFrom: [
              { configMapRef: { name: 'settings' }, prefix: 'CFG_' },
              { secretRef: { name: 'absent', optional: true } },
            ],
            env: [
              { name: 'NAME', value: 'world' },
              { name: 'GREETING', value: 'hello $(NAME) from $(CFG_LEVEL) $$(NAME) $(MISSING)' },
              { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              { name: 'UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
              { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
              { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
              { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              { name: 'HOST', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
              { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
              { name: 'OPT', valueFrom: { secretKeyRef: { name: 'creds', key: 'nope', optional: true } } },
              { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'MODE' } } },
              {
                name: 'MEM_MI',
                valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } },
              },
              { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
            ],
          },
        ],
      },
    });
    const c = await runtime.started('envy', 'main');
    const env = Object.fromEntries(c.spec.env.map((e) => [e.name, e.value]));
    const uid = store.getPod('ci', 'envy')?.metadata?.uid;
    expect(env).toEqual({
      CFG_LEVEL: 'debug',
      CFG_MODE: 'fast',
      NAME: 'world',
      GREETING: 'hello world from debug $(NAME) $(MISSING)',
      POD: 'envy',
      NS: 'ci',
      UID: uid,
      APP: 'web',
      NODE: 'node-7',
      IP: '10.244.0.9',
      HOST: '127.0.0.1',
      TOKEN: 's3cr3t',
      MODE: 'fast',
      MEM_MI: '256',
      CPU: '2',
    });
    expect(c.spec.command).toEqual([
      'sh',
      '-c',
      'echo hello world from debug $(NAME) $(MISSING) $(NOT_EXPANDED)',
    ]);
    expect(c.spec.args).toEqual(['$(UNKNOWN)']);
    expect(c.spec.memoryLimitBytes).toBe(256 * 2 ** 20);
  });

  it('waits with CreateContainerConfigError while a Secret is missing, and starts once it exists', async () => {
    const runtime = new FakeRuntime();
    h = startHarness({}, runtime);
    const { store } = h;
    store.createPod(
      pod('nosecret', {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'main',
            image: 'alpine:3.19',
            env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } }],
          },
        ],
      }),
    );
    const waiting = await store.waitForPod(
      'ci',
      'nosecret',
      (p) => main(p)?.state?.waiting?.reason === 'CreateContainerConfigError',
    );
    expect(main(waiting)?.state?.waiting?.message).toBe('secret "creds" not found');
    expect(waiting.status?.phase).toBe('Pending');
    expect(store.eventsFor('nosecret')).toContain(
      'Failed: Error: secret "creds" not found [spec.containers{main}]',
    );

    store.putSecret('ci', 'creds', { other: 'x' });
    await store.waitForPod(
      'ci',
      'nosecret',
      (p) => main(p)?.state?.waiting?.message === "couldn't find key token in Secret ci/creds",
    );
    expect(store.eventsFor('nosecret')).toContain(
      "Failed: Error: couldn't find key token in Secret ci/creds [spec.containers{main}]",
    );

    store.putSecret('ci', 'creds', { token: 't' });
    const c = await runtime.started('nosecret', 'main');
    expect(c.spec.env).toEqual([{ name: 'TOKEN', value: 't' }]);
    await store.waitForPod('ci', 'nosecret', (p) => p.status?.phase === 'Running');
  });

  it('reports a missing ConfigMap in envFrom with the kubelet text', async () => {
    const runtime = new FakeRuntime();
    h = startHarness({}, runtime);
    const { store } = h;
    store.createPod(
      pod('nocm', {
        containers: [{ name: 'main', image: 'alpine:3.19', envFrom: [{ configMapRef: { name: 'cfg' } }] }],
      }),
    );
    const waiting = await store.waitForPod(
      'ci',
      'nocm',
      (p) => main(p)?.state?.waiting?.reason === 'CreateContainerConfigError',
    );
    expect(main(waiting)?.state?.waiting?.message).toBe('configmap "cfg" not found');
  });
});

describe('volumes', () => {
  it('resolves secret, configMap, emptyDir, hostPath, projected and downwardAPI volumes for the runtime', async () => {
    const runtime = new FakeRuntime();
    h = startHarness({}, runtime);
    const { store } = h;
    store.putSecret('ci', 'job-secret', { 'job.json': '{}', 'build.sh': 'echo hi', unused: 'x' });
    store.putConfigMap('ci', 'cfg', { 'a.conf': 'A=1' });
    store.createPod({
      metadata: { name: 'vols', namespace: 'ci', labels: { b: '2', a: '1' } },
      spec: {
        hostname: 'box',
        hostAliases: [{ ip: '127.0.0.1', hostnames: ['docker'] }],
        containers: [
          {
            name: 'main',
            image: 'alpine:3.19',
            volumeMounts: [
              { name: 'job', mountPath: '/podrunner/job', readOnly: true },
              { name: 'builds', mountPath: '/builds' },
              { name: 'cfg', mountPath: '/etc/cfg', subPath: 'a.conf' },
            ],
          },
        ],
        volumes: [
          {
            name: 'job',
            secret: {
              secretName: 'job-secret',
              defaultMode: 0o500,
              items: [
                { key: 'job.json', path: 'job.json', mode: 0o400 },
                { key: 'build.sh', path: 'build.sh' },
              ],
            },
          },
          { name: 'builds', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } },
          { name: 'cfg', configMap: { name: 'cfg' } },
          { name: 'host', hostPath: { path: '/var/run/docker.sock', type: 'Socket' } },
          {
            name: 'info',
            projected: {
              sources: [
                { downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
                { serviceAccountToken: { path: 'token' } },
                { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              ],
            },
          },
          { name: 'data', persistentVolumeClaim: { claimName: 'cache' } },
        ],
      },
    });
    const c = await runtime.started('vols', 'main');
    const sandbox = runtime.sandboxes[0];
    expect(sandbox?.hostname).toBe('box');
    expect(sandbox?.hostAliases).toEqual([{ ip: '127.0.0.1', hostnames: ['docker'] }]);
    const byName = Object.fromEntries((sandbox?.volumes ?? []).map((v) => [v.name, v])) as Record<
      string,
      ResolvedVolume
    >;
    const text = (v: ResolvedVolume | undefined) =>
      v?.kind === 'files'
        ? v.files.map((f) => [f.path, Buffer.from(f.content).toString(), f.mode.toString(8)])
        : v;
    expect(text(byName.job)).toEqual([
      ['job.json', '{}', '400'],
      ['build.sh', 'echo hi', '500'],
    ]);
    expect(byName.builds).toEqual({
      name: 'builds',
      kind: 'emptyDir',
      medium: 'Memory',
      sizeLimitBytes: 2 ** 30,
    });
    expect(text(byName.cfg)).toEqual([['a.conf', 'A=1', '644']]);
    expect(byName.host).toEqual({
      name: 'host',
      kind: 'hostPath',
      path: '/var/run/docker.sock',
      type: 'Socket',
    });
    const info = text(byName.info) as string[][];
    expect(info[0]).toEqual(['labels', 'a="1"\nb="2"', '644']);
    expect(info[1]?.[0]).toBe('token');
    expect(info[2]?.[0]).toBe('ca.crt');
    expect(byName.data).toEqual({ name: 'data', kind: 'placeholder', sourceType: 'persistentVolumeClaim' });
    expect(c.spec.mounts).toEqual([
      { volume: 'job', mountPath: '/podrunner/job', readOnly: true },
      { volume: 'builds', mountPath: '/builds', readOnly: false },
      { volume: 'cfg', mountPath: '/etc/cfg', subPath: 'a.conf', readOnly: false },
    ]);
    const running = await store.waitForPod('ci', 'vols', (p) => p.status?.phase === 'Running');
    expect(main(running)?.volumeMounts).toEqual([
      { name: 'job', mountPath: '/podrunner/job', readOnly: true, recursiveReadOnly: 'Disabled' },
      { name: 'builds', mountPath: '/builds', recursiveReadOnly: 'Disabled' },
      { name: 'cfg', mountPath: '/etc/cfg', recursiveReadOnly: 'Disabled' },
    ]);
  });

  it('keeps the pod ContainerCreating with FailedMount events until a volume Secret exists', async () => {
    const runtime = new FakeRuntime();
    h = startHarness({}, runtime);
    const { store } = h;
    store.createPod(
      pod('nomount', {
        containers: [
          { name: 'main', image: 'alpine:3.19', volumeMounts: [{ name: 'job', mountPath: '/job' }] },
        ],
        volumes: [{ name: 'job', secret: { secretName: 'job-secret' } }],
      }),
    );
    await store.waitForEvent('nomount', 'FailedMount:');
    const pending = store.getPod('ci', 'nomount') as PodObject;
    expect(main(pending)?.state?.waiting?.reason).toBe('ContainerCreating');
    expect(runtime.sandboxes).toEqual([]);
    expect(store.eventsFor('nomount')).toContain(
      'FailedMount: MountVolume.SetUp failed for volume "job" : secret "job-secret" not found',
    );
    expect(store.events.find((e) => e.reason === 'FailedMount')?.type).toBe('Warning');
    store.putSecret('ci', 'job-secret', { a: 'b' });
    await runtime.started('nomount', 'main');
  });
});
