import { describe, expect, it } from 'vitest';
import {
  chartPanels,
  escapeXml,
  linearTicks,
  logTicks,
  renderSvg,
  timeLogTicks,
} from '../../../src/bench/svg.ts';
import { level, report } from './fixtures.ts';

/** Tags balance, attributes are quoted, text has no raw `<` or stray `&`: a document a browser opens. */
function checkWellFormed(svg: string): string[] {
  const body = svg.replace(/^<\?xml[^>]*\?>\s*/, '');
  const stack: string[] = [];
  const names: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    const text = body.slice(last, m.index);
    expect(text).not.toMatch(/[<>]/);
    expect(text).not.toMatch(/&(?!(amp|lt|gt|quot);)/);
    last = tag.lastIndex;
    const [, close, name, , selfClosing] = m as unknown as [string, string, string, string, string];
    if (close) expect(stack.pop()).toBe(name);
    else if (!selfClosing) stack.push(name);
    names.push(name);
  }
  expect(body.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
  return names;
}

describe('SVG chart', () => {
  it('is a well-formed standalone SVG with a title and six panels', () => {
    const svg = renderSvg(report('virtual', [level(2, 40, true), level(5, 40, true), level(10, 80, true)]));
    expect(
      svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"'),
    ).toBe(true);
    const names = checkWellFormed(svg);
    expect(names[0]).toBe('svg');
    expect(svg).toContain('<title>podrunner bench: latency and throughput against concurrency</title>');
    const panels = [...svg.matchAll(/<g class="panel" data-title="([^"]+)">/g)].map((m) => m[1]);
    expect(panels).toEqual([
      'Latency per job (p99 solid, p50 dashed; log scale)',
      'Throughput',
      'Manager memory (RSS of the manager process)',
      'Manager CPU per job',
      'API requests per job',
      'Trace volume received by GitLab',
    ]);
    // every panel labels concurrency on x with a tick per level
    expect(svg.match(/concurrency \(concurrent jobs\)/g)).toHaveLength(6);
    for (const l of ['2', '5', '10']) expect(svg).toContain(`text-anchor="middle">${l}</text>`);
  });

  it('draws one line per series through its levels, with a point per measured level', () => {
    const svg = renderSvg(report('virtual', [level(2, 40, true), level(5, 40, true), level(10, 80, true)]));
    const latency = svg.slice(svg.indexOf('data-title="Latency'), svg.indexOf('data-title="Throughput'));
    // four per-job latencies in virtual mode (queued → accepted is in the table only), p99 and p50 each
    expect(latency.match(/<g class="series"/g)).toHaveLength(8);
    expect(latency.match(/<polyline /g)).toHaveLength(8);
    expect(latency.match(/<circle /g)).toHaveLength(24);
    expect(latency).not.toContain('queued → accepted');
    expect(latency).toContain('pod started → first trace byte p99 at concurrency 5: 20ms');
    expect(latency).toContain('target: pod started → first trace p99 &lt; 500 ms');
    const requests = svg.slice(svg.indexOf('data-title="API requests'));
    expect(requests).toContain('data-name="Kubernetes"');
    // the memory panel says how many jobs ran at once at each level
    const memory = svg.slice(
      svg.indexOf('data-title="Manager memory'),
      svg.indexOf('data-title="Manager CPU'),
    );
    expect(memory.match(/class="point-label"[^>]*>\d+ running</g)).toHaveLength(3);
  });

  it('leaves out what the fake executor cannot measure, and breaks a line at a missing value', () => {
    const levels = [level(2, 40), level(5, 40), level(10, 80)];
    const middle = levels[1];
    if (middle) middle.jobsPerSecond = null;
    const r = report('fake', levels);
    const panels = chartPanels(r);
    const latencyNames = panels[0]?.series.map((s) => s.name) ?? [];
    expect(latencyNames.some((n) => n.includes('pod'))).toBe(false);
    expect(panels[0]?.references).toEqual([]);
    expect(panels[4]?.series.map((s) => s.name)).toEqual(['GitLab']);
    const svg = renderSvg(r);
    const finished = svg.slice(svg.indexOf('data-name="jobs finished/s"'));
    const group = finished.slice(0, finished.indexOf('</g>'));
    // 2 → (gap) → 10: two one-point segments, no line drawn across the gap
    expect(group.match(/<polyline /g)).toBeNull();
    expect(group.match(/<circle /g)).toHaveLength(2);
  });

  it('shows a message in a panel with nothing measured, and a single level in the middle', () => {
    const only = level(5, 40);
    only.manager.cpuMsPerJob = null;
    const svg = renderSvg(report('fake', [only]));
    checkWellFormed(svg);
    const cpu = svg.slice(svg.indexOf('data-title="Manager CPU per job"'));
    expect(cpu.slice(0, cpu.indexOf('</g>'))).toContain('>not measured</text>');
  });

  it('escapes text', () => {
    expect(escapeXml('a < b & "c" > d')).toBe('a &lt; b &amp; &quot;c&quot; &gt; d');
  });

  it('puts round ticks on the axes', () => {
    expect(linearTicks(87)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(linearTicks(4.2)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(linearTicks(0)).toEqual([0, 1]);
    expect(logTicks(2.3, 1430)).toEqual([1, 10, 100, 1000, 10_000]);
    expect(logTicks(50, 50)).toEqual([10, 100]);
    expect(timeLogTicks(3, 45_000)).toEqual([1, 10, 100, 1000, 10_000, 60_000]);
    expect(timeLogTicks(150, 900)).toEqual([100, 1000]);
  });
});
