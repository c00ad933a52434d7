// The manager pod's start script, as the chart renders it, run under each POSIX shell a node image
// may have (dash, busybox, bash) with a stand-in `podrunner` that records how it is called.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configMapData, render } from './render.ts';

interface Call {
  args: string[];
  env: Record<string, string>;
}

interface Outcome {
  code: number;
  stderr: string;
  calls: Call[];
}

const recordedEnv = [
  'CI_SERVER_URL',
  'CI_SERVER_TOKEN',
  'REGISTRATION_TOKEN',
  'RUNNER_EXECUTOR',
  'NODE_EXTRA_CA_CERTS',
  'CI_SERVER_TLS_CA_FILE',
  'CACHE_S3_ACCESS_KEY',
  'CACHE_S3_SECRET_KEY',
  'PRE_ENTRYPOINT_RAN',
];

// Records each call as one JSON line; `register` fails while the fail-count file says so.
const stub = `#!/bin/sh
dir=$(dirname "$0")
{
  printf '{"args":['
  sep=''
  for a in "$@"; do printf '%s"%s"' "$sep" "$a"; sep=','; done
  printf '],"env":{'
  sep=''
  for v in ${recordedEnv.join(' ')}; do
    eval "val=\\\${$v-}"
    if [ -n "$val" ]; then printf '%s"%s":"%s"' "$sep" "$v" "$val"; sep=','; fi
  done
  printf '}}\\n'
} >> "$dir/calls.jsonl"
if [ "$1" = register ] && [ -s "$dir/register-failures" ]; then
  left=$(cat "$dir/register-failures")
  if [ "$left" -gt 0 ]; then echo $((left - 1)) > "$dir/register-failures"; exit 1; fi
fi
exit 0
`;

const shells = ['/bin/dash', '/bin/busybox', '/bin/bash'].filter((s) => existsSync(s));

let data: Record<string, string>;
const dirs: string[] = [];

beforeAll(async () => {
  data = configMapData(
    await render('podrunner', 'ci', ['--set', 'preEntrypointScript=export PRE_ENTRYPOINT_RAN=no-leak']),
  );
});

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

interface Setup {
  secrets?: Record<string, string>;
  certs?: Record<string, string>;
  registerFailures?: number;
  env?: Record<string, string>;
}

async function start(shell: string, setup: Setup): Promise<Outcome> {
  const root = await mkdtemp(join(tmpdir(), 'podrunner-entrypoint-'));
  dirs.push(root);
  const paths = {
    configmaps: join(root, 'configmaps'),
    secrets: join(root, 'secrets'),
    config: join(root, 'config'),
    bin: join(root, 'bin'),
    tmp: join(root, 'tmp'),
  };
  await Promise.all(Object.values(paths).map((p) => mkdir(p)));
  for (const [key, value] of Object.entries(data)) await writeFile(join(paths.configmaps, key), value);
  for (const [key, value] of Object.entries(setup.secrets ?? {}))
    await writeFile(join(paths.secrets, key), value);
  if (setup.certs) {
    await mkdir(join(paths.config, 'certs'));
    for (const [key, value] of Object.entries(setup.certs))
      await writeFile(join(paths.config, 'certs', key), value);
  }
  await writeFile(join(paths.bin, 'podrunner'), stub);
  await chmod(join(paths.bin, 'podrunner'), 0o755);
  await writeFile(join(paths.bin, 'register-failures'), String(setup.registerFailures ?? 0));

  const args = shell.endsWith('busybox')
    ? ['sh', join(paths.configmaps, 'entrypoint')]
    : [join(paths.configmaps, 'entrypoint')];
  const env = {
    PATH: `${paths.bin}:/usr/bin:/bin`,
    CI_SERVER_URL: 'https://gitlab.example.com:8443/',
    RUNNER_EXECUTOR: 'kubernetes',
    PODRUNNER_CONFIG_DIR: paths.config,
    PODRUNNER_CONFIGMAPS_DIR: paths.configmaps,
    PODRUNNER_SECRETS_DIR: paths.secrets,
    PODRUNNER_LISTEN_ADDRESS: ':9252',
    REGISTER_RETRY_SECONDS: '0',
    TMPDIR: paths.tmp,
    ...setup.env,
  };
  const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(shell, args, { env, timeout: 30_000 }, (error, _stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stderr });
    });
  });
  const log = existsSync(join(paths.bin, 'calls.jsonl'))
    ? await readFile(join(paths.bin, 'calls.jsonl'), 'utf8')
    : '';
  const calls = log
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Call);
  if (code === 0) {
    // The global config was copied where register and run read it.
    expect(await readFile(join(paths.config, 'config.toml'), 'utf8')).toBe(data['config.toml']);
  }
  return {
    code,
    stderr,
    calls: calls.map((c) => ({ ...c, args: c.args.map((a) => a.replace(root, '<root>')) })),
  };
}

