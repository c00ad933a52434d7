// `podrunner bench` end to end with the fake executor: a real manager process per level against the
// embedded GitLab. Checks what was measured and written, never how fast.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BenchReport, parseReport } from '../../../src/bench/report.ts';
import { type CliRun, startCli } from '../../support/cli.ts';

/** As README.md's "Benchmarking" gives it; run here with this checkout's podrunner in a scratch directory. */
const readmeCommand =
  'npx podrunner bench --executor-plugin fake --jobs 20 --concurrency 2,5 --job-duration 200ms --json fake.json --svg fake.svg';

let dir: string;
let run: CliRun;
let code: number | null;
let report: BenchReport;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'podrunner-bench-test-'));
  run = startCli(readmeCommand.replace(/^npx podrunner /, '').split(' '), { TMPDIR: dir }, dir);
  code = await run.exit;
  report = parseReport(JSON.parse(await readFile(join(dir, 'fake.json'), 'utf8')));
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('podrunner bench --executor-plugin fake', () => {
  it('runs every level to the end and exits 0', () => {
    expect(code, [...run.stdout, ...run.stderr].join('\n')).toBe(0);
    expect(report.mode).toBe('fake');
    expect(report.settings).toMatchObject({
      maxJobsPerLevel: 20,
      concurrency: [2, 5],
      jobDurationMs: 200,
      logBytesPerJob: 65_536,
      executorPlugin: 'fake',
      kubeconfig: null,
    });
    expect(report.levels.map((l) => [l.concurrency, l.jobs, l.warmupJobs, l.succeededJobs, l.error])).toEqual(
      [
        [2, 20, 2, 20, null],
        [5, 20, 5, 20, null],
      ],
    );
  });

  it('measures the manager process and the GitLab side of every level', () => {
    for (const l of report.levels) {
      expect(l.peakRunning).toBeGreaterThan(0);
      expect(l.peakRunning).toBeLessThanOrEqual(l.concurrency);
      expect(l.measuredJobs).toBe(l.jobs - l.warmupJobs);
      expect(l.latencyMs.queuedToAccepted?.count).toBe(l.measuredJobs);
      expect(l.latencyMs.acceptedToFirstTrace?.count).toBe(l.measuredJobs);
      expect(l.latencyMs.acceptedToFinal?.count).toBe(l.measuredJobs);
      expect(l.jobsPerSecond).toBeGreaterThan(0);
      expect(l.manager.pid).toBeGreaterThan(0);
      expect(l.manager.idleRssBytes).toBeGreaterThan(0);
      expect(l.manager.peakRssBytes).toBeGreaterThanOrEqual(l.manager.idleRssBytes ?? 0);
      expect(l.manager.samples).toBeGreaterThan(1);
      expect(l.manager.cpuMsPerJob).toBeGreaterThan(0);
      // every job was asked for, accepted, traced and finished through the runner API
      expect(l.requests.gitlab.byKind.request_job).toBeGreaterThanOrEqual(l.jobs);
      expect(l.requests.gitlab.byKind.update_job).toBeGreaterThanOrEqual(2 * l.jobs);
      expect(l.requests.gitlab.byKind.patch_trace).toBeGreaterThanOrEqual(l.jobs);
      // the log volume asked for (64 KiB by default), plus the executor's own lines
      expect(l.trace.bytesPerJob).toBeGreaterThan(65_536);
    }
  });

  it('says what it could not measure without Kubernetes', () => {
    for (const l of report.levels) {
      expect(l.latencyMs.acceptedToPodCreated).toBeNull();
      expect(l.latencyMs.podStartedToFirstTrace).toBeNull();
      expect(l.latencyMs.terminatedToFinal).toBeNull();
      expect(l.requests.kubernetes).toBeNull();
    }
    expect(report.notes.some((n) => n.startsWith('fake executor: no pods'))).toBe(true);
  });

  it('prints the table on stdout, progress on stderr, and writes the chart', async () => {
    const stdout = run.stdout.join('\n');
    expect(stdout).toMatch(/^podrunner bench — fake executor/);
    expect(stdout).toMatch(/^\s+2\s+20\s+\d/m);
    expect(stdout).toMatch(/^\s+5\s+20\s+\d/m);
    const stderr = run.stderr.join('\n');
    expect(stderr).toContain('[1/2] concurrency 2: 20 jobs (2 warm-up)');
    expect(stderr).toMatch(/^concurrency 5: 20 jobs in/m);
    expect(stderr).toContain(`report written to ${join(dir, 'fake.json')}`);
    const svg = await readFile(join(dir, 'fake.svg'), 'utf8');
    expect(svg).toMatch(/^<\?xml[^>]*\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('data-title="Throughput"');
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });

  it('leaves no work directory behind without --keep', async () => {
    const left = (await readdir(dir)).filter((n) => n.startsWith('podrunner-bench-'));
    expect(left).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual(['fake.json', 'fake.svg']);
  });
});

describe('podrunner bench with bad options', () => {
  it('exits 2 naming the option', async () => {
    const bad = startCli(['bench', '--executor-plugin', 'fake', '--concurrency', '10,lots']);
    expect(await bad.exit).toBe(2);
    expect(bad.stderr.join('\n')).toContain('--concurrency: expected positive whole numbers');
  });
});
