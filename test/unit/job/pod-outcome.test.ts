// Decisions from a job pod's status (src/job/pod-outcome.ts), on statuses shaped like the kubelet's.
import { describe, expect, it } from 'vitest';
import { jobResult, podProblem } from '../../../src/job/pod-outcome.ts';
import type { ContainerStatusObject, PodObject } from '../../../src/kubernetes/wire.ts';

const options = { schedulingTimeoutMs: 3000, now: 10_000, createdAt: 9000, serviceContainers: ['web'] };

function pod(
  status: PodObject['status'],
  metadata: Partial<NonNullable<PodObject['metadata']>> = {},
): PodObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'runner-x', namespace: 'ci', ...metadata },
    spec: { containers: [] },
    status,
  } as PodObject;
}

const terminated = (
  name: string,
  exitCode: number,
  extra: { reason?: string; message?: string } = {},
): ContainerStatusObject =>
  ({
    name,
    image: 'x',
    imageID: '',
    ready: false,
    restartCount: 0,
    state: { terminated: { exitCode, reason: extra.reason ?? (exitCode ? 'Error' : 'Completed'), ...extra } },
  }) as ContainerStatusObject;

const helperOk = terminated('helper', 0, { message: '{"ok":true}\n' });

describe('podProblem', () => {
  it('ends the job on a pull error with the kubelet’s message', () => {
    const failure = podProblem(
      pod({
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'build',
            image: 'registry.invalid/app:1',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ErrImagePull', message: 'rpc error: not found' } },
          } as ContainerStatusObject,
        ],
      }),
      options,
    );
    expect(failure?.failureReason).toBe('image_pull_failure');
    expect(failure?.message).toContain('container "build": rpc error: not found (ErrImagePull)');
  });

  it('ends the job when a service was OOM-killed', () => {
    const web = { ...terminated('web', 137, { reason: 'OOMKilled' }) };
    const failure = podProblem(pod({ phase: 'Running', initContainerStatuses: [helperOk, web] }), options);
    expect(failure?.failureReason).toBe('runner_system_failure');
    expect(failure?.message).toContain("Error in container web: exit code: 137, reason: 'OOMKilled'");
  });

  it('ends the job when the pod is deleted by someone else', () => {
    const failure = podProblem(
      pod(
        { phase: 'Running' },
        { deletionTimestamp: '2026-01-01T00:00:00Z', deletionGracePeriodSeconds: 30 },
      ),
      options,
    );
    expect(failure?.failureReason).toBe('runner_system_failure');
    expect(failure?.message).toContain('pod "ci/runner-x" was deleted');
  });

  it('keeps the result of a pod that had finished before someone deleted it', () => {
    const done = pod(
      { phase: 'Succeeded', initContainerStatuses: [helperOk] },
      { deletionTimestamp: '2026-01-01T00:00:00Z' },
    );
    expect(podProblem(done, options)).toBeUndefined();
  });

  it('says a pod evicted through the API is disrupted, not merely deleted', () => {
    const failure = podProblem(
      pod(
        {
          phase: 'Running',
          conditions: [
            {
              type: 'DisruptionTarget',
              status: 'True',
              reason: 'EvictionByEvictionAPI',
              message: 'Eviction API',
            },
          ],
        },
        { deletionTimestamp: '2026-01-01T00:00:00Z' },
      ),
      options,
    );
    expect(failure?.message).toContain('is disrupted: reason "EvictionByEvictionAPI"');
  });

  it('waits for an unschedulable pod until poll_timeout, then names the scheduler’s reason', () => {
    const pending = pod({
      phase: 'Pending',
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: '0/1 nodes are available: 1 Insufficient cpu.',
        },
      ],
    });
    expect(podProblem(pending, { ...options, now: options.createdAt + 2000 })).toBeUndefined();
    const failure = podProblem(pending, { ...options, now: options.createdAt + 3001 });
    expect(failure?.failureReason).toBe('runner_system_failure');
    expect(failure?.message).toContain('(last phase: Pending): 0/1 nodes are available: 1 Insufficient cpu.');
  });

  it('finds nothing wrong with a running pod', () => {
    expect(podProblem(pod({ phase: 'Running', initContainerStatuses: [helperOk] }), options)).toBeUndefined();
  });
});

describe('jobResult', () => {
  const decide = (build: ContainerStatusObject) =>
    jobResult(pod({ phase: 'Failed', initContainerStatuses: [helperOk], containerStatuses: [build] }), {
      jobTimeoutSeconds: 60,
      hasUploader: false,
    });

  it('takes the script’s exit code from the build’s termination message', () => {
    const result = decide(
      terminated('build', 3, { message: '{"exit_code":3,"timed_out":false,"canceled":false}\n' }),
    );
    expect(result.state).toBe('failed');
    if (result.state === 'failed') {
      expect(result.failure).toMatchObject({ failureReason: 'script_failure', exitCode: 3 });
    }
  });

  it('reports a build killed before it wrote its result (OOM) as a system failure', () => {
    const result = decide(terminated('build', 137, { reason: 'OOMKilled' }));
    expect(result.state === 'failed' && result.failure.failureReason).toBe('runner_system_failure');
    expect(result.state === 'failed' && result.failure.message).toContain("reason: 'OOMKilled'");
  });

  it('reports the in-pod job timeout', () => {
    const result = decide(
      terminated('build', 1, { message: '{"exit_code":1,"timed_out":true,"canceled":false}' }),
    );
    expect(result.state === 'failed' && result.failure.failureReason).toBe('job_execution_timeout');
  });
});
