// Each injected fault gives the statuses, reasons, messages and events a real cluster shows.
import { afterEach, describe, expect, it } from 'vitest';
import { KubeletConfigError, parseKubeletFaults } from '../../../src/sim/kube/kubelet/faults.ts';
import type { PodObject } from '../../../src/sim/kube/kubelet-store.ts';
import { type Harness, inOrder, pod, startHarness, summarise, timeline } from './support/harness.ts';

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

describe('image pull failures', () => {
  it('alternates ErrImagePull and ImagePullBackOff with the kubelet messages and events', async () => {
    h = startHarness({ faults: { imagePullErrors: [{ image: 'registry.invalid/**' }] } });
    const { store } = h;
    const image = 'registry.invalid/team/app:1.0';
    store.createPod(pod('pull', { restartPolicy: 'Never', containers: [{ name: 'main', image }] }));
    const error =
      'rpc error: code = NotFound desc = failed to pull and unpack image "registry.invalid/team/app:1.0": ' +
      'failed to resolve reference "registry.invalid/team/app:1.0": registry.invalid/team/app:1.0: not found';

    const first = await store.waitForPod(
      'ci',
      'pull',
      (p) => statusOf(p, 'main')?.state?.waiting?.reason === 'ErrImagePull',
    );
    expect(statusOf(first, 'main')?.state?.waiting?.message).toBe(error);
    const backOff = await store.waitForPod(
      'ci',
      'pull',
      (p) => statusOf(p, 'main')?.state?.waiting?.reason === 'ImagePullBackOff',
    );
    expect(statusOf(backOff, 'main')?.state?.waiting?.message).toBe(
      `Back-off pulling image "${image}": ErrImagePull: ${error}`,
    );
    expect(backOff.status?.phase).toBe('Pending');
    // After the back-off the kubelet pulls again, and fails again.
    await store.waitUntil(
      () => (store.events.find((e) => e.reason === 'Pulling')?.count ?? 0) >= 2,
      'a second pull',
    );
    await store.waitForPod(
      'ci',
      'pull',
      (p) => statusOf(p, 'main')?.state?.waiting?.reason === 'ErrImagePull',
    );

    const lines = timeline(store, 'pull');
    expect(
      inOrder(lines, [
        'Pending [Initialized,PodScheduled] main=waiting:ContainerCreating',
        'Pending [PodReadyToStartContainers,Initialized,PodScheduled] main=waiting:ErrImagePull',
        'Pending [PodReadyToStartContainers,Initialized,PodScheduled] main=waiting:ImagePullBackOff',
        'Pending [PodReadyToStartContainers,Initialized,PodScheduled] main=waiting:ErrImagePull',
      ]),
    ).toEqual(lines);
    const f = '[spec.containers{main}]';
    expect(store.eventsFor('pull')).toEqual([
      'Scheduled: Successfully assigned ci/pull to node-1',
      `Pulling: Pulling image "${image}" ${f}`,
      `Failed: Failed to pull image "${image}": ${error} ${f}`,
      `Failed: Error: ErrImagePull ${f}`,
      `BackOff: Back-off pulling image "${image}" ${f}`,
      `Failed: Error: ImagePullBackOff ${f}`,
    ]);
    const types = Object.fromEntries(store.events.map((e) => [e.reason, e.type]));
    expect(types).toMatchObject({ Pulling: 'Normal', Failed: 'Warning', BackOff: 'Normal' });
  });

  it('takes a per-container annotation with the runtime error text, and shows Init:ErrImagePull for an init container', async () => {
    h = startHarness();
    const { store } = h;
    store.createPod(
      pod(
        'initpull',
        {
          restartPolicy: 'Never',
          initContainers: [{ name: 'helper', image: 'ghcr.io/podrunner/helper:0.1.0' }],
          containers: [{ name: 'build', image: 'alpine:3.19' }],
        },
        {
          'sim.podrunner.dev/image-pull-error.helper':
            'rpc error: code = Unknown desc = failed to pull and unpack image "ghcr.io/podrunner/helper:0.1.0": unexpected status 401 Unauthorized',
        },
      ),
    );
    const p = await store.waitForPod(
      'ci',
      'initpull',
      (x) => statusOf(x, 'helper')?.state?.waiting?.reason === 'ErrImagePull',
    );
    expect(statusOf(p, 'helper')?.state?.waiting?.message).toContain('401 Unauthorized');
    expect(summarise(p)).toBe(
      'Pending [PodReadyToStartContainers,PodScheduled] init: helper=waiting:ErrImagePull | build=waiting:PodInitializing',
    );
  });
});

