// A job log as GitLab's log viewer shows it, for a terminal: bytes in (in any pieces, as the trace grows),
// display lines out. Timestamp prefixes (FF_TIMESTAMPS) are removed and their `+` continuation records
// joined back to the line they split, section markers are hidden (a section's header text stays, as the
// viewer's foldable title), a carriage return keeps what a terminal would show after it, and only
// colour sequences survive (or none, without colour).

/** `<RFC 3339 with 6 fractional digits> <stream 2 hex><O|E><' '|+>` (gitlab-runner-api.md §4.4). */
const TIMESTAMP_PREFIX = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z [0-9a-f]{2}[OE]([ +])/;
/** A section marker as it appears once prefixes are removed; the `\x1b[0K` is absent when a log was cut. */
const SECTION_MARKER = /section_(?:start|end):\d+:[A-Za-z0-9_.-]+(?:\[[^\]]*\])?\r(?:\x1b\[0K)?/g;
const SECTION_MARKER_ANYWHERE = /section_(?:start|end):\d+:[A-Za-z0-9_.-]+(?:\[[^\]]*\])?\r/;
const SGR = /\x1b\[[0-9;]*m/g;
/** Escape sequences other than colours (erase line, cursor moves, OSC titles) and stray control bytes. */
const NON_SGR =
  /\x1b\[[0-9;?]*[A-Za-ln-z@`]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[^[\]]|[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]/g;
const RESET = '\x1b[0m';

export interface TraceRenderOptions {
  color: boolean;
}

/** One logical line of a log, as the viewer shows it; `undefined` when the viewer shows nothing. */
export function renderLogLine(line: string, options: TraceRenderOptions): string | undefined {
  const hadMarker = SECTION_MARKER_ANYWHERE.test(line);
  let text = line.replace(SECTION_MARKER, '');
  if (text.endsWith('\r')) text = text.slice(0, -1);
  const cr = text.lastIndexOf('\r');
  if (cr >= 0) text = text.slice(cr + 1);
  text = text.replace(NON_SGR, '');
  const plain = text.replace(SGR, '');
  if (hadMarker && plain.trim() === '') return undefined;
  if (!options.color) return plain;
  return plain.length === text.length ? text : `${text}${RESET}`;
}

/** Follows one job's log: feed it the bytes that arrive, get the lines that are complete. */
export class TraceRenderer {
  private readonly decoder = new TextDecoder('utf-8');
  private rest = '';
  /** A line whose record ended at a `\r` flush: the next record may continue it (`+`). */
  private open: string | undefined;
  private readonly options: TraceRenderOptions;

  constructor(options: TraceRenderOptions) {
    this.options = options;
  }

  push(chunk: Uint8Array): string[] {
    this.rest += this.decoder.decode(chunk, { stream: true });
    const records = this.rest.split('\n');
    this.rest = records.pop() ?? '';
    const out: string[] = [];
    for (const record of records) this.record(record, out);
    return out;
  }

  /** The log is complete: what is still held comes out. */
  end(): string[] {
    this.rest += this.decoder.decode();
    const out: string[] = [];
    if (this.rest !== '') this.record(this.rest, out);
    this.rest = '';
    this.closeOpen(out);
    return out;
  }

  private record(record: string, out: string[]): void {
    const prefix = TIMESTAMP_PREFIX.exec(record);
    const content = prefix ? record.slice(prefix[0].length) : record;
    const continues = prefix?.[1] === '+';
    let line: string;
    if (continues && this.open !== undefined) {
      line = this.open + content;
      this.open = undefined;
    } else {
      this.closeOpen(out);
      line = content;
    }
    if (prefix && line.endsWith('\r')) {
      this.open = line;
      return;
    }
    this.emit(line, out);
  }

  private closeOpen(out: string[]): void {
    if (this.open === undefined) return;
    const line = this.open;
    this.open = undefined;
    this.emit(line, out);
  }

  private emit(line: string, out: string[]): void {
    const shown = renderLogLine(line, this.options);
    if (shown !== undefined) out.push(shown);
  }
}

/** The text of a log without prefixes, markers or colours (for searching it). */
export function plainLog(log: Uint8Array | string): string[] {
  const renderer = new TraceRenderer({ color: false });
  const bytes = typeof log === 'string' ? new TextEncoder().encode(log) : log;
  return [...renderer.push(bytes), ...renderer.end()];
}
