// The HTTP half of scripts/bootstrap-runner.sh: wait for GitLab, obtain an admin credential without
// a browser, create (or reuse) an instance runner and save its glrt- token, and point a k3s
// kubeconfig at the address the manager reaches. Settings come from the environment (see
// bootstrapSettings); the script then runs `podrunner register` and `podrunner run`.
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { BootstrapError } from './errors.ts';
import {
  type AdminAuth,
  type Clock,
  createInstanceRunner,
  passwordGrant,
  realClock,
  runnerTokenValid,
  waitForAdmin,
} from './gitlab-admin.ts';
import { pointKubeconfigAt } from './kubeconfig.ts';

const seconds = z.coerce.number().positive();

export const bootstrapSettings = z
  .object({
    GITLAB_URL: z.url({ message: 'GITLAB_URL must be the URL of GitLab, e.g. http://gitlab' }),
    GITLAB_ADMIN_TOKEN: z.string().min(1).optional(),
    GITLAB_ADMIN_TOKEN_FILE: z.string().min(1).optional(),
    GITLAB_ROOT_PASSWORD: z.string().min(1).optional(),
    GITLAB_ROOT_USERNAME: z.string().min(1).default('root'),
    GITLAB_WAIT_SECONDS: seconds.default(1200),
    GITLAB_POLL_SECONDS: seconds.default(5),
    PODRUNNER_STATE_DIR: z.string().min(1),
    RUNNER_NAME: z.string().min(1).default('podrunner-dev'),
    RUNNER_TAGS: z.string().default('podrunner,kubernetes,docker'),
    KUBECONFIG_SOURCE: z.string().min(1).optional(),
    KUBE_SERVER: z.url().optional(),
  })
  .refine((s) => s.GITLAB_ADMIN_TOKEN || s.GITLAB_ADMIN_TOKEN_FILE || s.GITLAB_ROOT_PASSWORD, {
    message: 'set GITLAB_ADMIN_TOKEN, GITLAB_ADMIN_TOKEN_FILE or GITLAB_ROOT_PASSWORD',
  })
  .refine((s) => !s.KUBECONFIG_SOURCE || s.KUBE_SERVER, {
    message: 'KUBECONFIG_SOURCE needs KUBE_SERVER (the API server address the manager reaches)',
  });
export type BootstrapSettings = z.infer<typeof bootstrapSettings>;

export function readSettings(env: NodeJS.ProcessEnv): BootstrapSettings {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = bootstrapSettings.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new BootstrapError('config_invalid', `${where}${issue?.message ?? 'invalid settings'}`);
  }
  return parsed.data;
}

async function waitForFile(
  path: string,
  what: string,
  deadline: number,
  clock: Clock,
  pollMs: number,
): Promise<string> {
  for (;;) {
    try {
      const text = (await readFile(path, 'utf8')).trim();
      if (text) return text;
    } catch {
      // not there yet
    }
    if (clock.now() >= deadline) throw new BootstrapError('config_invalid', `${what} ${path} did not appear`);
    await clock.sleep(pollMs);
  }
}

async function writePrivate(path: string, text: string): Promise<void> {
  const partial = `${path}.partial`;
  await writeFile(partial, text, { mode: 0o600 });
  await chmod(partial, 0o600);
  await rename(partial, path);
}

export interface BootstrapResult {
  runnerTokenFile: string;
  runnerCreated: boolean;
  kubeconfigFile?: string;
}

export async function bootstrap(
  settings: BootstrapSettings,
  log: (line: string) => void,
  clock: Clock = realClock,
): Promise<BootstrapResult> {
  const wait = {
    timeoutMs: settings.GITLAB_WAIT_SECONDS * 1000,
    intervalMs: settings.GITLAB_POLL_SECONDS * 1000,
    clock,
    log,
  };
  const deadline = clock.now() + wait.timeoutMs;
  const url = settings.GITLAB_URL;
  await mkdir(settings.PODRUNNER_STATE_DIR, { recursive: true });

  let auth: AdminAuth;
  if (settings.GITLAB_ADMIN_TOKEN) {
    auth = { kind: 'private-token', token: settings.GITLAB_ADMIN_TOKEN };
  } else if (settings.GITLAB_ADMIN_TOKEN_FILE) {
    const token = await waitForFile(
      settings.GITLAB_ADMIN_TOKEN_FILE,
      'the admin token file',
      deadline,
      clock,
      wait.intervalMs,
    );
    auth = { kind: 'private-token', token };
  } else {
    auth = await passwordGrant(url, settings.GITLAB_ROOT_USERNAME, settings.GITLAB_ROOT_PASSWORD ?? '', wait);
  }
  const admin = await waitForAdmin(url, auth, { ...wait, timeoutMs: Math.max(0, deadline - clock.now()) });
  log(`GitLab at ${url} is up; acting as administrator ${admin.username}`);

  const runnerTokenFile = join(settings.PODRUNNER_STATE_DIR, 'runner-token');
  let runnerCreated = false;
  const saved = await readFile(runnerTokenFile, 'utf8').then(
    (t) => t.trim(),
    () => '',
  );
  if (saved && (await runnerTokenValid(url, saved))) {
    log(`reusing the runner saved in ${runnerTokenFile}`);
  } else {
    const tags = settings.RUNNER_TAGS.split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    const runner = await createInstanceRunner(url, auth, {
      description: settings.RUNNER_NAME,
      tags,
      runUntagged: true,
    });
    await writePrivate(runnerTokenFile, `${runner.token}\n`);
    runnerCreated = true;
    log(`created instance runner ${runner.id} (${settings.RUNNER_NAME}); token saved in ${runnerTokenFile}`);
  }

  const result: BootstrapResult = { runnerTokenFile, runnerCreated };
  if (settings.KUBECONFIG_SOURCE && settings.KUBE_SERVER) {
    const source = await waitForFile(
      settings.KUBECONFIG_SOURCE,
      'the kubeconfig',
      deadline,
      clock,
      wait.intervalMs,
    );
    const kubeconfigFile = join(settings.PODRUNNER_STATE_DIR, 'kubeconfig');
    await writePrivate(kubeconfigFile, pointKubeconfigAt(source, settings.KUBE_SERVER));
    log(`kubeconfig for ${settings.KUBE_SERVER} written to ${kubeconfigFile}`);
    result.kubeconfigFile = kubeconfigFile;
  }
  return result;
}
