// Pods that die under the job, through the executor on the embedded cluster: the build or a service
// OOM-killed, the pod evicted by the kubelet, the pod deleted by someone else (the real kubectl).
// Each ends the job with a message that says what happened, as runner_system_failure.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExecutorStack, startExecutorStack } from '../../support/executor-stack.ts';

const run = promisify(execFile);
const PROJECT_LABEL = 'project.runner.gitlab.com/name';

let stack: ExecutorStack;
beforeAll(async () => {
  // The kubelet's faults pick their pods by project (a label of every job pod).
  stack = await startExecutorStack({
    kubelet: {
      faults: {
        oomKills: [
          { labels: { [PROJECT_LABEL]: 'oom-build' }, container: 'build', after: '1s' },
          { labels: { [PROJECT_LABEL]: 'oom-service' }, container: 'web', after: '1s' },
        ],
        evictions: [{ labels: { [PROJECT_LABEL]: 'evicted' }, after: '3s', gracePeriodSeconds: 1 }],
      },
    },
  });
});
afterAll(async () => {
  await stack?.stop();
});

const plain = (trace: string) => trace.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

const longJob = `
job:
  image: alpine:latest
  script:
    - echo "the job runs"
    - sleep 120
    - echo "never printed"
`;

describe('pods that die under the job', () => {
  it('an OOM-killed build container fails the job as a system failure naming OOMKilled', async () => {
    const result = await stack.pipeline(longJob, {}, { name: 'oom-build' });
    const job = result.job('job');
    expect(job.status, job.trace).toBe('failed');
    expect(job.failureReason).toBe('runner_system_failure');
    const text = plain(job.trace);
    expect(text).toContain('the job runs');
    expect(text).not.toContain('never printed');
    expect(text).toContain(
      "ERROR: Job failed (system failure): Error in container build: exit code: 137, reason: 'OOMKilled'",
    );
  });

  it('an OOM-killed service fails the job as a system failure naming the service', async () => {
    const result = await stack.pipeline(
      `
job:
  image: alpine:latest
  services:
    - name: nginx:1.27
      alias: web
  script:
    - echo "the job runs"
    - sleep 120
    - echo "never printed"
`,
      {},
      { name: 'oom-service' },
    );
    const job = result.job('job');
    expect(job.status, job.trace).toBe('failed');
    expect(job.failureReason).toBe('runner_system_failure');
    expect(plain(job.trace)).toContain(
      "ERROR: Job failed (system failure): Error in container web: exit code: 137, reason: 'OOMKilled'",
    );
  });

  it('an evicted pod fails the job as a system failure with the kubelet’s reason', async () => {
    const result = await stack.pipeline(longJob, {}, { name: 'evicted' });
    const job = result.job('job');
    expect(job.status, job.trace).toBe('failed');
    expect(job.failureReason).toBe('runner_system_failure');
    const text = plain(job.trace);
    expect(text).toContain('the job runs');
    expect(text).toMatch(
      /ERROR: Job failed \(system failure\): pod "default\/runner-[^"]+" is disrupted: reason "TerminationByKubelet", message "The node was low on resource: memory\./,
    );
  });

  it('a job pod deleted by someone else (kubectl delete) fails the job as a system failure', async () => {
    const started = await stack.startPipeline(longJob, {}, { name: 'deleted' });
    const [jobId] = started.jobIds;
    if (jobId === undefined) throw new Error('no job');
    await stack.traceContains(jobId, 'the job runs');
    const name = stack.podOf(jobId).name ?? '';
    await run('/usr/bin/kubectl', [
      '--kubeconfig',
      stack.kubeconfigPath,
      'delete',
      'pod',
      name,
      '--wait=false',
    ]);
    const job = (await started.done).job('job');
    expect(job.status, job.trace).toBe('failed');
    expect(job.failureReason).toBe('runner_system_failure');
    expect(plain(job.trace)).toContain(
      `ERROR: Job failed (system failure): pod "default/${name}" was deleted`,
    );
  });
});
