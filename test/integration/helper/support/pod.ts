// One job pod, played on this machine: the Secret's `job.json` (the raw payload) and `helper.json`
// (made with the helper's own contract functions, as the manager's pod renderer makes it), the
// helper init container (`podrunner-helper prepare`), the build container (holds `build.alive` on
// fd 9, writes `build.started` and `build.exit`, docs/pod-contract.md) next to the uploader
// (`podrunner-helper upload`), and the manager's final report to GitLab.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { cacheStorageForJob, type RunnerCacheConfig } from '../../../../helper/cache/presign.ts';
import {
  type CacheStorage,
  type HelperSettingsInput,
  helperSettingsSchema,
  resolveProjectDir,
} from '../../../../helper/contract.ts';
import { startBuild } from './build.ts';
import { type HelperRun, type PodDirs, podDirs, runHelper } from './run-helper.ts';
import type { RunnerJob, RunnerSide } from './runner.ts';

export interface PodOptions {
  /** `[runners.cache]` of config.toml (pre-signed S3 URLs), or a cache volume's `cache_dir`. */
  cache?: { config: RunnerCacheConfig } | { volume: string };
  /** More runner settings (`pre_get_sources_script`, …). */
  settings?: Partial<HelperSettingsInput>;
  /** The directories of an earlier pod: a builds dir that persists between jobs (GIT_STRATEGY=fetch). */
  dirs?: PodDirs;
}

/** How the build container ends: its script's exit code, or killed (OOM) without `build.exit`. */
export type BuildEnd = number | 'killed';

export class JobPod {
  readonly job: RunnerJob;
  readonly dirs: PodDirs;
  readonly projectDir: string;
  readonly settings: HelperSettingsInput;
  /** What the containers printed, in order: what the manager relays to the job log. */
  output = '';
  prepared: HelperRun | undefined;
  uploaded: HelperRun | undefined;
  buildEnd: BuildEnd | undefined;

  constructor(job: RunnerJob, serverUrl: string, runnerToken: string, options: PodOptions = {}) {
    this.job = job;
    this.dirs = options.dirs ?? podDirs();
    const dir = resolveProjectDir(job.payload, { buildsDir: this.dirs.buildsDir });
    if (!dir.ok) throw new Error(dir.error);
    this.projectDir = dir.dir;
    let cache: CacheStorage = { type: 'none' };
    if (options.cache && 'config' in options.cache) {
      const made = cacheStorageForJob(job.payload, { cache: options.cache.config, runnerToken });
      if (made.warnings.length > 0) throw new Error(made.warnings.join('; '));
      cache = made.storage;
    } else if (options.cache) {
      // The manager mounts `<cache_dir>/<namespace>/<project>`, like upstream's local cache.
      const projectPath = job.payload.variables.find((v) => v.key === 'CI_PROJECT_PATH')?.value ?? '';
      cache = { type: 'volume', path: path.join(options.cache.volume, projectPath) };
    }
    this.settings = helperSettingsSchema.parse({
      serverUrl,
      buildsDir: this.dirs.buildsDir,
      projectDir: this.projectDir,
      statusDir: this.dirs.statusDir,
      cache,
      retry: { stageMinMs: 10, stageMaxMs: 50, requestMs: 10 },
      ...options.settings,
    });
  }

  /** The helper init container. `watch`: a secret to look for in every process while it runs. */
  async prepare(options: { watch?: string } = {}): Promise<HelperRun> {
    this.prepared = await runHelper('prepare', this.dirs, this.job.raw, this.settings, options);
    this.output += this.prepared.output;
    return this.prepared;
  }

  /** Whether the pod has an uploader container: only when the job has artifacts or caches to save. */
  get hasUploader(): boolean {
    return this.job.payload.artifacts.length > 0 || this.job.payload.cache.length > 0;
  }

  /**
   * The build container, and the uploader next to it when the job has one: the uploader starts first
   * and waits for the build; `script` writes the build's files while the build holds `build.alive`;
   * then the build ends. Returns the uploader's run.
   */
  async build(
    script: (projectDir: string) => void | Promise<void>,
    end: BuildEnd,
    options: { watch?: string; onUploader?: (pid: number) => void } = {},
  ): Promise<HelperRun | undefined> {
    const alive = path.join(this.dirs.statusDir, 'build.alive');
    if (!existsSync(alive) || !statSync(alive).isFIFO()) {
      throw new Error('the helper did not prepare this pod: no build container would start');
    }
    const uploader = this.hasUploader
      ? runHelper('upload', this.dirs, this.job.raw, this.settings, {
          ...(options.watch ? { watch: options.watch } : {}),
          ...(options.onUploader ? { onSpawn: options.onUploader } : {}),
        })
      : undefined;
    const build = await startBuild(this.dirs.statusDir, this.dirs.root);
    await script(this.projectDir);
    if (end === 'killed') await build.kill();
    else await build.finish(end);
    this.buildEnd = end;
    this.uploaded = await uploader;
    this.output += this.uploaded?.output ?? '';
    return this.uploaded;
  }

  /** The manager's final update, from what the containers reported (`as`: the job the runner holds). */
  async finish(runner: RunnerSide, as: RunnerJob = this.job): Promise<'success' | 'failed'> {
    const prepare = this.prepared?.termination;
    let state: 'success' | 'failed' = 'success';
    let failureReason: string | undefined;
    let exitCode: number | undefined;
    if (prepare?.ok !== true) {
      state = 'failed';
      failureReason = String(prepare?.failure_reason ?? 'runner_system_failure');
    } else if (this.buildEnd === undefined) {
      throw new Error(`job ${this.job.name}: the helper prepared the pod but the build never ran`);
    } else if (this.buildEnd !== 0) {
      state = 'failed';
      failureReason = 'script_failure';
      exitCode = typeof this.buildEnd === 'number' ? this.buildEnd : 137;
    } else if (this.uploaded && this.uploaded.termination?.ok !== true) {
      state = 'failed';
      failureReason = 'script_failure';
    }
    await runner.finish(as, {
      state,
      trace: this.output,
      ...(failureReason ? { failureReason } : {}),
      ...(exitCode !== undefined ? { exitCode } : {}),
    });
    return state;
  }
}
