// Progress while the sweep runs, on stderr: a bar redrawn in place on a terminal, plain lines every few
// seconds otherwise (CI logs, pipes), so output stays readable either way.
import type { LevelPlan } from './plan.ts';
import type { LevelResult } from './report.ts';
import { formatBytes, formatDuration } from './units.ts';

export interface LevelProgress {
  jobs: number;
  accepted: number;
  running: number;
  finished: number;
  elapsedMs: number;
  rssBytes: number | undefined;
}

export interface ProgressSink {
  levelStarted(plan: LevelPlan, index: number, count: number): void;
  update(progress: LevelProgress): void;
  levelFinished(result: LevelResult): void;
  /** A line of its own (setup steps, warnings). */
  message(text: string): void;
  close(): void;
}

export function renderBar(done: number, total: number, width: number): string {
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const full = Math.floor(fraction * width);
  const partials = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
  const rest = Math.floor((fraction * width - full) * 8);
  const bar = '█'.repeat(full) + (full < width ? (partials[rest] ?? '') : '');
  return `▕${bar.padEnd(width, ' ')}▏`;
}

export function progressLine(level: string, p: LevelProgress): string {
  const parts = [
    `${level}`,
    `${p.finished}/${p.jobs} done`,
    `${p.running} running`,
    `${p.jobs - p.accepted} queued`,
  ];
  if (p.rssBytes !== undefined) parts.push(`manager RSS ${formatBytes(p.rssBytes)}`);
  parts.push(formatDuration(p.elapsedMs));
  return parts.join(' · ');
}

export function levelSummaryLine(r: LevelResult): string {
  const rate = r.jobsPerSecond === null ? '–' : r.jobsPerSecond.toFixed(1);
  const peak = r.manager.peakRssBytes === null ? '–' : formatBytes(r.manager.peakRssBytes);
  const bad = r.failedJobs + r.unfinishedJobs;
  return `concurrency ${r.concurrency}: ${r.jobs} jobs in ${formatDuration(r.wallSeconds * 1000)}, ${rate} jobs/s, peak ${r.peakRunning} running, manager peak RSS ${peak}${bad > 0 ? `, ${bad} not successful` : ''}${r.error ? ` — ${r.error}` : ''}`;
}

interface Stream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export function createProgress(stream: Stream, options: { plainIntervalMs?: number } = {}): ProgressSink {
  const tty = stream.isTTY === true;
  const plainEvery = options.plainIntervalMs ?? 5000;
  let label = '';
  let lastPlain = 0;
  let drawn = false;
  let last: LevelProgress | undefined;
  let lastDraw = 0;

  const clear = () => {
    if (tty && drawn) stream.write('\r\x1b[2K');
    drawn = false;
  };
  const draw = (p: LevelProgress) => {
    const columns = stream.columns ?? 100;
    const text = progressLine(label, p);
    const barWidth = Math.max(10, Math.min(30, columns - text.length - 4));
    const line = `${renderBar(p.finished, p.jobs, barWidth)} ${text}`;
    stream.write(`\r\x1b[2K${line.slice(0, columns - 1)}`);
    drawn = true;
  };

  return {
    levelStarted(plan, index, count) {
      label = `[${index + 1}/${count}] concurrency ${plan.concurrency}`;
      lastPlain = 0;
      if (!tty) stream.write(`${label}: ${plan.jobs} jobs (${plan.warmupJobs} warm-up)\n`);
    },
    update(p) {
      last = p;
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 100 && p.finished < p.jobs) return;
        lastDraw = now;
        draw(p);
      } else if (p.elapsedMs - lastPlain >= plainEvery) {
        lastPlain = p.elapsedMs;
        stream.write(`${progressLine(label, p)}\n`);
      }
    },
    levelFinished(result) {
      clear();
      stream.write(`${levelSummaryLine(result)}\n`);
      last = undefined;
    },
    message(text) {
      clear();
      stream.write(`${text}\n`);
      if (tty && last) draw(last);
    },
    close() {
      clear();
    },
  };
}
