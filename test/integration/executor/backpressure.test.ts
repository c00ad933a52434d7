// When the cluster cannot place a runner's pod, the manager stops asking GitLab for more jobs until the
// pod is placed or fails; the unschedulable job fails with the scheduler's reason after poll_timeout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shortToken } from '../../../src/gitlab/tokens.ts';
import type { RunnerContext } from '../../../src/manager/executor.ts';
import { type ExecutorStack, startExecutorStack } from '../../support/executor-stack.ts';

let stack: ExecutorStack;
beforeAll(async () => {
  stack = await startExecutorStack({
    globalToml: 'concurrent = 3\ncheck_interval = 1',
    kubernetesToml: '    cpu_request = "64"',
    pollTimeoutSeconds: 3,
  });
});
afterAll(async () => {
  await stack?.stop();
});

describe('back-pressure from an unschedulable pod', () => {
  it('takes the next job only once the unschedulable one has failed, with the scheduler’s reason', async () => {
    const held: number[] = [];
    let now = 0;
    let max = 0;
    const off = stack.gitlab.on('job', (job) => {
      const holds = job.runnerId !== null && (job.status === 'pending' || job.status === 'running');
      const i = held.indexOf(job.id);
      if (holds && i < 0) held.push(job.id);
      if (!holds && i >= 0) held.splice(i, 1);
      now = held.length;
      max = Math.max(max, now);
    });
    const project = await stack.gitlab.createProject({ name: 'big' });
    await stack.gitlab.commitFiles(project.id, {
      '.gitlab-ci.yml': 'a: { image: alpine, script: [echo a] }\n',
    });
    const first = await stack.gitlab.createPipeline(project.id);
    // Once the cluster has said it cannot place the first pod, more work arrives.
    await expect
      .poll(
        () =>
          stack.executor.admits(
            { shortToken: shortToken(stack.runner.token), systemId: 's_0123456789ab' } as RunnerContext,
            1,
          ),
        {
          timeout: 20_000,
        },
      )
      .toBe(false);
    const other = await stack.gitlab.createProject({ name: 'more' });
    await stack.gitlab.commitFiles(other.id, {
      '.gitlab-ci.yml': 'b: { image: alpine, script: [echo b] }\nc: { image: alpine, script: [echo c] }\n',
    });
    const second = await stack.gitlab.createPipeline(other.id);
    const firstDone = await stack.gitlab.waitForPipeline(first.id, { timeoutMs: 60_000 });
    const secondDone = await stack.gitlab.waitForPipeline(second.id, { timeoutMs: 60_000 });
    off();
    for (const job of [...firstDone.jobs, ...secondDone.jobs]) {
      const trace = stack.gitlab.trace(job.id);
      expect(job.status, trace).toBe('failed');
      expect(job.failureReason).toBe('runner_system_failure');
      expect(trace).toContain('timed out waiting for pod to start (last phase: Pending)');
      expect(trace).toMatch(/0\/1 nodes are available: 1 Insufficient cpu/);
    }
    // concurrent = 3 would allow three at once: each unschedulable pod held the others back.
    expect(max).toBe(1);
    expect(now).toBe(0);
  });
});
