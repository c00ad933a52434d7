// The bootstrap's HTTP steps against a fake GitLab, with a fake clock so that waiting costs nothing.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { bootstrap, readSettings } from '../../../src/bootstrap/bootstrap.ts';
import type { Clock } from '../../../src/bootstrap/gitlab-admin.ts';
import { pointKubeconfigAt } from '../../../src/bootstrap/kubeconfig.ts';
import { type FakeGitlab, startFakeGitlab } from '../../support/fake-gitlab-admin.ts';

const adminToken = 'glpat-test-admin-token-0001';
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

function fakeClock(): Clock & { slept: number } {
  let now = 0;
  const clock = {
    slept: 0,
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
      clock.slept += ms;
    },
  };
  return clock;
}

async function fixture(
  options: Parameters<typeof startFakeGitlab>[0],
): Promise<{ gitlab: FakeGitlab; state: string }> {
  const gitlab = await startFakeGitlab(options);
  const state = await mkdtemp(join(tmpdir(), 'podrunner-bootstrap-'));
  cleanups.push(gitlab.close, () => rm(state, { recursive: true, force: true }));
  return { gitlab, state };
}

const quiet = () => {};

describe('bootstrap', () => {
  it('waits through a booting GitLab and a not-yet-created token, then creates an instance runner', async () => {
    const { gitlab, state } = await fixture({ adminToken, bootingRequests: 3, unknownTokenRequests: 2 });
    const clock = fakeClock();
    const lines: string[] = [];
    const settings = readSettings({
      GITLAB_URL: gitlab.url,
      GITLAB_ADMIN_TOKEN: adminToken,
      PODRUNNER_STATE_DIR: state,
      RUNNER_NAME: 'podrunner-test',
    });
    const result = await bootstrap(settings, (l) => lines.push(l), clock);

    expect(result.runnerCreated).toBe(true);
    expect((await readFile(result.runnerTokenFile, 'utf8')).trim()).toBe('glrt-fake-1');
    expect((await stat(result.runnerTokenFile)).mode & 0o777).toBe(0o600);
    expect(gitlab.runners[0]?.form).toEqual({
      runner_type: 'instance_type',
      description: 'podrunner-test',
      run_untagged: 'true',
      tag_list: 'podrunner,kubernetes,docker',
    });
    expect(clock.slept).toBe(5 * 5000); // five refused attempts, five pauses
    expect(lines[0]).toContain('waiting for GitLab');
    expect(lines.some((l) => l.includes('created instance runner 1'))).toBe(true);
  });

  it('reuses the runner saved by an earlier run while GitLab accepts its token', async () => {
    const { gitlab, state } = await fixture({ adminToken });
    const settings = readSettings({
      GITLAB_URL: gitlab.url,
      GITLAB_ADMIN_TOKEN: adminToken,
      PODRUNNER_STATE_DIR: state,
    });
    await bootstrap(settings, quiet, fakeClock());
    const again = await bootstrap(settings, quiet, fakeClock());
    expect(again.runnerCreated).toBe(false);
    expect(gitlab.runners).toHaveLength(1);

    await writeFile(join(state, 'runner-token'), 'glrt-forgotten-by-gitlab\n');
    const replaced = await bootstrap(settings, quiet, fakeClock());
    expect(replaced.runnerCreated).toBe(true);
    expect((await readFile(join(state, 'runner-token'), 'utf8')).trim()).toBe('glrt-fake-2');
  });

  it('reads the admin token from a file once it appears (the embedded GitLab writes it)', async () => {
    const { gitlab, state } = await fixture({ adminToken });
    const file = join(state, 'admin-token');
    const clock = fakeClock();
    const realSleep = clock.sleep;
    clock.sleep = async (ms) => {
      await realSleep(ms);
      if (clock.slept >= 10_000) await writeFile(file, `${adminToken}\n`);
    };
    const settings = readSettings({
      GITLAB_URL: gitlab.url,
      GITLAB_ADMIN_TOKEN_FILE: file,
      PODRUNNER_STATE_DIR: state,
    });
    const result = await bootstrap(settings, quiet, clock);
    expect(result.runnerCreated).toBe(true);
    expect(gitlab.requests.find((r) => r.path === '/api/v4/user/runners')?.headers['private-token']).toBe(
      adminToken,
    );
  });

  it('gets a credential from the root password through the OAuth password grant', async () => {
    const { gitlab, state } = await fixture({
      adminToken,
      rootPassword: 'Strong-Pass-1',
      bootingRequests: 1,
    });
    const settings = readSettings({
      GITLAB_URL: gitlab.url,
      GITLAB_ROOT_PASSWORD: 'Strong-Pass-1',
      PODRUNNER_STATE_DIR: state,
    });
    await bootstrap(settings, quiet, fakeClock());
    const create = gitlab.requests.find((r) => r.path === '/api/v4/user/runners');
    expect(create?.headers.authorization).toBe('Bearer oauth-access-token-1');
  });

  it('gives up at the deadline with a code that names the cause', async () => {
    const { gitlab, state } = await fixture({ adminToken });
    const settings = readSettings({
      GITLAB_URL: gitlab.url,
      GITLAB_ADMIN_TOKEN: 'glpat-wrong',
      GITLAB_WAIT_SECONDS: '60',
      PODRUNNER_STATE_DIR: state,
    });
    await expect(bootstrap(settings, quiet, fakeClock())).rejects.toMatchObject({
      code: 'admin_token_rejected',
      message: expect.stringContaining('answered 401'),
    });
  });

  it('reports an unreachable GitLab as such', async () => {
    const { gitlab, state } = await fixture({ adminToken });
    await gitlab.close();
    const settings = readSettings({
      GITLAB_URL: gitlab.url,
      GITLAB_ADMIN_TOKEN: adminToken,
      GITLAB_WAIT_SECONDS: '10',
      PODRUNNER_STATE_DIR: state,
    });
    await expect(bootstrap(settings, quiet, fakeClock())).rejects.toMatchObject({
      code: 'gitlab_unreachable',
    });
  });

  it('refuses a credential that is not an administrator', async () => {
    const { gitlab, state } = await fixture({ adminToken, isAdmin: false });
    const settings = readSettings({
      GITLAB_URL: gitlab.url,
      GITLAB_ADMIN_TOKEN: adminToken,
      PODRUNNER_STATE_DIR: state,
    });
    await expect(bootstrap(settings, quiet, fakeClock())).rejects.toMatchObject({ code: 'not_admin' });
  });

  it('writes a kubeconfig pointed at the server the manager reaches', async () => {
    const { gitlab, state } = await fixture({ adminToken });
    const source = join(state, 'k3s.yaml');
    await writeFile(
      source,
      'apiVersion: v1\nkind: Config\nclusters:\n- name: default\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority-data: Q0E=\ncontexts: []\nusers: []\n',
    );
    const settings = readSettings({
      GITLAB_URL: gitlab.url,
      GITLAB_ADMIN_TOKEN: adminToken,
      PODRUNNER_STATE_DIR: state,
      KUBECONFIG_SOURCE: source,
      KUBE_SERVER: 'https://k3s:6443',
    });
    const result = await bootstrap(settings, quiet, fakeClock());
    const written = parse(await readFile(result.kubeconfigFile as string, 'utf8')) as {
      clusters: { cluster: Record<string, string> }[];
    };
    expect(written.clusters[0]?.cluster).toEqual({
      server: 'https://k3s:6443',
      'certificate-authority-data': 'Q0E=',
    });
  });
});

describe('settings', () => {
  it('name what is missing or wrong', () => {
    expect(() => readSettings({ PODRUNNER_STATE_DIR: '/tmp/x', GITLAB_ADMIN_TOKEN: 't' })).toThrow(
      /GITLAB_URL/,
    );
    expect(() => readSettings({ GITLAB_URL: 'http://gitlab', PODRUNNER_STATE_DIR: '/tmp/x' })).toThrow(
      /set GITLAB_ADMIN_TOKEN, GITLAB_ADMIN_TOKEN_FILE or GITLAB_ROOT_PASSWORD/,
    );
    expect(() =>
      readSettings({
        GITLAB_URL: 'http://gitlab',
        GITLAB_ADMIN_TOKEN: 't',
        PODRUNNER_STATE_DIR: '/tmp/x',
        KUBECONFIG_SOURCE: '/k',
      }),
    ).toThrow(/KUBECONFIG_SOURCE needs KUBE_SERVER/);
  });

  it('reject a kubeconfig without clusters', () => {
    expect(() => pointKubeconfigAt('apiVersion: v1\nkind: Config\n', 'https://k3s:6443')).toThrow(
      /kubeconfig is not usable/,
    );
  });
});
