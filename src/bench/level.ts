// One concurrency level, for real: a fresh manager process with `concurrent = level`, one pipeline of the
// level's jobs, the manager's /proc figures sampled throughout, every job followed to its final state.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { analyzeLevel, countsSince } from './analyze.ts';
import type { BenchEnvironment } from './environment.ts';
import { trackGitlabJobs } from './gitlab-tracker.ts';
import { clockNow, type JobTimes } from './job-times.ts';
import { logTail, startManagerProcess } from './manager-process.ts';
import type { LevelPlan } from './plan.ts';
import { type ProcSample, readProcSample, startProcSampler } from './proc-sampler.ts';
import type { LevelProgress } from './progress.ts';
import type { LevelResult } from './report.ts';
import { managerConfigToml, pipelineYaml } from './workload.ts';

export interface LevelSettings {
  jobDurationMs: number;
  logBytes: number;
  executorPlugin: string;
  /** /proc sampling period of the manager (default 250 ms). */
  sampleIntervalMs?: number;
  /** Give up on a level when no job changed state for this long (default: 60 s + 3 × the job duration). */
  stallMs?: number;
  /** CPU profiles of the manager go to `<profileDir>/level-<concurrency>/` (`--profile`). */
  profileDir?: string;
  /** The work directory outlives the run (`--keep`), so messages may point into it. */
  keep?: boolean;
  /** NODE_OPTIONS for the manager process (`--manager-node-options`). */
  managerNodeOptions?: string;
}

export class LevelError extends Error {
  readonly code = 'BENCH_LEVEL_FAILED';
}

/** Commits the level's pipeline definition to a branch of its own, before the clock starts. */
async function prepareBranch(env: BenchEnvironment, plan: LevelPlan, settings: LevelSettings) {
  const branch = `bench-c${plan.concurrency}-j${plan.jobs}-${Date.now()}`;
  await env.gitlab.commitFiles(
    env.projectId,
    {
      '.gitlab-ci.yml': pipelineYaml(plan.jobs, {
        durationMs: settings.jobDurationMs,
        logBytes: settings.logBytes,
      }),
    },
    { branch, message: `bench: ${plan.jobs} jobs for concurrency ${plan.concurrency}` },
  );
  return branch;
}

