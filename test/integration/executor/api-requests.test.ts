// Kubernetes API requests per job, counted by the embedded API server: a job costs a fixed handful
// (create its Secret and Pod, give the Secret its owner, one log stream per container, delete the
// pod) whatever it runs for; following the job rides on the runner's one shared pod watch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiRequestRecord } from '../../../src/sim/kube/api/server.ts';
import { type ExecutorStack, startExecutorStack } from '../../support/executor-stack.ts';

let stack: ExecutorStack;
beforeAll(async () => {
  stack = await startExecutorStack();
});
afterAll(async () => {
  await stack?.stop();
});

interface Measured {
  /** Requests for this job's objects, by `verb resource[/subresource]`. */
  perJob: Record<string, number>;
  perJobTotal: number;
  /** Everything else the manager sent meanwhile (the shared pod watch, its Lease). */
  shared: Record<string, number>;
  /** The executor's own count of requests sent over the same time. */
  executorDelta: number;
}

/** Runs one job alone and counts the API requests from its start until the manager is done with it. */
async function measure(seconds: number): Promise<Measured> {
  const records: ApiRequestRecord[] = [];
  const stop = stack.kube.api.onRequest((r) => records.push(r));
  const before = stack.executor.kubernetesRequests;
  try {
    const started = await stack.startPipeline(`
job:
  image: alpine:latest
  script:
    - echo "running for ${seconds}s"
    - sleep ${seconds}
    - echo done
`);
    const [jobId] = started.jobIds;
    if (jobId === undefined) throw new Error('no job');
    const finished = jobFinished(jobId);
    const result = await started.done;
    expect(result.status, result.job('job').trace).toBe('success');
    await finished;
    await stack.podGone(jobId);
    const podName = stack.podOf(jobId).name ?? '';
    const perJob: Record<string, number> = {};
    const shared: Record<string, number> = {};
    for (const r of records) {
      const key = `${r.verb ?? r.method} ${r.resource ?? r.path}${r.subresource ? `/${r.subresource}` : ''}`;
      const mine =
        r.name === podName ||
        r.name?.startsWith(`${podName}-`) ||
        (r.verb === 'create' && (r.resource === 'pods' || r.resource === 'secrets'));
      const into = mine ? perJob : shared;
      into[key] = (into[key] ?? 0) + 1;
    }
    return {
      perJob,
      perJobTotal: Object.values(perJob).reduce((a, b) => a + b, 0),
      shared,
      executorDelta: stack.executor.kubernetesRequests - before,
    };
  } finally {
    stop();
  }
}

function jobFinished(jobId: number): Promise<void> {
  return new Promise((resolve) => {
    const listener = (j: { id: number }) => {
      if (j.id !== jobId) return;
      stack.manager.off('job-finished', listener);
      resolve();
    };
    stack.manager.on('job-finished', listener);
  });
}

describe('Kubernetes API requests per job', () => {
  it('are a small fixed number that does not grow with the job’s duration', async () => {
    const short = await measure(1);
    const long = await measure(60);

    // Create the job Secret, create the Pod, set the Secret's owner, follow the helper's and the
    // build's logs, delete the pod.
    const expected = {
      'create secrets': 1,
      'create pods': 1,
      'patch secrets': 1,
      'delete pods': 1,
    };
    for (const m of [short, long]) {
      expect(m.perJob, JSON.stringify(m)).toMatchObject(expected);
      // One log stream per container, give or take a reconnect after a stream ended before the
      // container's end reached the watch.
      expect(m.perJob['get pods/log']).toBeGreaterThanOrEqual(2);
      expect(m.perJob['get pods/log']).toBeLessThanOrEqual(4);
      expect(Object.keys(m.perJob).sort()).toEqual([...Object.keys(expected), 'get pods/log'].sort());
      // Nothing polls pods: no per-job GET, LIST or WATCH of pods.
      expect(m.shared['get pods'] ?? 0).toBe(0);
      expect(m.shared['list pods'] ?? 0).toBe(0);
    }
    expect(Math.abs(long.perJobTotal - short.perJobTotal)).toBeLessThanOrEqual(2);
    // The shared watch was not re-opened for the long job (its server-side timeout is 5 min).
    expect(long.shared['watch pods'] ?? 0).toBe(0);
    // What grows with time is the manager's Lease renewal (here every second: leaseDurationSeconds 3),
    // one per manager whatever the number of jobs; every other request the executor sent is counted
    // above.
    const lease = (m: Measured) => Object.entries(m.shared).filter(([k]) => k.includes('leases'));
    const leaseCount = (m: Measured) => lease(m).reduce((a, [, n]) => a + n, 0);
    expect(Object.keys(long.shared).every((k) => k.includes('leases'))).toBe(true);
    expect(long.executorDelta).toBe(long.perJobTotal + leaseCount(long));
  }, 180_000);
});
