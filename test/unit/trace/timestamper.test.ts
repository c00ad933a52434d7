import { describe, expect, it } from 'vitest';
import { parseTimestampMicros, Timestamper, type TimestampMicros } from '../../../src/trace/index.ts';

const T0 = parseTimestampMicros('2026-01-15T10:00:03.904512Z');

function collect(streamNumber = 1, type: 'O' | 'E' = 'O') {
  const parts: Buffer[] = [];
  let t = T0;
  const ts = new Timestamper(
    (b) => parts.push(Buffer.from(b)),
    streamNumber,
    type,
    () => t++,
  );
  return {
    ts,
    text: () => Buffer.concat(parts).toString('latin1'),
    setTime: (v: TimestampMicros) => {
      t = v;
    },
  };
}

describe('timestamper', () => {
  it('prefixes each line with the RFC 3339 time, stream number, stream type and flag', () => {
    const { ts, text } = collect(1, 'O');
    ts.write(Buffer.from('one\ntwo\n'));
    expect(text()).toBe('2026-01-15T10:00:03.904512Z 01O one\n2026-01-15T10:00:03.904513Z 01O two\n');
  });

  it('uses hex stream numbers and E for stderr', () => {
    const { ts, text } = collect(15, 'E');
    ts.write(Buffer.from('svc\n'));
    expect(text()).toBe('2026-01-15T10:00:03.904512Z 0fE svc\n');
  });

  it('stamps records with the time given to the write', () => {
    const { ts, text } = collect();
    ts.write(Buffer.from('a\nb'), parseTimestampMicros('2027-02-03T04:05:06.000007891Z'));
    ts.write(Buffer.from('c\n'), parseTimestampMicros('2027-02-03T04:05:59Z'));
    expect(text()).toBe('2027-02-03T04:05:06.000007Z 01O a\n2027-02-03T04:05:06.000007Z 01O bc\n');
  });

  it('buffers a partial line until its newline, under one header', () => {
    const { ts, text } = collect();
    ts.write(Buffer.from('par'));
    expect(text()).toBe('');
    ts.write(Buffer.from('tial\nnext'));
    expect(text()).toBe('2026-01-15T10:00:03.904512Z 01O partial\n');
    ts.close();
    expect(text()).toBe('2026-01-15T10:00:03.904512Z 01O partial\n2026-01-15T10:00:03.904513Z 01O next\n');
  });

  it('flushes a write without newline at its last \\r, inserting \\n, and continues with +', () => {
    const { ts, text } = collect();
    ts.write(Buffer.from('progress 10%\rprogress 20%\rpro'));
    ts.write(Buffer.from('gress 30%\n'));
    expect(text()).toBe(
      '2026-01-15T10:00:03.904512Z 01O progress 10%\rprogress 20%\r\n' +
        '2026-01-15T10:00:03.904513Z 01O+progress 30%\n',
    );
  });

  it('splits a partial line over 8 KiB, inserting \\n and continuing with +', () => {
    const { ts, text } = collect();
    ts.write(Buffer.alloc(5000, 0x61));
    ts.write(Buffer.alloc(5000, 0x62));
    ts.write(Buffer.from('c\n'));
    expect(text()).toBe(
      `2026-01-15T10:00:03.904512Z 01O ${'a'.repeat(5000)}${'b'.repeat(5000)}\n` +
        '2026-01-15T10:00:03.904513Z 01O+c\n',
    );
  });

  it('caches the date per second and rolls over correctly', () => {
    const { ts, text, setTime } = collect();
    setTime(parseTimestampMicros('2026-12-31T23:59:59.999999Z'));
    ts.write(Buffer.from('x\ny\n'));
    expect(text()).toBe('2026-12-31T23:59:59.999999Z 01O x\n2027-01-01T00:00:00.000000Z 01O y\n');
  });

  it('parses kubelet timestamps and rejects garbage', () => {
    expect(parseTimestampMicros('1970-01-01T00:00:01.5Z')).toBe(1_500_000);
    expect(parseTimestampMicros('1970-01-01T01:00:00+01:00')).toBe(0);
    expect(() => parseTimestampMicros('yesterday')).toThrow(/invalid RFC 3339/);
  });

  it('parses runs of records from one second, and the next second, alike', () => {
    const base = Date.parse('2026-11-26T10:00:00Z') * 1000;
    expect(parseTimestampMicros('2026-11-26T10:00:00.000001Z')).toBe(base + 1);
    expect(parseTimestampMicros('2026-11-26T10:00:00.999999999Z')).toBe(base + 999_999);
    expect(parseTimestampMicros('2026-11-26T10:00:01Z')).toBe(base + 1_000_000);
    expect(parseTimestampMicros('2026-11-26T11:00:01+01:00')).toBe(base + 1_000_000);
    expect(() => parseTimestampMicros('2026-13-26T10:00:01Z')).toThrow(/invalid RFC 3339/);
  });
});
