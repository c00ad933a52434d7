import { describe, expect, it } from 'vitest';
import { createProgress, progressLine, renderBar } from '../../../src/bench/progress.ts';
import { level } from './fixtures.ts';

function sink(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns: 120, write: (t: string) => writes.push(t) } };
}

const plan = { concurrency: 5, jobs: 40, warmupJobs: 5 };
const at = (finished: number, elapsedMs: number) => ({
  jobs: 40,
  accepted: Math.min(40, finished + 5),
  running: 5,
  finished,
  elapsedMs,
  rssBytes: 50 * 1024 * 1024,
});

describe('progress', () => {
  it('draws a bar of the done fraction', () => {
    expect(renderBar(0, 10, 10)).toBe(`▕${' '.repeat(10)}▏`);
    expect(renderBar(5, 10, 10)).toBe(`▕${'█'.repeat(5)}${' '.repeat(5)}▏`);
    expect(renderBar(10, 10, 10)).toBe(`▕${'█'.repeat(10)}▏`);
    // 1/16 of 10 cells = 0.625 cell: the five-eighths block
    expect(renderBar(1, 16, 10)).toBe(`▕▋${' '.repeat(9)}▏`);
    expect(progressLine('[1/2] concurrency 5', at(10, 3000))).toBe(
      '[1/2] concurrency 5 · 10/40 done · 5 running · 25 queued · manager RSS 50.0 MiB · 3s',
    );
  });

  it('redraws one line in place on a terminal and ends it with the level summary', () => {
    const { writes, stream } = sink(true);
    const p = createProgress(stream);
    p.levelStarted(plan, 0, 2);
    p.update(at(10, 1000));
    p.update(at(20, 2000)); // within 100 ms of the last draw: skipped
    p.update(at(40, 3000)); // the last one is always drawn
    p.levelFinished(level(5, 40));
    p.close();
    const draws = writes.filter((w) => w.startsWith('\r\x1b[2K▕'));
    expect(draws).toHaveLength(2);
    expect(draws[1]).toContain('40/40 done');
    expect(writes.some((w) => w.includes('\n') && w.startsWith('\r'))).toBe(false);
    expect(writes.at(-1)).toMatch(/^concurrency 5: 40 jobs in \d+s, [\d.]+ jobs\/s, peak 5 running/);
  });

  it('prints plain lines, every few seconds, when stderr is not a terminal', () => {
    const { writes, stream } = sink(false);
    const p = createProgress(stream, { plainIntervalMs: 5000 });
    p.levelStarted(plan, 1, 2);
    for (let t = 0; t <= 12_000; t += 1000) p.update(at(Math.min(40, t / 300), t));
    p.message('a message');
    p.levelFinished(level(5, 40));
    expect(writes.every((w) => !w.includes('\r') && !w.includes('\x1b') && w.endsWith('\n'))).toBe(true);
    expect(writes[0]).toBe('[2/2] concurrency 5: 40 jobs (5 warm-up)\n');
    expect(writes.filter((w) => w.includes('done ·'))).toHaveLength(2); // at 5 s and 10 s
    expect(writes).toContain('a message\n');
  });
});
