// Two managers of one runner (the seed's `replicas: 2`): one is SIGKILLed for good in the middle of its
// jobs; once its Lease expires the other takes the jobs over and finishes them. Each job is driven by
// one manager at a time and its output reaches GitLab exactly once.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../../src/demo/local-stack.ts';
import { type CliRun, startCli } from '../../support/cli.ts';

let stack: LocalStack | undefined;
const managers: CliRun[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) if (m.child.exitCode === null) m.child.kill('SIGKILL');
  await stack?.stop();
  stack = undefined;
});

async function replica(s: LocalStack, name: string, systemId: string): Promise<CliRun> {
  const dir = join(s.dir, name);
  await mkdir(dir, { recursive: true });
  await copyFile(s.configPath, join(dir, 'config.toml'));
  await writeFile(join(dir, '.runner_system_id'), `${systemId}\n`);
  const m = startCli(['run', '--config', join(dir, 'config.toml'), '--log-format', 'json'], {
    PODRUNNER_LEASE_SECONDS: '3',
  });
  managers.push(m);
  return m;
}

const job = (n: number) => `
job-${n}:
  image: alpine:latest
  script:
    - for i in $(seq 1 25); do echo "job ${n} line $i"; sleep 0.2; done
`;

describe('two manager replicas', () => {
  it('the survivor takes over the running jobs of a replica killed for good', async () => {
    stack = await startLocalStack({
      mode: 'process',
      gitlab: { alwaysWatched: true },
      globalToml: 'concurrent = 2\ncheck_interval = 1',
    });
    const s = stack;
    const a = await replica(s, 'replica-a', 'r_replicaAAAAA');
    const b = await replica(s, 'replica-b', 'r_replicaBBBBB');
    const project = await s.gitlab.createProject({ name: 'ha' });
    await s.gitlab.commitFiles(project.id, { '.gitlab-ci.yml': [1, 2, 3, 4].map(job).join('') });
    const pipeline = await s.gitlab.createPipeline(project.id);

    // Wait until both replicas run jobs and every job has printed something.
    await a.line(/"msg":"job started"/);
    await b.line(/"msg":"job started"/);
    for (const j of pipeline.jobs) {
      await s.gitlab.waitForJob(j.id, (v) => /line 3\n/.test(s.gitlab.trace(v.id)), { timeoutMs: 60_000 });
    }
    a.child.kill('SIGKILL');
    await a.exit;
    await b.line(/took over the jobs of a manager that is gone/, 30_000);

    const done = await s.gitlab.waitForPipeline(pipeline.id, { timeoutMs: 90_000 });
    expect(done.status).toBe('success');
    for (const [index, j] of done.jobs.entries()) {
      const trace = s.gitlab.trace(j.id);
      const n = Number(j.name.split('-')[1]);
      for (let i = 1; i <= 25; i++) {
        expect(trace.split(`job ${n} line ${i}\n`).length - 1, `${j.name} line ${i} (#${index})`).toBe(1);
      }
      expect(trace).toContain('Job succeeded');
    }
    b.child.kill('SIGQUIT');
    expect(await b.exit).toBe(0);
    const res = await fetch(`${s.kube.url}/api/v1/namespaces/default/pods`);
    expect(((await res.json()) as { items: unknown[] }).items).toEqual([]);
  });
});
