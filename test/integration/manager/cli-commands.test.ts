// register, verify, unregister and list as processes against a fake GitLab: gitlab-runner's flags and
// environment variables, the config.toml they write, their words and their exit codes.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.ts';
import { FakeGitLab } from '../../support/fake-gitlab.ts';

let gitlab: FakeGitLab;
let dir: string;
let config: string;

beforeEach(async () => {
  gitlab = await FakeGitLab.start();
  dir = mkdtempSync(join(tmpdir(), 'podrunner-cli-'));
  config = join(dir, 'config.toml');
});
afterEach(async () => {
  await gitlab.close();
  rmSync(dir, { recursive: true, force: true });
});

const readConfig = () =>
  parse(readFileSync(config, 'utf8')) as { concurrent: number; runners: Record<string, unknown>[] };

describe('podrunner register', () => {
  it('verifies a glrt- token from the environment and writes the entry, merged over --template-config', async () => {
    gitlab.addRunner('glrt-chartchartchart');
    const template = join(dir, 'template.toml');
    writeFileSync(
      template,
      '[[runners]]\n  [runners.kubernetes]\n    image = "alpine"\n    namespace = "from-template"\n    poll_timeout = 600\n',
    );
    const res = await runCli(
      ['register', '--non-interactive', '--template-config', template, '--config', config],
      {
        CI_SERVER_URL: gitlab.url,
        CI_SERVER_TOKEN: 'glrt-chartchartchart',
        RUNNER_NAME: 'chart-runner',
        RUNNER_EXECUTOR: 'kubernetes',
        KUBERNETES_NAMESPACE: 'from-env',
        KUBERNETES_PRIVILEGED: 'true',
        RUNNER_REQUEST_CONCURRENCY: '4',
        REGISTER_LOCKED: 'true',
      },
    );
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Runner registered successfully');
    const written = readConfig();
    expect(written.concurrent).toBe(1);
    expect(written.runners).toHaveLength(1);
    expect(written.runners[0]).toMatchObject({
      name: 'chart-runner',
      url: gitlab.url,
      id: 1,
      token: 'glrt-chartchartchart',
      executor: 'kubernetes',
      request_concurrency: 4,
      kubernetes: { namespace: 'from-env', privileged: true, image: 'alpine', poll_timeout: 600 },
    });
    expect(written.runners[0]!.token_obtained_at).toBeInstanceOf(Date);
    const systemId = readFileSync(join(dir, '.runner_system_id'), 'utf8').trim();
    expect(systemId).toMatch(/^[rs]_[0-9a-zA-Z]{12}$/);
    expect(gitlab.managers.has(`glrt-chartchartchart|${systemId}`)).toBe(true);
    expect((await runCli(['verify', '-c', config])).code).toBe(0);
  });

  it('takes RUNNER_TOKEN too, and appends to an existing config', async () => {
    gitlab.addRunner('glrt-firstfirstfirst');
    gitlab.addRunner('glrt-secondsecond00');
    const env = { CI_SERVER_URL: gitlab.url };
    expect(
      (
        await runCli(['register', '-n', '-c', config, '--name', 'one'], {
          ...env,
          RUNNER_TOKEN: 'glrt-firstfirstfirst',
        })
      ).code,
    ).toBe(0);
    expect(
      (
        await runCli(
          [
            'register',
            '-n',
            '-c',
            config,
            '--token',
            'glrt-secondsecond00',
            '--description',
            'two',
            '--limit',
            '2',
          ],
          env,
        )
      ).code,
    ).toBe(0);
    expect(readConfig().runners.map((r) => [r.name, r.limit])).toEqual([
      ['one', undefined],
      ['two', 2],
    ]);
  });

  it('registers with a registration token (legacy workflow) and stores the runner token GitLab returns', async () => {
    gitlab.registrationTokens.add('GR1348941legacyLegacy');
    const res = await runCli([
      'register',
      '-n',
      '-c',
      config,
      '--url',
      gitlab.url,
      '-r',
      'GR1348941legacyLegacy',
      '--tag-list',
      'k8s,linux',
      '--name',
      'legacy',
    ]);
    expect(res.code).toBe(0);
    const reg = gitlab.requests.find((r) => r.method === 'POST' && r.path === '/api/v4/runners')!;
    expect(JSON.parse(reg.body)).toMatchObject({
      token: 'GR1348941legacyLegacy',
      description: 'legacy',
      tag_list: 'k8s,linux',
      run_untagged: false,
      locked: true,
      paused: false,
    });
    expect(readConfig().runners[0]!.token).toMatch(/^glrtr-/);
  });

  it('exit code 1 when GitLab refuses the token or registration tokens', async () => {
    const refused = await runCli([
      'register',
      '-n',
      '-c',
      config,
      '--url',
      gitlab.url,
      '--token',
      'glrt-unknownunknown',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the runner token is not valid (403');
    gitlab.registrationDisabled = true;
    const gone = await runCli(['register', '-n', '-c', config, '--url', gitlab.url, '-r', 'GR1348941x']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('does not accept registration tokens (410');
    expect(existsSync(config)).toBe(false);
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
    gitlab.addRunner('glrt-serverside0000');
    const reserved = await runCli([
      'register',
      '-n',
      '-c',
      config,
      '--url',
      gitlab.url,
      '--token',
      'glrt-serverside0000',
      '--tag-list',
      'a',
    ]);
    expect(reserved.code).toBe(2);
    expect(reserved.stderr).toContain(
      '--tag-list cannot be set when registering with a runner authentication token',
    );
    const noUrl = await runCli(['register', '-n', '-c', config, '--token', 'glrt-serverside0000']);
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain('pass --url or set CI_SERVER_URL');
    expect((await runCli(['register', '--no-such-flag'])).code).toBe(2);
    expect((await runCli(['register', '--help'])).code).toBe(0);
    expect(existsSync(config)).toBe(false);
  });
});

describe('podrunner verify, list, unregister', () => {
  const write = (runners: string) => writeFileSync(config, `concurrent = 2\n${runners}`);
  const entry = (name: string, token: string) =>
    `[[runners]]\n  name = "${name}"\n  url = "${gitlab.url}"\n  token = "${token}"\n  executor = "kubernetes"\n`;

  it('says "is valid" for glrt- tokens, "is alive" for legacy ones, "is not valid" when GitLab refuses', async () => {
    gitlab.addRunner('glrt-validvalidvalid');
    gitlab.addRunner('glrtr-legacylegacy00');
    write(entry('a', 'glrt-validvalidvalid') + entry('b', 'glrtr-legacylegacy00'));
    const ok = await runCli(['verify', '--config', config]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/Verifying runner\.\.\. is valid +runner=validvali name=a/);
    expect(ok.stdout).toMatch(/Verifying runner\.\.\. is alive +runner=legacyleg name=b/);
    expect((await runCli(['verify', '--config', config, '--name', 'b'])).stdout).not.toContain('name=a');

    gitlab.runners.delete('glrt-validvalidvalid');
    const bad = await runCli(['verify', '--config', config]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/is not valid +runner=validvali/);
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
    write(entry('a', 'glrt-x').replace(gitlab.url, 'http://127.0.0.1:1'));
    const res = await runCli(['verify', '--config', config]);
    expect(res.code).toBe(4);
    expect(res.stdout).toContain('Verifying runner... failed');
  });

  it('list prints each runner with a short token', async () => {
    write(entry('first', 'glrt-t3_listlistlist') + entry('second', 'glrt-other1234567'));
    const res = await runCli(['list', '-c', config]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`first   Executor=kubernetes Token=listlistl URL=${gitlab.url}`);
    expect(res.stdout).not.toContain('glrt-t3_listlistlist');
  });

  it('unregister --all-runners removes this manager of glrt- runners and legacy runners, and empties the config', async () => {
    gitlab.addRunner('glrt-managedmanaged');
    gitlab.addRunner('glrtr-legacylegacy00');
    write(entry('a', 'glrt-managedmanaged') + entry('b', 'glrtr-legacylegacy00'));
    expect((await runCli(['verify', '-c', config])).code).toBe(0);
    const systemId = readFileSync(join(dir, '.runner_system_id'), 'utf8').trim();
    expect(gitlab.managers.has(`glrt-managedmanaged|${systemId}`)).toBe(true);
    const res = await runCli(['unregister', '--all-runners', '-c', config]);
    expect(res.code).toBe(0);
    expect(gitlab.managers.has(`glrt-managedmanaged|${systemId}`)).toBe(false);
    expect(gitlab.runners.has('glrt-managedmanaged')).toBe(true);
    expect(gitlab.runners.has('glrtr-legacylegacy00')).toBe(false);
    expect(readConfig().runners).toEqual([]);
    expect((await runCli(['unregister', '-c', config])).code).toBe(2);
  });
});
