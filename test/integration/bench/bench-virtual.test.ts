// `podrunner bench` end to end in its default mode: the Kubernetes executor in a manager process per level,
// against the embedded GitLab and the embedded Kubernetes in virtual mode (a child process). Checks what
// was measured, never how fast.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BenchReport, parseReport } from '../../../src/bench/report.ts';
import { type CliRun, startCli } from '../../support/cli.ts';

/** As README.md's "Benchmarking" gives it; run here with this checkout's podrunner in a scratch directory. */
const readmeCommand =
  'npx podrunner bench --jobs 20 --concurrency 2,5 --job-duration 200ms --json bench.json --svg bench.svg';

let dir: string;
let run: CliRun;
let code: number | null;
let report: BenchReport;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'podrunner-bench-virtual-test-'));
  run = startCli(readmeCommand.replace(/^npx podrunner /, '').split(' '), { TMPDIR: dir }, dir);
  code = await run.exit;
  report = parseReport(JSON.parse(await readFile(join(dir, 'bench.json'), 'utf8')));
}, 180_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('podrunner bench (embedded Kubernetes, virtual mode)', () => {
  it('runs every job of every level to success', () => {
    expect(code, [...run.stdout, ...run.stderr].join('\n')).toBe(0);
    expect(report.mode).toBe('virtual');
    expect(report.settings).toMatchObject({
      executorPlugin: 'kubernetes',
      apiLatencyMs: 0,
      logBytesPerJob: 65_536,
      kubeconfig: null,
    });
    expect(
      report.levels.map((l) => [l.concurrency, l.jobs, l.succeededJobs, l.failureReasons, l.error]),
    ).toEqual([
      [2, 20, 20, {}, null],
      [5, 20, 20, {}, null],
    ]);
  });

  it('measures the pod side of every measured job', () => {
    for (const l of report.levels) {
      for (const key of ['acceptedToPodCreated', 'podStartedToFirstTrace', 'terminatedToFinal'] as const)
        expect(l.latencyMs[key]?.count, key).toBe(l.measuredJobs);
    }
  });

  it('measures the stand-ins’ CPU as well as the manager’s', () => {
    for (const l of report.levels) {
      expect(l.manager.cpuSeconds).toBeGreaterThan(0);
      expect(l.standIns.benchCpuCores).toBeGreaterThan(0);
      expect(l.standIns.kubernetesCpuCores).toBeGreaterThan(0);
    }
  });

  it('counts the Kubernetes requests the manager made: a Secret and a Pod per job, and their logs', () => {
    for (const l of report.levels) {
      const k8s = l.requests.kubernetes;
      expect(k8s).not.toBeNull();
      expect(k8s?.byKind['create pods']).toBe(l.jobs);
      expect(k8s?.byKind['create secrets']).toBe(l.jobs);
      expect(k8s?.byKind['get pods/log']).toBeGreaterThanOrEqual(l.jobs);
      expect(k8s?.perJob).toBeGreaterThan(2);
    }
  });

  it('writes the chart where the command says', async () => {
    const svg = await readFile(join(dir, 'bench.svg'), 'utf8');
    expect(svg).toContain('Kubernetes executor against the embedded Kubernetes in virtual mode');
    expect(svg).toContain('data-name="Kubernetes"');
  });

  it('shows the pod-side latencies in the table', () => {
    const stdout = run.stdout.join('\n');
    expect(stdout).toMatch(/^podrunner bench — Kubernetes executor against the embedded Kubernetes/);
    const latencyRows = stdout.split('\n').filter((l) => /^\s+[25]\s+\S+ \/ /.test(l));
    expect(latencyRows).toHaveLength(2);
    for (const row of latencyRows) expect(row).not.toContain('–');
  });
});
