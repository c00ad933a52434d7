// `podrunner run` as a process with the fake executor against the embedded GitLab (a runner from
// `createRunner`, jobs from real pipelines, Workhorse long polling on): health and metrics on the listen
// address, jobs run, config reloads (SIGHUP and file changes, bad configs rejected), and signals: SIGQUIT
// lets running jobs finish, reported, and exits 0; a second signal aborts them, reported failed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SimGitlab, startSimGitlab } from '../../../src/sim/gitlab/server.ts';
import { type CliRun, runCli, startCli } from '../../support/cli.ts';
import { JobLedger, manyJobsYaml } from '../../support/job-ledger.ts';

let sim: SimGitlab;
let ledger: JobLedger;
let token: string;
let projectId: number;
let dir: string;
let config: string;
let run: CliRun | undefined;

beforeEach(async () => {
  sim = await startSimGitlab({ longPollSeconds: 5 });
  ledger = new JobLedger();
  ledger.attach(sim);
  token = sim.createRunner({ runUntagged: true }).token;
  projectId = (await sim.createProject({ name: 'run' })).id;
  dir = mkdtempSync(join(tmpdir(), 'podrunner-run-'));
  config = join(dir, 'config.toml');
});
afterEach(async () => {
  if (run && run.child.exitCode === null) {
    run.child.kill('SIGKILL');
    await run.exit;
  }
  run = undefined;
  ledger.close();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

const toml = (concurrent: number, extra = '') => `concurrent = ${concurrent}
check_interval = 1
shutdown_timeout = 60
log_level = "debug"
${extra}
[[runners]]
  name = "run-test"
  url = "${sim.url}"
  token = "${token}"
  executor = "kubernetes"
`;

/** A pipeline of jobs that "run" this long each; their ids. */
async function pipeline(...durationsMs: number[]): Promise<number[]> {
  await sim.commitFiles(projectId, {
    '.gitlab-ci.yml': manyJobsYaml(durationsMs.length, (i) => durationsMs[i - 1]!),
  });
  return (await sim.createPipeline(projectId)).jobs.map((j) => j.id);
}

const runningNow = (ids: number[]) => () => ids.every((id) => ledger.job(id)?.status === 'running');

async function start(concurrent = 2, env: NodeJS.ProcessEnv = {}): Promise<{ run: CliRun; url: string }> {
  writeFileSync(config, toml(concurrent));
  run = startCli(
    [
      'run',
      '--config',
      config,
      '--listen-address',
      '127.0.0.1:0',
      '--executor-plugin',
      'fake',
      '--log-format',
      'json',
    ],
    env,
  );
  const line = await run.line(/metrics and health served on/);
  return { run, url: JSON.parse(line).url as string };
}

const get = async (url: string) => {
  const res = await request(url);
  return { status: res.statusCode, text: await res.body.text() };
};

describe('podrunner run', () => {
  it('serves /healthz, /readyz and /metrics, runs jobs, and SIGQUIT lets running jobs finish, then exits 0', async () => {
    const { run: r, url } = await start(2);
    expect(await get(`${url}/healthz`)).toEqual({ status: 200, text: 'ok\n' });
    await r.line(/"msg":"manager started"/);
    const ids = await pipeline(2500, 2500);
    await ledger.waitFor(runningNow(ids), 'jobs running', 15_000);
    expect((await get(`${url}/readyz`)).status).toBe(200);
    const metrics = await get(`${url}/metrics`);
    expect(metrics.text).toContain('gitlab_runner_concurrent 2');
    expect(metrics.text).toMatch(/gitlab_runner_jobs\{[^}]*state="running"[^}]*\} 2/);
    expect(metrics.text).toContain('podrunner_slots_in_use 2');
    const [queued] = await pipeline(100);
    r.child.kill('SIGQUIT');
    expect(await r.exit).toBe(0);
    for (const id of ids) {
      expect(ledger.job(id), `job ${id}`).toMatchObject({ status: 'success', accepts: 1, finals: 1 });
      expect(sim.trace(id)).toContain('Job succeeded');
    }
    expect(ledger.job(queued!)).toMatchObject({ status: 'pending', runnerId: null, handouts: 0 });
    const lines = r.stdout.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.msg === 'SIGQUIT received: stopping (graceful)')).toBeDefined();
    expect(
      lines
        .filter((l) => l.msg === 'job started')
        .map((l) => l.job)
        .sort(),
    ).toEqual(ids);
    expect(lines.filter((l) => l.msg === 'job finished')).toEqual(
      expect.arrayContaining(
        ids.map((id) =>
          expect.objectContaining({
            job: id,
            result: 'success',
            duration_s: expect.any(Number),
            project: projectId,
          }),
        ),
      ),
    );
  });

  it('a second signal aborts running jobs now; they are reported failed with the reason', async () => {
    const { run: r } = await start(2);
    const [id] = await pipeline(60_000);
    await ledger.waitFor(runningNow([id!]), 'job running', 15_000);
    r.child.kill('SIGQUIT');
    await r.line(/stopping \(graceful\)/);
    r.child.kill('SIGQUIT');
    expect(await r.exit).toBe(0);
    expect(sim.job(id!)).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
    expect(sim.trace(id!)).toContain('podrunner is stopping: SIGQUIT; the job was aborted');
  });

  it('SIGTERM is graceful in a pod and forceful elsewhere', async () => {
    const { run: outside } = await start(1);
    const [id] = await pipeline(60_000);
    await ledger.waitFor(runningNow([id!]), 'job running', 15_000);
    outside.child.kill('SIGTERM');
    expect(await outside.exit).toBe(0);
    expect(sim.job(id!)).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
    expect(sim.trace(id!)).toContain('podrunner is stopping (SIGTERM); the job was aborted');

    const { run: inPod } = await start(1, { KUBERNETES_SERVICE_HOST: '10.0.0.1' });
    const [id2] = await pipeline(1500);
    await ledger.waitFor(runningNow([id2!]), 'job running', 15_000);
    inPod.child.kill('SIGTERM');
    await inPod.line(/SIGTERM received: stopping \(graceful\)/);
    expect(await inPod.exit).toBe(0);
    expect(ledger.job(id2!)).toMatchObject({ status: 'success', accepts: 1, finals: 1 });
  });

  it('reloads on file change and SIGHUP; a bad config is rejected with its error and the old one keeps running', async () => {
    const { run: r, url } = await start(1);
    await r.line(/"msg":"manager started"/);
    writeFileSync(config, toml(3));
    await r.line(/"msg":"config reloaded"/);
    expect((await get(`${url}/metrics`)).text).toContain('gitlab_runner_concurrent 3');

    writeFileSync(config, `${toml(3)}  limit = "many"\n`);
    const rejected = JSON.parse(await r.line(/config reload rejected/));
    expect(rejected.msg).toContain(
      `${config}:11: runners[0].limit: expected a number, got the string "many"`,
    );
    r.child.kill('SIGHUP');
    await r.line(/SIGHUP received/);
    const ids = await pipeline(800, 800, 800);
    await ledger.waitFor(() => ledger.allFinal(ids), 'jobs done', 20_000);
    expect(ids.map((id) => ledger.job(id)!.status)).toEqual(['success', 'success', 'success']);
    expect(ledger.maxHeldTotal).toBe(3);
    expect((await get(`${url}/metrics`)).text).toContain('gitlab_runner_configuration_loading_error_total 2');
    r.child.kill('SIGQUIT');
    expect(await r.exit).toBe(0);
  });

  it('a bad config at start exits 3 naming the key; an unknown executor plug-in exits 1', async () => {
    writeFileSync(config, `${toml(1)}  request_concurrency = "x"\n`);
    const bad = await runCli(['run', '--config', config, '--executor-plugin', 'fake']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain(`${config}:11: runners[0].request_concurrency: expected a number`);
    writeFileSync(config, toml(1));
    const plugin = await runCli([
      'run',
      '--config',
      config,
      '--executor-plugin',
      'docker',
      '--log-format',
      'json',
    ]);
    expect(plugin.code).toBe(1);
    expect(plugin.stdout).toContain('unknown executor plug-in \\"docker\\"');
  });
});
