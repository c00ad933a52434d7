import { describe, expect, it } from 'vitest';
import {
  type JobStatus,
  type ProcessableJob,
  pipelineStatus,
  processPipeline,
} from '../../../src/sim/gitlab/ci/processing.ts';

let nextId = 1;
function job(name: string, stageIdx: number, extra: Partial<ProcessableJob> = {}): ProcessableJob {
  return {
    id: nextId++,
    name,
    stageIdx,
    needs: null,
    when: 'on_success',
    allowFailure: false,
    status: 'created',
    retried: false,
    ...extra,
  };
}

function decide(jobs: ProcessableJob[]): Record<string, string> {
  const byId = new Map(jobs.map((j) => [j.id, j.name]));
  return Object.fromEntries(processPipeline(jobs).map((d) => [byId.get(d.id), d.status]));
}

function set(jobs: ProcessableJob[], name: string, status: JobStatus): void {
  const j = jobs.find((x) => x.name === name);
  if (j) j.status = status;
}

describe('pipeline processing', () => {
  it('queues the first stage only, then the next one when it succeeded', () => {
    const jobs = [job('build', 1), job('lint', 1), job('test', 2), job('deploy', 3)];
    expect(decide(jobs)).toEqual({ build: 'pending', lint: 'pending' });
    set(jobs, 'build', 'success');
    set(jobs, 'lint', 'pending');
    expect(decide(jobs)).toEqual({});
    set(jobs, 'lint', 'success');
    expect(decide(jobs)).toEqual({ test: 'pending' });
  });

  it('skips later on_success jobs after a failure, runs on_failure and always jobs', () => {
    const jobs = [
      job('build', 1, { status: 'failed' }),
      job('test', 2),
      job('notify', 3, { when: 'on_failure' }),
      job('cleanup', 3, { when: 'always' }),
      job('deploy', 4),
    ];
    expect(decide(jobs)).toEqual({ test: 'skipped', notify: 'pending', cleanup: 'pending' });
  });

  it('lets jobs after an allowed failure run, and skips on_failure jobs', () => {
    const jobs = [
      job('flaky', 1, { status: 'failed', allowFailure: true }),
      job('test', 2),
      job('notify', 2, { when: 'on_failure' }),
    ];
    expect(decide(jobs)).toEqual({ test: 'pending', notify: 'skipped' });
  });

  it('follows needs instead of stages (the DAG)', () => {
    const jobs = [
      job('build-a', 1),
      job('build-b', 1),
      job('test-a', 2, { needs: ['build-a'] }),
      job('lint', 2, { needs: [] }),
      job('all', 3),
    ];
    expect(decide(jobs)).toEqual({ 'build-a': 'pending', 'build-b': 'pending', lint: 'pending' });
    set(jobs, 'build-a', 'success');
    set(jobs, 'build-b', 'running');
    set(jobs, 'lint', 'pending');
    expect(decide(jobs)).toEqual({ 'test-a': 'pending' });
  });

  it('decides chains of same-stage needs in one pass and skips the dependents of a failure', () => {
    const jobs = [
      job('a', 1, { status: 'failed' }),
      job('b', 1, { needs: ['a'] }),
      job('c', 1, { needs: ['b'] }),
    ];
    expect(decide(jobs)).toEqual({ b: 'skipped', c: 'skipped' });
  });

  it('makes manual jobs manual, and non-blocking manual jobs do not hold the next stage', () => {
    const jobs = [job('deploy', 1, { when: 'manual', allowFailure: true }), job('after', 2)];
    expect(decide(jobs)).toEqual({ deploy: 'manual', after: 'pending' });
  });

  it('ignores retried jobs', () => {
    const jobs = [
      job('build', 1, { status: 'failed', retried: true }),
      job('build', 1, { status: 'success' }),
      job('test', 2),
    ];
    expect(decide(jobs)).toEqual({ test: 'pending' });
  });

  it('computes the pipeline status', () => {
    expect(pipelineStatus([job('a', 1, { status: 'pending' })])).toBe('pending');
    expect(pipelineStatus([job('a', 1, { status: 'running' }), job('b', 2)])).toBe('running');
    expect(pipelineStatus([job('a', 1, { status: 'success' }), job('b', 2, { status: 'pending' })])).toBe(
      'running',
    );
    expect(pipelineStatus([job('a', 1, { status: 'success' }), job('b', 2, { status: 'skipped' })])).toBe(
      'success',
    );
    expect(pipelineStatus([job('a', 1, { status: 'failed' }), job('b', 2, { status: 'skipped' })])).toBe(
      'failed',
    );
    expect(pipelineStatus([job('a', 1, { status: 'failed', allowFailure: true })])).toBe('success');
    expect(pipelineStatus([job('a', 1, { status: 'canceled' })])).toBe('canceled');
    expect(pipelineStatus([job('a', 1, { status: 'canceling' })])).toBe('running');
    expect(pipelineStatus([job('a', 1, { status: 'manual', allowFailure: false })])).toBe('manual');
  });
});
