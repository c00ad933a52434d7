// The KubeletStore as the simulated kubelet uses it, in-process against the API server's store.
import { afterEach, describe, expect, it } from 'vitest';
import { pods, secrets } from '../../../src/sim/kube/api/resources.ts';
import { SimKubeApi } from '../../../src/sim/kube/api/sim-api.ts';
import type { PodEventType, PodObject } from '../../../src/sim/kube/kubelet-store.ts';

const apis: SimKubeApi[] = [];
afterEach(() => {
  for (const api of apis.splice(0)) api.close();
});

function setup() {
  const api = new SimKubeApi({ gcDelayMs: 0 });
  apis.push(api);
  const create = (name: string, spec: Record<string, unknown> = {}) =>
    api.registry.create(
      pods,
      'default',
      { metadata: { name }, spec: { containers: [{ name: 'c', image: 'x' }], ...spec } },
      { dryRun: false, fieldValidation: 'Strict' },
    ).object as PodObject;
  return { api, store: api.kubeletStore, create };
}

describe('KubeletStore', () => {
  it('replays existing pods as ADDED, then every change in order, with copies the kubelet may change', () => {
    const { store, create } = setup();
    const a = create('a');
    const seen: [PodEventType, string, string][] = [];
    const stop = store.watchPods((type, pod) => {
      seen.push([type, pod.metadata!.name!, pod.metadata!.resourceVersion!]);
      pod.metadata!.labels = { mutated: 'by the kubelet' };
    });
    const b = create('b');
    expect(store.bindPod('default', 'b', b.metadata!.uid!, 'podrunner-sim')).toBe(true);
    expect(seen.map(([t, n]) => `${t} ${n}`)).toEqual(['ADDED a', 'ADDED b', 'MODIFIED b']);
    const rvs = seen.map(([, , rv]) => Number(rv));
    expect(rvs.slice(1)).toEqual([...rvs.slice(1)].sort((x, y) => x - y));
    expect(a.metadata?.labels).toBeUndefined();
    stop();
    create('c');
    expect(seen).toHaveLength(3);
  });

  it('binds once, refuses other uids and gated pods, and keeps server-owned conditions on status writes', () => {
    const { store, create } = setup();
    const pod = create('p');
    const uid = pod.metadata!.uid!;
    expect(store.bindPod('default', 'p', 'other-uid', 'podrunner-sim')).toBe(false);
    expect(store.bindPod('default', 'p', uid, 'podrunner-sim')).toBe(true);
    expect(store.bindPod('default', 'p', uid, 'podrunner-sim')).toBe(true);
    expect(store.bindPod('default', 'gone', uid, 'podrunner-sim')).toBe(false);
    const gated = create('gated', { schedulingGates: [{ name: 'wait' }] });
    expect(store.bindPod('default', 'gated', gated.metadata!.uid!, 'podrunner-sim')).toBe(false);
    expect(gated.status?.conditions).toEqual([
      expect.objectContaining({
        type: 'PodScheduled',
        status: 'False',
        reason: 'SchedulingGated',
        message: 'Scheduling is blocked due to non-empty scheduling gates',
      }),
    ]);

    const status = {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2025-03-01T10:00:00Z' }],
    };
    const updated = store.updatePodStatus('default', 'p', uid, status)!;
    expect(updated.status?.conditions?.map((c) => c.type)).toEqual(['Ready', 'PodScheduled']);
    expect(updated.status?.qosClass).toBe('BestEffort');
    status.phase = 'changed after the call';
    expect(store.updatePodStatus('default', 'p', 'other', {}) ?? 'refused').toBe('refused');
  });

  it('removes a terminating pod in two steps, takes its logs along, and collects what it owns', async () => {
    const { api, store, create } = setup();
    const pod = create('p');
    const uid = pod.metadata!.uid!;
    store.bindPod('default', 'p', uid, 'podrunner-sim');
    api.registry.create(
      secrets,
      'default',
      { metadata: { name: 'owned', ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p', uid }] } },
      { dryRun: false, fieldValidation: 'Strict' },
    );
    const log = store.openContainerLog(uid, 'c');
    log.write('stdout', Buffer.from('x\n'), new Date());
    api.registry.delete(pods, 'default', 'p', { dryRun: false });
    const types: string[] = [];
    store.watchPods((type, p) => types.push(`${type} ${p.metadata?.deletionGracePeriodSeconds ?? '-'}`));
    expect(types).toEqual(['ADDED 30']);
    store.removePod('default', 'p', uid);
    expect(types).toEqual(['ADDED 30', 'MODIFIED 0', 'DELETED 0']);
    expect(api.logs.current(uid, 'c')).toBeUndefined();
    await api.gc.whenIdle();
    expect(api.registry.store.get('secrets', 'default', 'owned')).toBeUndefined();
  });

  it('reads Secrets and ConfigMaps and records events', () => {
    const { api, store, create } = setup();
    api.registry.create(
      secrets,
      'default',
      { metadata: { name: 's' }, stringData: { k: 'v' } },
      { dryRun: false, fieldValidation: 'Strict' },
    );
    expect(store.getSecret('default', 's')).toMatchObject({
      kind: 'Secret',
      apiVersion: 'v1',
      data: { k: 'dg==' },
    });
    expect(store.getSecret('default', 'nope')).toBeUndefined();
    expect(store.getConfigMap('default', 'kube-root-ca.crt')).toMatchObject({
      kind: 'ConfigMap',
      data: { 'ca.crt': '' },
    });
    const pod = create('e');
    store.recordEvent({
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: 'default',
        name: 'e',
        uid: pod.metadata!.uid!,
      },
      reason: 'Scheduled',
      message: 'Successfully assigned default/e to podrunner-sim',
      type: 'Normal',
      source: { component: 'default-scheduler' },
    });
    expect(api.registry.store.list('events', 'default').map((e) => e.obj.reason)).toEqual(['Scheduled']);
  });
});
