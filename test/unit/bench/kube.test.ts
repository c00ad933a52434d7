import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { PodTimes } from '../../../src/bench/job-times.ts';
import { observePod } from '../../../src/bench/kube/pod-times.ts';
import { requestKind } from '../../../src/bench/kube/request-tally.ts';

const pod = (
  status: V1Pod['status'],
  labels: Record<string, string> = { 'job.runner.gitlab.com/id': '12' },
): V1Pod => ({
  metadata: { name: 'runner-12', labels },
  status,
});
const running = (name: string) => ({
  name,
  image: 'x',
  imageID: '',
  ready: true,
  restartCount: 0,
  state: { running: {} },
});
const terminated = (name: string) => ({
  name,
  image: 'x',
  imageID: '',
  ready: false,
  restartCount: 0,
  state: { terminated: { exitCode: 0 } },
});
const waiting = (name: string) => ({
  name,
  image: 'x',
  imageID: '',
  ready: false,
  restartCount: 0,
  state: { waiting: {} },
});

describe('observePod', () => {
  it('records each step the first time it is seen', () => {
    const times = new Map<number, PodTimes>();
    observePod(pod({ phase: 'Pending' }), 1, times);
    observePod(pod({ phase: 'Pending', initContainerStatuses: [waiting('helper')] }), 2, times);
    expect(times.get(12)).toEqual({ podCreatedAt: 1 });
    observePod(pod({ phase: 'Pending', initContainerStatuses: [running('helper')] }), 3, times);
    observePod(
      pod({
        phase: 'Running',
        initContainerStatuses: [terminated('helper')],
        containerStatuses: [running('build')],
      }),
      4,
      times,
    );
    expect(times.get(12)).toEqual({ podCreatedAt: 1, podStartedAt: 3 });
    observePod(
      pod({
        phase: 'Running',
        initContainerStatuses: [terminated('helper'), running('docker')],
        containerStatuses: [terminated('build')],
      }),
      5,
      times,
    );
    observePod(pod({ phase: 'Succeeded', containerStatuses: [terminated('build')] }), 6, times);
    expect(times.get(12)).toEqual({ podCreatedAt: 1, podStartedAt: 3, terminatedAt: 5 });
  });

  it('without a build container, waits for every container or a terminal phase', () => {
    const times = new Map<number, PodTimes>();
    observePod(pod({ phase: 'Running', containerStatuses: [terminated('a'), running('b')] }), 1, times);
    expect(times.get(12)?.terminatedAt).toBeUndefined();
    observePod(pod({ phase: 'Failed', containerStatuses: [terminated('a'), running('b')] }), 2, times);
    expect(times.get(12)?.terminatedAt).toBe(2);
  });

  it('ignores pods that are not job pods', () => {
    const times = new Map<number, PodTimes>();
    observePod(pod({ phase: 'Running' }, {}), 1, times);
    observePod(pod({ phase: 'Running' }, { 'job.runner.gitlab.com/id': 'x' }), 1, times);
    expect(times.size).toBe(0);
  });
});

describe('requestKind', () => {
  it.each([
    ['POST', '/api/v1/namespaces/ci/pods', 'create pods'],
    ['GET', '/api/v1/namespaces/ci/pods/runner-1/log?follow=true&container=build', 'get pods/log'],
    ['GET', '/api/v1/namespaces/ci/pods?watch=true&resourceVersion=5', 'watch pods'],
    ['GET', '/api/v1/namespaces/ci/pods?labelSelector=a', 'list pods'],
    ['DELETE', '/api/v1/namespaces/ci/pods/runner-1', 'delete pods'],
    ['POST', '/api/v1/namespaces/ci/secrets', 'create secrets'],
    ['PUT', '/apis/coordination.k8s.io/v1/namespaces/ci/leases/m', 'update leases'],
    ['GET', '/version', 'discovery'],
    ['GET', '/api/v1', 'discovery'],
  ])('%s %s is %s', (method, url, kind) => {
    expect(requestKind(method, url)).toBe(kind);
  });
});
