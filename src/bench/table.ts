// The terminal table: one block of throughput and resources, one of latencies (p50 / p95 / p99), one row
// per concurrency level. Pure: a report in, text out.
import {
  type BenchReport,
  type LatencyKey,
  type LevelResult,
  latencyLabels,
  type Summary,
} from './report.ts';
import { formatBytes, formatMs } from './units.ts';

type Align = 'left' | 'right';

export function renderGrid(headers: string[], rows: string[][], align: Align[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (text: string, i: number) =>
    (align[i] ?? 'right') === 'left' ? text.padEnd(widths[i] as number) : text.padStart(widths[i] as number);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => cell(c, i))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const na = '–';
const num = (x: number | null | undefined, digits = 1) =>
  x === null || x === undefined || !Number.isFinite(x) ? na : x.toFixed(digits);

function triple(s: Summary | null): string {
  return s ? `${formatMs(s.p50)} / ${formatMs(s.p95)} / ${formatMs(s.p99)}` : na;
}

function jobsCell(l: LevelResult): string {
  const bad = l.failedJobs + l.unfinishedJobs;
  return bad > 0 ? `${l.jobs} (${bad} not ok)` : String(l.jobs);
}

/** `bench + kubernetes` cores, or the bench's alone. */
function standIns(l: LevelResult): string {
  const { benchCpuCores: b, kubernetesCpuCores: k } = l.standIns;
  if (b === null) return na;
  return k === null ? num(b, 2) : `${num(b, 2)} + ${num(k, 2)}`;
}

export function throughputTable(levels: readonly LevelResult[]): string {
  return renderGrid(
    [
      'concurrency',
      'jobs',
      'peak running',
      'jobs/s',
      'ideal',
      'starts/s',
      'RSS idle → peak',
      'CPU ms/job',
      'CPU cores',
      'stand-ins cores',
      'GitLab req/job',
      'K8s req/job',
      'trace/s',
    ],
    levels.map((l) => [
      String(l.concurrency),
      jobsCell(l),
      String(l.peakRunning),
      num(l.jobsPerSecond),
      num(l.idealJobsPerSecond),
      num(l.startsPerSecond),
      l.manager.idleRssBytes !== null && l.manager.peakRssBytes !== null
        ? `${formatBytes(l.manager.idleRssBytes)} → ${formatBytes(l.manager.peakRssBytes)}`
        : na,
      num(l.manager.cpuMsPerJob),
      num(l.manager.cpuCores, 2),
      standIns(l),
      num(l.requests.gitlab.perJob),
      l.requests.kubernetes ? num(l.requests.kubernetes.perJob) : na,
      `${formatBytes(l.trace.bytesPerSecond)}`,
    ]),
  );
}

const tableLatencies: LatencyKey[] = [
  'queuedToAccepted',
  'acceptedToPodCreated',
  'podStartedToFirstTrace',
  'terminatedToFinal',
  'acceptedToFirstTrace',
];

export function latencyTable(levels: readonly LevelResult[]): string {
  return renderGrid(
    ['concurrency', ...tableLatencies.map((k) => latencyLabels[k])],
    levels.map((l) => [String(l.concurrency), ...tableLatencies.map((k) => triple(l.latencyMs[k]))]),
  );
}

export function renderReportText(report: BenchReport): string {
  const s = report.settings;
  const out = [
    `podrunner bench — ${report.modeDescription}`,
    `jobs of ${formatMs(s.jobDurationMs)} printing ${formatBytes(s.logBytesPerJob)} each; injected latency: Kubernetes ${formatMs(s.apiLatencyMs)}, GitLab ${formatMs(s.gitlabLatencyMs)}; manager NODE_OPTIONS ${s.managerNodeOptions ? `"${s.managerNodeOptions}"` : 'none'}; ${report.machine.cpus} CPUs, Node ${report.machine.node}, load average ${report.machine.loadAverage.start.toFixed(1)} → ${report.machine.loadAverage.end.toFixed(1)}`,
    '',
    'Throughput and the manager’s cost (rates once warmed up; CPU and RSS of the manager process alone; stand-ins: the bench process with the embedded GitLab + the embedded Kubernetes)',
    throughputTable(report.levels),
    '',
    'Latency p50 / p95 / p99 (measured jobs, warm-up excluded; – = not observable in this mode)',
    latencyTable(report.levels),
  ];
  const errors = report.levels.filter((l) => l.error);
  const failing = report.levels.filter((l) => Object.keys(l.failureReasons).length > 0);
  if (errors.length > 0 || failing.length > 0 || report.notes.length > 0) {
    out.push('');
    for (const l of errors) out.push(`! level ${l.concurrency}: ${l.error}`);
    for (const l of failing)
      out.push(
        `! level ${l.concurrency}: jobs not successful: ${Object.entries(l.failureReasons)
          .map(([reason, n]) => `${n} ${reason}`)
          .join(', ')}`,
      );
    for (const n of report.notes) out.push(`note: ${n}`);
  }
  return `${out.join('\n')}\n`;
}
