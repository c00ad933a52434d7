// The chart (`--svg PATH`): hand-written SVG, one panel per question, concurrency on every x axis.
// Latency (p50 dashed, p99 solid, log scale), throughput, the manager's memory and CPU, and requests and
// trace volume per job. Pure: a report in, a standalone SVG document out (opens in any browser).
import { type BenchReport, type LatencyKey, type LevelResult, latencyKeys, latencyLabels } from './report.ts';
import { formatBytes, formatMs, formatTickMs } from './units.ts';

export interface Series {
  name: string;
  colour: string;
  /** SVG stroke-dasharray; solid when absent. */
  dash?: string;
  /** One y per level (null: not measured there). */
  values: Array<number | null>;
  /** Left out of the legend (a p50 line that shares its colour with the p99 line above it). */
  unlisted?: boolean;
  /** Name in the points' tooltips; default `name`. */
  tooltip?: string;
  /** Small text above each point (e.g. how many jobs ran at once there). */
  pointLabels?: Array<string | undefined>;
}

export interface Panel {
  title: string;
  yLabel: string;
  /** `log-time`: a log scale with ticks at round durations (milliseconds). */
  yScale: 'linear' | 'log' | 'log-time';
  /** Values in tooltips. */
  format: (y: number) => string;
  /** Axis ticks; default `format`. */
  tickFormat?: (y: number) => string;
  series: Series[];
  /** Horizontal reference lines (targets, limits). */
  references?: Array<{ y: number; label: string }>;
  /** Shown instead of the plot when no series has a value. */
  empty?: string;
}

// Okabe–Ito: distinguishable with the common colour-vision deficiencies.
const palette = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];

export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

/** About `count` round ticks (1, 2, 5 × 10^k steps) from 0 to at least `max`. */
export function linearTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ??
    10 * magnitude) as number;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Powers of ten covering [min, max]. */
export function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(Math.max(min, 1e-3)));
  let hi = Math.ceil(Math.log10(Math.max(max, 1e-3)));
  if (hi === lo) hi = lo + 1;
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e++) ticks.push(10 ** e);
  return ticks;
}

/** Round durations (ms) a person reads at a glance: 1 ms … 1 s, 10 s, 1 min, 10 min, 1 h. */
const timeSteps = [0.1, 1, 10, 100, 1000, 10_000, 60_000, 600_000, 3_600_000];

/** Log-scale ticks for milliseconds: the round durations covering [min, max]. */
export function timeLogTicks(min: number, max: number): number[] {
  const lo = timeSteps.findLastIndex((t) => t <= Math.max(min, timeSteps[0] as number));
  let hi = timeSteps.findIndex((t) => t >= max);
  if (hi === -1) hi = timeSteps.length - 1;
  const ticks = timeSteps.slice(Math.max(0, lo), hi + 1);
  return ticks.length >= 2 ? ticks : logTicks(min, max);
}

const fmt = (n: number) => Number(n.toFixed(1)).toString();

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

function xPositions(levels: readonly number[], box: Box): number[] {
  const pad = 24;
  const left = box.x + pad;
  const span = box.width - 2 * pad;
  if (levels.length === 1) return [box.x + box.width / 2];
  const min = Math.min(...levels);
  const max = Math.max(...levels);
  const useLog = min > 0 && max / min >= 10;
  const f = (v: number) => (useLog ? Math.log10(v) : v);
  const a = f(min);
  const b = f(max);
  return levels.map((v) => (b === a ? left + span / 2 : left + ((f(v) - a) / (b - a)) * span));
}

const legendEntryWidth = (name: string) => 36 + name.length * 6.2;

/** Legend entries laid out in lines that fit `width`. */
function legendLines(series: readonly Series[], width: number): Series[][] {
  const lines: Series[][] = [];
  let line: Series[] = [];
  let used = 0;
  for (const s of series) {
    if (s.unlisted) continue;
    const w = legendEntryWidth(s.name);
    if (line.length > 0 && used + w > width) {
      lines.push(line);
      line = [];
      used = 0;
    }
    line.push(s);
    used += w;
  }
  if (line.length > 0) lines.push(line);
  return lines;
}

