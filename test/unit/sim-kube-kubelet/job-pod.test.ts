// podrunner's job pod (docs/pod-contract.md) through the kubelet, status by status, against the
// worked timeline of kubernetes-behaviour.md §1.8, with a runtime the test drives by hand.
import { afterEach, describe, expect, it } from 'vitest';
import type { PodObject } from '../../../src/sim/kube/kubelet-store.ts';
import { FakeRuntime } from './support/fake-runtime.ts';
import { type Harness, inOrder, pod, startHarness, summarise, timeline } from './support/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

function jobPod(name = 'job'): PodObject {
  return pod(name, {
    restartPolicy: 'Never',
    // 20 s at the tests' time scale: SIGKILL never comes while a test looks at a stopping sidecar.
    terminationGracePeriodSeconds: 1000,
    initContainers: [
      { name: 'helper', image: 'ghcr.io/podrunner/helper:0.1.0', command: ['podrunner-helper', 'prepare'] },
      {
        name: 'docker',
        image: 'docker:27-dind',
        restartPolicy: 'Always',
        startupProbe: { tcpSocket: { port: 2375 }, periodSeconds: 1, failureThreshold: 50 },
      },
    ],
    containers: [
      { name: 'build', image: 'alpine:3.19', command: ['sh', '/podrunner/job/build.sh'] },
      { name: 'uploader', image: 'ghcr.io/podrunner/helper:0.1.0', command: ['podrunner-helper', 'upload'] },
    ],
  });
}

const condition = (p: PodObject, type: string) => p.status?.conditions?.find((c) => c.type === type);

