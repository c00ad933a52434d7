// The bench's embedded Kubernetes (virtual mode, in a child process) with real clients: pods created with
// client-node run on the virtual kubelet, the bench's pod watch sees their steps, the API server counts
// the requests it gets (not the bench's own) and holds each one for the injected latency.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PodTimesWatch, watchPodTimes } from '../../../src/bench/kube/pod-times.ts';
import { startVirtualCluster, type VirtualCluster } from '../../../src/bench/kube/virtual-cluster.ts';
import { virtualPodAnnotations } from '../../../src/bench/workload.ts';

const namespace = 'podrunner-bench';
let dir: string;
let cluster: VirtualCluster;
let watch: PodTimesWatch;
let core: CoreV1Api;

function jobPod(id: number, annotations: Record<string, string>): V1Pod {
  return {
    metadata: {
      name: `runner-job-${id}`,
      labels: { 'job.runner.gitlab.com/pod': `runner-job-${id}` },
      annotations: { ...annotations, 'job.runner.gitlab.com/id': String(id) },
    },
    spec: {
      restartPolicy: 'Never',
      initContainers: [
        { name: 'helper', image: 'ghcr.io/podrunner/helper:0.1.0', command: ['sh', '-c', 'echo hi'] },
      ],
      containers: [{ name: 'build', image: 'alpine:3.19', command: ['sh', '-c', 'sleep 1'] }],
    },
  };
}

async function until<T>(probe: () => T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'podrunner-bench-kube-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  cluster = await startVirtualCluster({
    namespace,
    apiLatencyMs: 200,
    kubeconfigPath,
    logPath: join(dir, 'kube.log'),
  });
  const benchKc = new KubeConfig();
  benchKc.loadFromFile(kubeconfigPath);
  watch = await watchPodTimes(benchKc, namespace);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
}, 60_000);

afterAll(async () => {
  await watch?.close();
  await cluster?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the bench’s embedded Kubernetes', () => {
  it('runs a job pod as the annotations say, and the watch sees created → started → terminated', async () => {
    const annotations = virtualPodAnnotations({ durationMs: 300, logBytes: 3000 });
    await core.createNamespacedPod({ namespace, body: jobPod(7, annotations) });
    const times = await until(() => {
      const t = watch.times(7);
      return t?.terminatedAt !== undefined ? t : undefined;
    }, 'the build container to terminate');
    expect(times.podCreatedAt).toBeDefined();
    expect(times.podStartedAt).toBeGreaterThanOrEqual(times.podCreatedAt as number);
    expect(times.terminatedAt).toBeGreaterThanOrEqual(times.podStartedAt as number);
    const pod = await core.readNamespacedPod({ name: 'runner-job-7', namespace });
    expect(pod.status?.phase).toBe('Succeeded');
    const log = await core.readNamespacedPodLog({ name: 'runner-job-7', namespace, container: 'build' });
    expect(Buffer.byteLength(log)).toBe(3000);
    expect(watch.times(8)).toBeUndefined();
  });

  it('counts the requests of others by verb and resource, not the bench’s watch', async () => {
    const before = await cluster.requestCounts();
    await core.listNamespacedPod({ namespace });
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 's1' }, stringData: { a: 'b' } },
    });
    await core.deleteNamespacedPod({ name: 'runner-job-7', namespace });
    const after = await cluster.requestCounts();
    const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
    expect(delta('list pods')).toBe(1);
    expect(delta('create secrets')).toBe(1);
    expect(delta('delete pods')).toBe(1);
    // the first test's create, read and log, and nothing from the bench's informer (list + watch)
    expect(after['create pods']).toBe(1);
    expect(after['get pods']).toBe(1);
    expect(after['get pods/log']).toBe(1);
    expect(after['watch pods']).toBeUndefined();
  });

  it('holds every request for the injected latency', async () => {
    let answered = false;
    const pending = core.listNamespacedPod({ namespace }).then(() => {
      answered = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    await pending;
    expect(answered).toBe(true);
  });
});
