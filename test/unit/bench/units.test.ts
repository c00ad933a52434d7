import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatMs,
  formatTickMs,
  parseDuration,
  parseLevels,
  parseSize,
} from '../../../src/bench/units.ts';

describe('command-line units', () => {
  it('parses sizes in bytes, SI and binary units', () => {
    expect(parseSize('64KiB')).toBe(65_536);
    expect(parseSize('1MiB')).toBe(1_048_576);
    expect(parseSize('4kB')).toBe(4000);
    expect(parseSize('512')).toBe(512);
    expect(parseSize('0')).toBe(0);
    expect(parseSize('1.5k')).toBe(1536);
    expect(parseSize('12 parsecs')).toBeUndefined();
    expect(parseSize('-1KiB')).toBeUndefined();
    expect(parseSize('')).toBeUndefined();
  });

  it('parses durations like Go', () => {
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('soon')).toBeUndefined();
  });

  it('parses concurrency levels', () => {
    expect(parseLevels('10,100, 500,1000')).toEqual([10, 100, 500, 1000]);
    expect(parseLevels('10,,100')).toBeUndefined();
    expect(parseLevels('0,10')).toBeUndefined();
    expect(parseLevels('ten')).toBeUndefined();
    expect(parseLevels('1.5')).toBeUndefined();
  });

  it('formats for people', () => {
    expect(formatBytes(65_536)).toBe('64.0 KiB');
    expect(formatBytes(300 * 1024 * 1024)).toBe('300.0 MiB');
    expect(formatBytes(12)).toBe('12 B');
    expect(formatMs(0)).toBe('0ms');
    expect(formatMs(2.34)).toBe('2.3ms');
    expect(formatMs(143)).toBe('143ms');
    expect(formatMs(1234)).toBe('1.23s');
    expect(formatMs(21_400)).toBe('21.4s');
    expect(formatTickMs(1)).toBe('1 ms');
    expect(formatTickMs(1000)).toBe('1 s');
    expect(formatTickMs(120_000)).toBe('2 min');
    expect(formatTickMs(0.1)).toBe('100 µs');
  });
});
