// Startup, readiness and liveness probes and what they do to statuses and containers (§1.4, §3.2, §8).
import { afterEach, describe, expect, it } from 'vitest';
import type { PodObject } from '../../../src/sim/kube/kubelet-store.ts';
import { FakeRuntime } from './support/fake-runtime.ts';
import { type Harness, pod, startHarness } from './support/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const statusOf = (p: PodObject, name: string) =>
  [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])].find(
    (c) => c.name === name,
  );
const condition = (p: PodObject, type: string) => p.status?.conditions?.find((c) => c.type === type);

describe('probes', () => {
  it('restarts a sidecar whose startup probe keeps failing, and holds the next containers back', async () => {
    const runtime = new FakeRuntime();
    h = startHarness({}, runtime);
    const { store } = h;
    store.createPod(
      pod('probe', {
        restartPolicy: 'Never',
        initContainers: [
          {
            name: 'docker',
            image: 'docker:27-dind',
            restartPolicy: 'Always',
            startupProbe: { tcpSocket: { port: 2375 }, periodSeconds: 1, failureThreshold: 2 },
          },
        ],
        containers: [{ name: 'build', image: 'alpine:3.19' }],
      }),
    );
    const first = await runtime.started('probe', 'docker', 0);
    await store.waitForEvent('probe', 'Killing:');
    expect(store.eventsFor('probe')).toContain(
      'Killing: Init container docker failed startup probe [spec.initContainers{docker}]',
    );
    expect(first.signals[0]).toBe('SIGTERM');
    await runtime.started('probe', 'docker', 1);
    const p = await store.waitForPod('ci', 'probe', (x) => statusOf(x, 'docker')?.restartCount === 1);
    expect(statusOf(p, 'docker')?.lastState?.terminated).toMatchObject({ exitCode: 143, reason: 'Error' });
    expect(runtime.containers.some((c) => c.spec.name === 'build')).toBe(false);
    runtime.listening.add('probe:2375');
    await runtime.started('probe', 'build');
  });

  it('keeps a container unready until its readiness probe passes', async () => {
    const runtime = new FakeRuntime();
    h = startHarness({}, runtime);
    const { store } = h;
    store.createPod(
      pod('ready', {
        containers: [
          {
            name: 'web',
            image: 'nginx:1.27',
            ports: [{ containerPort: 80, name: 'http' }],
            readinessProbe: { httpGet: { port: 'http', path: '/healthz' }, periodSeconds: 1 },
          },
        ],
      }),
    );
    const c = await runtime.started('ready', 'web');
    expect(c.spec.ports).toEqual([80]);
    const unready = await store.waitForPod('ci', 'ready', (p) => p.status?.phase === 'Running');
    expect(statusOf(unready, 'web')).toMatchObject({ ready: false, started: true });
    expect(condition(unready, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ContainersNotReady',
      message: 'containers with unready status: [web]',
    });
    await store.waitForEvent('ready', 'Unhealthy:');
    expect(store.eventsFor('ready')).toContain(
      'Unhealthy: Readiness probe failed: Get "http://10.244.0.9:80/healthz": dial tcp 10.244.0.9:80: connect: connection refused [spec.containers{web}]',
    );
    runtime.listening.add('ready:80');
    const ready = await store.waitForPod('ci', 'ready', (p) => condition(p, 'Ready')?.status === 'True');
    expect(statusOf(ready, 'web')?.ready).toBe(true);
  });

  it('kills a container that fails its liveness probe and, under Never, leaves it terminated', async () => {
    const runtime = new FakeRuntime();
    h = startHarness({}, runtime);
    const { store } = h;
    store.createPod(
      pod('live', {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'app',
            image: 'alpine:3.19',
            livenessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1, failureThreshold: 2 },
          },
        ],
      }),
    );
    const failed = await store.waitForPod('ci', 'live', (p) => p.status?.phase === 'Failed');
    expect(statusOf(failed, 'app')?.state?.terminated).toMatchObject({ exitCode: 143, reason: 'Error' });
    expect(store.eventsFor('live')).toContain(
      'Killing: Container app failed liveness probe [spec.containers{app}]',
    );
  });
});
