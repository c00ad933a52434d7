import { describe, expect, it } from 'vitest';
import { analyzeLevel } from '../../../src/bench/analyze.ts';
import { hasContainerOutput } from '../../../src/bench/gitlab-tracker.ts';
import { observations, syntheticJobs } from './fixtures.ts';

describe('pod output in a trace', () => {
  it('is a timestamped record of a container stream, not the runner’s own', () => {
    const runner = '2026-11-26T17:09:39.571000Z 00O [0KRunning with podrunner 0.1.0[0;m\n';
    const helper = '2026-11-26T17:09:39.631000Z 01O section_start:1795712979:get_sources\n';
    const service = '2026-11-26T17:09:39.631000Z 0fE+ listening on 2375\n';
    expect(hasContainerOutput(runner)).toBe(false);
    expect(hasContainerOutput(runner + helper)).toBe(true);
    expect(hasContainerOutput(service)).toBe(true);
    expect(hasContainerOutput('plain log without timestamps\n')).toBe(false);
  });

  it('is what pod started → first trace byte measures, when the trace has it', () => {
    const jobs = syntheticJobs(2, 20, 1000, { withPods: true });
    for (const j of jobs) {
      // the manager's own lines went out before the pod started; the pod's output 40 ms after
      j.firstTraceAt = (j.podStartedAt as number) - 50;
      j.firstPodOutputAt = (j.podStartedAt as number) + 40;
    }
    const r = analyzeLevel(observations(2, jobs));
    expect(r.latencyMs.podStartedToFirstTrace).toMatchObject({ p50: 40, p99: 40 });
  });
});
