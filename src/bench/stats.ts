// Summary statistics of the benchmark's samples. Percentiles are nearest-rank: the p-th percentile is the
// smallest sample that at least p% of the samples do not exceed, so it is always a value that was measured.

export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of samples sorted ascending; NaN for no samples. */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (p <= 0) return sorted[0] as number;
  const rank = Math.ceil((Math.min(p, 100) / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)] as number;
}

export function percentile(samples: readonly number[], p: number): number {
  return percentileOfSorted(
    [...samples].sort((a, b) => a - b),
    p,
  );
}

/** Undefined when there are no samples (a latency the mode cannot observe, or a level that ran no job). */
export function summarize(samples: readonly number[]): Summary | undefined {
  const finite = samples.filter((x) => Number.isFinite(x));
  if (finite.length === 0) return undefined;
  const sorted = finite.sort((a, b) => a - b);
  let sum = 0;
  for (const x of sorted) sum += x;
  return {
    count: sorted.length,
    min: sorted[0] as number,
    mean: sum / sorted.length,
    p50: percentileOfSorted(sorted, 50),
    p95: percentileOfSorted(sorted, 95),
    p99: percentileOfSorted(sorted, 99),
    max: sorted[sorted.length - 1] as number,
  };
}

/** Largest number of intervals [start, end) open at once. */
export function peakOverlap(intervals: ReadonlyArray<{ start: number; end: number }>): number {
  const edges: Array<[number, number]> = [];
  for (const { start, end } of intervals) {
    edges.push([start, 1]);
    edges.push([end, -1]);
  }
  // ends before starts at the same instant: a slot handed from one job to the next is not two jobs
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let peak = 0;
  for (const [, d] of edges) {
    open += d;
    if (open > peak) peak = open;
  }
  return peak;
}
