// How many jobs each concurrency level runs and how many of them are warm-up. The rule, in words, goes
// into the report so a reader of the JSON knows what was measured.

export interface LevelPlan {
  concurrency: number;
  jobs: number;
  warmupJobs: number;
}

/** Waves of `concurrency` jobs a level runs when `--jobs` allows: one to warm up, three measured. */
export const WAVES = 4;
/** …but at least this many jobs, so low levels still give stable percentiles. */
export const MIN_JOBS = 200;

export const jobsPerLevelRule = `min(--jobs, max(${MIN_JOBS}, ${WAVES} × concurrency)): ${WAVES} waves of \`concurrency\` jobs (at least ${MIN_JOBS}), never more than --jobs`;
export const warmupRule =
  'the first min(concurrency, jobs / 4) jobs accepted (the first wave, while the manager ramps up) are left out of latencies and rates';

export function planLevel(concurrency: number, maxJobs: number): LevelPlan {
  const jobs = Math.min(maxJobs, Math.max(MIN_JOBS, WAVES * concurrency));
  return { concurrency, jobs, warmupJobs: Math.min(concurrency, Math.floor(jobs / 4)) };
}

export function planSweep(levels: readonly number[], maxJobs: number): LevelPlan[] {
  return levels.map((c) => planLevel(c, maxJobs));
}

/** Things a reader of the results should know about the plan itself. */
export function planNotes(plans: readonly LevelPlan[], jobDurationMs: number): string[] {
  const notes: string[] = [];
  for (const p of plans) {
    if (p.jobs < p.concurrency)
      notes.push(
        `level ${p.concurrency}: only ${p.jobs} jobs (--jobs), so at most ${p.jobs} can run at once; raise --jobs to reach the level`,
      );
    else if (p.jobs < 2 * p.concurrency)
      notes.push(
        `level ${p.concurrency}: ${p.jobs} jobs are fewer than two waves; rates are taken from a short window`,
      );
  }
  if (jobDurationMs === 0)
    notes.push('--job-duration 0: jobs end at once; the ideal throughput is unbounded');
  return notes;
}
