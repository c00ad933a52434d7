import { describe, expect, it } from 'vitest';
import { planSweep } from '../../../src/bench/plan.ts';
import type { ProgressSink } from '../../../src/bench/progress.ts';
import { type LevelRunner, runSweep } from '../../../src/bench/sweep.ts';
import { level } from './fixtures.ts';

function recorder() {
  const events: string[] = [];
  const sink: ProgressSink = {
    levelStarted: (p, i, n) => events.push(`start ${p.concurrency} ${i + 1}/${n}`),
    update: (p) => events.push(`update ${p.finished}/${p.jobs}`),
    levelFinished: (r) => events.push(`done ${r.concurrency}`),
    message: (t) => events.push(`message ${t}`),
    close: () => events.push('close'),
  };
  return { events, sink };
}

describe('runSweep', () => {
  it('runs every level in order with its plan and reports progress', async () => {
    const { events, sink } = recorder();
    const seen: number[][] = [];
    const runner: LevelRunner = async (plan, onProgress) => {
      seen.push([plan.concurrency, plan.jobs, plan.warmupJobs]);
      onProgress({
        jobs: plan.jobs,
        accepted: plan.jobs,
        running: 0,
        finished: plan.jobs,
        elapsedMs: 1,
        rssBytes: 1,
      });
      return level(plan.concurrency, plan.jobs);
    };
    const result = await runSweep(planSweep([2, 5, 10], 40), runner, sink, new AbortController().signal);
    expect(seen).toEqual([
      [2, 40, 2],
      [5, 40, 5],
      [10, 40, 10],
    ]);
    expect(result.stopped).toBeNull();
    expect(result.levels.map((l) => l.concurrency)).toEqual([2, 5, 10]);
    expect(events).toEqual([
      'start 2 1/3',
      'update 40/40',
      'done 2',
      'start 5 2/3',
      'update 40/40',
      'done 5',
      'start 10 3/3',
      'update 40/40',
      'done 10',
    ]);
  });

  it('keeps going after a level that ended badly, and stops at one that threw, keeping what it has', async () => {
    const { events, sink } = recorder();
    const runner: LevelRunner = async (plan) => {
      if (plan.concurrency === 2) return { ...level(2, 40), error: 'no job changed state for 60 s' };
      if (plan.concurrency === 5)
        throw Object.assign(new Error('podrunner run exited with 3 before it was ready'), {
          code: 'MANAGER_EXITED',
        });
      throw new Error('not reached');
    };
    const result = await runSweep(planSweep([2, 5, 10], 40), runner, sink, new AbortController().signal);
    expect(result.levels.map((l) => [l.concurrency, l.error])).toEqual([
      [2, 'no job changed state for 60 s'],
    ]);
    expect(result.stopped).toEqual({
      code: 'MANAGER_EXITED',
      message: 'concurrency 5: podrunner run exited with 3 before it was ready',
    });
    expect(events.at(-1)).toBe(
      'message podrunner bench: concurrency 5: podrunner run exited with 3 before it was ready',
    );
  });

  it('stops after the level that was running when interrupted', async () => {
    const { sink } = recorder();
    const interrupt = new AbortController();
    const runner: LevelRunner = async (plan, _onProgress, signal) => {
      interrupt.abort();
      expect(signal.aborted).toBe(true);
      return { ...level(plan.concurrency, plan.jobs), error: 'interrupted' };
    };
    const result = await runSweep(planSweep([2, 5], 40), runner, sink, interrupt.signal);
    expect(result.levels).toHaveLength(1);
    expect(result.stopped?.code).toBe('INTERRUPTED');
  });
});