describe.each(shells)('the manager entrypoint under %s', (shell) => {
  it('registers with the token from the Secret file, then becomes `podrunner run`', async () => {
    const { code, calls, stderr } = await start(shell, { secrets: { 'runner-token': 'glrt-secret-1' } });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(calls.map((c) => c.args)).toEqual([
      [
        'register',
        '--non-interactive',
        '--executor',
        'kubernetes',
        '--template-config',
        '<root>/configmaps/config.template.toml',
        '--config',
        '<root>/config/config.toml',
      ],
      ['run', '--config', '<root>/config/config.toml', '--listen-address', ':9252'],
    ]);
    expect(calls[0]?.env).toMatchObject({
      CI_SERVER_URL: 'https://gitlab.example.com:8443/',
      CI_SERVER_TOKEN: 'glrt-secret-1',
      RUNNER_EXECUTOR: 'kubernetes',
    });
    // The pre-entrypoint script runs in its own shell, between registration and run.
    expect(calls[1]?.env.PRE_ENTRYPOINT_RAN).toBeUndefined();
  });

  it('retries registration while GitLab cannot be reached', async () => {
    const { code, calls, stderr } = await start(shell, {
      secrets: { 'runner-token': 'glrt-secret-1' },
      registerFailures: 2,
    });
    expect(code).toBe(0);
    expect(calls.map((c) => c.args[0])).toEqual(['register', 'register', 'register', 'run']);
    expect(stderr).toContain('registration attempt 2 of 30 failed');
  });

  it('gives up after REGISTER_ATTEMPTS failures with a clear error', async () => {
    const { code, calls, stderr } = await start(shell, {
      secrets: { 'runner-token': 'glrt-secret-1' },
      registerFailures: 10,
      env: { REGISTER_ATTEMPTS: '3' },
    });
    expect(code).toBe(1);
    expect(calls.map((c) => c.args[0])).toEqual(['register', 'register', 'register']);
    expect(stderr).toContain('podrunner: registration failed 3 times; giving up');
  });

  it('stops with a clear error when there is no token', async () => {
    const { code, calls, stderr } = await start(shell, {});
    expect(code).toBe(1);
    expect(calls).toEqual([]);
    expect(stderr).toContain('podrunner: no runner token: set runnerToken (glrt-...) or runners.secret');
  });

  it('stops with a clear error when gitlabUrl is empty', async () => {
    const { code, calls, stderr } = await start(shell, {
      secrets: { 'runner-token': 'glrt-secret-1' },
      env: { CI_SERVER_URL: '' },
    });
    expect(code).toBe(1);
    expect(calls).toEqual([]);
    expect(stderr).toContain('podrunner: gitlabUrl is not set');
  });

  it('takes a glrt- token given as runnerRegistrationToken as the authentication token', async () => {
    const { calls } = await start(shell, { secrets: { 'runner-registration-token': 'glrt-legacy-place' } });
    expect(calls[0]?.env.CI_SERVER_TOKEN).toBe('glrt-legacy-place');
    expect(calls[0]?.env.REGISTRATION_TOKEN).toBeUndefined();
  });

  it("trusts GitLab's certificate and exports the cache credentials", async () => {
    const { code, calls } = await start(shell, {
      secrets: { 'runner-token': 'glrt-secret-1', accesskey: 'AKIA1', secretkey: 's3cr3t' },
      certs: { 'gitlab.example.com.crt': 'CERT-A\n', 'other.crt': 'CERT-B\n' },
    });
    expect(code).toBe(0);
    const env = calls[0]?.env ?? {};
    expect(env.CACHE_S3_ACCESS_KEY).toBe('AKIA1');
    expect(env.CACHE_S3_SECRET_KEY).toBe('s3cr3t');
    expect(env.CI_SERVER_TLS_CA_FILE).toMatch(/\/config\/certs\/gitlab\.example\.com\.crt$/);
    expect(await readFile(env.NODE_EXTRA_CA_CERTS as string, 'utf8')).toBe('CERT-A\nCERT-B\n');
  });
});
