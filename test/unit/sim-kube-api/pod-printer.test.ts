// kubectl's STATUS / READY / RESTARTS columns (printers.go printPod), for the job pod timeline of the
// reference (§1.8) and the examples of §2.1.
import { describe, expect, it } from 'vitest';
import { printPod } from '../../../src/sim/kube/api/printers/pods.ts';
import type { PodObject } from '../../../src/sim/kube/kubelet-store.ts';

const now = Date.parse('2025-03-01T10:05:00Z');

type Status = NonNullable<PodObject['status']>;
type CS = NonNullable<Status['containerStatuses']>[number];

const w = (name: string, reason: string, extra: Partial<CS> = {}): CS => ({
  name,
  image: 'i',
  imageID: '',
  ready: false,
  restartCount: 0,
  state: { waiting: { reason } },
  ...extra,
});
const r = (name: string, ready: boolean, extra: Partial<CS> = {}): CS => ({
  name,
  image: 'i',
  imageID: '',
  ready,
  started: true,
  restartCount: 0,
  state: { running: { startedAt: '2025-03-01T10:00:00Z' } },
  ...extra,
});
const t = (name: string, exitCode: number, reason: string, extra: Partial<CS> = {}): CS => ({
  name,
  image: 'i',
  imageID: '',
  ready: false,
  restartCount: 0,
  state: { terminated: { exitCode, reason, finishedAt: '2025-03-01T10:01:00Z' } },
  ...extra,
});
const cond = (type: string, status: 'True' | 'False', reason?: string) => ({
  type,
  status,
  ...(reason ? { reason } : {}),
});

/** The job pod: helper (init), docker (sidecar), build, uploader. */
function jobPod(status: Status, meta: Partial<NonNullable<PodObject['metadata']>> = {}): PodObject {
  return {
    metadata: { name: 'runner-x', creationTimestamp: '2025-03-01T10:00:00Z', ...meta },
    spec: {
      initContainers: [
        { name: 'helper', image: 'h' },
        { name: 'docker', image: 'docker:dind', restartPolicy: 'Always' },
      ],
      containers: [
        { name: 'build', image: 'b' },
        { name: 'uploader', image: 'h' },
      ],
    },
    status,
  };
}

const cells = (pod: PodObject) => printPod(pod, now).cells.slice(1, 4);

