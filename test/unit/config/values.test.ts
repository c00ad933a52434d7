import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  formatGoDuration,
  goDuration,
  parseGoDuration,
  quantity,
  stringOrArray,
} from '../../../src/config/schema/values.ts';

describe('Go durations', () => {
  it.each([
    ['15m', 900_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
    ['500ms', 500],
    ['2h0m0s', 7_200_000],
    ['-2m', -120_000],
    ['0', 0],
    ['100us', 0.1],
  ])('%s is %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms);
  });

  it.each(['15', 'm', '1 h', '10x', ''])('%j is not a duration', (text) => {
    expect(parseGoDuration(text)).toBeNull();
  });

  it('reads a bare integer as nanoseconds, like Go, and formats like Go', () => {
    expect(goDuration.parse(5_000_000_000)).toBe(5000);
    expect(formatGoDuration(3_600_000)).toBe('1h0m0s');
    expect(formatGoDuration(90_000)).toBe('1m30s');
    expect(formatGoDuration(250)).toBe('250ms');
  });
});

describe('quantities and string-or-array', () => {
  it.each(['500m', '2', '1.5', '256Mi', '1Gi', '1e3', '10G'])('%s is a quantity', (q) => {
    expect(quantity.parse(q)).toBe(q);
  });
  it.each(['lots', '1 Gi', '5mb'])('%s is not a quantity', (q) => {
    expect(quantity.safeParse(q).success).toBe(false);
  });
  it('takes a string or a list', () => {
    expect(stringOrArray.parse('always')).toEqual(['always']);
    expect(stringOrArray.parse(['never', 'always'])).toEqual(['never', 'always']);
    expect(z.object({ p: stringOrArray }).safeParse({ p: 3 }).success).toBe(false);
  });
});
