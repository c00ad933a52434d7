// What the helper prints, in gitlab-runner's words and colours (gitlab-runner-api.md §4.4): stage
// sections with their cyan titles, the shell writer's notices and warnings, the helper binary's
// logrus lines (`WARNING: …`, `ERROR: …` with sorted key=value fields). Everything is masked.
import { Masker } from './mask.ts';

export const ANSI = {
  clear: '\x1b[0K',
  reset: '\x1b[0;m',
  boldGreen: '\x1b[32;1m',
  boldCyan: '\x1b[36;1m',
  boldRed: '\x1b[31;1m',
  boldWhite: '\x1b[37;1m',
  yellow: '\x1b[0;33m',
} as const;

export interface TextSink {
  write(text: string): void;
}

export type LogLevel = 'debug' | 'info' | 'warning' | 'error' | 'fatal';

/** Stage titles, as upstream's `GetStageDescription`. */
export const STAGE_TITLES = {
  get_sources: 'Getting source from Git repository',
  clear_worktree: 'Deleting all tracked and untracked files due to source fetch failure',
  restore_cache: 'Restoring cache',
  download_artifacts: 'Downloading artifacts',
  archive_cache: 'Saving cache for successful job',
  archive_cache_on_failure: 'Saving cache for failed job',
  upload_artifacts_on_success: 'Uploading artifacts for successful job',
  upload_artifacts_on_failure: 'Uploading artifacts for failed job',
} as const;
export type StageName = keyof typeof STAGE_TITLES;

export class Trace {
  readonly #sink: TextSink;
  #masker: Masker;
  readonly #sections: boolean;
  readonly #now: () => number;

  constructor(sink: TextSink, options: { masker?: Masker; sections?: boolean; now?: () => number } = {}) {
    this.#sink = sink;
    this.#masker = options.masker ?? new Masker([]);
    this.#sections = options.sections ?? true;
    this.#now = options.now ?? Date.now;
  }

  setMasker(masker: Masker): void {
    this.#masker = masker;
  }

  mask(text: string): string {
    return this.#masker.mask(text);
  }

  /** Masked bytes as they are. */
  raw(text: string): void {
    if (text !== '') this.#sink.write(this.#masker.mask(text));
  }

  sectionStart(name: string): void {
    if (this.#sections)
      this.#sink.write(`section_start:${Math.floor(this.#now() / 1000)}:${name}\r${ANSI.clear}`);
  }

  sectionEnd(name: string): void {
    if (this.#sections)
      this.#sink.write(`section_end:${Math.floor(this.#now() / 1000)}:${name}\r${ANSI.clear}\n`);
  }

  /** A stage section with its title line, as upstream's `executeStage`. */
  async stage<T>(name: StageName, run: () => Promise<T>): Promise<T> {
    this.sectionStart(name);
    this.println(`${ANSI.boldCyan}${STAGE_TITLES[name]}${ANSI.reset}`);
    try {
      return await run();
    } finally {
      this.sectionEnd(name);
    }
  }

  /** The executor logger's plain line. */
  println(text: string): void {
    this.raw(`${ANSI.clear}${text}${ANSI.reset}\n`);
  }

  /** The shell writer's `Noticef` (bold green). */
  notice(text: string): void {
    this.raw(`${ANSI.boldGreen}${text}${ANSI.reset}\n`);
  }

  /** The shell writer's `Warningf` (yellow, no prefix). */
  warning(text: string): void {
    this.raw(`${ANSI.yellow}${text}${ANSI.reset}\n`);
  }

  /** The shell writer's `Printf`. */
  printf(text: string): void {
    this.raw(`${ANSI.reset}${text}\n`);
  }

  /** The helper binary's logrus line (`RunnerTextFormatter`): message padded to 50, sorted fields. */
  log(level: LogLevel, message: string, fields: Record<string, string | number> = {}): void {
    const { color, prefix } = LEVELS[level];
    let line = `${color}${prefix}${message.padEnd(50 - prefix.length)}${ANSI.reset} `;
    for (const key of Object.keys(fields).sort()) line += ` ${color}${key}${ANSI.reset}=${fields[key]}`;
    this.raw(`${line}\n`);
  }

  /** A line-buffered sink for a child process's output: whole lines are masked and written. */
  lineStream(): { write(chunk: Buffer | string): void; end(): void } {
    let pending = '';
    return {
      write: (chunk) => {
        pending += chunk.toString();
        const cut = Math.max(pending.lastIndexOf('\n'), pending.lastIndexOf('\r'));
        if (cut >= 0) {
          this.raw(pending.slice(0, cut + 1));
          pending = pending.slice(cut + 1);
        }
      },
      end: () => {
        if (pending !== '') this.raw(`${pending}\n`);
        pending = '';
      },
    };
  }
}

const LEVELS: Record<LogLevel, { color: string; prefix: string }> = {
  debug: { color: ANSI.boldWhite, prefix: '' },
  info: { color: '', prefix: '' },
  warning: { color: ANSI.yellow, prefix: 'WARNING: ' },
  error: { color: ANSI.boldRed, prefix: 'ERROR: ' },
  fatal: { color: ANSI.boldRed, prefix: 'FATAL: ' },
};

/** upstream's `meter.FormatBytes` (SI units). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  let div = 1000;
  let exp = 0;
  for (let n = Math.floor(bytes / 1000); n >= 1000; n = Math.floor(n / 1000)) {
    div *= 1000;
    exp++;
  }
  return `${(bytes / div).toFixed(2)} ${'KMGTPE'[exp]}B`;
}

export function formatRate(bytes: number, ms: number): string {
  const perSecond = Math.floor(bytes / Math.max(ms / 1000, 1e-9));
  if (perSecond < 1000) return `${perSecond} B/s`;
  const text = formatBytes(perSecond);
  return `${text.replace(/\.(\d)\d/, '.$1')}/s`;
}

/**
 * A progress line every `intervalMs` while a transfer runs (upstream's transfer meter, one line per
 * update instead of `\r` rewrites so the relayed log stays line-based); short transfers print nothing.
 */
export class TransferMeter {
  readonly #trace: Trace;
  readonly #label: string;
  readonly #total: number | undefined;
  readonly #intervalMs: number;
  readonly #started = Date.now();
  #last = Date.now();
  #bytes = 0;
  #printed = false;

  constructor(trace: Trace, label: string, options: { total?: number; intervalMs: number }) {
    this.#trace = trace;
    this.#label = label;
    this.#total = options.total;
    this.#intervalMs = options.intervalMs;
  }

  get bytes(): number {
    return this.#bytes;
  }

  add(count: number): void {
    this.#bytes += count;
    if (this.#intervalMs <= 0) return;
    const now = Date.now();
    if (now - this.#last >= this.#intervalMs) {
      this.#last = now;
      this.#print();
    }
  }

  done(): void {
    if (this.#printed) this.#print();
  }

  #print(): void {
    this.#printed = true;
    const known = this.#total === undefined ? '' : `/${formatBytes(this.#total)}`;
    this.#trace.printf(
      `${this.#label} ${formatBytes(this.#bytes)}${known} (${formatRate(this.#bytes, Date.now() - this.#started)})`,
    );
  }
}