function renderPanel(panel: Panel, levels: readonly number[], box: Box): string {
  const out: string[] = [];
  const legend = legendLines(panel.series, box.width - 80);
  const plot: Box = {
    x: box.x + 64,
    y: box.y + 28,
    width: box.width - 80,
    height: box.height - 64 - legend.length * 15,
  };
  out.push(`<g class="panel" data-title="${escapeXml(panel.title)}">`);
  out.push(
    `<text x="${fmt(box.x)}" y="${fmt(box.y + 14)}" class="panel-title">${escapeXml(panel.title)}</text>`,
  );
  out.push(
    `<rect x="${fmt(plot.x)}" y="${fmt(plot.y)}" width="${fmt(plot.width)}" height="${fmt(plot.height)}" class="plot"/>`,
  );
  const values = panel.series
    .flatMap((s) => s.values)
    .filter((v): v is number => v !== null && Number.isFinite(v));
  const refs = panel.references ?? [];
  const xs = xPositions(levels, plot);

  // x axis: a tick at every level
  levels.forEach((level, i) => {
    const x = xs[i] as number;
    out.push(
      `<line x1="${fmt(x)}" y1="${fmt(plot.y + plot.height)}" x2="${fmt(x)}" y2="${fmt(plot.y + plot.height + 5)}" class="axis"/>`,
    );
    out.push(
      `<text x="${fmt(x)}" y="${fmt(plot.y + plot.height + 18)}" class="tick" text-anchor="middle">${level}</text>`,
    );
  });
  out.push(
    `<text x="${fmt(plot.x + plot.width / 2)}" y="${fmt(plot.y + plot.height + 34)}" class="axis-label" text-anchor="middle">concurrency (concurrent jobs)</text>`,
  );
  out.push(
    `<text transform="translate(${fmt(box.x + 12)} ${fmt(plot.y + plot.height / 2)}) rotate(-90)" class="axis-label" text-anchor="middle">${escapeXml(panel.yLabel)}</text>`,
  );

  if (values.length === 0) {
    out.push(
      `<text x="${fmt(plot.x + plot.width / 2)}" y="${fmt(plot.y + plot.height / 2)}" class="empty" text-anchor="middle">${escapeXml(panel.empty ?? 'not measured')}</text>`,
    );
    out.push('</g>');
    return out.join('\n');
  }

  const all = [...values, ...refs.map((r) => r.y)];
  const positive = all.filter((v) => v > 0);
  const log = panel.yScale !== 'linear' && positive.length > 0;
  const ticks = !log
    ? linearTicks(Math.max(...all))
    : panel.yScale === 'log-time'
      ? timeLogTicks(Math.min(...positive), Math.max(...positive))
      : logTicks(Math.min(...positive), Math.max(...positive));
  const lo = ticks[0] as number;
  const hi = ticks[ticks.length - 1] as number;
  const y = (v: number) => {
    const t = log
      ? (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))
      : (v - lo) / (hi - lo || 1);
    return plot.y + plot.height - t * plot.height;
  };
  for (const t of ticks) {
    const ty = y(t);
    out.push(
      `<line x1="${fmt(plot.x)}" y1="${fmt(ty)}" x2="${fmt(plot.x + plot.width)}" y2="${fmt(ty)}" class="grid"/>`,
    );
    out.push(
      `<text x="${fmt(plot.x - 6)}" y="${fmt(ty + 4)}" class="tick" text-anchor="end">${escapeXml((panel.tickFormat ?? panel.format)(t))}</text>`,
    );
  }
  refs.forEach((r, i) => {
    const ry = y(r.y);
    out.push(
      `<line x1="${fmt(plot.x)}" y1="${fmt(ry)}" x2="${fmt(plot.x + plot.width)}" y2="${fmt(ry)}" class="reference"/>`,
    );
    // labels of neighbouring lines alternate ends so they do not overlap
    const [lx, anchor] = i % 2 === 0 ? [plot.x + plot.width - 4, 'end'] : [plot.x + 4, 'start'];
    const ly = i % 2 === 0 ? ry - 4 : ry + 12;
    out.push(
      `<text x="${fmt(lx)}" y="${fmt(ly)}" class="reference-label" text-anchor="${anchor}">${escapeXml(r.label)}</text>`,
    );
  });

  for (const s of panel.series) {
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    // a gap where a level has no value: the line is broken, not drawn through it
    let segment: string[] = [];
    const segments: string[][] = [];
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) {
        if (segment.length > 0) segments.push(segment);
        segment = [];
        return;
      }
      segment.push(`${fmt(xs[i] as number)},${fmt(y(v))}`);
    });
    if (segment.length > 0) segments.push(segment);
    out.push(`<g class="series" data-name="${escapeXml(s.name)}">`);
    for (const seg of segments) {
      if (seg.length > 1)
        out.push(
          `<polyline points="${seg.join(' ')}" fill="none" stroke="${s.colour}" stroke-width="2"${dash}/>`,
        );
    }
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) return;
      out.push(
        `<circle cx="${fmt(xs[i] as number)}" cy="${fmt(y(v))}" r="3.5" fill="${s.dash ? '#fff' : s.colour}" stroke="${s.colour}" stroke-width="1.5"><title>${escapeXml(`${s.tooltip ?? s.name} at concurrency ${levels[i]}: ${panel.format(v)}`)}</title></circle>`,
      );
      const label = s.pointLabels?.[i];
      if (label)
        out.push(
          `<text x="${fmt(xs[i] as number)}" y="${fmt(y(v) - 8)}" class="point-label" text-anchor="middle">${escapeXml(label)}</text>`,
        );
    });
    out.push('</g>');
  }

  out.push(renderLegend(legend, plot.x, plot.y + plot.height + 54));
  out.push('</g>');
  return out.join('\n');
}

