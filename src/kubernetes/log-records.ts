// Parsing of `pods/log?timestamps=true` streams into records, and the bookkeeping that lets a
// follower resume after a dropped stream with no line lost or repeated: the API server only accepts
// `sinceTime` in whole seconds, so a resumed stream repeats the lines of the last second; the filter
// skips exactly the ones already delivered.

export interface LogRecord {
  /** The kubelet's write time (RFC 3339 with nanoseconds), as sent. */
  timestamp: string;
  /** The line's bytes, including its trailing `\n` (absent only on a container's last line). */
  data: Buffer;
}

const NEWLINE = 0x0a;
const SPACE = 0x20;

/** Splits a byte stream into timestamped records; keeps an unterminated tail until more arrives. */
export class LogRecordParser {
  #pending: Buffer = Buffer.alloc(0);

  /** Complete records in `chunk` (and before it). */
  push(chunk: Buffer): LogRecord[] {
    const buf = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    const out: LogRecord[] = [];
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(NEWLINE, start);
      if (nl < 0) break;
      const record = parseRecord(buf.subarray(start, nl + 1));
      if (record) out.push(record);
      start = nl + 1;
    }
    this.#pending = start < buf.length ? Buffer.from(buf.subarray(start)) : Buffer.alloc(0);
    return out;
  }

  /** The unterminated tail as a final record (call only when the stream ended for good). */
  finish(): LogRecord | undefined {
    const tail = this.#pending;
    this.#pending = Buffer.alloc(0);
    return tail.length ? parseRecord(tail) : undefined;
  }

  /** Forgets the unterminated tail (the stream dropped; the line will be sent again). */
  discard(): void {
    this.#pending = Buffer.alloc(0);
  }
}

function parseRecord(line: Buffer): LogRecord | undefined {
  const space = line.indexOf(SPACE);
  if (space <= 0) return undefined;
  return { timestamp: line.subarray(0, space).toString('latin1'), data: line.subarray(space + 1) };
}

/** A sortable form of an RFC 3339 timestamp: fraction padded to 9 digits, UTC `Z`. */
export function timestampKey(ts: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(ts);
  if (!m) return ts;
  const [, base, frac = '', zone] = m;
  if (zone === 'Z') return `${base}.${frac.padEnd(9, '0')}Z`;
  const ms = Date.parse(`${base}${zone}`);
  return `${new Date(ms).toISOString().slice(0, 19)}.${frac.padEnd(9, '0')}Z`;
}

/** Drops records a resumed stream repeats. */
export class ResumeFilter {
  #lastKey = '';
  #lastTimestamp: string | undefined;
  /** Records delivered with exactly #lastKey. */
  #countAtLast = 0;
  /** Of those, how many a resumed stream has not repeated yet. */
  #toSkip = 0;

  /** Call before reading a new stream that starts at `sinceTime()`. */
  resume(): void {
    this.#toSkip = this.#countAtLast;
  }

  /** True when the record is new and should be delivered. */
  accept(record: LogRecord): boolean {
    const key = timestampKey(record.timestamp);
    if (key < this.#lastKey) return false;
    if (key === this.#lastKey) {
      if (this.#toSkip > 0) {
        this.#toSkip--;
        return false;
      }
      this.#countAtLast++;
      return true;
    }
    this.#lastKey = key;
    this.#lastTimestamp = record.timestamp;
    this.#countAtLast = 1;
    this.#toSkip = 0;
    return true;
  }

  /** Where a resumed stream must start (undefined: from the beginning). */
  sinceTime(): string | undefined {
    return this.#lastTimestamp;
  }
}
