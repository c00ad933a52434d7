// The manager against the embedded GitLab misbehaving (its fault injection): 500s, 502s from a proxy after
// GitLab did the work, 429 with Retry-After, connections dropped before GitLab sees a request or after it
// handled it (the answer lost: a 201 whose job never arrives, an accept or a final update that took effect
// unbeknown to the runner, a trace patch that was stored). Counted from GitLab's side: every job reaches its
// final state, is accepted once (never run twice) and none is lost; the manager reports each job once.
import { afterEach, describe, expect, it } from 'vitest';
import { fakeExecutor } from '../../../src/manager/fake-executor.ts';
import type { FaultRuleInput } from '../../../src/sim/gitlab/options.ts';
import { type RequestRecord, type SimGitlab, startSimGitlab } from '../../../src/sim/gitlab/server.ts';
import { JobLedger, manyJobsYaml } from '../../support/job-ledger.ts';
import { configFor, type Harness, startManager } from '../../support/manager-harness.ts';

let sim: SimGitlab | undefined;
let harness: Harness | undefined;
let ledger: JobLedger | undefined;

afterEach(async () => {
  await harness?.stop();
  harness = undefined;
  ledger?.close();
  ledger = undefined;
  await sim?.close();
  sim = undefined;
});

/** Runs a pipeline of 12 jobs with `faults` on from the start; resolves when GitLab has them all final. */
async function runUnder(faults: FaultRuleInput[]) {
  // A 201 that never arrived goes back to the queue after 3 s (GitLab's two-phase ack timeout, shortened).
  sim = await startSimGitlab({ longPollSeconds: 2, twoPhaseAckTimeoutSeconds: 3 });
  ledger = new JobLedger();
  ledger.attach(sim);
  const requests: RequestRecord[] = [];
  sim.on('request', (r) => requests.push(r));
  const runner = sim.createRunner({ runUntagged: true });
  const project = await sim.createProject({ name: 'flaky', namespace: 'ops' });
  await sim.commitFiles(project.id, { '.gitlab-ci.yml': manyJobsYaml(12, (i) => 150 + ((i * 53) % 250)) });
  const ids = (await sim.createPipeline(project.id)).jobs.map((j) => j.id);
  sim.setFaults(faults);
  harness = await startManager(
    configFor(
      sim,
      `concurrent = 4
check_interval = 1
[[runners]]
  name = "flaky"
  url = "GITLAB_URL"
  token = "${runner.token}"
  executor = "kubernetes"
  request_concurrency = 2
`,
    ),
    fakeExecutor({ flushIntervalMs: 100, report: { minRetryDelayMs: 50, maxRetryDelayMs: 1000 } }),
  );
  await ledger.waitFor(() => ledger!.allFinal(ids), 'every job final', 120_000);
  await harness.waitForFinished(ids.length, 60_000);
  return { ids, requests, faulted: requests.filter((r) => r.fault !== undefined) };
}

function expectEveryJobDoneOnce(s: SimGitlab, l: JobLedger, h: Harness, ids: number[]): void {
  for (const id of ids) {
    expect(l.job(id), `job ${id}`).toMatchObject({ status: 'success', accepts: 1, finals: 1 });
    const trace = s.trace(id);
    expect(trace.match(/Running with podrunner/g), `job ${id} trace`).toHaveLength(1);
    expect(trace.match(/Job succeeded/g), `job ${id} trace`).toHaveLength(1);
  }
  expect(h.finished.map((f) => f.id).sort()).toEqual([...ids].sort());
  expect(h.finished.every((f) => f.outcome.state === 'success')).toBe(true);
}

/** The runner endpoints a set of faulted requests hit. */
const endpointsOf = (records: RequestRecord[]) => new Set(records.map((r) => r.endpoint));

describe('GitLab misbehaving', () => {
  it('500s on every third request', { timeout: 180_000 }, async () => {
    const { ids, faulted } = await runUnder([{ endpoint: 'any', kind: '500', every: 3 }]);
    expectEveryJobDoneOnce(sim!, ledger!, harness!, ids);
    expect(endpointsOf(faulted)).toEqual(new Set(['request_job', 'update_job', 'patch_trace']));
  });

  it('502s from a proxy after GitLab handled the request', { timeout: 180_000 }, async () => {
    const { ids, faulted } = await runUnder([
      // The manager's first job request gets a job, but the 502 hides it: GitLab hands it out again later.
      { endpoint: 'request_job', kind: '502', times: 1, afterHandling: true },
      { endpoint: 'any', kind: '502', every: 4, afterHandling: true },
    ]);
    expectEveryJobDoneOnce(sim!, ledger!, harness!, ids);
    expect(endpointsOf(faulted)).toEqual(new Set(['request_job', 'update_job', 'patch_trace']));
    expect(ids.filter((id) => ledger!.job(id)!.handouts > 1).length).toBeGreaterThan(0);
  });

  it('429 with Retry-After: the request is repeated no sooner than GitLab asked', {
    timeout: 180_000,
  }, async () => {
    const { ids, requests, faulted } = await runUnder([
      { endpoint: 'any', kind: '429', every: 4, retryAfter: 1 },
    ]);
    expectEveryJobDoneOnce(sim!, ledger!, harness!, ids);
    expect(endpointsOf(faulted)).toEqual(new Set(['request_job', 'update_job', 'patch_trace']));
    let repeated = 0;
    for (const limited of faulted) {
      const next = requests.find(
        (r) => r.requestId === limited.requestId && r.receivedAt > limited.receivedAt,
      );
      if (!next) continue;
      repeated++;
      expect(next.receivedAt - limited.endedAt).toBeGreaterThanOrEqual(1000 - 5);
    }
    expect(repeated).toBeGreaterThan(0);
  });

  it('connections dropped before GitLab sees the request, and after it handled it', {
    timeout: 180_000,
  }, async () => {
    const { ids, faulted } = await runUnder([
      // The manager's first two job requests get jobs whose 201s never arrive.
      { endpoint: 'request_job', kind: 'drop', times: 2, afterHandling: true },
      { endpoint: 'any', kind: 'drop', every: 5 },
      { endpoint: 'any', kind: 'drop', every: 6, afterHandling: true },
    ]);
    expectEveryJobDoneOnce(sim!, ledger!, harness!, ids);
    expect(ids.filter((id) => ledger!.job(id)!.handouts > 1).length).toBeGreaterThanOrEqual(2);
    const lost = faulted.filter((r) => r.afterHandling);
    expect(endpointsOf(lost)).toEqual(new Set(['request_job', 'update_job', 'patch_trace']));
  });
});
