// Automatic runner token rotation, as `gitlab-runner run` does (gitlab-runner-api.md §1.1): a token with an
// expiry is reset at 75% of its lifetime through `POST /runners/reset_authentication_token`, and the new
// token is written into config.toml (which the manager then reloads). `FF_DISABLE_AUTOMATIC_TOKEN_ROTATION`
// in a runner's feature flags turns it off for that runner.
import type { Logger } from 'pino';
import { readConfigDoc, runnersOf, writeConfigDoc } from '../config/edit.ts';
import type { PodrunnerConfig } from '../config/schema/config.ts';
import type { RunnerConfig } from '../config/schema/runner.ts';
import type { GitLabClient } from '../gitlab/client.ts';
import { shortToken } from '../gitlab/tokens.ts';

export interface TokenRotatorOptions {
  configPath: string;
  clientFor: (runner: RunnerConfig) => GitLabClient;
  log: Logger;
  /** Called after config.toml got a new token (so the caller reloads it). */
  onRotated: () => void;
  now?: () => number;
  /** First wait after a failed reset; doubles up to an hour. */
  retryDelayMs?: number;
}

const MAX_TIMER = 2 ** 31 - 1;

/** When a token is due for rotation (epoch ms), or undefined when it does not expire or is not rotated. */
export function rotationDue(runner: RunnerConfig): number | undefined {
  if (runner.feature_flags.FF_DISABLE_AUTOMATIC_TOKEN_ROTATION) return undefined;
  const expires = runner.token_expires_at?.getTime();
  const obtained = runner.token_obtained_at?.getTime();
  // Go's zero time (0001-01-01) means "never expires".
  if (expires === undefined || obtained === undefined || runner.token_expires_at!.getUTCFullYear() <= 1)
    return undefined;
  return obtained + 0.75 * (expires - obtained);
}

export class TokenRotator {
  private readonly options: TokenRotatorOptions;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private closed = false;

  constructor(options: TokenRotatorOptions) {
    this.options = options;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** (Re)schedules rotations for the runners of `config`. */
  update(config: PodrunnerConfig): void {
    const wanted = new Set<string>();
    for (const runner of config.runners) {
      const due = rotationDue(runner);
      if (due === undefined) continue;
      wanted.add(runner.token);
      if (this.timers.has(runner.token)) continue;
      this.schedule(runner, due);
    }
    for (const [token, timer] of this.timers) {
      if (!wanted.has(token)) {
        clearTimeout(timer);
        this.timers.delete(token);
      }
    }
  }

  private schedule(runner: RunnerConfig, at: number): void {
    if (this.closed) return;
    const wait = Math.max(0, at - this.now());
    const timer = setTimeout(
      () => {
        this.timers.delete(runner.token);
        if (at - this.now() > 0) this.schedule(runner, at);
        else void this.rotate(runner);
      },
      Math.min(wait, MAX_TIMER),
    );
    timer.unref();
    this.timers.set(runner.token, timer);
  }

  private async rotate(runner: RunnerConfig): Promise<void> {
    const { log } = this.options;
    const short = shortToken(runner.token);
    const res = await this.options.clientFor(runner).resetToken(runner.token);
    if (res.kind === 'ok' && res.token) {
      try {
        await this.writeToken(runner, res.token, res.tokenExpiresAt ?? null);
      } catch (err) {
        log.error({ runner: short, err }, 'runner token was rotated but config.toml could not be updated');
        return;
      }
      this.failures.delete(runner.token);
      log.info({ runner: short, new_runner: shortToken(res.token) }, 'runner token rotated');
      this.options.onRotated();
      return;
    }
    const n = (this.failures.get(runner.token) ?? 0) + 1;
    this.failures.set(runner.token, n);
    const delay = Math.min(3_600_000, (this.options.retryDelayMs ?? 60_000) * 2 ** (n - 1));
    log.warn({ runner: short, answer: res, retry_in_ms: delay }, 'runner token rotation failed');
    this.schedule(runner, this.now() + delay);
  }

  private async writeToken(runner: RunnerConfig, token: string, expires: Date | null): Promise<void> {
    const doc = await readConfigDoc(this.options.configPath);
    const entry = doc && runnersOf(doc).find((r) => r.token === runner.token && r.url === runner.url);
    if (!doc || !entry) throw new Error('the runner is no longer in config.toml');
    entry.token = token;
    entry.token_obtained_at = new Date(Math.floor(this.now() / 1000) * 1000);
    if (expires) entry.token_expires_at = expires;
    else delete entry.token_expires_at;
    await writeConfigDoc(this.options.configPath, doc);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
