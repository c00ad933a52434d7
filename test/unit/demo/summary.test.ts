// The demo's closing table and failure lines.
import { describe, expect, it } from 'vitest';
import { createStyle, wantColor } from '../../../src/demo/style.ts';
import {
  errorLine,
  failureLines,
  type JobSummary,
  renderSummaryTable,
  statusLabel,
  timeBreakdown,
} from '../../../src/demo/summary.ts';

const job = (over: Partial<JobSummary>): JobSummary => ({
  name: 'job',
  stage: 'test',
  status: 'success',
  allowFailure: false,
  durationSeconds: 4.25,
  failureReason: null,
  lines: [],
  ...over,
});

const TIME = 'Time: queued 0ms, scheduled 0ms, image pull 1.0s, init/clone 4.0s, script 0ms (total 5.0s)';

describe('summary', () => {
  it('lines up job, stage, status, duration and where the time went', () => {
    const lines = renderSummaryTable(
      [
        job({ name: 'hello-kubernetes', lines: ['x', TIME, 'Job succeeded'] }),
        job({
          name: 'unit',
          status: 'failed',
          durationSeconds: 61,
          failureReason: 'script_failure',
          lines: [
            'Time: script 1m01s (total 1m01s)',
            'ERROR: Job failed: command terminated with exit code 3',
          ],
        }),
        job({ name: 'package', stage: 'build', status: 'skipped', durationSeconds: null }),
        job({ name: 'lint', status: 'canceled', durationSeconds: 0.2 }),
      ],
      createStyle(false),
    );
    expect(lines).toEqual([
      'JOB               STAGE  STATUS    DURATION  WHERE THE TIME WENT',
      'hello-kubernetes  test   passed    4.3s      queued 0ms, scheduled 0ms, image pull 1.0s, init/clone 4.0s, script 0ms (total 5.0s)',
      'unit              test   failed    1m01s     script 1m01s (total 1m01s)',
      'package           build  skipped   -         -',
      'lint              test   canceled  200ms     not reported',
    ]);
  });

  it('colours the status on a terminal, and only the status', () => {
    const [, row] = renderSummaryTable([job({ name: 'a', lines: [TIME] })], createStyle(true));
    expect(row).toBe(`a    test   \x1b[32mpassed\x1b[0m  4.3s      ${TIME.slice('Time: '.length)}`);
  });

  it('names each job that failed the pipeline and why; allowed failures do not count', () => {
    expect(
      failureLines([
        job({ name: 'a' }),
        job({
          name: 'unit',
          status: 'failed',
          failureReason: 'script_failure',
          lines: ['ERROR: Job failed: command terminated with exit code 3'],
        }),
        job({ name: 'flaky', status: 'failed', allowFailure: true, failureReason: 'script_failure' }),
        job({ name: 'gone', stage: 'build', status: 'failed', failureReason: null }),
      ]),
    ).toEqual([
      'Job unit (stage test) failed: script_failure: ERROR: Job failed: command terminated with exit code 3',
      'Job gone (stage build) failed: unknown_failure',
    ]);
    expect(statusLabel({ status: 'failed', allowFailure: true })).toBe('failed (allowed)');
  });

  it('takes the last time breakdown and the last error of a log', () => {
    expect(timeBreakdown(['Time: a', 'x', 'Time: b (total 1s)', 'y'])).toBe('b (total 1s)');
    expect(timeBreakdown(['Times: a'])).toBeUndefined();
    expect(errorLine(['ERROR: first', 'ERROR: second', 'after'])).toBe('ERROR: second');
  });

  it('colours only a terminal, unless NO_COLOR or FORCE_COLOR say otherwise, and never after --no-color', () => {
    expect(wantColor(true, { isTTY: true }, {})).toBe(true);
    expect(wantColor(true, { isTTY: false }, {})).toBe(false);
    expect(wantColor(true, {}, {})).toBe(false);
    expect(wantColor(false, { isTTY: true }, {})).toBe(false);
    expect(wantColor(true, { isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(wantColor(true, { isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(wantColor(false, { isTTY: false }, { FORCE_COLOR: '1' })).toBe(false);
    expect(wantColor(true, { isTTY: true }, { FORCE_COLOR: '0' })).toBe(false);
    expect(wantColor(true, { isTTY: false }, { FORCE_COLOR: '' })).toBe(true);
  });
});
