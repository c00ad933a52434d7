import { describe, expect, it } from 'vitest';
import {
  formatMicroTime,
  formatNanoTime,
  formatTime,
  humanDuration,
} from '../../../src/sim/kube/api/time.ts';

describe('time formats', () => {
  it('writes metav1.Time, MicroTime and the log prefix', () => {
    const ms = Date.parse('2025-03-01T10:00:05.123Z');
    expect(formatTime(ms)).toBe('2025-03-01T10:00:05Z');
    expect(formatMicroTime(ms)).toBe('2025-03-01T10:00:05.123000Z');
    expect(formatNanoTime(ms, 42)).toBe('2025-03-01T10:00:05.123000042Z');
  });

  it('prints durations like HumanDuration', () => {
    const s = 1000;
    const cases: [number, string][] = [
      [-5 * s, '<invalid>'],
      [-500, '0s'],
      [0, '0s'],
      [119 * s, '119s'],
      [120 * s, '2m'],
      [307 * s, '5m7s'],
      [179 * 60 * s, '179m'],
      [3 * 3600 * s, '3h'],
      [(7 * 3600 + 59 * 60) * s, '7h59m'],
      [47 * 3600 * s, '47h'],
      [(2 * 24 + 5) * 3600 * s, '2d5h'],
      [8 * 24 * 3600 * s, '8d'],
      [(2 * 365 + 3) * 24 * 3600 * s, '2y3d'],
      [9 * 365 * 24 * 3600 * s, '9y'],
    ];
    for (const [d, text] of cases) expect(humanDuration(d), String(d)).toBe(text);
  });
});
