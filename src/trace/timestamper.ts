// FF_TIMESTAMPS: every log record gets `<YYYY-MM-DDTHH:MM:SS.ffffffZ> <SS><O|E><' '|'+'>` in front.
// A line-for-line port of gitlab-runner v18.11.4's timestamper (buildlogger/internal/timestamper):
// a record ends at each `\n`; a write without `\n` that has a `\r` is flushed up to its last `\r`
// with an inserted `\n`, and the rest continues in a `+` record; a partial line over 8 KiB is
// flushed with an inserted `\n` too. Times come from the caller so output is reproducible.
import { ownedBytes } from './owned-bytes.ts';

/** Stream numbers: 00 runner messages, 01 job output, 0f and up service containers. */
export const STREAM_RUNNER = 0;
export const STREAM_JOB = 1;
export const STREAM_FIRST_SERVICE = 15;

export type StreamType = 'O' | 'E';

/** Microseconds since the Unix epoch (exact in a double until the year 2255). */
export type TimestampMicros = number;

const BUF_SIZE = 8 * 1024;
const NEWLINE = 0x0a;
const CR = 0x0d;
const LF_BYTES = Buffer.from('\n');

/** The last whole second parsed: log records come in runs from the same second (Date.parse is slow). */
let lastSecond = { text: '', ms: 0 };

/** `2026-01-15T10:00:03.904512345Z` (kubelet log timestamps, RFC 3339 with any fraction) → µs. */
export function parseTimestampMicros(rfc3339: string): TimestampMicros {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(rfc3339);
  if (!m) throw new Error(`invalid RFC 3339 timestamp: ${JSON.stringify(rfc3339)}`);
  const secondText = `${m[1]}${m[3]}`;
  let seconds: number;
  if (secondText === lastSecond.text) seconds = lastSecond.ms;
  else {
    seconds = Date.parse(secondText);
    if (Number.isNaN(seconds)) throw new Error(`invalid RFC 3339 timestamp: ${JSON.stringify(rfc3339)}`);
    lastSecond = { text: secondText, ms: seconds };
  }
  const micros = Number((m[2] ?? '').padEnd(6, '0').slice(0, 6));
  return seconds * 1000 + micros;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

/**
 * Formats record headers into one reused buffer; the date part is rewritten only when the second
 * changes (like upstream). The returned buffer is valid until the next call.
 */
class HeaderFormatter {
  private cachedSecond = Number.NaN;
  private readonly header: Buffer;

  constructor(streamNumber: number, streamType: StreamType) {
    this.header = ownedBytes(
      `0000-00-00T00:00:00.000000Z ${(streamNumber & 0xff).toString(16).padStart(2, '0')}${streamType} `,
      'latin1',
    );
  }

  format(micros: TimestampMicros, flag: ' ' | '+'): Buffer {
    const h = this.header;
    const second = Math.floor(micros / 1_000_000);
    if (second !== this.cachedSecond) {
      const d = new Date(second * 1000);
      h.write(
        `${String(d.getUTCFullYear()).padStart(4, '0')}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}` +
          `T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`,
        0,
        'latin1',
      );
      this.cachedSecond = second;
    }
    let frac = micros - second * 1_000_000;
    for (let i = 25; i >= 20; i--) {
      h[i] = 0x30 + (frac % 10);
      frac = Math.floor(frac / 10);
    }
    h[h.length - 1] = flag === '+' ? 0x2b : 0x20;
    return h;
  }
}

/** Receives output synchronously; it must copy what it keeps (header buffers are reused). */
export type ByteSink = (bytes: Uint8Array) => void;

export class Timestamper {
  private readonly header: HeaderFormatter;
  /** A partial line (with its header) waiting for `\n`. */
  private buf: Uint8Array[] = [];
  private bufLen = 0;
  private flag: ' ' | '+' = ' ';
  private at: TimestampMicros = 0;
  private readonly sink: ByteSink;
  private readonly clock: () => TimestampMicros;

  constructor(sink: ByteSink, streamNumber: number, streamType: StreamType, clock: () => TimestampMicros) {
    this.sink = sink;
    this.clock = clock;
    this.header = new HeaderFormatter(streamNumber, streamType);
  }

  /** `at` stamps every record this write opens; without it each header reads the clock. */
  write(p: Uint8Array, at?: TimestampMicros): void {
    this.at = at ?? Number.NaN;
    let n = this.writeLines(p);
    if (n === p.length) return;
    n += this.writeCarriageReturns(n === 0 ? p : p.subarray(n));
    if (n === p.length) return;
    this.buffer(n === 0 ? p : p.subarray(n));
  }

  /** End of stream: a partial line is closed with `\n`. */
  close(): void {
    if (this.bufLen === 0) return;
    this.buf.push(LF_BYTES);
    this.flushBuf();
  }

  private now(): TimestampMicros {
    return Number.isNaN(this.at) ? this.clock() : this.at;
  }

  private makeHeader(): Buffer {
    const h = this.header.format(this.now(), this.flag);
    this.flag = ' ';
    return h;
  }

  private flushBuf(): void {
    for (const part of this.buf) this.sink(part);
    this.buf = [];
    this.bufLen = 0;
  }

  private writeLines(p: Uint8Array): number {
    let idx = p.indexOf(NEWLINE);
    if (idx === -1) return 0;
    let n = 0;
    if (this.bufLen > 0) {
      this.flushBuf();
      this.sink(p.subarray(0, idx + 1));
      n = idx + 1;
    }
    for (;;) {
      idx = p.indexOf(NEWLINE, n);
      if (idx === -1) return n;
      this.sink(this.makeHeader());
      this.sink(n === 0 && idx === p.length - 1 ? p : p.subarray(n, idx + 1));
      n = idx + 1;
    }
  }

  private writeCarriageReturns(p: Uint8Array): number {
    const idx = p.lastIndexOf(CR);
    if (idx === -1) return 0;
    if (this.bufLen > 0) this.flushBuf();
    else this.sink(this.makeHeader());
    this.flag = '+';
    this.sink(p.subarray(0, idx + 1));
    this.sink(LF_BYTES);
    return idx + 1;
  }

  private buffer(p: Uint8Array): void {
    if (p.length === 0) return;
    if (p.length + this.bufLen > BUF_SIZE) {
      if (this.bufLen === 0) this.sink(this.makeHeader());
      this.flushBuf();
      this.flag = '+';
      this.sink(p);
      this.sink(LF_BYTES);
      return;
    }
    if (this.bufLen === 0) {
      const h = ownedBytes(this.makeHeader());
      this.buf.push(h);
      this.bufLen += h.length;
    }
    // The caller may reuse its buffer: keep a copy of what waits here.
    this.buf.push(ownedBytes(p));
    this.bufLen += p.length;
  }
}
