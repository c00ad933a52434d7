// The table the demo ends with: each job's stage, status, duration and where its time went.
import { formatDuration } from '../trace/timing.ts';
import type { Style } from './style.ts';

export interface JobSummary {
  name: string;
  stage: string;
  /** GitLab's job status (`success`, `failed`, `canceled`, `skipped`, …). */
  status: string;
  allowFailure: boolean;
  durationSeconds: number | null;
  failureReason: string | null;
  /** The job log's display lines (no colours), for the time breakdown and the error. */
  lines: string[];
}

/** GitLab's words for job statuses in its UI. */
export function statusLabel(job: Pick<JobSummary, 'status' | 'allowFailure'>): string {
  if (job.status === 'success') return 'passed';
  if (job.status === 'failed' && job.allowFailure) return 'failed (allowed)';
  return job.status;
}

/** The runner's "where the time went" line (`Time: …`) without its label; the last one wins. */
export function timeBreakdown(lines: string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^Time: (.+)$/.exec(lines[i]?.trim() ?? '');
    if (m?.[1]) return m[1];
  }
  return undefined;
}

/** The runner's last `ERROR: …` line, which says why a job failed. */
export function errorLine(lines: string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]?.trim() ?? '';
    if (line.startsWith('ERROR: ')) return line;
  }
  return undefined;
}

function paint(style: Style, job: JobSummary, text: string): string {
  if (job.status === 'success') return style.green(text);
  if (job.status === 'failed') return job.allowFailure ? style.yellow(text) : style.red(text);
  if (job.status === 'canceled') return style.yellow(text);
  return style.dim(text);
}

export function renderSummaryTable(jobs: JobSummary[], style: Style): string[] {
  const header = ['JOB', 'STAGE', 'STATUS', 'DURATION', 'WHERE THE TIME WENT'];
  const rows = jobs.map((j) => [
    j.name,
    j.stage,
    statusLabel(j),
    j.durationSeconds === null ? '-' : formatDuration(j.durationSeconds * 1000),
    timeBreakdown(j.lines) ?? (j.status === 'skipped' || j.status === 'created' ? '-' : 'not reported'),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const pad = (cells: string[]) =>
    cells.map((cell, c) => (c < cells.length - 1 ? cell.padEnd(widths[c] ?? 0) : cell));
  const lines = [style.bold(pad(header).join('  ').trimEnd())];
  rows.forEach((row, i) => {
    const job = jobs[i] as JobSummary;
    const cells = pad(row);
    cells[2] = paint(style, job, cells[2] ?? '');
    lines.push(cells.join('  ').trimEnd());
  });
  return lines;
}

/** One line per job that failed the pipeline: which job and why. */
export function failureLines(jobs: JobSummary[]): string[] {
  return jobs
    .filter((j) => j.status === 'failed' && !j.allowFailure)
    .map((j) => {
      const why = [j.failureReason ?? 'unknown_failure', errorLine(j.lines)].filter(Boolean).join(': ');
      return `Job ${j.name} (stage ${j.stage}) failed: ${why}`;
    });
}