describe('a podrunner job pod', () => {
  it('follows the real timeline: helper, then the docker sidecar until its startup probe passes, then build and uploader', async () => {
    const runtime = new FakeRuntime();
    runtime.pullDelayMs = 5;
    h = startHarness({}, runtime);
    const { store } = h;
    store.createPod(jobPod());

    // The kubelet's first write: everything waiting PodInitializing, nothing initialized.
    const first = await store.waitForPod(
      'ci',
      'job',
      (p) => (p.status?.initContainerStatuses ?? []).length > 0,
    );
    expect(first.status?.phase).toBe('Pending');
    expect(condition(first, 'Initialized')).toMatchObject({
      status: 'False',
      reason: 'ContainersNotInitialized',
      message: 'containers with incomplete status: [helper docker]',
    });
    expect(condition(first, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ContainersNotReady',
      message: 'containers with unready status: [docker build uploader]',
    });
    expect(first.status?.startTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const helper = await runtime.started('job', 'helper');
    await store.waitForPod(
      'ci',
      'job',
      (p) => p.status?.initContainerStatuses?.[0]?.state?.running !== undefined,
    );
    helper.print('Getting source from Git repository\n');
    helper.exit({ exitCode: 0, terminationMessage: '{"ok":true}' });
    const docker = await runtime.started('job', 'docker');
    docker.onTerm = 'ignore';

    // The sidecar runs but is not started: build must wait while the probe fails.
    await store.waitForEvent('job', 'Unhealthy:');
    const waiting = store.getPod('ci', 'job') as PodObject;
    expect(runtime.containers.map((c) => c.spec.name)).toEqual(['helper', 'docker']);
    expect(waiting.status?.initContainerStatuses?.[1]).toMatchObject({
      name: 'docker',
      started: false,
      ready: false,
    });
    expect(condition(waiting, 'Initialized')?.message).toBe('containers with incomplete status: [docker]');
    expect(store.eventsFor('job')).toContain(
      'Unhealthy: Startup probe failed: dial tcp 10.244.0.9:2375: connect: connection refused [spec.initContainers{docker}]',
    );

    runtime.listening.add('job:2375');
    const build = await runtime.started('job', 'build');
    const uploader = await runtime.started('job', 'uploader');
    await store.waitForPod('ci', 'job', (p) => p.status?.phase === 'Running');
    build.print('hello\n');
    build.exit({ exitCode: 0, terminationMessage: '{"exit_code":0,"timed_out":false,"canceled":false}' });
    await store.waitForPod(
      'ci',
      'job',
      (p) => p.status?.containerStatuses?.[0]?.state?.terminated !== undefined,
    );
    uploader.exit({ exitCode: 0, terminationMessage: '{"ok":true,"uploaded":0}' });

    // The kubelet stops the sidecar once the main containers are done; the pod runs until it is gone.
    await store.waitForEvent('job', 'Killing:');
    expect(docker.signals).toEqual(['SIGTERM']);
    await store.waitForPod(
      'ci',
      'job',
      (p) => p.status?.containerStatuses?.[1]?.state?.terminated !== undefined,
    );
    expect(store.getPod('ci', 'job')?.status?.phase).toBe('Running');
    docker.exit({ exitCode: 143 });
    const done = await store.waitForPod('ci', 'job', (p) => p.status?.phase === 'Succeeded');

    const init = 'init: helper=waiting:PodInitializing docker=waiting:PodInitializing';
    const helperDone = 'init: helper=terminated:Completed:0,ready';
    const lines = timeline(store, 'job');
    expect(
      inOrder(lines, [
        'Pending []',
        'Pending [PodScheduled]',
        `Pending [PodScheduled] ${init} | build=waiting:PodInitializing uploader=waiting:PodInitializing`,
        'Pending [PodReadyToStartContainers,PodScheduled] init: helper=running,started docker=waiting:PodInitializing | build=waiting:PodInitializing uploader=waiting:PodInitializing',
        `Pending [PodReadyToStartContainers,PodScheduled] ${helperDone} docker=running | build=waiting:PodInitializing uploader=waiting:PodInitializing`,
        `Pending [PodReadyToStartContainers,Initialized,PodScheduled] ${helperDone} docker=running,ready,started | build=waiting:PodInitializing uploader=waiting:PodInitializing`,
        `Running [PodReadyToStartContainers,Initialized,Ready,ContainersReady,PodScheduled] ${helperDone} docker=running,ready,started | build=running,ready,started uploader=running,ready,started`,
        `Running [PodReadyToStartContainers,Initialized,PodScheduled] ${helperDone} docker=running,ready,started | build=terminated:Completed:0 uploader=running,ready,started`,
        `Running [PodReadyToStartContainers,Initialized,PodScheduled] ${helperDone} docker=running,ready,started | build=terminated:Completed:0 uploader=terminated:Completed:0`,
        `Succeeded [Initialized,PodScheduled] ${helperDone} docker=terminated:Error:143 | build=terminated:Completed:0 uploader=terminated:Completed:0`,
      ]),
    ).toEqual(lines);
    // Every snapshot in which build runs shows the sidecar started (it was listening first).
    for (const s of timeline(store, 'job'))
      if (s.includes('build=running')) expect(s).toContain('docker=running,ready,started');

    expect(condition(done, 'Initialized')).toMatchObject({ status: 'True', reason: 'PodCompleted' });
    expect(condition(done, 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
    expect(condition(done, 'ContainersReady')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
    expect(condition(done, 'PodReadyToStartContainers')?.status).toBe('False');
    expect(done.status?.initContainerStatuses?.[0]?.state?.terminated?.message).toBe('{"ok":true}');
    expect(done.status?.containerStatuses?.map((c) => [c.name, c.state?.terminated?.message])).toEqual([
      ['build', '{"exit_code":0,"timed_out":false,"canceled":false}'],
      ['uploader', '{"ok":true,"uploaded":0}'],
    ]);
    expect(done.status?.initContainerStatuses?.[1]).toMatchObject({ ready: false, started: false });
    expect(store.logText(done.metadata?.uid ?? '', 'build')).toBe('hello\n');

    const events = store.eventsFor('job');
    const order = [
      'Scheduled: Successfully assigned ci/job to node-1',
      'Pulling: Pulling image "ghcr.io/podrunner/helper:0.1.0" [spec.initContainers{helper}]',
      'Created: Created container: helper [spec.initContainers{helper}]',
      'Started: Started container helper [spec.initContainers{helper}]',
      'Pulling: Pulling image "docker:27-dind" [spec.initContainers{docker}]',
      'Created: Created container: docker [spec.initContainers{docker}]',
      'Started: Started container docker [spec.initContainers{docker}]',
      'Pulling: Pulling image "alpine:3.19" [spec.containers{build}]',
      'Created: Created container: build [spec.containers{build}]',
      'Started: Started container build [spec.containers{build}]',
      'Created: Created container: uploader [spec.containers{uploader}]',
      'Started: Started container uploader [spec.containers{uploader}]',
      'Killing: Stopping container docker [spec.initContainers{docker}]',
    ];
    expect(inOrder(events, order)).toEqual(events);
    expect(events.find((e) => e.startsWith('Pulled:') && e.includes('alpine'))).toMatch(
      /^Pulled: Successfully pulled image "alpine:3\.19" in \d+ms \(\d+ms including waiting\)\. Image size: \d+ bytes\. \[spec\.containers\{build\}\]$/,
    );
    // The sandbox goes away once the pod is done; the object stays until it is deleted.
    expect(runtime.destroyed).toEqual(['job']);
    expect(store.getPod('ci', 'job')).toBeDefined();
    store.deletePod('ci', 'job');
    await store.waitForGone('ci', 'job');
  });

  it('fails at once when an init container exits non-zero (Init:Error): nothing else starts', async () => {
    const runtime = new FakeRuntime();
    h = startHarness({}, runtime);
    const { store } = h;
    store.createPod(jobPod());
    const helper = await runtime.started('job', 'helper');
    helper.exit({
      exitCode: 1,
      terminationMessage: '{"ok":false,"stage":"get_sources","error":"clone failed"}',
    });
    const failedAtOnce = await store.waitForPod('ci', 'job', (p) => p.status?.phase === 'Failed');
    expect(summarise(failedAtOnce)).toMatch(
      /^Failed \[.*\] init: helper=terminated:Error:1 docker=waiting:PodInitializing \| build=waiting:PodInitializing uploader=waiting:PodInitializing$/,
    );
    const failed = await store.waitForPod(
      'ci',
      'job',
      (p) => condition(p, 'PodReadyToStartContainers')?.status === 'False',
    );
    expect(summarise(failed)).toBe(
      'Failed [PodScheduled] init: helper=terminated:Error:1 docker=waiting:PodInitializing | build=waiting:PodInitializing uploader=waiting:PodInitializing',
    );
    expect(failed.status?.initContainerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 1,
      reason: 'Error',
      message: '{"ok":false,"stage":"get_sources","error":"clone failed"}',
    });
    expect(condition(failed, 'Initialized')).toMatchObject({
      status: 'False',
      reason: 'ContainersNotInitialized',
      message: 'containers with incomplete status: [helper docker]',
    });
    expect(condition(failed, 'ContainersReady')).toMatchObject({ status: 'False', reason: 'PodFailed' });
    expect(condition(failed, 'Ready')).toMatchObject({ status: 'False', reason: 'PodFailed' });
    expect(runtime.containers.map((c) => c.spec.name)).toEqual(['helper']);
    expect(store.eventsFor('job').filter((e) => e.startsWith('BackOff'))).toEqual([]);
    expect(runtime.destroyed).toEqual(['job']);
    // Deleting a finished pod removes it right away.
    store.deletePod('ci', 'job');
    await store.waitForGone('ci', 'job');
  });

  it('reports a failed build as phase Failed with the exit code and reason Error', async () => {
    const runtime = new FakeRuntime();
    h = startHarness({}, runtime);
    const { store } = h;
    store.createPod(jobPod());
    (await runtime.started('job', 'helper')).exit({ exitCode: 0 });
    runtime.listening.add('job:2375');
    const build = await runtime.started('job', 'build');
    const uploader = await runtime.started('job', 'uploader');
    build.exit({ exitCode: 1 });
    uploader.exit({ exitCode: 0 });
    const failed = await store.waitForPod('ci', 'job', (p) => p.status?.phase === 'Failed');
    expect(failed.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 1,
      reason: 'Error',
    });
    expect(failed.status?.initContainerStatuses?.[1]?.state?.terminated).toMatchObject({
      exitCode: 143,
      reason: 'Error',
    });
    expect(condition(failed, 'Ready')).toMatchObject({ status: 'False', reason: 'PodFailed' });
  });
});
