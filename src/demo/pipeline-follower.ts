// Follows a pipeline as someone watching it in GitLab's UI does: the job list, and each started job's log
// as it grows, rendered line by line. GitLab is read through a small interface (the REST API in the
// demo), so this is tested without one.
import { setTimeout as sleep } from 'node:timers/promises';
import { TraceRenderer } from './trace-render.ts';

export interface PipelineInfo {
  id: number;
  status: string;
  createdAt: string;
  finishedAt: string | null;
}

export interface JobInfo {
  id: number;
  name: string;
  stage: string;
  status: string;
  allowFailure: boolean;
  durationSeconds: number | null;
  failureReason: string | null;
}

export interface PipelineApi {
  pipeline(): Promise<PipelineInfo>;
  jobs(): Promise<JobInfo[]>;
  trace(jobId: number): Promise<Uint8Array>;
}

export interface FollowedJob {
  info: JobInfo;
  /** Display lines so far, without colours. */
  lines: string[];
  done: boolean;
}

export interface FollowResult {
  pipeline: PipelineInfo;
  jobs: FollowedJob[];
  timedOut: boolean;
}

export interface FollowOptions {
  color: boolean;
  intervalMs: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /** New display lines of a job (coloured when `color`). */
  onLines(job: JobInfo, lines: string[]): void;
  onJobFinished?(job: FollowedJob): void;
}

const PIPELINE_FINAL = new Set(['success', 'failed', 'canceled', 'skipped']);
const JOB_FINAL = new Set(['success', 'failed', 'canceled']);
/** States of a job that has no log and never gets one unless something starts it. */
const JOB_IDLE = new Set([
  'created',
  'pending',
  'waiting_for_resource',
  'preparing',
  'manual',
  'scheduled',
  'skipped',
]);

const SGR = /\x1b\[[0-9;]*m/g;

interface JobState extends FollowedJob {
  renderer: TraceRenderer;
  offset: number;
}

export async function followPipeline(api: PipelineApi, options: FollowOptions): Promise<FollowResult> {
  const states = new Map<number, JobState>();
  const deadline = Date.now() + options.timeoutMs;
  const emit = (state: JobState, lines: string[]) => {
    if (lines.length === 0) return;
    state.lines.push(...lines.map((l) => l.replace(SGR, '')));
    options.onLines(state.info, lines);
  };
  for (;;) {
    const pipeline = await api.pipeline();
    const jobs = (await api.jobs()).sort((a, b) => a.id - b.id);
    for (const info of jobs) {
      let state = states.get(info.id);
      if (!state) {
        state = {
          info,
          lines: [],
          done: false,
          renderer: new TraceRenderer({ color: options.color }),
          offset: 0,
        };
        states.set(info.id, state);
      }
      state.info = info;
      if (state.done || JOB_IDLE.has(info.status)) continue;
      // The status was read before the log: a job already final here has its whole log in this read.
      const log = await api.trace(info.id);
      if (log.length > state.offset) {
        emit(state, state.renderer.push(log.subarray(state.offset)));
        state.offset = log.length;
      }
      if (JOB_FINAL.has(info.status)) {
        emit(state, state.renderer.end());
        state.done = true;
        options.onJobFinished?.(state);
      }
    }
    const all = [...states.values()];
    const settled = all.every((s) => s.done || JOB_IDLE.has(s.info.status));
    if (PIPELINE_FINAL.has(pipeline.status) && settled) return { pipeline, jobs: all, timedOut: false };
    if (Date.now() >= deadline) {
      for (const s of all) if (!s.done) emit(s, s.renderer.end());
      return { pipeline, jobs: all, timedOut: true };
    }
    options.signal?.throwIfAborted();
    await sleep(options.intervalMs, undefined, options.signal ? { signal: options.signal } : {});
  }
}
