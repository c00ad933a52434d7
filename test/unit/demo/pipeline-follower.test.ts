// Following a pipeline through a scripted GitLab: each job's log comes out once, in order, as it grows;
// a job is finished only with its whole log; the follow ends with the pipeline, or at the deadline.
import { describe, expect, it } from 'vitest';
import {
  followPipeline,
  type JobInfo,
  type PipelineApi,
  type PipelineInfo,
} from '../../../src/demo/pipeline-follower.ts';

const ts = (n: number) => `2026-01-15T10:00:0${n}.000000Z`;

function job(id: number, name: string, status: string, extra: Partial<JobInfo> = {}): JobInfo {
  return {
    id,
    name,
    stage: 'test',
    status,
    allowFailure: false,
    durationSeconds: null,
    failureReason: null,
    ...extra,
  };
}

/** A GitLab whose answers follow a script: one step per poll (the last step repeats). */
function scripted(
  steps: { pipeline: string; jobs: JobInfo[]; logs: Record<number, string> }[],
): PipelineApi & { polls: number; traceReads: number[] } {
  let step = -1;
  const current = () => steps[Math.min(step, steps.length - 1)] as (typeof steps)[number];
  const api = {
    polls: 0,
    traceReads: [] as number[],
    async pipeline(): Promise<PipelineInfo> {
      step++;
      api.polls++;
      return { id: 7, status: current().pipeline, createdAt: ts(0), finishedAt: null };
    },
    async jobs() {
      return current().jobs.map((j) => ({ ...j }));
    },
    async trace(id: number) {
      api.traceReads.push(id);
      return new TextEncoder().encode(current().logs[id] ?? '');
    },
  };
  return api;
}

describe('followPipeline', () => {
  it('prints each job’s new lines once, holds a marker line until its continuation, and ends with the pipeline', async () => {
    const a1 = `${ts(1)} 01O first\n${ts(1)} 00O section_end:1:step_script\r\n`;
    const a2 = `${a1}${ts(2)} 00O+\u001b[0K\n${ts(2)} 00O \u001b[32;1mJob succeeded\u001b[0;m\n`;
    const api = scripted([
      {
        pipeline: 'pending',
        jobs: [job(1, 'a', 'pending'), job(2, 'b', 'created', { stage: 'build' })],
        logs: {},
      },
      {
        pipeline: 'running',
        jobs: [job(1, 'a', 'running'), job(2, 'b', 'created', { stage: 'build' })],
        logs: { 1: a1 },
      },
      {
        pipeline: 'running',
        jobs: [job(1, 'a', 'success', { durationSeconds: 2 }), job(2, 'b', 'running', { stage: 'build' })],
        logs: { 1: a2, 2: `${ts(3)} 01O b says hi\n` },
      },
      {
        pipeline: 'failed',
        jobs: [
          job(1, 'a', 'success', { durationSeconds: 2 }),
          job(2, 'b', 'failed', { stage: 'build', failureReason: 'script_failure' }),
        ],
        logs: {
          1: a2,
          2: `${ts(3)} 01O b says hi\n${ts(4)} 00O \u001b[31;1mERROR: Job failed: exit code 1\u001b[0;m\n`,
        },
      },
    ]);
    const printed: string[] = [];
    const finished: string[] = [];
    const result = await followPipeline(api, {
      color: false,
      intervalMs: 1,
      timeoutMs: 10_000,
      onLines: (j, lines) => printed.push(...lines.map((l) => `${j.name}: ${l}`)),
      onJobFinished: (j) => finished.push(`${j.info.name} ${j.info.status}`),
    });
    expect(printed).toEqual([
      'a: first',
      'a: Job succeeded',
      'b: b says hi',
      'b: ERROR: Job failed: exit code 1',
    ]);
    expect(finished).toEqual(['a success', 'b failed']);
    expect(result.timedOut).toBe(false);
    expect(result.pipeline.status).toBe('failed');
    expect(result.jobs.map((j) => [j.info.name, j.info.status, j.done, j.lines])).toEqual([
      ['a', 'success', true, ['first', 'Job succeeded']],
      ['b', 'failed', true, ['b says hi', 'ERROR: Job failed: exit code 1']],
    ]);
    // No log is read for a job before it starts, nor after it finished.
    expect(api.traceReads).toEqual([1, 1, 2, 2]);
  });

  it('keeps colours in what it prints and leaves them out of the lines it keeps', async () => {
    const log = `${ts(1)} 00O \u001b[32;1mJob succeeded\u001b[0;m\n`;
    const api = scripted([{ pipeline: 'success', jobs: [job(1, 'a', 'success')], logs: { 1: log } }]);
    const printed: string[] = [];
    const result = await followPipeline(api, {
      color: true,
      intervalMs: 1,
      timeoutMs: 1000,
      onLines: (_j, lines) => printed.push(...lines),
    });
    expect(printed).toEqual(['\u001b[32;1mJob succeeded\u001b[0;m\u001b[0m']);
    expect(result.jobs[0]?.lines).toEqual(['Job succeeded']);
  });

  it('does not wait for jobs that will never run once the pipeline is over', async () => {
    const api = scripted([
      {
        pipeline: 'failed',
        jobs: [job(1, 'a', 'failed'), job(2, 'b', 'skipped'), job(3, 'c', 'manual')],
        logs: { 1: `${ts(1)} 01O boom\n` },
      },
    ]);
    const result = await followPipeline(api, {
      color: false,
      intervalMs: 1,
      timeoutMs: 1000,
      onLines: () => {},
    });
    expect(result.timedOut).toBe(false);
    expect(api.polls).toBe(1);
    expect(result.jobs.map((j) => [j.info.name, j.done])).toEqual([
      ['a', true],
      ['b', false],
      ['c', false],
    ]);
  });

  it('gives up at the deadline with what it has, flushing the open logs', async () => {
    const api = scripted([
      {
        pipeline: 'running',
        jobs: [job(1, 'a', 'running')],
        logs: { 1: `${ts(1)} 01O still going\n${ts(1)} 01O 50%\r\n` },
      },
    ]);
    const printed: string[] = [];
    const result = await followPipeline(api, {
      color: false,
      intervalMs: 5,
      timeoutMs: 30,
      onLines: (_j, lines) => printed.push(...lines),
    });
    expect(result.timedOut).toBe(true);
    expect(result.pipeline.status).toBe('running');
    expect(printed).toEqual(['still going', '50%']);
  });

  it('stops when its signal aborts', async () => {
    const api = scripted([{ pipeline: 'running', jobs: [job(1, 'a', 'running')], logs: {} }]);
    const abort = new AbortController();
    const following = followPipeline(api, {
      color: false,
      intervalMs: 10_000,
      timeoutMs: 60_000,
      signal: abort.signal,
      onLines: () => {},
    });
    abort.abort(new Error('SIGINT'));
    await expect(following).rejects.toThrow();
  });
});