function renderLegend(lines: readonly Series[][], x: number, y: number): string {
  const out: string[] = ['<g class="legend">'];
  lines.forEach((line, row) => {
    let lx = x;
    const ly = y + row * 15;
    for (const s of line) {
      const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
      out.push(
        `<line x1="${fmt(lx)}" y1="${fmt(ly - 4)}" x2="${fmt(lx + 22)}" y2="${fmt(ly - 4)}" stroke="${s.colour}" stroke-width="2"${dash}/>`,
      );
      out.push(`<text x="${fmt(lx + 27)}" y="${fmt(ly)}" class="legend-text">${escapeXml(s.name)}</text>`);
      lx += legendEntryWidth(s.name);
    }
  });
  out.push('</g>');
  return out.join('\n');
}

const pick = (levels: readonly LevelResult[], f: (l: LevelResult) => number | null | undefined) =>
  levels.map((l) => {
    const v = f(l);
    return v === undefined || v === null || !Number.isFinite(v) ? null : v;
  });

// queued → accepted is mostly the queue's length (tens of seconds) and would flatten the others: table only
const chartLatencies: LatencyKey[] = latencyKeys.filter(
  (k) => k !== 'acceptedToFinal' && k !== 'queuedToAccepted',
);

export function chartPanels(report: BenchReport): Panel[] {
  const { levels } = report;
  const MiB = 1024 * 1024;
  const latencySeries: Series[] = [];
  chartLatencies.forEach((key, i) => {
    if (!levels.some((l) => l.latencyMs[key] !== null)) return;
    const colour = palette[i % palette.length] as string;
    latencySeries.push({
      name: latencyLabels[key],
      tooltip: `${latencyLabels[key]} p99`,
      colour,
      values: pick(levels, (l) => l.latencyMs[key]?.p99),
    });
    latencySeries.push({
      name: `${latencyLabels[key]} p50`,
      unlisted: true,
      colour,
      dash: '5 4',
      values: pick(levels, (l) => l.latencyMs[key]?.p50),
    });
  });
  const hasKube = levels.some((l) => l.requests.kubernetes !== null);
  return [
    {
      title: 'Latency per job (p99 solid, p50 dashed; log scale)',
      yLabel: 'time (log scale)',
      yScale: 'log-time',
      format: formatMs,
      tickFormat: formatTickMs,
      series: latencySeries,
      references:
        report.mode === 'fake'
          ? []
          : [
              { y: 500, label: 'target: pod started → first trace p99 < 500 ms' },
              { y: 1000, label: 'target: terminated → final p99 < 1 s' },
            ],
    },
    {
      title: 'Throughput',
      yLabel: 'jobs per second',
      yScale: 'linear',
      format: (v) => fmt(v),
      series: [
        {
          name: 'jobs finished/s',
          colour: palette[0] as string,
          values: pick(levels, (l) => l.jobsPerSecond),
        },
        {
          name: 'jobs started/s',
          colour: palette[1] as string,
          dash: '5 4',
          values: pick(levels, (l) => l.startsPerSecond),
        },
        {
          name: 'ideal (concurrency ÷ job duration)',
          colour: '#888888',
          dash: '2 3',
          values: pick(levels, (l) => l.idealJobsPerSecond),
        },
      ],
      references: [{ y: 100, label: 'target: 100 job starts/s' }],
    },
    {
      title: 'Manager memory (RSS of the manager process)',
      yLabel: 'MiB',
      yScale: 'linear',
      format: (v) => fmt(v),
      series: [
        {
          name: 'peak RSS (label: most jobs running at once)',
          colour: palette[2] as string,
          values: pick(levels, (l) => (l.manager.peakRssBytes ?? Number.NaN) / MiB),
          pointLabels: levels.map((l) => `${l.peakRunning} running`),
        },
        {
          name: 'idle RSS',
          colour: palette[2] as string,
          dash: '5 4',
          values: pick(levels, (l) => (l.manager.idleRssBytes ?? Number.NaN) / MiB),
        },
      ],
      references: [{ y: 300, label: 'target: 300 MiB at 1,000 running jobs' }],
    },
    {
      title: 'Manager CPU per job',
      yLabel: 'CPU milliseconds per job',
      yScale: 'linear',
      format: (v) => fmt(v),
      series: [
        {
          name: 'CPU ms per job (user + system)',
          colour: palette[3] as string,
          values: pick(levels, (l) => l.manager.cpuMsPerJob),
        },
      ],
    },
    {
      title: 'API requests per job',
      yLabel: 'requests per job',
      yScale: 'linear',
      format: (v) => fmt(v),
      series: [
        {
          name: 'GitLab',
          colour: palette[4] as string,
          values: pick(levels, (l) => l.requests.gitlab.perJob),
        },
        ...(hasKube
          ? [
              {
                name: 'Kubernetes',
                colour: palette[5] as string,
                values: pick(levels, (l) => l.requests.kubernetes?.perJob),
              },
            ]
          : []),
      ],
    },
    {
      title: 'Trace volume received by GitLab',
      yLabel: 'KiB per second',
      yScale: 'linear',
      format: (v) => fmt(v),
      series: [
        {
          name: 'trace KiB/s',
          colour: palette[6] as string,
          values: pick(levels, (l) => l.trace.bytesPerSecond / 1024),
        },
      ],
    },
  ];
}

