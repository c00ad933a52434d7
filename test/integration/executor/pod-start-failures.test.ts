// Pods that never get to run the job, through the executor on the embedded cluster: an image that
// cannot be pulled (the kubelet's imagePullErrors fault, and a process-mode image-table entry with
// pullError) fails the job within 10 s of the pull error with the kubelet's message; a pod the
// scheduler cannot place (a node selector no node has, a CPU request beyond the node) fails with
// the scheduler's reason once `poll_timeout` is over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PodObject } from '../../../src/sim/kube/kubelet-store.ts';
import { type ExecutorStack, type PipelineJob, startExecutorStack } from '../../support/executor-stack.ts';

const POLL_TIMEOUT_S = 3;
const TABLE_PULL_ERROR =
  'failed to pull and unpack image "registry.example.com/broken/app:1": failed to resolve reference: unexpected status from HEAD request: 401 Unauthorized';

let stack: ExecutorStack;
beforeAll(async () => {
  stack = await startExecutorStack({
    pollTimeoutSeconds: POLL_TIMEOUT_S,
    kubelet: { faults: { imagePullErrors: [{ image: 'registry.invalid/**' }] } },
    processRuntime: {
      imageTable: { images: [{ match: 'registry.example.com/broken/*:*', pullError: TABLE_PULL_ERROR }] },
    },
    kubernetesToml: [
      '    node_selector_overwrite_allowed = ".*"',
      '    cpu_request_overwrite_max_allowed = "100"',
    ].join('\n'),
  });
});
afterAll(async () => {
  await stack?.stop();
});

const plain = (trace: string) => trace.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

/** Runs a one-job pipeline and notes when its pod first showed a pull error (ms since the epoch). */
async function runWatchingPulls(
  ciYaml: string,
): Promise<{ job: PipelineJob; pullErrorAt?: number; endedAt: number }> {
  let pullErrorAt: number | undefined;
  const stop = stack.kube.store.watchPods((_type, pod: PodObject) => {
    if (pullErrorAt !== undefined) return;
    const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    if (statuses.some((s) => ['ErrImagePull', 'ImagePullBackOff'].includes(s.state?.waiting?.reason ?? '')))
      pullErrorAt = Date.now();
  });
  try {
    const started = await stack.startPipeline(ciYaml);
    const [jobId] = started.jobIds;
    if (jobId === undefined) throw new Error('no job');
    await stack.gitlab.waitForJob(jobId, (j) => j.finishedAt !== null, { timeoutMs: 60_000 });
    const endedAt = Date.now();
    const job = (await started.done).job('job');
    return { job, endedAt, ...(pullErrorAt !== undefined ? { pullErrorAt } : {}) };
  } finally {
    stop();
  }
}

describe('pods that never run the job', () => {
  it('fails a job whose image cannot be pulled (kubelet fault) within 10 s, with the kubelet’s message', async () => {
    const { job, pullErrorAt, endedAt } = await runWatchingPulls(`
job:
  image: registry.invalid/team/app:1.0
  script: [echo never]
`);
    expect(job.status, job.trace).toBe('failed');
    // image_pull_failure, which this GitLab does not list in features.failure_reasons: gitlab-runner's
    // compatibility mapping sends runner_system_failure.
    expect(job.failureReason).toBe('runner_system_failure');
    const text = plain(job.trace);
    expect(text).toMatch(
      /ERROR: Job failed: image pull failed: container "build": .*registry\.invalid\/team\/app:1\.0.*not found/,
    );
    expect(text).not.toContain('$ echo never');
    expect(pullErrorAt).toBeDefined();
    expect(endedAt - (pullErrorAt ?? 0)).toBeLessThan(10_000);
  });

  it('fails a job whose image the process-mode image table cannot pull, with that error', async () => {
    const { job, pullErrorAt, endedAt } = await runWatchingPulls(`
job:
  image: registry.example.com/broken/app:1
  script: [echo never]
`);
    expect(job.status, job.trace).toBe('failed');
    expect(job.failureReason).toBe('runner_system_failure');
    expect(plain(job.trace)).toContain('401 Unauthorized');
    expect(plain(job.trace)).toMatch(/ERROR: Job failed: image pull failed: container "build"/);
    expect(endedAt - (pullErrorAt ?? 0)).toBeLessThan(10_000);
  });

  it('fails a job with a node selector no node has after poll_timeout, with the scheduler’s reason', async () => {
    const started = Date.now();
    const { job } = await runWatchingPulls(`
job:
  image: alpine:latest
  variables:
    KUBERNETES_NODE_SELECTOR_POOL: "pool=gpu-a100"
  script: [echo never]
`);
    expect(job.status, job.trace).toBe('failed');
    expect(job.failureReason).toBe('runner_system_failure');
    const text = plain(job.trace);
    expect(text).toContain('timed out waiting for pod to start');
    expect(text).toMatch(/0\/1 nodes are available: 1 node\(s\) didn't match Pod's node affinity\/selector/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(POLL_TIMEOUT_S * 1000);
  });

  it('fails a job that requests more CPU than the node has after poll_timeout, with the scheduler’s reason', async () => {
    const { job } = await runWatchingPulls(`
job:
  image: alpine:latest
  variables:
    KUBERNETES_CPU_REQUEST: "64"
  script: [echo never]
`);
    expect(job.status, job.trace).toBe('failed');
    expect(job.failureReason).toBe('runner_system_failure');
    expect(plain(job.trace)).toMatch(
      /timed out waiting for pod to start.*0\/1 nodes are available: 1 Insufficient cpu/s,
    );
  });
});
