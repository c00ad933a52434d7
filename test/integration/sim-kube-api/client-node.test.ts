// @kubernetes/client-node 2.x against the embedded API server: typed calls and their errors, an
// informer whose cache stays exact while the server ends its watches and answers one 410, and log
// streaming with follow.
import { PassThrough } from 'node:stream';
import {
  ApiException,
  CoreV1Api,
  Log,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
  Watch,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeConfigFrom, type SharedDispatcherKubeConfig } from './client-node.ts';
import {
  condition,
  eventually,
  running,
  ScriptedKubelet,
  startCluster,
  type TestCluster,
  terminated,
  waiting,
} from './harness.ts';

let cluster: TestCluster;
let kc: SharedDispatcherKubeConfig;
let core: CoreV1Api;
let kubelet: ScriptedKubelet;

beforeAll(async () => {
  // the server ends every watch after about a second, as a real server may at any time
  cluster = await startCluster({
    faults: {
      api: {
        watch: { minDurationSeconds: 0.5, maxDurationSeconds: 1, dropRate: 0, expireRate: 0 },
        errors: [],
        logs: { dropRate: 0, mode: 'end' },
      },
    },
  });
  kc = kubeConfigFrom(cluster.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  kubelet = new ScriptedKubelet(cluster.sim.store);
});

afterAll(async () => {
  kubelet.stop();
  await kc.close();
  await cluster.close();
});

function pod(name: string, labels: Record<string, string> = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: { restartPolicy: 'Never', containers: [{ name: 'build', image: 'alpine:3.19' }] },
  };
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The ApiException a call fails with; `status` is its body parsed (client-node keeps it as text). */
async function apiError(promise: Promise<unknown>): Promise<{ code: number; status: unknown }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiException) {
      const body: unknown = err.body;
      let status: unknown = body;
      if (typeof body === 'string' && body.startsWith('{')) status = JSON.parse(body);
      return { code: err.code, status };
    }
    throw err;
  }
  throw new Error('expected an ApiException');
}

