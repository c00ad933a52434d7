// register, verify, unregister and list as processes against the embedded GitLab: runners created the way a
// user creates them (`POST /api/v4/user/runners` with a personal access token, or a legacy registration
// token), gitlab-runner's flags and environment variables, the config.toml they write, their words and exit
// codes, and what GitLab then knows (its runners and their managers, read through its REST API). Last, the
// whole story against a `podrunner sim gitlab` process: create a runner, push a project, register, verify,
// run a pipeline, SIGQUIT, unregister.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'smol-toml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SimGitlab, startSimGitlab } from '../../../src/sim/gitlab/server.ts';
import { runCli, startCli } from '../../support/cli.ts';

let sim: SimGitlab;
let dir: string;
let config: string;

beforeEach(async () => {
  sim = await startSimGitlab({ longPollSeconds: 0 });
  dir = mkdtempSync(join(tmpdir(), 'podrunner-cli-'));
  config = join(dir, 'config.toml');
});
afterEach(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

const readConfig = () =>
  parse(readFileSync(config, 'utf8')) as { concurrent: number; runners: Record<string, unknown>[] };
const systemIdOf = (configDir = dir) => readFileSync(join(configDir, '.runner_system_id'), 'utf8').trim();

/** The embedded GitLab's REST API with its admin token, as a user's script calls it. */
async function api(
  url: string,
  adminToken: string,
  method: string,
  path: string,
  form?: Record<string, string>,
) {
  const res = await fetch(`${url}/api/v4${path}`, {
    method,
    headers: { 'PRIVATE-TOKEN': adminToken },
    ...(form ? { body: new URLSearchParams(form) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** `POST /api/v4/user/runners`: the glrt- token a user copies from GitLab. */
async function newRunner(url = sim.url, adminToken = sim.adminToken, description = 'from the UI') {
  const res = await api(url, adminToken, 'POST', '/user/runners', {
    runner_type: 'instance_type',
    run_untagged: 'true',
    description,
  });
  expect(res.status).toBe(201);
  return { id: res.body.id as number, token: res.body.token as string };
}

/** The system_ids of a runner's managers, or `null` when GitLab no longer has the runner. */
async function managersOf(id: number, url = sim.url, adminToken = sim.adminToken) {
  const res = await api(url, adminToken, 'GET', `/runners/${id}`);
  if (res.status === 404) return null;
  expect(res.status).toBe(200);
  return (res.body.managers as { system_id: string }[]).map((m) => m.system_id);
}

describe('podrunner register', () => {
  it('registers a glrt- token from POST /user/runners, from the environment, merged over --template-config', async () => {
    const runner = await newRunner();
    const template = join(dir, 'template.toml');
    writeFileSync(
      template,
      '[[runners]]\n  [runners.kubernetes]\n    image = "alpine"\n    namespace = "from-template"\n    poll_timeout = 600\n',
    );
    const res = await runCli(
      ['register', '--non-interactive', '--template-config', template, '--config', config],
      {
        CI_SERVER_URL: sim.url,
        CI_SERVER_TOKEN: runner.token,
        RUNNER_NAME: 'chart-runner',
        RUNNER_EXECUTOR: 'kubernetes',
        KUBERNETES_NAMESPACE: 'from-env',
        KUBERNETES_PRIVILEGED: 'true',
        RUNNER_REQUEST_CONCURRENCY: '4',
      },
    );
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`Merging configuration from template file "${template}"`);
    expect(res.stdout).toContain('Runner registered successfully');
    const written = readConfig();
    expect(written.concurrent).toBe(1);
    expect(written.runners).toHaveLength(1);
    expect(written.runners[0]).toMatchObject({
      name: 'chart-runner',
      url: sim.url,
      id: runner.id,
      token: runner.token,
      executor: 'kubernetes',
      request_concurrency: 4,
      kubernetes: { namespace: 'from-env', privileged: true, image: 'alpine', poll_timeout: 600 },
    });
    expect(written.runners[0]!.token_obtained_at).toBeInstanceOf(Date);
    expect(systemIdOf()).toMatch(/^[rs]_[0-9a-zA-Z]{12}$/);
    // GitLab now knows this manager of the runner.
    expect(await managersOf(runner.id)).toEqual([systemIdOf()]);
    const verified = await runCli(['verify', '-c', config]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/Verifying runner\.\.\. is valid +runner=\S+ name=chart-runner/);
  });

  it('takes RUNNER_TOKEN too, and appends to an existing config', async () => {
    const one = await newRunner();
    const two = await newRunner();
    const env = { CI_SERVER_URL: sim.url };
    expect(
      (await runCli(['register', '-n', '-c', config, '--name', 'one'], { ...env, RUNNER_TOKEN: one.token }))
        .code,
    ).toBe(0);
    expect(
      (
        await runCli(
          ['register', '-n', '-c', config, '--token', two.token, '--description', 'two', '--limit', '2'],
          env,
        )
      ).code,
    ).toBe(0);
    expect(readConfig().runners.map((r) => [r.name, r.id, r.limit])).toEqual([
      ['one', one.id, undefined],
      ['two', two.id, 2],
    ]);
    expect(await managersOf(one.id)).toEqual([systemIdOf()]);
    expect(await managersOf(two.id)).toEqual([systemIdOf()]);
  });

  it('registers with a registration token where GitLab still allows it, and stores the runner token GitLab returns', async () => {
    sim.configure({ allowRegistrationToken: true });
    const res = await runCli([
      'register',
      '-n',
      '-c',
      config,
      '--url',
      sim.url,
      '-r',
      sim.registrationToken,
      '--tag-list',
      'k8s,linux',
      '--name',
      'legacy',
    ]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const entry = readConfig().runners[0]!;
    expect(entry.token).toMatch(/^glrtr-/);
    const seen = await api(sim.url, sim.adminToken, 'GET', `/runners/${entry.id as number}`);
    expect(seen.body).toMatchObject({
      description: 'legacy',
      tag_list: ['k8s', 'linux'],
      run_untagged: false,
      locked: true,
      paused: false,
    });
    expect((await runCli(['verify', '-c', config])).stdout).toMatch(/is alive +runner=\S+ name=legacy/);
  });

  it('exit code 1 when GitLab refuses the token or registration tokens, and no config is written', async () => {
    const refused = await runCli([
      'register',
      '-n',
      '-c',
      config,
      '--url',
      sim.url,
      '--token',
      'glrt-unknownunknown',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the runner token is not valid (403');
    const gone = await runCli([
      'register',
      '-n',
      '-c',
      config,
      '--url',
      sim.url,
      '-r',
      sim.registrationToken,
    ]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('does not accept registration tokens (410');
    expect(existsSync(config)).toBe(false);
    expect((await api(sim.url, sim.adminToken, 'GET', '/runners')).body).toEqual([]);
  });

  it('exit code 4 when GitLab is unreachable', async () => {
    const down = await runCli([
      'register',
      '-n',
      '-c',
      config,
      '--url',
      'http://127.0.0.1:1',
      '--token',
      'glrt-nobodythere',
    ]);
    expect(down.code).toBe(4);
    expect(down.stderr).toContain('cannot reach GitLab');
  });

  it('exit code 2 for usage errors', async () => {
    const runner = await newRunner();
    const reserved = await runCli([
      'register',
      '-n',
      '-c',
      config,
      '--url',
      sim.url,
      '--token',
      runner.token,
      '--tag-list',
      'a',
    ]);
    expect(reserved.code).toBe(2);
    expect(reserved.stderr).toContain(
      '--tag-list cannot be set when registering with a runner authentication token',
    );
    const noUrl = await runCli(['register', '-n', '-c', config, '--token', runner.token]);
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain('pass --url or set CI_SERVER_URL');
    expect((await runCli(['register', '--no-such-flag'])).code).toBe(2);
    expect((await runCli(['register', '--help'])).code).toBe(0);
    expect(existsSync(config)).toBe(false);
    expect(await managersOf(runner.id)).toEqual([]);
  });
});

describe('podrunner verify, list, unregister', () => {
  const write = (runners: string) => writeFileSync(config, `concurrent = 2\n${runners}`);
  const entry = (name: string, token: string, url = sim.url) =>
    `[[runners]]\n  name = "${name}"\n  url = "${url}"\n  token = "${token}"\n  executor = "kubernetes"\n`;

  it('says "is valid" for glrt- tokens, "is alive" for legacy ones, "is not valid" once GitLab deleted the runner', async () => {
    const created = await newRunner();
    const legacy = sim.createRunner({ legacy: true });
    write(entry('a', created.token) + entry('b', legacy.token));
    const ok = await runCli(['verify', '--config', config]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/Verifying runner\.\.\. is valid +runner=\S+ name=a/);
    expect(ok.stdout).toMatch(/Verifying runner\.\.\. is alive +runner=\S+ name=b/);
    expect((await runCli(['verify', '--config', config, '--name', 'b'])).stdout).not.toContain('name=a');

    expect((await api(sim.url, sim.adminToken, 'DELETE', `/runners/${created.id}`)).status).toBe(204);
    const bad = await runCli(['verify', '--config', config]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/is not valid +runner=\S+ name=a/);
    expect(bad.stdout).toMatch(/is alive +runner=\S+ name=b/);
    const deleted = await runCli(['verify', '--config', config, '--delete']);
    expect(deleted.code).toBe(0);
    expect(readConfig().runners.map((r) => r.name)).toEqual(['b']);
  });

  it('a config error names the file, line and key and exits 3', async () => {
    writeFileSync(config, `concurrent = 2\n${entry('a', 'glrt-x')}  limit = "two"\n`);
    const res = await runCli(['verify', '--config', config]);
    expect(res.code).toBe(3);
    expect(res.stderr).toContain(
      `ERROR: ${config}:7: runners[0].limit: expected a number, got the string "two"`,
    );
    expect((await runCli(['list', '--config', config])).code).toBe(3);
  });

  it('unreachable GitLab exits 4', async () => {
    write(entry('a', 'glrt-x', 'http://127.0.0.1:1'));
    const res = await runCli(['verify', '--config', config]);
    expect(res.code).toBe(4);
    expect(res.stdout).toContain('Verifying runner... failed');
  });

  it('list prints each runner with a short token', async () => {
    write(entry('first', 'glrt-t3_listlistlist') + entry('second', 'glrt-other1234567'));
    const res = await runCli(['list', '-c', config]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`first   Executor=kubernetes Token=listlistl URL=${sim.url}`);
    expect(res.stdout).not.toContain('glrt-t3_listlistlist');
  });

  it('unregister --name removes this manager of that runner only; --all-runners the rest, deleting legacy runners', async () => {
    const one = await newRunner();
    const two = await newRunner();
    const legacy = sim.createRunner({ legacy: true });
    write(entry('one', one.token) + entry('two', two.token) + entry('legacy', legacy.token));
    expect((await runCli(['verify', '-c', config])).code).toBe(0);
    const me = systemIdOf();
    // Another manager (another pod) of runner one.
    const otherDir = join(dir, 'other');
    mkdirSync(otherDir);
    writeFileSync(join(otherDir, 'config.toml'), `concurrent = 1\n${entry('one', one.token)}`);
    // One machine has one system_id; a manager in a pod (as another replica) makes its own.
    expect(
      (await runCli(['verify', '-c', join(otherDir, 'config.toml')], { KUBERNETES_SERVICE_HOST: '10.0.0.1' }))
        .code,
    ).toBe(0);
    const other = systemIdOf(otherDir);
    expect((await managersOf(one.id))!.sort()).toEqual([me, other].sort());

    const byName = await runCli(['unregister', '-c', config, '--name', 'one']);
    expect(byName.code).toBe(0);
    expect(byName.stdout).toMatch(/Unregistering runner from GitLab succeeded +runner=\S+ name=one/);
    expect(await managersOf(one.id)).toEqual([other]);
    expect(await managersOf(two.id)).toEqual([me]);
    expect(readConfig().runners.map((r) => r.name)).toEqual(['two', 'legacy']);
    expect((await runCli(['unregister', '-c', config, '--name', 'one'])).code).toBe(1);

    const all = await runCli(['unregister', '--all-runners', '-c', config]);
    expect(all.code).toBe(0);
    expect(await managersOf(two.id)).toEqual([]);
    expect(await managersOf(legacy.id)).toBeNull();
    expect(await managersOf(one.id)).toEqual([other]);
    expect(readConfig().runners).toEqual([]);
    expect((await runCli(['unregister', '-c', config])).code).toBe(2);
  });
});

describe('against a `podrunner sim gitlab` process', () => {
  it('create a runner, push a project, register, verify, run a pipeline, SIGQUIT, unregister', async () => {
    const gitlab = startCli([
      'sim',
      'gitlab',
      '--listen',
      '127.0.0.1:0',
      '--admin-token-file',
      join(dir, 'pat'),
      '--long-poll',
      '5',
    ]);
    try {
      const url = /embedded GitLab at (\S+)/.exec(await gitlab.line(/embedded GitLab at /))![1]!;
      const pat = readFileSync(join(dir, 'pat'), 'utf8').trim();
      const runner = await newRunner(url, pat, 'story');
      const project = await api(url, pat, 'POST', '/projects', { name: 'story' });
      expect(project.status).toBe(201);
      const src = join(dir, 'src');
      mkdirSync(src);
      writeFileSync(
        join(src, '.gitlab-ci.yml'),
        'one:\n  script: [echo one]\n  variables: { PODRUNNER_FAKE_DURATION_MS: "1000" }\ntwo:\n  script: [echo two]\n  variables: { PODRUNNER_FAKE_DURATION_MS: "1500" }\n',
      );
      const git = (...args: string[]) =>
        promisify(execFile)('git', args, {
          cwd: src,
          env: { PATH: process.env.PATH, HOME: dir, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1' },
        });
      await git('init', '-q', '-b', 'main');
      await git('add', '.');
      await git('-c', 'user.name=Jane', '-c', 'user.email=jane@example.com', 'commit', '-qm', 'ci');
      await git('push', '-q', `http://root:${pat}@${new URL(url).host}/root/story.git`, 'main');

      const registered = await runCli([
        'register',
        '-n',
        '-c',
        config,
        '--url',
        url,
        '--token',
        runner.token,
        '--name',
        'story',
      ]);
      expect(registered.code).toBe(0);
      expect((await runCli(['verify', '-c', config])).stdout).toMatch(/is valid +runner=\S+ name=story/);
      expect(await managersOf(runner.id, url, pat)).toEqual([systemIdOf()]);

      const run = startCli(['run', '-c', config, '--executor-plugin', 'fake', '--log-format', 'json']);
      await run.line(/"msg":"manager started"/);
      const pipeline = await api(
        url,
        pat,
        'POST',
        `/projects/${project.body.id as number}/pipeline?ref=main`,
      );
      expect(pipeline.status).toBe(201);
      const jobs = await api(
        url,
        pat,
        'GET',
        `/projects/${project.body.id as number}/pipelines/${pipeline.body.id as number}/jobs`,
      );
      const listed = jobs.body as unknown as { id: number; name: string }[];
      const ids = ['one', 'two'].map((name) => listed.find((j) => j.name === name)!.id);
      // concurrent = 1 (as register writes it): one runs, then two; SIGQUIT while two runs.
      await run.line(new RegExp(`"job":${ids[1]}.*"msg":"job started"`), 30_000);
      run.child.kill('SIGQUIT');
      expect(await run.exit).toBe(0);
      for (const id of ids) {
        const job = await api(url, pat, 'GET', `/projects/${project.body.id as number}/jobs/${id}`);
        expect(job.body).toMatchObject({ status: 'success', runner: { id: runner.id } });
      }

      const gone = await runCli(['unregister', '--all-runners', '-c', config]);
      expect(gone.code).toBe(0);
      expect(await managersOf(runner.id, url, pat)).toEqual([]);
      expect(readConfig().runners).toEqual([]);
    } finally {
      gitlab.child.kill('SIGTERM');
      expect(await gitlab.exit).toBe(0);
    }
  });
});
