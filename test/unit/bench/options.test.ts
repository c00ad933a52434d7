import { describe, expect, it } from 'vitest';
import { BenchUsageError, DEFAULTS, parseBenchOptions } from '../../../src/bench/options.ts';

const defaults = { ...DEFAULTS, keep: false };

describe('bench options', () => {
  it('turns the defaults into settings', () => {
    expect(parseBenchOptions(defaults)).toEqual({
      jobs: 2000,
      concurrency: [10, 100, 500, 1000],
      jobDuration: 5000,
      logBytes: 65_536,
      apiLatency: 0,
      gitlabLatency: 0,
      executorPlugin: 'kubernetes',
      keep: false,
      managerNodeOptions: '--max-semi-space-size=4',
    });
  });

  it('keeps paths and flags', () => {
    const o = parseBenchOptions({ ...defaults, json: 'r.json', svg: 'r.svg', keep: true, profile: 'prof' });
    expect(o).toMatchObject({ json: 'r.json', svg: 'r.svg', keep: true, profile: 'prof' });
  });

  it.each([
    [{ jobs: 'many' }, /--jobs: expected a positive whole number/],
    [{ jobs: '0' }, /--jobs/],
    [{ concurrency: '10,x' }, /--concurrency: expected positive whole numbers/],
    [{ jobDuration: 'forever' }, /--job-duration: expected a duration/],
    [{ logBytes: 'lots' }, /--log-bytes: expected a size/],
    [{ apiLatency: '-5ms' }, /--api-latency/],
    [{ gitlabLatency: 'x' }, /--gitlab-latency/],
    [{ executorPlugin: 'docker' }, /--executor-plugin: expected kubernetes or fake/],
    [{ executorPlugin: 'fake', kubeconfig: '/k' }, /--kubeconfig needs the Kubernetes executor/],
  ])('rejects %o naming the option', (patch, message) => {
    let error: unknown;
    try {
      parseBenchOptions({ ...defaults, ...patch });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BenchUsageError);
    expect((error as BenchUsageError).code).toBe('BENCH_USAGE');
    expect((error as Error).message).toMatch(message);
  });
});
