// Graceful and forced deletion, activeDeadlineSeconds, termination messages, restarts and start
// errors (kubernetes-behaviour.md §1.2, §1.4, §1.6, §1.7, §6.3, §8).
import { afterEach, describe, expect, it } from 'vitest';
import type { PodObject } from '../../../src/sim/kube/kubelet-store.ts';
import { FakeRuntime } from './support/fake-runtime.ts';
import { type Harness, inOrder, pod, startHarness, summarise, timeline } from './support/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const condition = (p: PodObject, type: string) => p.status?.conditions?.find((c) => c.type === type);
const statusOf = (p: PodObject, name: string) =>
  [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])].find(
    (c) => c.name === name,
  );

function servicePod(name: string, extra: Partial<NonNullable<PodObject['spec']>> = {}): PodObject {
  return pod(name, {
    restartPolicy: 'Never',
    terminationGracePeriodSeconds: 10,
    initContainers: [
      { name: 'svc-a', image: 'redis:7', restartPolicy: 'Always' },
      { name: 'svc-b', image: 'postgres:16', restartPolicy: 'Always' },
    ],
    containers: [
      { name: 'build', image: 'alpine:3.19' },
      { name: 'uploader', image: 'alpine:3.19' },
    ],
    ...extra,
  });
}

describe('graceful deletion', () => {
  it('stops main containers first, then sidecars in reverse order, SIGKILLs after the grace period, then removes the pod', async () => {
    const runtime = new FakeRuntime();
    h = startHarness({}, runtime);
    const { store } = h;
    store.createPod(servicePod('del'));
    const build = await runtime.started('del', 'build');
    const uploader = await runtime.started('del', 'uploader');
    await store.waitForPod('ci', 'del', (p) => p.status?.phase === 'Running');
    uploader.onTerm = 'ignore';

    const deleting = store.deletePod('ci', 'del');
    expect(deleting?.metadata?.deletionGracePeriodSeconds).toBe(10);
    await store.waitForGone('ci', 'del');

    const signals = runtime.calls.filter((c) => /^(SIG|exit)/.test(c));
    // build and uploader are stopped together; the sidecars only after both, in reverse order.
    expect([...signals].sort()).toEqual(
      [
        'SIGTERM del/build',
        'exit del/build 143',
        'SIGTERM del/uploader',
        'SIGKILL del/uploader',
        'exit del/uploader 137',
        'SIGTERM del/svc-b',
        'exit del/svc-b 143',
        'SIGTERM del/svc-a',
        'exit del/svc-a 143',
      ].sort(),
    );
    const mainDone = Math.max(
      signals.indexOf('exit del/build 143'),
      signals.indexOf('exit del/uploader 137'),
    );
    expect(signals.indexOf('SIGTERM del/svc-b')).toBeGreaterThan(mainDone);
    expect(signals.indexOf('SIGTERM del/svc-a')).toBeGreaterThan(signals.indexOf('exit del/svc-b 143'));
    expect(build.signals).toEqual(['SIGTERM']);
    expect(uploader.signals).toEqual(['SIGTERM', 'SIGKILL']);

    const events = store.eventsFor('del').filter((e) => e.startsWith('Killing'));
    expect(events.slice(2)).toEqual([
      'Killing: Stopping container svc-b [spec.initContainers{svc-b}]',
      'Killing: Stopping container svc-a [spec.initContainers{svc-a}]',
    ]);
    expect(events.slice(0, 2).sort()).toEqual([
      'Killing: Stopping container build [spec.containers{build}]',
      'Killing: Stopping container uploader [spec.containers{uploader}]',
    ]);

    // The watch: MODIFIED (deletionTimestamp) → … → terminal phase → DELETED.
    const history = store.history.filter((e) => e.pod.metadata?.name === 'del');
    const deleted = history.findIndex((e) => e.pod.metadata?.deletionTimestamp);
    const tail = history.slice(deleted);
    expect(tail[0]?.type).toBe('MODIFIED');
    expect(tail[tail.length - 1]?.type).toBe('DELETED');
    const terminal = tail.filter((e) => e.type === 'MODIFIED').pop()?.pod as PodObject;
    expect(terminal.status?.phase).toBe('Failed');
    expect(statusOf(terminal, 'build')?.state?.terminated).toMatchObject({ exitCode: 143, reason: 'Error' });
    expect(statusOf(terminal, 'uploader')?.state?.terminated).toMatchObject({
      exitCode: 137,
      reason: 'Error',
    });
    expect(statusOf(terminal, 'svc-a')?.state?.terminated).toMatchObject({ exitCode: 143, reason: 'Error' });
    expect(runtime.destroyed).toEqual(['del']);
  });

  it('ends Succeeded when every main container exits 0 on SIGTERM', async () => {
    const runtime = new FakeRuntime();
    h = startHarness({}, runtime);
    const { store } = h;
    store.createPod(servicePod('polite'));
    for (const name of ['svc-a', 'svc-b', 'build', 'uploader'])
      (await runtime.started('polite', name)).onTerm = 0;
    await store.waitForPod('ci', 'polite', (p) => p.status?.phase === 'Running');
    store.deletePod('ci', 'polite', 1);
    await store.waitForGone('ci', 'polite');
    const last = store.history
      .filter((e) => e.pod.metadata?.name === 'polite' && e.type === 'MODIFIED')
      .pop()?.pod;
    expect(last?.status?.phase).toBe('Succeeded');
    expect(statusOf(last as PodObject, 'build')?.state?.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
    });
  });

  it('kills the containers of a pod removed outright (force delete) without writing its status again', async () => {
    const runtime = new FakeRuntime();
    h = startHarness({}, runtime);
    const { store } = h;
    store.createPod(servicePod('forced'));
    const uploader = await runtime.started('forced', 'uploader');
    uploader.onTerm = 'ignore';
    await store.waitForPod('ci', 'forced', (p) => p.status?.phase === 'Running');
    store.deletePod('ci', 'forced', 0);
    expect(store.getPod('ci', 'forced')).toBeUndefined();
    await runtime.until(() => runtime.destroyed.includes('forced'), 'sandbox destroyed');
    expect(uploader.signals).toEqual(['SIGTERM', 'SIGKILL']);
    const history = store.history.filter((e) => e.pod.metadata?.name === 'forced');
    expect(history[history.length - 1]?.type).toBe('DELETED');
    expect(store.eventsFor('forced')).toContain(
      'Killing: Stopping container uploader [spec.containers{uploader}]',
    );
  });

  it('marks a never-started container ContainerStatusUnknown when a pod stuck pulling is deleted', async () => {
    const runtime = new FakeRuntime();
    runtime.pullErrors.set('nope:1', 'rpc error: code = NotFound desc = not found');
    h = startHarness({}, runtime);
    const { store } = h;
    store.createPod(
      pod('stuck', { restartPolicy: 'Never', containers: [{ name: 'main', image: 'nope:1' }] }),
    );
    await store.waitForPod(
      'ci',
      'stuck',
      (p) => statusOf(p, 'main')?.state?.waiting?.reason === 'ImagePullBackOff',
    );
    store.deletePod('ci', 'stuck');
    await store.waitForGone('ci', 'stuck');
    const last = store.history
      .filter((e) => e.pod.metadata?.name === 'stuck' && e.type === 'MODIFIED')
      .pop()?.pod;
    expect(last?.status?.phase).toBe('Failed');
    expect(statusOf(last as PodObject, 'main')?.state?.terminated).toEqual({
      exitCode: 137,
      reason: 'ContainerStatusUnknown',
      message: 'The container could not be located when the pod was terminated',
      startedAt: expect.any(String),
      finishedAt: expect.any(String),
    });
  });
});

