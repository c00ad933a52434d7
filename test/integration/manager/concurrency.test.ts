// The manager against the embedded GitLab with more jobs queued than it may run: real runners
// (`createRunner`), real projects and pipelines of many jobs, the manager's real client and feeders and the
// fake executor. Two `[[runners]]` entries with different limits and request_concurrency > 1. Checked
// continuously, from both sides:
//   - GitLab: the jobs its runners hold (hand-out to final state) never exceed `concurrent` in all or a
//     runner's `limit`, at any job event; and no starved span (a job waits while a slot is free, see
//     test/support/job-ledger.ts) lasts a check_interval.
//   - the manager: `podrunner_slots_in_use` at every change, and the jobs it runs per runner (its
//     job-started / job-finished events), never above the caps.
// Every job runs once (one hand-out, one accept) and ends `success` with its trace.
import { afterEach, describe, expect, it } from 'vitest';
import { shortToken } from '../../../src/gitlab/tokens.ts';
import { fakeExecutor } from '../../../src/manager/fake-executor.ts';
import { ManagerMetrics } from '../../../src/metrics/registry.ts';
import { type SimGitlab, startSimGitlab } from '../../../src/sim/gitlab/server.ts';
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

const CHECK_INTERVAL_MS = 1000;

/** The manager's own view: every value `podrunner_slots_in_use` takes, and the jobs it runs per runner. */
function managerView(metrics: ManagerMetrics) {
  const view = {
    slots: [] as number[],
    running: new Map<string, number>(),
    maxRunning: new Map<string, number>(),
    finishedTimes: new Map<number, number>(),
  };
  const gauge = metrics.slotsInUse;
  const set = gauge.set.bind(gauge) as (value: number) => void;
  gauge.set = ((value: number) => {
    view.slots.push(value);
    set(value);
  }) as typeof gauge.set;
  return {
    view,
    follow(h: Harness) {
      h.manager.on('job-started', ({ runner }) => {
        const n = (view.running.get(runner) ?? 0) + 1;
        view.running.set(runner, n);
        view.maxRunning.set(runner, Math.max(view.maxRunning.get(runner) ?? 0, n));
      });
      h.manager.on('job-finished', ({ id, runner }) => {
        view.running.set(runner, (view.running.get(runner) ?? 0) - 1);
        view.finishedTimes.set(id, (view.finishedTimes.get(id) ?? 0) + 1);
      });
    },
  };
}

const durations = (i: number) => 100 + ((i * 37) % 300);

async function setUp(longPollSeconds: number) {
  sim = await startSimGitlab({ longPollSeconds });
  ledger = new JobLedger();
  ledger.attach(sim);
  const a = sim.createRunner({ runUntagged: true, description: 'a' });
  const b = sim.createRunner({ runUntagged: true, description: 'b' });
  const project = await sim.createProject({ name: 'many', namespace: 'load' });
  await sim.commitFiles(project.id, { '.gitlab-ci.yml': manyJobsYaml(15, durations) });
  const config = configFor(
    sim,
    `concurrent = 5
check_interval = ${CHECK_INTERVAL_MS / 1000}
[[runners]]
  name = "a"
  url = "GITLAB_URL"
  token = "${a.token}"
  executor = "kubernetes"
  limit = 2
  request_concurrency = 3
[[runners]]
  name = "b"
  url = "GITLAB_URL"
  token = "${b.token}"
  executor = "kubernetes"
  limit = 4
  request_concurrency = 2
`,
  );
  const metrics = new ManagerMetrics({ defaultMetrics: false });
  const manager = managerView(metrics);
  const pipeline = async () => (await sim!.createPipeline(project.id)).jobs.map((j) => j.id);
  // The manager's promises hold from its start: the ledger checks them from then on.
  const start = async () => {
    ledger!.watchCapacity({
      concurrent: 5,
      limits: new Map([
        [a.id, 2],
        [b.id, 4],
      ]),
    });
    harness = await startManager(
      config,
      fakeExecutor({ flushIntervalMs: 100, report: { minRetryDelayMs: 20, maxRetryDelayMs: 200 } }),
      { metrics },
    );
    manager.follow(harness);
    return harness;
  };
  return {
    a,
    b,
    pipeline,
    start,
    manager: manager.view,
    shortA: shortToken(a.token),
    shortB: shortToken(b.token),
  };
}

