// `podrunner bench --kubeconfig`: the pods run on a cluster the bench did not start and cannot count
// requests on. Here that cluster is `podrunner sim kube --mode virtual` in its own process, reached only
// through its kubeconfig, as a real cluster would be.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BenchReport, parseReport } from '../../../src/bench/report.ts';
import { type CliRun, startCli } from '../../support/cli.ts';

let dir: string;
let cluster: CliRun;
let run: CliRun;
let code: number | null;
let report: BenchReport;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'podrunner-bench-cluster-test-'));
  const kubeconfig = join(dir, 'kubeconfig');
  cluster = startCli([
    'sim',
    'kube',
    '--mode',
    'virtual',
    '--listen',
    '127.0.0.1:0',
    '--kubeconfig',
    kubeconfig,
  ]);
  await cluster.line(/^podrunner sim kube: serving http/, 30_000);
  run = startCli(
    [
      'bench',
      '--kubeconfig',
      kubeconfig,
      '--jobs',
      '6',
      '--concurrency',
      '3',
      '--job-duration',
      '200ms',
      '--json',
      join(dir, 'report.json'),
    ],
    { TMPDIR: dir },
  );
  code = await run.exit;
  report = parseReport(JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')));
}, 180_000);

afterAll(async () => {
  cluster?.child.kill('SIGTERM');
  await cluster?.exit;
  await rm(dir, { recursive: true, force: true });
});

describe('podrunner bench --kubeconfig', () => {
  it('runs the jobs on that cluster and says it is a cluster run', () => {
    expect(code, [...run.stdout, ...run.stderr].join('\n')).toBe(0);
    expect(report.mode).toBe('cluster');
    expect(report.settings.kubeconfig).toBe(join(dir, 'kubeconfig'));
    expect(report.levels.map((l) => [l.concurrency, l.jobs, l.succeededJobs, l.error])).toEqual([
      [3, 6, 6, null],
    ]);
  });

  it('sees the pods through its watch, and leaves the request counts it cannot know empty', () => {
    const [level] = report.levels;
    expect(level?.latencyMs.acceptedToPodCreated?.count).toBe(level?.measuredJobs);
    expect(level?.latencyMs.terminatedToFinal?.count).toBe(level?.measuredJobs);
    expect(level?.requests.kubernetes).toBeNull();
    expect(level?.standIns.kubernetesCpuCores).toBeNull();
    expect(level?.requests.gitlab.total).toBeGreaterThan(0);
  });
});