export function renderSvg(report: BenchReport): string {
  const panels = chartPanels(report);
  const levels = report.levels.map((l) => l.concurrency);
  const columns = 2;
  const panelWidth = 560;
  const panelHeight = 300;
  const top = 78;
  const rows = Math.ceil(panels.length / columns);
  const width = columns * panelWidth + 40;
  const height = top + rows * panelHeight + 40;
  const s = report.settings;
  const subtitle = `${report.modeDescription}`;
  const settings = `jobs of ${formatMs(s.jobDurationMs)}, ${formatBytes(s.logBytesPerJob)} of log each · up to ${s.maxJobsPerLevel} jobs per level · injected latency: Kubernetes ${formatMs(s.apiLatencyMs)}, GitLab ${formatMs(s.gitlabLatencyMs)} · ${report.machine.cpus} CPUs · ${report.finishedAt}`;
  const footnote =
    'Each point is one level: a fresh manager with concurrent = level; the first wave of jobs is warm-up and left out of latencies and rates (README, "Benchmarking").';
  const body = panels.map((p, i) =>
    renderPanel(p, levels, {
      x: 20 + (i % columns) * panelWidth,
      y: top + Math.floor(i / columns) * panelHeight,
      width: panelWidth - 20,
      height: panelHeight - 16,
    }),
  );
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">
<title>podrunner bench: latency and throughput against concurrency</title>
<style>
.panel-title { font-size: 14px; font-weight: 600; fill: #222; }
.axis-label { font-size: 11px; fill: #555; }
.tick { font-size: 10px; fill: #555; }
.legend-text { font-size: 11px; fill: #333; }
.plot { fill: #fbfbfb; stroke: #bbb; }
.grid { stroke: #e3e3e3; }
.axis { stroke: #999; }
.reference { stroke: #c00; stroke-width: 1; stroke-dasharray: 6 3; }
.reference-label { font-size: 10px; fill: #c00; }
.point-label { font-size: 10px; fill: #555; }
.empty { font-size: 12px; fill: #999; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="20" y="28" font-size="18" font-weight="700" fill="#111">podrunner bench: latency and throughput against concurrency</text>
<text x="20" y="48" font-size="12" fill="#333">${escapeXml(subtitle)}</text>
<text x="20" y="64" font-size="11" fill="#666">${escapeXml(settings)}</text>
${body.join('\n')}
<text x="20" y="${height - 14}" font-size="11" fill="#666">${escapeXml(footnote)}</text>
</svg>
`;
}
