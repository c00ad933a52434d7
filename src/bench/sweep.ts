// The sweep: each concurrency level in turn, through a level runner (the real one starts a manager; tests
// pass fakes). A level that ends badly (stall, manager exit) is recorded and the sweep goes on; a runner
// that throws (the environment is broken) or an interrupt stops the sweep with what was measured so far.
import type { LevelPlan } from './plan.ts';
import type { LevelProgress, ProgressSink } from './progress.ts';
import type { LevelResult } from './report.ts';

export type LevelRunner = (
  plan: LevelPlan,
  onProgress: (p: LevelProgress) => void,
  signal: AbortSignal,
) => Promise<LevelResult>;

export interface SweepResult {
  levels: LevelResult[];
  /** Why the sweep stopped before its last level. */
  stopped: { code: string; message: string } | null;
}

const codeOf = (err: unknown) =>
  typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : 'BENCH_FAILED';

export async function runSweep(
  plans: readonly LevelPlan[],
  runLevel: LevelRunner,
  progress: ProgressSink,
  signal: AbortSignal,
): Promise<SweepResult> {
  const levels: LevelResult[] = [];
  for (const [index, plan] of plans.entries()) {
    if (signal.aborted) return { levels, stopped: { code: 'INTERRUPTED', message: 'interrupted' } };
    progress.levelStarted(plan, index, plans.length);
    let result: LevelResult;
    try {
      result = await runLevel(plan, (p) => progress.update(p), signal);
    } catch (err) {
      const message = `concurrency ${plan.concurrency}: ${err instanceof Error ? err.message : String(err)}`;
      progress.message(`podrunner bench: ${message}`);
      return { levels, stopped: { code: codeOf(err), message } };
    }
    levels.push(result);
    progress.levelFinished(result);
    if (signal.aborted) return { levels, stopped: { code: 'INTERRUPTED', message: 'interrupted' } };
  }
  return { levels, stopped: null };
}
