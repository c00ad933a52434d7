import { describe, expect, it } from 'vitest';
import { planLevel, planNotes, planSweep } from '../../../src/bench/plan.ts';

describe('jobs per level', () => {
  it('runs four waves of the level, at least 200 jobs, never more than --jobs', () => {
    expect(planLevel(10, 2000)).toEqual({ concurrency: 10, jobs: 200, warmupJobs: 10 });
    expect(planLevel(100, 2000)).toEqual({ concurrency: 100, jobs: 400, warmupJobs: 100 });
    expect(planLevel(500, 2000)).toEqual({ concurrency: 500, jobs: 2000, warmupJobs: 500 });
    expect(planLevel(1000, 2000)).toEqual({ concurrency: 1000, jobs: 2000, warmupJobs: 500 });
    expect(planLevel(5, 20)).toEqual({ concurrency: 5, jobs: 20, warmupJobs: 5 });
    expect(planLevel(2, 20)).toEqual({ concurrency: 2, jobs: 20, warmupJobs: 2 });
    expect(planSweep([2, 5], 20).map((p) => p.jobs)).toEqual([20, 20]);
  });

  it('says when --jobs is too small for a level', () => {
    const notes = planNotes(planSweep([100, 1000], 500), 5000);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/level 1000: only 500 jobs/);
    expect(planNotes(planSweep([1000], 1500), 5000)[0]).toMatch(/fewer than two waves/);
    expect(planNotes(planSweep([10], 2000), 5000)).toEqual([]);
  });
});