describe('@kubernetes/client-node against the embedded API server', () => {
  it('creates, reads, lists, patches and deletes, with the HTTP codes of a real cluster', async () => {
    const created = await core.createNamespacedPod({
      namespace: 'default',
      body: pod('cn-1', { app: 'cn' }),
    });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.status?.phase).toBe('Pending');
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);

    const generated = await core.createNamespacedPod({
      namespace: 'default',
      body: { ...pod(''), metadata: { generateName: 'runner-' } },
    });
    expect(generated.metadata?.name).toMatch(/^runner-[bcdfghjklmnpqrstvwxz2456789]{5}$/);

    const dry = await core.createNamespacedPod({ namespace: 'default', body: pod('cn-dry'), dryRun: 'All' });
    expect(dry.metadata?.uid).toBeTruthy();
    expect(dry.metadata?.resourceVersion).toBeUndefined();
    expect((await apiError(core.readNamespacedPod({ namespace: 'default', name: 'cn-dry' }))).code).toBe(404);

    const listed = await core.listNamespacedPod({
      namespace: 'default',
      labelSelector: 'app in (cn, other)',
    });
    expect(listed.items.map((p) => p.metadata?.name)).toEqual(['cn-1']);
    const notIn = await core.listPodForAllNamespaces({ labelSelector: 'app notin (cn),!missing' });
    expect(notIn.items.map((p) => p.metadata?.name)).toEqual([generated.metadata?.name]);
    const byField = await core.listNamespacedPod({
      namespace: 'default',
      fieldSelector: 'status.phase=Pending,metadata.name=cn-1',
    });
    expect(byField.items).toHaveLength(1);

    const duplicate = await apiError(core.createNamespacedPod({ namespace: 'default', body: pod('cn-1') }));
    expect(duplicate.code).toBe(409);
    expect(duplicate.status).toMatchObject({
      reason: 'AlreadyExists',
      message: 'pods "cn-1" already exists',
      code: 409,
    });

    const invalid = await apiError(
      core.createNamespacedPod({ namespace: 'default', body: { ...pod('cn-2'), spec: { containers: [] } } }),
    );
    expect(invalid.code).toBe(422);
    expect(invalid.status).toMatchObject({
      reason: 'Invalid',
      message: 'Pod "cn-2" is invalid: spec.containers: Required value',
    });

    const patched = await core.patchNamespacedPod(
      { namespace: 'default', name: 'cn-1', body: { metadata: { labels: { extra: 'yes' } } } },
      mergePatch,
    );
    expect(patched.metadata?.labels).toEqual({ app: 'cn', extra: 'yes' });
    expect(Number(patched.metadata?.resourceVersion)).toBeGreaterThan(
      Number(created.metadata?.resourceVersion),
    );

    const stale = await apiError(
      core.replaceNamespacedPod({ namespace: 'default', name: 'cn-1', body: created }),
    );
    expect(stale.code).toBe(409);
    expect(stale.status).toMatchObject({ reason: 'Conflict' });

    const missing = await apiError(core.readNamespacedPod({ namespace: 'default', name: 'nope' }));
    expect(missing.code).toBe(404);
    expect(missing.status).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      details: { name: 'nope', kind: 'pods' },
    });

    // unscheduled: removed at once; the reply is the pod with its deletionTimestamp
    const deleted = await core.deleteNamespacedPod({ namespace: 'default', name: generated.metadata!.name! });
    expect(deleted.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    expect(
      (await apiError(core.readNamespacedPod({ namespace: 'default', name: generated.metadata!.name! })))
        .code,
    ).toBe(404);

    const secret = await core.createNamespacedSecret({
      namespace: 'default',
      body: { metadata: { name: 'cn-secret' }, stringData: { k: 'v' } },
    });
    expect(secret.data).toEqual({ k: Buffer.from('v').toString('base64') });
    expect(secret.type).toBe('Opaque');
    const status = await core.deleteNamespacedSecret({ namespace: 'default', name: 'cn-secret' });
    expect(status).toMatchObject({ status: 'Success', details: { name: 'cn-secret', kind: 'secrets' } });
  });

  it('keeps an informer cache exact across server-ended watches and a 410', async () => {
    let lists = 0;
    const informer = makeInformer(kc, '/api/v1/namespaces/default/pods', () => {
      lists++;
      return core.listNamespacedPod({ namespace: 'default' });
    });
    const errors: unknown[] = [];
    informer.on('error', (err) => errors.push(err));
    await informer.start();
    const serverView = async () =>
      (await core.listNamespacedPod({ namespace: 'default' })).items
        .map((p) => `${p.metadata?.name}@${p.metadata?.resourceVersion}`)
        .sort();
    const cacheView = () =>
      informer
        .list('default')
        .map((p) => `${p.metadata?.name}@${p.metadata?.resourceVersion}`)
        .sort();
    const settled = () => eventually(async () => expect(cacheView()).toEqual(await serverView()), 20_000);

    await settled();
    expect(lists).toBe(1);
    for (let round = 0; round < 3; round++) {
      await core.createNamespacedPod({ namespace: 'default', body: pod(`inf-${round}`) });
      await core.patchNamespacedPod(
        { namespace: 'default', name: 'cn-1', body: { metadata: { annotations: { round: String(round) } } } },
        mergePatch,
      );
      if (round > 0) await core.deleteNamespacedPod({ namespace: 'default', name: `inf-${round - 1}` });
      await settled();
      // let the server end the current watch so the informer has to resume from its resourceVersion
      await new Promise((r) => setTimeout(r, 1200));
    }
    expect(lists).toBe(1);

    // a change the informer does not see (another namespace), then the history is forgotten: the
    // informer's next watch resumes from a resourceVersion that is too old, gets 410 and relists
    await core.createNamespacedPod({ namespace: 'kube-system', body: pod('elsewhere') });
    cluster.sim.api.registry.store.compact('pods');
    await eventually(() => expect(lists).toBe(2), 20_000);
    await core.createNamespacedPod({ namespace: 'default', body: pod('after-410') });
    await settled();
    expect(cacheView().some((e) => e.startsWith('after-410@'))).toBe(true);
    expect(errors).toEqual([]);
    await informer.stop();
  });

  it('watches with a Watch: ADDED, MODIFIED, DELETED, BOOKMARK, and 410 as an ERROR event', async () => {
    const watch = new Watch(kc);
    const list = await core.listNamespacedPod({ namespace: 'default' });
    const events: string[] = [];
    const done = new Promise<unknown>((resolve) => {
      void watch.watch(
        '/api/v1/namespaces/default/pods',
        {
          resourceVersion: list.metadata?.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: 30,
          fieldSelector: 'metadata.name=w-1',
        },
        (type, obj: V1Pod) => {
          events.push(`${type}:${obj.metadata?.name ?? ''}`);
        },
        resolve,
      );
    });
    await core.createNamespacedPod({ namespace: 'default', body: pod('w-1') });
    await core.patchNamespacedPod(
      { namespace: 'default', name: 'w-1', body: { metadata: { labels: { a: 'b' } } } },
      mergePatch,
    );
    await core.deleteNamespacedPod({ namespace: 'default', name: 'w-1' });
    expect(await done).toBeNull(); // the server ended the watch, cleanly
    expect(events.filter((e) => !e.startsWith('BOOKMARK'))).toEqual([
      'ADDED:w-1',
      'MODIFIED:w-1',
      'MODIFIED:w-1',
      'DELETED:w-1',
    ]);

    cluster.sim.api.registry.store.compact('pods');
    const errorEvents: unknown[] = [];
    const expired = await new Promise<unknown>((resolve) => {
      void watch.watch(
        '/api/v1/namespaces/default/pods',
        { resourceVersion: list.metadata?.resourceVersion },
        (type, obj) => {
          if (type === 'ERROR') errorEvents.push(obj);
        },
        resolve,
      );
    });
    expect(expired).toBeNull();
    expect(errorEvents).toEqual([
      {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: expect.stringMatching(
          new RegExp(`^too old resource version: ${list.metadata?.resourceVersion} \\(\\d+\\)$`),
        ),
        reason: 'Expired',
        code: 410,
      },
    ]);
  });

  it('streams logs with follow until the container ends; errors keep their HTTP codes', async () => {
    await core.createNamespacedPod({ namespace: 'default', body: pod('logs-1') });
    const log = new Log(kc);

    const unscheduled = await apiError(log.log('default', 'logs-1', 'build', new PassThrough()));
    expect(unscheduled.code).toBe(204);

    kubelet.bind('default', 'logs-1');
    kubelet.status('default', 'logs-1', {
      phase: 'Pending',
      containerStatuses: [waiting('build', 'ContainerCreating')],
    });
    const early = await apiError(log.log('default', 'logs-1', 'build', new PassThrough()));
    expect(early.code).toBe(400);

    const writer = kubelet.log('default', 'logs-1', 'build');
    kubelet.status('default', 'logs-1', {
      phase: 'Running',
      containerStatuses: [running('build', true)],
      conditions: [condition('Ready', 'True')],
    });
    writer.write('stdout', Buffer.from('line one\nline t'), new Date());
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => {
      text += d.toString();
    });
    const ended = new Promise<void>((resolve) => out.on('end', () => resolve()));
    await log.log('default', 'logs-1', 'build', out, { follow: true });
    await eventually(() => expect(text).toBe('line one\n'));
    writer.write('stdout', Buffer.from('wo\n'), new Date());
    await eventually(() => expect(text).toBe('line one\nline two\n'));
    writer.write('stderr', Buffer.from('no newline at the end'), new Date());
    writer.close();
    kubelet.status('default', 'logs-1', {
      phase: 'Succeeded',
      containerStatuses: [terminated('build', 0, 'Completed')],
    });
    await ended;
    expect(text).toBe('line one\nline two\nno newline at the end');

    const limited = new PassThrough();
    let limitedText = '';
    limited.on('data', (d: Buffer) => {
      limitedText += d.toString();
    });
    const limitedEnd = new Promise<void>((resolve) => limited.on('end', () => resolve()));
    await log.log('default', 'logs-1', 'build', limited, { limitBytes: 6 });
    await limitedEnd;
    expect(limitedText).toBe('line o');
  });
});