/** Resolves when the embedded GitLab holds `n` job requests (Workhorse long polls). */
function heldPolls(s: SimGitlab, n: number, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (s.store.heldPolls() !== n) return;
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`GitLab held ${s.store.heldPolls()} job requests, not ${n}, for ${timeoutMs} ms`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      s.store.off('long-poll', check);
    };
    s.store.on('long-poll', check);
    check();
  });
}

function expectCapsKept(
  l: JobLedger,
  m: ReturnType<typeof managerView>['view'],
  runners: { a: { id: number }; b: { id: number }; shortA: string; shortB: string },
) {
  expect(l.breaches).toEqual([]);
  expect(l.maxHeldTotal).toBe(5);
  expect(l.maxHeld.get(runners.a.id)).toBe(2);
  expect(l.maxHeld.get(runners.b.id)).toBeGreaterThanOrEqual(3);
  expect(l.maxHeld.get(runners.b.id)).toBeLessThanOrEqual(4);
  expect(Math.max(...m.slots)).toBe(5);
  expect(m.slots.every((n) => n >= 0 && n <= 5)).toBe(true);
  expect(m.maxRunning.get(runners.shortA)).toBe(2);
  expect(m.maxRunning.get(runners.shortB)).toBeLessThanOrEqual(4);
}

function expectEachRanOnce(
  s: SimGitlab,
  l: JobLedger,
  m: ReturnType<typeof managerView>['view'],
  ids: number[],
) {
  for (const id of ids) {
    expect(l.job(id), `job ${id}`).toMatchObject({ status: 'success', handouts: 1, accepts: 1, finals: 1 });
    expect(m.finishedTimes.get(id), `job ${id} finished by the manager`).toBe(1);
    expect(s.trace(id)).toContain('Job succeeded');
  }
}

describe('concurrency against the embedded GitLab', () => {
  it('keeps concurrent and each limit at every instant and leaves no slot free while jobs wait (no long polling)', {
    timeout: 180_000,
  }, async () => {
    const run = await setUp(0);
    // Jobs queued faster than they run: 45 before the manager starts, 30 more while it works.
    const ids = [...(await run.pipeline()), ...(await run.pipeline()), ...(await run.pipeline())];
    let more: Promise<number[]>[] = [];
    const finals = () => ids.filter((id) => ledger!.job(id)?.finals === 1).length;
    const h = await run.start();
    await ledger!.waitFor(() => finals() >= 10, '10 jobs done');
    expect(ledger!.queued).toBeGreaterThan(10);
    more.push(run.pipeline());
    await ledger!.waitFor(() => finals() >= 25, '25 jobs done');
    expect(ledger!.queued).toBeGreaterThan(10);
    more.push(run.pipeline());
    for (const p of more) ids.push(...(await p));
    more = [];
    await ledger!.waitFor(() => ledger!.allFinal(ids), 'all 75 jobs final', 150_000);
    await h.waitForFinished(ids.length);
    ledger!.settle();
    expectCapsKept(ledger!, run.manager, run);
    expect(ledger!.starved.length).toBeGreaterThan(0);
    expect(ledger!.longestStarvedMs).toBeLessThan(CHECK_INTERVAL_MS);
    expectEachRanOnce(sim!, ledger!, run.manager, ids);
  });

  it('with Workhorse long polling, jobs queued while every request is held are taken at once', {
    timeout: 180_000,
  }, async () => {
    const run = await setUp(30);
    const h = await run.start();
    const ids: number[] = [];
    for (const round of [1, 2]) {
      // Runner a may hold 2 requests (its limit), b 2 (its request_concurrency): 4 held long polls.
      await heldPolls(sim!, 4);
      const jobs = await run.pipeline();
      ids.push(...jobs);
      await ledger!.waitFor(() => ledger!.allFinal(ids), `round ${round} final`, 120_000);
    }
    await h.waitForFinished(ids.length);
    ledger!.settle();
    expectCapsKept(ledger!, run.manager, run);
    expect(ledger!.longestStarvedMs).toBeLessThan(CHECK_INTERVAL_MS);
    expectEachRanOnce(sim!, ledger!, run.manager, ids);
  });
});
