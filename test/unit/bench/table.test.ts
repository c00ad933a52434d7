import { describe, expect, it } from 'vitest';
import { latencyTable, renderGrid, renderReportText, throughputTable } from '../../../src/bench/table.ts';
import { level, report } from './fixtures.ts';

describe('terminal table', () => {
  it('aligns columns under a rule', () => {
    const text = renderGrid(
      ['a', 'long header'],
      [
        ['1', '2'],
        ['333', '4'],
      ],
      ['left', 'right'],
    );
    expect(text.split('\n')).toEqual([
      'a    long header',
      '───  ───────────',
      '1              2',
      '333            4',
    ]);
  });

  it('has one row per level with the figures of the report', () => {
    const levels = [level(2, 40), level(5, 40)];
    const lines = throughputTable(levels).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/concurrency\s+jobs\s+peak running\s+jobs\/s/);
    expect(lines[2]).toMatch(/^\s+2\s+40\s+2\s/);
    expect(lines[3]).toMatch(/^\s+5\s+40\s+5\s/);
    // no Kubernetes with the fake executor
    expect(lines[2]).toMatch(/\s–\s/);
    expect(lines[2]).toContain('100.0 MiB → 180.0 MiB');
  });

  it('prints p50 / p95 / p99 per latency and a dash where the mode cannot see it', () => {
    const lines = latencyTable([level(5, 100, true), level(2, 40)]).split('\n');
    expect(lines[0]).toContain('pod started → first trace byte');
    expect(lines[0]).toContain('container terminated → final state');
    expect(lines[2]).toContain('20ms / 20ms / 20ms');
    expect(lines[2]).toContain('30ms / 30ms / 30ms');
    expect(lines[3]).toMatch(/–/);
  });

  it('names the mode, the settings, errors and notes', () => {
    const r = report('fake', [
      { ...level(2, 40), error: 'the manager exited', failureReasons: { runner_system_failure: 3 } },
    ]);
    const text = renderReportText(r);
    expect(text).toMatch(/^podrunner bench — fake executor/);
    expect(text).toContain('jobs of 1.00s printing 1.0 KiB each');
    expect(text).toContain('! level 2: the manager exited');
    expect(text).toContain('! level 2: jobs not successful: 3 runner_system_failure');
    expect(text).toContain('note: a note');
  });
});