describe('printPod', () => {
  it('follows the job pod timeline', () => {
    expect(cells(jobPod({ phase: 'Pending' }))).toEqual(['0/3', 'Pending', '0']);
    const waitingAll = {
      initContainerStatuses: [w('helper', 'PodInitializing'), w('docker', 'PodInitializing')],
      containerStatuses: [w('build', 'PodInitializing'), w('uploader', 'PodInitializing')],
    };
    expect(cells(jobPod({ phase: 'Pending', ...waitingAll }))).toEqual(['0/3', 'Init:0/2', '0']);
    expect(
      cells(
        jobPod({
          phase: 'Pending',
          ...waitingAll,
          initContainerStatuses: [r('helper', false), w('docker', 'PodInitializing')],
        }),
      ),
    ).toEqual(['0/3', 'Init:0/2', '0']);
    expect(
      cells(
        jobPod({
          phase: 'Pending',
          ...waitingAll,
          initContainerStatuses: [t('helper', 0, 'Completed'), r('docker', false, { started: false })],
        }),
      ),
    ).toEqual(['0/3', 'Init:1/2', '0']);
    const initialized = { initContainerStatuses: [t('helper', 0, 'Completed'), r('docker', true)] };
    expect(
      cells(
        jobPod({
          phase: 'Pending',
          ...waitingAll,
          ...initialized,
          conditions: [cond('Initialized', 'True')],
        }),
      ),
    ).toEqual(['1/3', 'PodInitializing', '0']);
    expect(
      cells(
        jobPod({
          phase: 'Running',
          ...initialized,
          containerStatuses: [r('build', true), r('uploader', true)],
          conditions: [cond('Initialized', 'True'), cond('Ready', 'True')],
        }),
      ),
    ).toEqual(['3/3', 'Running', '0']);
    expect(
      cells(
        jobPod({
          phase: 'Running',
          ...initialized,
          containerStatuses: [t('build', 0, 'Completed'), r('uploader', true)],
          conditions: [cond('Initialized', 'True'), cond('Ready', 'False')],
        }),
      ),
    ).toEqual(['2/3', 'NotReady', '0']);
    expect(
      cells(
        jobPod({
          phase: 'Running',
          ...initialized,
          containerStatuses: [t('build', 0, 'Completed'), t('uploader', 0, 'Completed')],
          conditions: [cond('Initialized', 'True')],
        }),
      ),
    ).toEqual(['1/3', 'Completed', '0']);
    const done = jobPod({
      phase: 'Succeeded',
      initContainerStatuses: [t('helper', 0, 'Completed'), t('docker', 143, 'Error')],
      containerStatuses: [t('build', 0, 'Completed'), t('uploader', 0, 'Completed')],
      conditions: [cond('Initialized', 'True', 'PodCompleted')],
    });
    expect(cells(done)).toEqual(['0/3', 'Completed', '0']);
    expect(printPod(done, now).conditions).toEqual([
      {
        type: 'Completed',
        status: 'True',
        reason: 'Succeeded',
        message: 'The pod has completed successfully.',
      },
    ]);
  });

  it('reports failures, image problems and deletion', () => {
    const initialized = {
      initContainerStatuses: [t('helper', 0, 'Completed'), r('docker', true)],
      conditions: [cond('Initialized', 'True')],
    };
    expect(
      cells(
        jobPod({
          phase: 'Failed',
          ...initialized,
          containerStatuses: [t('build', 1, 'Error'), t('uploader', 0, 'Completed')],
        }),
      )[1],
    ).toBe('Error');
    expect(printPod(jobPod({ phase: 'Failed' }), now).conditions).toEqual([
      { type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' },
    ]);
    expect(
      cells(
        jobPod({
          phase: 'Failed',
          initContainerStatuses: [t('helper', 1, 'Error'), w('docker', 'PodInitializing')],
          containerStatuses: [w('build', 'PodInitializing'), w('uploader', 'PodInitializing')],
        }),
      )[1],
    ).toBe('Init:Error');
    expect(cells(jobPod({ phase: 'Pending', initContainerStatuses: [w('helper', 'ErrImagePull')] }))[1]).toBe(
      'Init:ErrImagePull',
    );
    expect(
      cells(
        jobPod({
          phase: 'Pending',
          ...initialized,
          containerStatuses: [w('build', 'ImagePullBackOff'), r('uploader', true)],
        }),
      ),
    ).toEqual(['2/3', 'ImagePullBackOff', '0']);
    expect(
      cells(
        jobPod({
          phase: 'Failed',
          ...initialized,
          containerStatuses: [t('build', 137, 'OOMKilled'), t('uploader', 0, 'Completed')],
        }),
      )[1],
    ).toBe('OOMKilled');
    expect(
      cells(
        jobPod({
          phase: 'Failed',
          ...initialized,
          containerStatuses: [
            { ...t('build', 2, ''), state: { terminated: { exitCode: 2 } } },
            t('uploader', 0, 'Completed'),
          ],
        }),
      )[1],
    ).toBe('ExitCode:2');
    expect(
      cells(
        jobPod({
          phase: 'Pending',
          ...initialized,
          containerStatuses: [w('build', 'CreateContainerConfigError'), w('uploader', 'ContainerCreating')],
        }),
      )[1],
    ).toBe('CreateContainerConfigError');
    expect(cells(jobPod({ phase: 'Failed', reason: 'DeadlineExceeded' }))[1]).toBe('DeadlineExceeded');
    expect(
      cells(jobPod({ phase: 'Pending', conditions: [cond('PodScheduled', 'False', 'SchedulingGated')] }))[1],
    ).toBe('SchedulingGated');
    const running = {
      phase: 'Running',
      ...initialized,
      containerStatuses: [r('build', true), r('uploader', true)],
    };
    expect(cells(jobPod(running, { deletionTimestamp: '2025-03-01T10:06:00Z' }))[1]).toBe('Terminating');
    expect(
      cells(jobPod({ ...running, reason: 'NodeLost' }, { deletionTimestamp: '2025-03-01T10:06:00Z' }))[1],
    ).toBe('Unknown');
    expect(
      cells(
        jobPod(
          {
            phase: 'Succeeded',
            containerStatuses: [t('build', 0, 'Completed'), t('uploader', 0, 'Completed')],
          },
          { deletionTimestamp: '2025-03-01T10:06:00Z' },
        ),
      )[1],
    ).toBe('Completed');
  });

  it('counts restarts with the time of the last one, and fills the wide cells', () => {
    const restarted = jobPod({
      phase: 'Running',
      podIPs: [{ ip: '10.0.0.7' }],
      initContainerStatuses: [
        t('helper', 0, 'Completed', { restartCount: 4 }),
        r('docker', true, {
          restartCount: 1,
          lastState: { terminated: { exitCode: 1, finishedAt: '2025-03-01T10:02:00Z' } },
        }),
      ],
      containerStatuses: [
        r('build', true, {
          restartCount: 1,
          lastState: { terminated: { exitCode: 1, finishedAt: '2025-03-01T10:04:48Z' } },
        }),
        r('uploader', true),
      ],
      conditions: [cond('Initialized', 'True'), cond('Ready', 'True')],
    });
    restarted.spec!.nodeName = 'node-1';
    const row = printPod(restarted, now).cells;
    expect(row).toEqual([
      'runner-x',
      '3/3',
      'Running',
      '2 (12s ago)',
      '5m',
      '10.0.0.7',
      'node-1',
      '<none>',
      '<none>',
    ]);
  });
});
