// The manager killed with SIGKILL in the middle of a job: a restarted manager finishes it. The job's own
// output appears in GitLab's trace exactly once, complete and in order, and nothing is left behind.
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../../src/demo/local-stack.ts';
import { type CliRun, startCli } from '../../support/cli.ts';

const CI = `
slow:
  image: alpine:latest
  script:
    - for i in $(seq 1 30); do echo "line $i of the job"; sleep 0.2; done
    - echo "the end"
  after_script:
    - echo "after script ran"
`;

let stack: LocalStack | undefined;
const managers: CliRun[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) if (m.child.exitCode === null) m.child.kill('SIGKILL');
  await stack?.stop();
  stack = undefined;
});

function runManager(s: LocalStack, configPath = s.configPath): CliRun {
  const m = startCli(['run', '--config', configPath, '--log-format', 'json', '--log-level', 'debug'], {
    PODRUNNER_LEASE_SECONDS: '3',
  });
  managers.push(m);
  return m;
}

/** The trace with what legitimately differs between two runs made neutral. */
function normalise(trace: string): string {
  return trace
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z /g, 'TS ')
    .replace(/section_(start|end):\d+:/g, 'section_$1:T:')
    .replace(/runner-[a-z0-9]+-project-\d+-concurrent-\d+-[a-z0-9]{8}/g, 'POD')
    .replace(/system ID: \S+/g, 'system ID: X')
    .replace(/Time: [^\n]*/g, 'Time: …')
    .replace(/Checking out [0-9a-f]{8}/g, 'Checking out SHA')
    .replace(/\/builds\/root\/(reference|interrupted)/g, '/builds/root/P');
}

/**
 * A config directory for another manager pod: the same config.toml, and its own system ID (in a cluster
 * every pod of the Deployment draws a random `r_` one; on one machine they would all derive the same).
 */
async function podConfigDir(s: LocalStack, name: string, systemId: string): Promise<string> {
  const { copyFile, mkdir, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const dir = join(s.dir, name);
  await mkdir(dir, { recursive: true });
  await copyFile(s.configPath, join(dir, 'config.toml'));
  await writeFile(join(dir, '.runner_system_id'), `${systemId}\n`);
  return dir;
}

/** Names of the objects of a kind in the job namespace, straight from the API server. */
async function names(s: LocalStack, resource: 'pods' | 'secrets'): Promise<string[]> {
  const res = await fetch(`${s.kube.url}/api/v1/namespaces/default/${resource}`);
  const list = (await res.json()) as { items: { metadata: { name: string } }[] };
  return list.items.map((i) => i.metadata.name);
}

async function runPipeline(s: LocalStack, name: string) {
  const project = await s.gitlab.createProject({ name });
  await s.gitlab.commitFiles(project.id, { '.gitlab-ci.yml': CI });
  return s.gitlab.createPipeline(project.id);
}

describe('adoption after a restart', () => {
  it('a SIGKILLed manager’s running job is finished by the restarted manager, output exactly once', async () => {
    stack = await startLocalStack({ mode: 'process', gitlab: { alwaysWatched: true } });
    const s = stack;

    // The reference: the same job, never interrupted.
    const m0 = runManager(s);
    const reference = await runPipeline(s, 'reference');
    const refDone = await s.gitlab.waitForPipeline(reference.id, { timeoutMs: 60_000 });
    expect(refDone.status).toBe('success');
    const referenceTrace = s.gitlab.trace(refDone.jobs[0]!.id);
    m0.child.kill('SIGQUIT');
    expect(await m0.exit).toBe(0);

    const m1 = runManager(s);
    const pipeline = await runPipeline(s, 'interrupted');
    const jobId = pipeline.jobs[0]!.id;
    await s.gitlab.waitForJob(jobId, (j) => /line 5 of the job/.test(s.gitlab.trace(j.id)), {
      timeoutMs: 60_000,
    });
    m1.child.kill('SIGKILL');
    await m1.exit;
    const sentBefore = s.gitlab.trace(jobId).length;

    const m2 = runManager(s);
    await m2.line(/job adopted/);
    const done = await s.gitlab.waitForPipeline(pipeline.id, { timeoutMs: 60_000 });
    const trace = s.gitlab.trace(jobId);
    expect(done.status, trace).toBe('success');
    expect(trace.length).toBeGreaterThan(sentBefore);
    for (let i = 1; i <= 30; i++) {
      expect(trace.split(`line ${i} of the job\n`).length - 1, `line ${i}`).toBe(1);
    }
    expect(trace.indexOf('line 30 of the job')).toBeGreaterThan(trace.indexOf('line 29 of the job'));
    expect(normalise(trace)).toBe(normalise(referenceTrace));

    m2.child.kill('SIGQUIT');
    expect(await m2.exit).toBe(0);
    expect(await names(s, 'pods')).toEqual([]);
    // The Secrets go with their pod through the API server's (background) garbage collection.
    await expect
      .poll(async () => (await names(s, 'secrets')).filter((n) => n.startsWith('runner-')), {
        timeout: 10_000,
      })
      .toEqual([]);
  });
});

describe('adoption by a manager with another identity', () => {
  it('a manager that comes back as a new pod (new system ID) takes the dead one’s job over', async () => {
    stack = await startLocalStack({ mode: 'process', gitlab: { alwaysWatched: true } });
    const s = stack;
    const m1 = runManager(s);
    const pipeline = await runPipeline(s, 'newpod');
    const jobId = pipeline.jobs[0]!.id;
    await s.gitlab.waitForJob(jobId, (j) => /line 3 of the job/.test(s.gitlab.trace(j.id)), {
      timeoutMs: 60_000,
    });
    m1.child.kill('SIGKILL');
    await m1.exit;

    // A new pod of the Deployment: same config.toml, a config directory of its own, so a new system ID.
    const otherDir = await podConfigDir(s, 'new-pod', 'r_newpod00000a');
    const m2 = runManager(s, `${otherDir}/config.toml`);
    await m2.line(/took over the jobs of a manager that is gone/, 30_000);
    const done = await s.gitlab.waitForPipeline(pipeline.id, { timeoutMs: 60_000 });
    const trace = s.gitlab.trace(jobId);
    expect(done.status, trace).toBe('success');
    for (let i = 1; i <= 30; i++) {
      expect(trace.split(`line ${i} of the job\n`).length - 1, `line ${i}`).toBe(1);
    }
    expect(trace).toContain('after script ran');
    m2.child.kill('SIGQUIT');
    expect(await m2.exit).toBe(0);
    expect(await names(s, 'pods')).toEqual([]);
  });
});