describe('a kubelet that starts with pods already on its node', () => {
  it('does not rerun a pod whose containers ran before: they are gone, the pod fails ContainerStatusUnknown', async () => {
    const runtime = new FakeRuntime();
    const first = startHarness({}, runtime);
    first.store.createPod(
      pod('old', { restartPolicy: 'Never', containers: [{ name: 'main', image: 'alpine:3.19' }] }),
    );
    await runtime.started('old', 'main');
    await first.store.waitForPod('ci', 'old', (p) => p.status?.phase === 'Running');
    // The kubelet stops without writing anything more (as a killed simulator whose store survived).
    const store = first.store;
    await first.stop();
    expect(store.getPod('ci', 'old')?.status?.phase).toBe('Running');
    const second = new FakeRuntime();
    h = startHarness({}, second, store);
    const failed = await store.waitForPod('ci', 'old', (p) => p.status?.phase === 'Failed');
    expect(statusOf(failed, 'main')?.state?.terminated).toMatchObject({
      exitCode: 137,
      reason: 'ContainerStatusUnknown',
      message: 'The container could not be located when the pod was terminated',
    });
    expect(second.containers).toEqual([]);
  });
});

describe('activeDeadlineSeconds', () => {
  it('fails the pod with DeadlineExceeded, records the event and kills the containers with the pod grace period', async () => {
    const runtime = new FakeRuntime();
    h = startHarness({}, runtime);
    const { store } = h;
    store.createPod(
      pod('late', {
        restartPolicy: 'Never',
        activeDeadlineSeconds: 5,
        terminationGracePeriodSeconds: 10,
        containers: [{ name: 'main', image: 'alpine:3.19' }],
      }),
    );
    const main = await runtime.started('late', 'main');
    main.onTerm = 'ignore';
    const failed = await store.waitForPod('ci', 'late', (p) => p.status?.phase === 'Failed');
    expect(failed.status?.reason).toBe('DeadlineExceeded');
    expect(failed.status?.message).toBe('Pod was active on the node longer than the specified deadline');
    const end = await store.waitForPod(
      'ci',
      'late',
      (p) => statusOf(p, 'main')?.state?.terminated !== undefined,
    );
    expect(statusOf(end, 'main')?.state?.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });
    expect(end.status?.reason).toBe('DeadlineExceeded');
    expect(condition(end, 'Ready')).toMatchObject({ status: 'False', reason: 'PodFailed' });
    expect(
      inOrder(timeline(store, 'late'), [
        'Failed(DeadlineExceeded) [PodReadyToStartContainers,Initialized,PodScheduled] main=running,ready,started',
        'Failed(DeadlineExceeded) [Initialized,PodScheduled] main=terminated:Error:137',
      ]),
    ).toEqual(timeline(store, 'late'));
    expect(store.eventsFor('late')).toEqual(
      expect.arrayContaining([
        'DeadlineExceeded: Pod was active on the node longer than the specified deadline',
        'Killing: Stopping container main [spec.containers{main}]',
      ]),
    );
    const deadlineEvent = store.events.find((e) => e.reason === 'DeadlineExceeded');
    expect(deadlineEvent?.type).toBe('Normal');
    expect(deadlineEvent?.involvedObject.fieldPath).toBeUndefined();
    expect(main.signals).toEqual(['SIGTERM', 'SIGKILL']);
    expect(store.getPod('ci', 'late')).toBeDefined();
  });
});

