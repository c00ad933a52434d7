// The GitLab administrator API calls that bring up a runner without a browser: wait until GitLab
// answers with an admin credential, and create an instance runner (POST /api/v4/user/runners),
// whose glrt- token `podrunner register` then takes. The same calls work against GitLab CE and
// against the embedded GitLab (`podrunner sim gitlab`).
import { request } from 'undici';
import { z } from 'zod';
import { BootstrapError } from './errors.ts';

/** How requests prove they come from an administrator. */
export type AdminAuth = { kind: 'private-token'; token: string } | { kind: 'bearer'; token: string };

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface WaitOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** Pause between attempts. */
  intervalMs: number;
  clock?: Clock;
  log?: (line: string) => void;
}

interface Answer {
  status: number;
  body: string;
}

const requestTimeoutMs = 30_000;

async function call(
  method: 'GET' | 'POST',
  url: string,
  headers: Record<string, string>,
  form?: Record<string, string>,
): Promise<Answer> {
  const body = form ? new URLSearchParams(form).toString() : undefined;
  const response = await request(url, {
    method,
    headers: body ? { ...headers, 'content-type': 'application/x-www-form-urlencoded' } : headers,
    body,
    headersTimeout: requestTimeoutMs,
    bodyTimeout: requestTimeoutMs,
  });
  return { status: response.statusCode, body: await response.body.text() };
}

function authHeaders(auth: AdminAuth): Record<string, string> {
  return auth.kind === 'private-token'
    ? { 'private-token': auth.token }
    : { authorization: `Bearer ${auth.token}` };
}

export function apiUrl(gitlabUrl: string, path: string): string {
  return `${gitlabUrl.replace(/\/+$/, '')}/api/v4${path}`;
}

function parseJson<T>(schema: z.ZodType<T>, answer: Answer, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(answer.body);
  } catch {
    throw new BootstrapError(
      'answer_invalid',
      `${what}: GitLab answered ${answer.status} with a body that is not JSON`,
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new BootstrapError(
      'answer_invalid',
      `${what}: unexpected answer: ${parsed.error.issues[0]?.message ?? ''}`,
    );
  }
  return parsed.data;
}

const userSchema = z.object({ id: z.number(), username: z.string(), is_admin: z.boolean().optional() });
export type GitlabUser = z.infer<typeof userSchema>;

/**
 * Polls `GET /api/v4/user` until GitLab answers 200 for this credential. While GitLab boots it refuses
 * connections or answers 502; a 401 can mean the admin token is not created yet (GitLab CE creates it
 * after its first reconfigure), so it is retried too until the deadline, then reported.
 */
export async function waitForAdmin(
  gitlabUrl: string,
  auth: AdminAuth,
  options: WaitOptions,
): Promise<GitlabUser> {
  const clock = options.clock ?? realClock;
  const deadline = clock.now() + options.timeoutMs;
  let last = 'no answer yet';
  for (let attempt = 1; ; attempt++) {
    try {
      const answer = await call('GET', apiUrl(gitlabUrl, '/user'), authHeaders(auth));
      if (answer.status === 200) {
        const user = parseJson(userSchema, answer, 'GET /api/v4/user');
        if (user.is_admin !== true) {
          throw new BootstrapError(
            'not_admin',
            `the admin credential belongs to ${user.username}, who is not an administrator (instance runners need one)`,
          );
        }
        return user;
      }
      last = `GET /api/v4/user answered ${answer.status}`;
    } catch (error) {
      if (error instanceof BootstrapError) throw error;
      last = `GET /api/v4/user failed: ${(error as Error).message}`;
    }
    if (clock.now() >= deadline) {
      const code = last.includes('answered 401') ? 'admin_token_rejected' : 'gitlab_unreachable';
      throw new BootstrapError(code, `GitLab at ${gitlabUrl} not ready after ${attempt} attempts: ${last}`);
    }
    if (attempt === 1 || attempt % 6 === 0) options.log?.(`waiting for GitLab at ${gitlabUrl} (${last})`);
    await clock.sleep(options.intervalMs);
  }
}

const oauthSchema = z.object({ access_token: z.string().min(1) });

/**
 * An admin credential from the root password through the OAuth password grant (no browser); GitLab
 * allows it without client credentials on self-managed instances by default. Retried while GitLab boots.
 */
export async function passwordGrant(
  gitlabUrl: string,
  username: string,
  password: string,
  options: WaitOptions,
): Promise<AdminAuth> {
  const clock = options.clock ?? realClock;
  const deadline = clock.now() + options.timeoutMs;
  const url = `${gitlabUrl.replace(/\/+$/, '')}/oauth/token`;
  let last = 'no answer yet';
  for (let attempt = 1; ; attempt++) {
    try {
      const answer = await call('POST', url, {}, { grant_type: 'password', username, password });
      if (answer.status === 200) {
        return { kind: 'bearer', token: parseJson(oauthSchema, answer, 'POST /oauth/token').access_token };
      }
      last = `POST /oauth/token answered ${answer.status}`;
    } catch (error) {
      if (error instanceof BootstrapError) throw error;
      last = `POST /oauth/token failed: ${(error as Error).message}`;
    }
    if (clock.now() >= deadline) {
      throw new BootstrapError(
        'gitlab_unreachable',
        `no OAuth token from ${gitlabUrl} after ${attempt} attempts: ${last}`,
      );
    }
    if (attempt === 1 || attempt % 6 === 0) options.log?.(`waiting for GitLab at ${gitlabUrl} (${last})`);
    await clock.sleep(options.intervalMs);
  }
}

export interface RunnerRequest {
  description: string;
  tags: string[];
  runUntagged: boolean;
}

const createdRunnerSchema = z.object({
  id: z.number(),
  token: z.string().startsWith('glrt-', 'the runner token does not start with glrt-'),
});
export type CreatedRunner = z.infer<typeof createdRunnerSchema>;

/** `POST /api/v4/user/runners` for an instance runner; the answer's token is shown only this once. */
export async function createInstanceRunner(
  gitlabUrl: string,
  auth: AdminAuth,
  runner: RunnerRequest,
): Promise<CreatedRunner> {
  const form: Record<string, string> = {
    runner_type: 'instance_type',
    description: runner.description,
    run_untagged: String(runner.runUntagged),
  };
  if (runner.tags.length > 0) form.tag_list = runner.tags.join(',');
  const answer = await call('POST', apiUrl(gitlabUrl, '/user/runners'), authHeaders(auth), form);
  if (answer.status !== 201) {
    throw new BootstrapError(
      'runner_create_failed',
      `POST /api/v4/user/runners answered ${answer.status}: ${answer.body.slice(0, 300)}`,
    );
  }
  return parseJson(createdRunnerSchema, answer, 'POST /api/v4/user/runners');
}

/** Whether GitLab still accepts a runner token saved by an earlier bootstrap (`POST /api/v4/runners/verify`). */
export async function runnerTokenValid(gitlabUrl: string, token: string): Promise<boolean> {
  const answer = await call('POST', apiUrl(gitlabUrl, '/runners/verify'), {}, { token });
  if (answer.status === 200) return true;
  if (answer.status === 403) return false;
  throw new BootstrapError('gitlab_unreachable', `POST /api/v4/runners/verify answered ${answer.status}`);
}