describe('OOM kill', () => {
  it('ends the container OOMKilled with 137 and fails a Never pod (annotation)', async () => {
    h = startHarness();
    const { store } = h;
    store.createPod(
      pod(
        'oom',
        {
          restartPolicy: 'Never',
          containers: [
            { name: 'build', image: 'alpine:3.19', command: ['sh', '-c', 'echo working; sleep 30'] },
            { name: 'side', image: 'alpine:3.19', command: ['sh', '-c', 'sleep 0.2'] },
          ],
        },
        { 'sim.podrunner.dev/oom-kill-after.build': '50ms' },
      ),
    );
    const failed = await store.waitForPod('ci', 'oom', (p) => p.status?.phase === 'Failed');
    expect(statusOf(failed, 'build')?.state?.terminated).toMatchObject({
      exitCode: 137,
      reason: 'OOMKilled',
    });
    expect(statusOf(failed, 'side')?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(store.eventsFor('oom').filter((e) => !/^(Scheduled|Pull|Created|Started)/.test(e))).toEqual([]);
  });

  it('takes OOM kills from the faults file, by pod and container glob', async () => {
    h = startHarness({ faults: { oomKills: [{ pod: 'oom-*', container: 'bu*', after: '30ms' }] } });
    const { store } = h;
    const spec = {
      restartPolicy: 'Never',
      containers: [{ name: 'build', image: 'alpine:3.19', command: ['sleep', '30'] }],
    };
    store.createPod(pod('oom-a', spec));
    const failed = await store.waitForPod('ci', 'oom-a', (p) => p.status?.phase === 'Failed');
    expect(statusOf(failed, 'build')?.state?.terminated?.reason).toBe('OOMKilled');
  });
});

describe('eviction', () => {
  it('fails the pod with reason Evicted, DisruptionTarget and a Warning event, and stops its containers', async () => {
    h = startHarness({ faults: { evictions: [{ pod: 'ev-*', after: '50ms' }] } });
    const { store } = h;
    store.createPod(
      pod('ev-1', {
        restartPolicy: 'Never',
        containers: [{ name: 'build', image: 'alpine:3.19', command: ['sh', '-c', 'sleep infinity'] }],
      }),
    );
    const evicted = await store.waitForPod(
      'ci',
      'ev-1',
      (p) => statusOf(p, 'build')?.state?.terminated !== undefined,
    );
    const message =
      'The node was low on resource: memory. Threshold quantity: 100Mi, available: 91924Ki. ' +
      'Container build was using 1930880Ki, request is 0, has larger consumption of memory. ';
    expect(evicted.status).toMatchObject({ phase: 'Failed', reason: 'Evicted', message });
    expect(evicted.status?.conditions?.[0]).toMatchObject({
      type: 'DisruptionTarget',
      status: 'True',
      reason: 'TerminationByKubelet',
      message,
    });
    expect(condition(evicted, 'Ready')).toMatchObject({ status: 'False', reason: 'PodFailed' });
    expect(statusOf(evicted, 'build')?.state?.terminated).toMatchObject({ exitCode: 143, reason: 'Error' });
    expect(store.eventsFor('ev-1').slice(-2)).toEqual([
      `Evicted: ${message}`,
      'Killing: Stopping container build [spec.containers{build}]',
    ]);
    expect(store.events.find((e) => e.reason === 'Evicted')?.type).toBe('Warning');
    // Evicted pods stay until someone deletes them.
    expect(store.getPod('ci', 'ev-1')).toBeDefined();
    const first = store.history.find(
      (e) => e.pod.metadata?.name === 'ev-1' && e.pod.status?.reason === 'Evicted',
    );
    expect(first?.pod.status?.phase).toBe('Failed');
  });

  it('takes the eviction time and message from annotations', async () => {
    h = startHarness();
    const { store } = h;
    store.createPod(
      pod(
        'ev-2',
        { containers: [{ name: 'main', image: 'alpine:3.19', command: ['sleep', 'infinity'] }] },
        {
          'sim.podrunner.dev/evict-after': '30ms',
          'sim.podrunner.dev/eviction-message': 'The node had condition: [DiskPressure]. ',
        },
      ),
    );
    const evicted = await store.waitForPod('ci', 'ev-2', (p) => p.status?.reason === 'Evicted');
    expect(evicted.status?.message).toBe('The node had condition: [DiskPressure]. ');
  });
});

describe('scheduling', () => {
  it('delays scheduling when asked (slow scheduler)', async () => {
    h = startHarness({ faults: { slowScheduling: [{ pod: 'slow', delay: '120ms' }] } });
    const { store } = h;
    const created = Date.now();
    store.createPod(pod('slow', { containers: [{ name: 'main', image: 'alpine:3.19', command: ['true'] }] }));
    store.createPod(
      pod('quick', { containers: [{ name: 'main', image: 'alpine:3.19', command: ['true'] }] }),
    );
    await store.waitForPod('ci', 'quick', (p) => !!p.spec?.nodeName);
    expect(store.getPod('ci', 'slow')?.spec?.nodeName).toBeUndefined();
    await store.waitForPod('ci', 'slow', (p) => !!p.spec?.nodeName);
    expect(Date.now() - created).toBeGreaterThanOrEqual(115);
    expect(store.eventsFor('slow')[0]).toBe('Scheduled: Successfully assigned ci/slow to node-1');
  });

  it('keeps a pod that does not fit Pending with Unschedulable and FailedScheduling, and binds it when room frees up', async () => {
    h = startHarness({ capacity: { pods: 1 } });
    const { store } = h;
    store.createPod(
      pod('first', { containers: [{ name: 'main', image: 'alpine:3.19', command: ['sleep', 'infinity'] }] }),
    );
    await store.waitForPod('ci', 'first', (p) => p.status?.phase === 'Running');
    store.createPod(
      pod('second', {
        restartPolicy: 'Never',
        containers: [{ name: 'main', image: 'alpine:3.19', command: ['true'] }],
      }),
    );
    const message =
      '0/1 nodes are available: 1 Too many pods. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.';
    const pending = await store.waitForPod(
      'ci',
      'second',
      (p) => condition(p, 'PodScheduled')?.status === 'False',
    );
    expect(pending.status).toEqual({
      phase: 'Pending',
      qosClass: 'BestEffort',
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          lastProbeTime: null,
          lastTransitionTime: expect.stringMatching(/Z$/),
          reason: 'Unschedulable',
          message,
        },
      ],
    });
    await store.waitForEvent('second', 'FailedScheduling:');
    const event = store.events.find((e) => e.reason === 'FailedScheduling');
    expect(event).toMatchObject({ type: 'Warning', message, source: { component: 'default-scheduler' } });
    store.deletePod('ci', 'first', 1);
    const bound = await store.waitForPod('ci', 'second', (p) => !!p.spec?.nodeName);
    expect(condition(bound, 'PodScheduled')).toMatchObject({ status: 'True' });
    expect(condition(bound, 'PodScheduled')?.reason).toBeUndefined();
    await store.waitForPod('ci', 'second', (p) => p.status?.phase === 'Succeeded');
  });

  it('explains node selector mismatches and insufficient resources like the default scheduler', async () => {
    h = startHarness({ capacity: { cpu: '1', memory: '1Gi' }, nodeLabels: { pool: 'ci' } });
    const { store } = h;
    store.createPod(
      pod('picky', { nodeSelector: { pool: 'gpu' }, containers: [{ name: 'main', image: 'alpine:3.19' }] }),
    );
    store.createPod(
      pod('hungry', {
        containers: [
          { name: 'main', image: 'alpine:3.19', resources: { requests: { cpu: '2', memory: '2Gi' } } },
        ],
      }),
    );
    store.createPod(
      pod('fits', {
        restartPolicy: 'Never',
        nodeSelector: { pool: 'ci', 'kubernetes.io/os': 'linux' },
        containers: [
          { name: 'main', image: 'alpine:3.19', command: ['true'], resources: { requests: { cpu: '500m' } } },
        ],
      }),
    );
    const picky = await store.waitForPod(
      'ci',
      'picky',
      (p) => condition(p, 'PodScheduled')?.status === 'False',
    );
    expect(condition(picky, 'PodScheduled')?.message).toBe(
      "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
    );
    const hungry = await store.waitForPod(
      'ci',
      'hungry',
      (p) => condition(p, 'PodScheduled')?.status === 'False',
    );
    expect(condition(hungry, 'PodScheduled')?.message).toBe(
      '0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
    );
    await store.waitForPod('ci', 'fits', (p) => p.status?.phase === 'Succeeded');
  });
});

describe('the faults file', () => {
  it('rejects bad values and unknown keys with the path in the message', () => {
    expect(() => parseKubeletFaults({ oomKills: [{ after: 'soon' }] })).toThrowError(
      /kubelet\.oomKills\.0\.after: not a duration: "soon"/,
    );
    expect(() => parseKubeletFaults({ evictons: [] })).toThrowError(KubeletConfigError);
    try {
      parseKubeletFaults({ imagePullErrors: 'all' });
    } catch (error) {
      expect((error as KubeletConfigError).code).toBe('invalid_kubelet_faults');
    }
    expect(parseKubeletFaults({ schedulingDelay: '1m30s' }).schedulingDelay).toBe(90_000);
    expect(parseKubeletFaults(undefined).evictions).toEqual([]);
  });
});