describe('termination messages', () => {
  it('takes the file, falls back to the log tail only on error, and trims to 12 KiB over the containers', async () => {
    const runtime = new FakeRuntime();
    h = startHarness({}, runtime);
    const { store } = h;
    const names = ['file', 'fallback-error', 'fallback-ok', 'long'];
    store.createPod(
      pod('msg', {
        restartPolicy: 'Never',
        containers: names.map((name) => ({
          name,
          image: 'alpine:3.19',
          ...(name.startsWith('fallback') ? { terminationMessagePolicy: 'FallbackToLogsOnError' } : {}),
        })),
      }),
    );
    const [file, error, ok, long] = await Promise.all(names.map((n) => runtime.started('msg', n)));
    file?.exit({ exitCode: 0, terminationMessage: 'from the file' });
    for (let i = 1; i <= 100; i++) error?.print(`line ${i}\n`);
    error?.exit({ exitCode: 2 });
    ok?.print('all good\n');
    ok?.exit({ exitCode: 0 });
    long?.exit({ exitCode: 0, terminationMessage: 'x'.repeat(4000) });
    const done = await store.waitForPod('ci', 'msg', (p) => p.status?.phase === 'Failed');
    expect(statusOf(done, 'file')?.state?.terminated?.message).toBe('from the file');
    const tail = statusOf(done, 'fallback-error')?.state?.terminated?.message ?? '';
    expect(tail.split('\n').filter(Boolean)).toHaveLength(80);
    expect(tail.startsWith('line 21\n')).toBe(true);
    expect(tail.endsWith('line 100\n')).toBe(true);
    expect(statusOf(done, 'fallback-ok')?.state?.terminated?.message).toBeUndefined();
    expect(statusOf(done, 'long')?.state?.terminated?.message).toHaveLength(3072);
  });
});

