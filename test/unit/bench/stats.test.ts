import { describe, expect, it } from 'vitest';
import { peakOverlap, percentile, percentileOfSorted, summarize } from '../../../src/bench/stats.ts';

describe('percentiles (nearest rank)', () => {
  it('picks a measured sample: the smallest that p% of the samples do not exceed', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 95)).toBe(95);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile(xs, 0)).toBe(1);
  });

  it('works on few and unsorted samples', () => {
    expect(percentile([30, 10, 20], 50)).toBe(20);
    expect(percentile([30, 10, 20], 99)).toBe(30);
    expect(percentile([7], 50)).toBe(7);
    expect(percentileOfSorted([1, 2, 3, 4], 25)).toBe(1);
    expect(percentileOfSorted([1, 2, 3, 4], 26)).toBe(2);
    expect(Number.isNaN(percentile([], 50))).toBe(true);
  });

  it('summarizes, ignoring non-finite samples; nothing for no samples', () => {
    expect(summarize([4, 1, 3, 2, Number.NaN])).toEqual({
      count: 4,
      min: 1,
      mean: 2.5,
      p50: 2,
      p95: 4,
      p99: 4,
      max: 4,
    });
    expect(summarize([])).toBeUndefined();
    expect(summarize([Number.POSITIVE_INFINITY])).toBeUndefined();
  });
});

describe('peakOverlap', () => {
  it('counts the most intervals open at once', () => {
    expect(
      peakOverlap([
        { start: 0, end: 10 },
        { start: 2, end: 5 },
        { start: 4, end: 12 },
        { start: 11, end: 13 },
      ]),
    ).toBe(3);
    expect(peakOverlap([])).toBe(0);
  });

  it('does not count a slot handed from one job to the next as two', () => {
    expect(
      peakOverlap([
        { start: 0, end: 5 },
        { start: 5, end: 10 },
      ]),
    ).toBe(1);
  });
});
