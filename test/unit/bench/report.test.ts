import { describe, expect, it } from 'vitest';
import { analyzeLevel } from '../../../src/bench/analyze.ts';
import { busyNote, targetNotes } from '../../../src/bench/build-report.ts';
import { parseReport, ReportError, reportSchema } from '../../../src/bench/report.ts';
import { level, observations, report, syntheticJobs } from './fixtures.ts';

describe('report schema', () => {
  it('accepts what the bench builds, and reads it back from JSON unchanged', () => {
    const r = report('virtual', [level(2, 40, true), level(5, 40, true)]);
    const back = parseReport(JSON.parse(JSON.stringify(r)));
    expect(back).toEqual(r);
    expect(back.mode).toBe('virtual');
    expect(back.modeDescription).toMatch(/virtual mode/);
    expect(back.settings.jobsPerLevelRule).toMatch(/min\(--jobs/);
    expect(back.levels.map((l) => l.concurrency)).toEqual([2, 5]);
  });

  it('refuses a file that is not a report, naming the fields', () => {
    const r = JSON.parse(JSON.stringify(report())) as Record<string, unknown>;
    let error: unknown;
    try {
      parseReport({ ...r, mode: 'docker', levels: [{ concurrency: -1 }] });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ReportError);
    expect((error as ReportError).code).toBe('BENCH_REPORT_INVALID');
    expect((error as Error).message).toMatch(/mode/);
    expect((error as Error).message).toMatch(/levels\.0/);
    expect(() => parseReport('nope')).toThrow(ReportError);
  });

  it('marks latencies a mode cannot observe as null rather than leaving them out', () => {
    const r = report('fake');
    const shape = reportSchema.shape.levels.element.shape.latencyMs;
    expect(Object.keys(r.levels[0]?.latencyMs ?? {}).sort()).toEqual(Object.keys(shape.shape).sort());
    expect(r.levels[0]?.latencyMs.podStartedToFirstTrace).toBeNull();
    expect(r.levels[0]?.requests.kubernetes).toBeNull();
  });
});

describe('notes', () => {
  it('holds the figures against the targets without asserting them', () => {
    const notes = targetNotes('fake', [level(2, 40)]);
    expect(notes.some((n) => /no level had 1,000 jobs running at once/.test(n))).toBe(true);
    expect(notes.some((n) => /best sustained start rate: [\d.]+ jobs\/s/.test(n))).toBe(true);
    expect(notes.some((n) => /fake executor: no pods/.test(n))).toBe(true);
    const big = analyzeLevel(observations(1000, syntheticJobs(1000, 4000, 1000, { startGapMs: 0.1 })));
    expect(big.peakRunning).toBe(1000);
    expect(
      targetNotes('virtual', [big]).some((n) => /1000 jobs running at once with a peak manager RSS/.test(n)),
    ).toBe(true);
  });

  it('says when the machine was busier than its CPUs', () => {
    const machine = report().machine;
    expect(busyNote({ ...machine, loadAverage: { start: 0.5, end: 1.9 } })).toBeUndefined();
    expect(busyNote({ ...machine, loadAverage: { start: 0.5, end: 6.2 } })).toMatch(
      /load average 0.5 → 6.2 on 2 CPUs/,
    );
  });
});
