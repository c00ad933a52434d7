import { describe, expect, it } from 'vitest';
import {
  type LogRecord,
  LogRecordParser,
  ResumeFilter,
  timestampKey,
} from '../../../src/kubernetes/log-records.ts';

const ts = (sec: number, nanos: number) =>
  `2026-11-26T10:00:${String(sec).padStart(2, '0')}.${String(nanos).padStart(9, '0')}Z`;
const wire = (records: [string, string][]) => Buffer.from(records.map(([t, l]) => `${t} ${l}`).join(''));
const text = (records: LogRecord[]) => records.map((r) => r.data.toString()).join('');

describe('LogRecordParser', () => {
  it('splits timestamped lines across arbitrary chunk boundaries', () => {
    const bytes = wire([
      [ts(1, 1), 'hello\n'],
      [ts(1, 2), 'wörld\n'],
      [ts(2, 0), 'tail'],
    ]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const p = new LogRecordParser();
      const out = [...p.push(bytes.subarray(0, cut)), ...p.push(bytes.subarray(cut))];
      const tail = p.finish();
      expect(text(out)).toBe('hello\nwörld\n');
      expect(tail?.data.toString()).toBe('tail');
      expect(out[1]?.timestamp).toBe(ts(1, 2));
    }
  });

  it('discards a partial line when the stream dropped', () => {
    const p = new LogRecordParser();
    expect(p.push(Buffer.from(`${ts(1, 1)} par`))).toEqual([]);
    p.discard();
    expect(p.finish()).toBeUndefined();
  });
});

describe('ResumeFilter', () => {
  it('delivers every line exactly once across a resume that repeats the last second', () => {
    const all: [string, string][] = [
      [ts(1, 5), 'a\n'],
      [ts(2, 1), 'b\n'],
      [ts(2, 1), 'c\n'], // same timestamp twice
      [ts(2, 7), 'd\n'],
      [ts(3, 0), 'e\n'],
    ];
    const filter = new ResumeFilter();
    const seen: string[] = [];
    // First stream drops after 'c'.
    for (const [t, l] of all.slice(0, 3))
      if (filter.accept({ timestamp: t, data: Buffer.from(l) })) seen.push(l);
    expect(filter.sinceTime()).toBe(ts(2, 1));
    // The server resends from second 2 (sinceTime rounded down): b, c, d, e.
    filter.resume();
    for (const [t, l] of all.slice(1))
      if (filter.accept({ timestamp: t, data: Buffer.from(l) })) seen.push(l);
    expect(seen.join('')).toBe('a\nb\nc\nd\ne\n');
  });

  it('delivers a line with a repeated timestamp that was not seen before the drop', () => {
    const filter = new ResumeFilter();
    expect(filter.accept({ timestamp: ts(1, 1), data: Buffer.from('x\n') })).toBe(true);
    filter.resume();
    expect(filter.accept({ timestamp: ts(1, 1), data: Buffer.from('x\n') })).toBe(false);
    expect(filter.accept({ timestamp: ts(1, 1), data: Buffer.from('y\n') })).toBe(true);
  });

  it('orders timestamps with fewer fraction digits and offsets correctly', () => {
    expect(timestampKey('2026-11-26T10:00:01.5Z')).toBe('2026-11-26T10:00:01.500000000Z');
    expect(timestampKey('2026-11-26T11:00:01.5+01:00')).toBe('2026-11-26T10:00:01.500000000Z');
    expect(timestampKey('2026-11-26T10:00:01Z') < timestampKey('2026-11-26T10:00:01.000000001Z')).toBe(true);
  });
});