export async function runLevel(
  env: BenchEnvironment,
  plan: LevelPlan,
  settings: LevelSettings,
  onProgress: (p: LevelProgress) => void,
  signal: AbortSignal,
): Promise<LevelResult> {
  const dir = join(env.workDir, `level-${plan.concurrency}`);
  await mkdir(dir, { recursive: true });
  const configPath = join(dir, 'config.toml');
  await writeFile(
    configPath,
    managerConfigToml({
      concurrency: plan.concurrency,
      gitlabUrl: env.gitlab.url,
      runnerToken: env.runnerToken,
      ...(env.kube
        ? {
            kubernetes: {
              namespace: env.kube.namespace,
              podAnnotations: env.kube.podAnnotations,
              ...(env.kube.host ? { host: env.kube.host } : {}),
            },
          }
        : {}),
    }),
  );
  const branch = await prepareBranch(env, plan, settings);
  const logPath = join(dir, 'manager.log');
  const manager = await startManagerProcess({
    configPath,
    executorPlugin: settings.executorPlugin,
    logPath,
    env: {
      ...env.kube?.managerEnv,
      ...(settings.managerNodeOptions !== undefined ? { NODE_OPTIONS: settings.managerNodeOptions } : {}),
    },
    ...(settings.profileDir ? { cpuProfileDir: join(settings.profileDir, `level-${plan.concurrency}`) } : {}),
  });
  const sampler = startProcSampler(manager.pid, settings.sampleIntervalMs ?? 250);
  const tracker = trackGitlabJobs(env.gitlab);
  let pipelineJobIds: number[] = [];
  let error: string | null = null;
  let startedAt = clockNow();
  let endedAt = startedAt;
  let idle: Awaited<ReturnType<typeof sampler.sample>> | undefined;
  let gitlabBefore: Record<string, number> = {};
  const standInPids = { bench: process.pid, kubernetes: env.kube?.pid };
  const standInsAt = async () => ({
    bench: await readProcSample(standInPids.bench),
    kubernetes:
      standInPids.kubernetes !== undefined ? await readProcSample(standInPids.kubernetes) : undefined,
  });
  let standInsBefore: Awaited<ReturnType<typeof standInsAt>> | undefined;
  let standInsAfter: Awaited<ReturnType<typeof standInsAt>> | undefined;
  let kubeBefore: Record<string, number> | null = null;
  try {
    idle = await sampler.sample();
    gitlabBefore = env.gitlabRequestCounts();
    kubeBefore = (await env.kube?.requestCounts()) ?? null;
    standInsBefore = await standInsAt();
    startedAt = clockNow();
    const pipeline = await env.gitlab.createPipeline(env.projectId, branch);
    pipelineJobIds = pipeline.jobs.map((j) => j.id);
    if (pipelineJobIds.length !== plan.jobs)
      throw new LevelError(`the pipeline has ${pipelineJobIds.length} jobs, expected ${plan.jobs}`);

    const stallMs = settings.stallMs ?? 60_000 + 3 * settings.jobDurationMs;
    let lastChange = Date.now();
    tracker.onChange(() => {
      lastChange = Date.now();
    });
    error = await new Promise<string | null>((resolve) => {
      const finish = (reason: string | null) => {
        clearInterval(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(reason);
      };
      const onAbort = () => finish('interrupted');
      signal.addEventListener('abort', onAbort);
      const timer = setInterval(() => {
        const { accepted, finished } = tracker.counts(pipeline.id);
        const rss = sampler.samples[sampler.samples.length - 1]?.rssBytes;
        onProgress({
          jobs: plan.jobs,
          accepted,
          finished,
          running: accepted - finished,
          elapsedMs: clockNow() - startedAt,
          rssBytes: rss,
        });
        if (finished >= plan.jobs) finish(null);
        else if (!manager.running) finish('the manager exited before the level ended');
        else if (Date.now() - lastChange > stallMs)
          finish(
            `no job changed state for ${Math.round(stallMs / 1000)} s (${plan.jobs - finished} of ${plan.jobs} unfinished); ${settings.keep ? `the manager's log: ${logPath}` : 'run with --keep to keep the manager’s log'}`,
          );
      }, 100);
      if (signal.aborted) onAbort();
    });
    endedAt = clockNow();
    await sampler.sample();
    standInsAfter = await standInsAt();
    if (error !== null && !manager.running) {
      const tail = await logTail(logPath);
      if (tail.length > 0) error = `${error}; it said: ${tail.join(' / ')}`;
    }
  } finally {
    sampler.stop();
    tracker.stop();
    // jobs the level left behind must not run in the next one
    for (const id of pipelineJobIds) {
      const view = env.gitlab.job(id);
      if (view && !['success', 'failed', 'canceled', 'skipped'].includes(view.status))
        env.gitlab.cancelJob(id);
    }
    await manager.stop();
  }

  const jobs: JobTimes[] = pipelineJobIds.map((id) => {
    const times = tracker.jobs.get(id);
    const pod = env.kube?.podTimes(id);
    return { id, traceBytes: 0, ...times, ...pod };
  });
  const kubeAfter = (await env.kube?.requestCounts()) ?? null;
  return analyzeLevel({
    plan,
    jobDurationMs: settings.jobDurationMs,
    jobs,
    startedAt,
    endedAt,
    manager: {
      pid: manager.pid,
      idle,
      samples: sampler.samples.filter((s) => s.t >= (idle?.t ?? 0) && s.t <= endedAt + 1000),
    },
    gitlabRequests: countsSince(gitlabBefore, env.gitlabRequestCounts()),
    kubernetesRequests: kubeBefore && kubeAfter ? countsSince(kubeBefore, kubeAfter) : null,
    standIns: {
      ...(standInsBefore?.bench && standInsAfter?.bench
        ? { bench: [standInsBefore.bench, standInsAfter.bench] as [ProcSample, ProcSample] }
        : {}),
      ...(standInsBefore?.kubernetes && standInsAfter?.kubernetes
        ? { kubernetes: [standInsBefore.kubernetes, standInsAfter.kubernetes] as [ProcSample, ProcSample] }
        : {}),
    },
    error,
  });
}
