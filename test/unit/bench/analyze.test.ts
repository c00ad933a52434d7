import { describe, expect, it } from 'vitest';
import { analyzeLevel, countsSince, cycleRate } from '../../../src/bench/analyze.ts';
import type { JobTimes } from '../../../src/bench/job-times.ts';
import { observations, syntheticJobs } from './fixtures.ts';

describe('analyzeLevel', () => {
  it('measures a steady closed loop: rates near concurrency ÷ cycle, step latencies, peak concurrency', () => {
    // 10 slots; a job: 105 ms to start its pod, 1 s running, 30 ms to report, 10 ms to take the next: 1.145 s
    const jobs = syntheticJobs(10, 200, 1000);
    const r = analyzeLevel(observations(10, jobs));
    expect(r.jobs).toBe(200);
    expect(r.warmupJobs).toBe(10);
    expect(r.measuredJobs).toBe(190);
    expect(r.succeededJobs).toBe(200);
    expect(r.failedJobs).toBe(0);
    expect(r.unfinishedJobs).toBe(0);
    expect(r.peakRunning).toBe(10);
    expect(r.jobsPerSecond).toBeCloseTo(10 / 1.145, 0);
    expect(r.startsPerSecond).toBeCloseTo(10 / 1.145, 0);
    expect(r.idealJobsPerSecond).toBe(10);
    expect(r.meanRunning).toBeGreaterThan(9);
    expect(r.latencyMs.acceptedToFirstTrace).toMatchObject({ count: 190, p50: 20, p99: 20 });
    expect(r.latencyMs.acceptedToFinal).toMatchObject({ p50: 1135 });
    // the fake executor has no pods
    expect(r.latencyMs.acceptedToPodCreated).toBeNull();
    expect(r.latencyMs.podStartedToFirstTrace).toBeNull();
    expect(r.latencyMs.terminatedToFinal).toBeNull();
    expect(r.requests.kubernetes).toBeNull();
    expect(r.requests.gitlab).toEqual({
      total: 1000,
      perJob: 5,
      byKind: { request_job: 400, update_job: 400, patch_trace: 200 },
    });
    expect(r.trace).toMatchObject({ bytes: 200_000, bytesPerJob: 1000 });
  });

  it('leaves the warm-up wave out of the latencies', () => {
    const jobs = syntheticJobs(4, 40, 1000);
    // the first wave is slow to start; only it
    for (const j of jobs.slice(0, 4)) j.firstTraceAt = (j.acceptedAt as number) + 5000;
    const r = analyzeLevel(observations(4, jobs));
    expect(r.warmupJobs).toBe(4);
    expect(r.latencyMs.acceptedToFirstTrace?.max).toBe(20);
  });

  it('takes pod-side latencies when the pods were seen', () => {
    const jobs = syntheticJobs(5, 100, 1000, { withPods: true });
    const r = analyzeLevel(
      observations(5, jobs, { kubernetesRequests: { 'create pods': 100, 'watch pods': 1 } }),
    );
    expect(r.latencyMs.acceptedToPodCreated).toMatchObject({ p50: 5, p99: 5 });
    expect(r.latencyMs.podStartedToFirstTrace).toMatchObject({ p50: 20 });
    expect(r.latencyMs.terminatedToFinal).toMatchObject({ p50: 30, p99: 30 });
    expect(r.requests.kubernetes).toEqual({
      total: 101,
      perJob: 1.01,
      byKind: { 'create pods': 100, 'watch pods': 1 },
    });
  });

  it('takes the manager’s CPU and memory from the /proc samples', () => {
    const jobs = syntheticJobs(10, 200, 1000);
    const r = analyzeLevel(observations(10, jobs));
    const MiB = 1024 * 1024;
    expect(r.manager.idleRssBytes).toBe(100 * MiB);
    expect(r.manager.peakRssBytes).toBe(180 * MiB);
    expect(r.manager.cpuSeconds).toBeCloseTo(1, 6);
    expect(r.manager.cpuMsPerJob).toBeCloseTo(5, 6);
    expect(r.manager.samples).toBe(3);
    expect(r.standIns).toEqual({ benchCpuCores: null, kubernetesCpuCores: null });
    const withStandIns = analyzeLevel(
      observations(10, jobs, {
        standIns: {
          bench: [
            { t: 0, rssBytes: 1, cpuSeconds: 10 },
            { t: 4000, rssBytes: 1, cpuSeconds: 12 },
          ],
        },
      }),
    );
    expect(withStandIns.standIns).toEqual({ benchCpuCores: 0.5, kubernetesCpuCores: null });
  });

  it('reports unfinished and failed jobs, and a level with nothing measured', () => {
    const jobs: JobTimes[] = syntheticJobs(2, 20, 1000);
    (jobs[18] as JobTimes).status = 'failed';
    (jobs[18] as JobTimes).failureReason = 'script_failure';
    (jobs[17] as JobTimes).status = 'canceled';
    for (const j of jobs.slice(19)) {
      delete j.finishedAt;
      delete j.status;
    }
    const r = analyzeLevel(observations(2, jobs, { error: 'stalled' }));
    expect(r).toMatchObject({
      succeededJobs: 17,
      failedJobs: 2,
      unfinishedJobs: 1,
      error: 'stalled',
      failureReasons: { script_failure: 1, canceled: 1 },
    });

    const none = analyzeLevel(
      observations(2, [{ id: 1, traceBytes: 0 }], { manager: { pid: null, idle: undefined, samples: [] } }),
    );
    expect(none).toMatchObject({
      jobs: 1,
      measuredJobs: 0,
      unfinishedJobs: 1,
      jobsPerSecond: null,
      startsPerSecond: null,
      peakRunning: 0,
    });
    expect(none.manager).toMatchObject({ peakRssBytes: null, cpuSeconds: null, cpuMsPerJob: null });
    expect(none.latencyMs.acceptedToFinal).toBeNull();
  });

  it('counts a step seen out of order as no wait, never a negative one', () => {
    const jobs = syntheticJobs(2, 20, 1000, { withPods: true });
    for (const j of jobs) j.firstTraceAt = (j.podStartedAt as number) - 3;
    const r = analyzeLevel(observations(2, jobs));
    expect(r.latencyMs.podStartedToFirstTrace?.min).toBe(0);
  });
});

describe('countsSince', () => {
  it('subtracts the counters at the level’s start, dropping what did not move', () => {
    expect(countsSince({ a: 1, b: 5 }, { a: 4, b: 5, c: 2 })).toEqual({ a: 3, c: 2 });
  });
});

describe('cycleRate', () => {
  it('does not count a wave too many when jobs end in waves', () => {
    // three waves of 100 after a warm-up wave, 5 s apart: 20 per second, not 30
    const waves = [0, 5000, 10_000, 15_000].flatMap((t) =>
      Array.from({ length: 100 }, (_, i) => t + i * 0.01),
    );
    expect(cycleRate(waves, 100)).toBeCloseTo(20, 0);
  });

  it('measures a continuous stream at its rate, with or without a warm-up', () => {
    const stream = Array.from({ length: 101 }, (_, i) => i * 10); // 100 per second
    expect(cycleRate(stream, 0)).toBeCloseTo(100, 6);
    expect(cycleRate(stream, 50)).toBeCloseTo(100, 6);
    expect(cycleRate([5], 0)).toBeNull();
    expect(cycleRate([5, 5], 1)).toBeNull();
    expect(cycleRate([], 0)).toBeNull();
  });
});