describe('restarts and start errors', () => {
  it('restarts OnFailure containers: at once, then with CrashLoopBackOff, until they succeed', async () => {
    const runtime = new FakeRuntime();
    h = startHarness({}, runtime);
    const { store } = h;
    store.createPod(
      pod('flaky', { restartPolicy: 'OnFailure', containers: [{ name: 'main', image: 'alpine:3.19' }] }),
    );
    (await runtime.started('flaky', 'main', 0)).exit({ exitCode: 1 });
    const second = await runtime.started('flaky', 'main', 1);
    second.exit({ exitCode: 1 });
    const backingOff = await store.waitForPod(
      'ci',
      'flaky',
      (p) => statusOf(p, 'main')?.state?.waiting?.reason === 'CrashLoopBackOff',
    );
    const uid = backingOff.metadata?.uid;
    expect(backingOff.status?.phase).toBe('Running');
    expect(statusOf(backingOff, 'main')).toMatchObject({
      restartCount: 1,
      lastState: { terminated: { exitCode: 1, reason: 'Error' } },
      state: { waiting: { message: `back-off 0s restarting failed container=main pod=flaky_ci(${uid})` } },
    });
    expect(store.eventsFor('flaky')).toContain(
      `BackOff: Back-off restarting failed container main in pod flaky_ci(${uid}) [spec.containers{main}]`,
    );
    (await runtime.started('flaky', 'main', 2)).exit({ exitCode: 0 });
    const done = await store.waitForPod('ci', 'flaky', (p) => p.status?.phase === 'Succeeded');
    expect(statusOf(done, 'main')).toMatchObject({
      restartCount: 2,
      state: { terminated: { reason: 'Completed' } },
    });
  });

  it('restarts a sidecar that exits, whatever the pod restart policy', async () => {
    const runtime = new FakeRuntime();
    h = startHarness({}, runtime);
    const { store } = h;
    store.createPod(servicePod('side'));
    (await runtime.started('side', 'svc-a', 0)).exit({ exitCode: 1 });
    await runtime.started('side', 'svc-a', 1);
    const p = await store.waitForPod('ci', 'side', (x) => statusOf(x, 'svc-a')?.restartCount === 1);
    expect(statusOf(p, 'svc-a')?.lastState?.terminated?.exitCode).toBe(1);
  });

  it('shows StartError 128 when the runtime cannot start the process', async () => {
    const runtime = new FakeRuntime();
    runtime.startErrors.set(
      'main',
      'failed to create containerd task: exec: "nope": executable file not found in $PATH: unknown',
    );
    h = startHarness({}, runtime);
    const { store } = h;
    store.createPod(
      pod('broken', { restartPolicy: 'Never', containers: [{ name: 'main', image: 'alpine:3.19' }] }),
    );
    const failed = await store.waitForPod('ci', 'broken', (p) => p.status?.phase === 'Failed');
    expect(statusOf(failed, 'main')?.state?.terminated).toMatchObject({
      exitCode: 128,
      reason: 'StartError',
      startedAt: '1970-01-01T00:00:00Z',
      message: 'failed to create containerd task: exec: "nope": executable file not found in $PATH: unknown',
    });
    expect(store.eventsFor('broken')).toContain(
      'Failed: Error: failed to create containerd task: exec: "nope": executable file not found in $PATH: unknown [spec.containers{main}]',
    );
    expect(summarise(failed)).toContain('main=terminated:StartError:128');
  });
});
