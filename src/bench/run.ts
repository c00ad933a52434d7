// `podrunner bench`: the sweep, end to end. Starts the environment, runs every level, prints the table,
// writes the JSON report and the chart. Exit code 0 when every level ran all its jobs to success,
// 1 when a level failed or the sweep stopped early (what was measured is still written), 2 on bad options.
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { buildReport, busyNote, targetNotes } from './build-report.ts';
import { type BenchEnvironment, modeFor, startEnvironment } from './environment.ts';
import { runLevel } from './level.ts';
import type { BenchOptions } from './options.ts';
import { planNotes, planSweep } from './plan.ts';
import { createProgress } from './progress.ts';
import { modeDescriptions } from './report.ts';
import { renderSvg } from './svg.ts';
import { runSweep } from './sweep.ts';
import { renderReportText } from './table.ts';
import { formatBytes, formatMs } from './units.ts';

export interface BenchIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Aborting it ends the current level early and writes what was measured. */
  signal?: AbortSignal;
  /** Where the work directory goes (tests). */
  workRoot?: string;
}

async function writeOutput(path: string, content: string): Promise<string> {
  const full = resolve(path);
  await mkdir(dirname(full), { recursive: true });
  await writeFile(full, content);
  return full;
}

export async function runBench(options: BenchOptions, io: BenchIo): Promise<number> {
  const mode = modeFor(options.executorPlugin, options.kubeconfig);
  const plans = planSweep(options.concurrency, options.jobs);
  const progress = createProgress(io.stderr);
  const startedAt = new Date();
  const loadAtStart = loadavg()[0] ?? 0;
  progress.message(`podrunner bench: ${modeDescriptions[mode]}`);
  progress.message(
    `levels ${plans.map((p) => `${p.concurrency} (${p.jobs} jobs)`).join(', ')}; jobs of ${formatMs(options.jobDuration)} printing ${formatBytes(options.logBytes)}`,
  );

  let env: BenchEnvironment;
  try {
    env = await startEnvironment({
      mode,
      gitlabLatencyMs: options.gitlabLatency,
      apiLatencyMs: options.apiLatency,
      ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
      jobDurationMs: options.jobDuration,
      logBytes: options.logBytes,
      keep: options.keep,
      ...(io.workRoot ? { workRoot: io.workRoot } : {}),
    });
  } catch (err) {
    progress.close();
    io.stderr.write(`podrunner bench: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  if (options.keep) progress.message(`work directory (kept): ${env.workDir}`);

  const signal = io.signal ?? new AbortController().signal;
  let sweep: Awaited<ReturnType<typeof runSweep>>;
  try {
    sweep = await runSweep(
      plans,
      (plan, onProgress, s) =>
        runLevel(
          env,
          plan,
          {
            jobDurationMs: options.jobDuration,
            logBytes: options.logBytes,
            executorPlugin: options.executorPlugin,
            ...(options.profile ? { profileDir: resolve(options.profile) } : {}),
            keep: options.keep,
            managerNodeOptions: options.managerNodeOptions,
          },
          onProgress,
          s,
        ),
      progress,
      signal,
    );
  } finally {
    progress.close();
    await env.close();
  }

  const notes = [...planNotes(plans, options.jobDuration), ...targetNotes(mode, sweep.levels)];
  if (sweep.stopped) notes.unshift(`the sweep stopped early: ${sweep.stopped.message}`);
  const report = buildReport({
    options,
    mode,
    startedAt,
    finishedAt: new Date(),
    levels: sweep.levels,
    notes,
    loadAtStart,
  });
  const busy = busyNote(report.machine);
  if (busy) report.notes.push(busy);
  io.stdout.write(renderReportText(report));
  if (options.json) {
    const path = await writeOutput(options.json, `${JSON.stringify(report, null, 2)}\n`);
    io.stderr.write(`report written to ${path}\n`);
  }
  if (options.svg) {
    const path = await writeOutput(options.svg, renderSvg(report));
    io.stderr.write(`chart written to ${path}\n`);
  }
  const allGood =
    sweep.stopped === null &&
    sweep.levels.every((l) => l.error === null && l.failedJobs === 0 && l.unfinishedJobs === 0);
  return allGood ? 0 : 1;
}
