// Starts a Manager in-process against a GitLab (the embedded one or the unit tests' fake), with fast
// transport retries and a logger that keeps its lines for assertions.
import pino, { type Logger } from 'pino';
import { parseConfig } from '../../src/config/load.ts';
import type { PodrunnerConfig } from '../../src/config/schema/config.ts';
import { GitLabConnections } from '../../src/gitlab/connections.ts';
import type { JobHandler, JobOutcome } from '../../src/manager/executor.ts';
import { Manager, type ManagerOptions } from '../../src/manager/manager.ts';
import { ManagerMetrics } from '../../src/metrics/registry.ts';

export function configFor(gitlab: { url: string }, toml: string): PodrunnerConfig {
  const r = parseConfig(toml.replaceAll('GITLAB_URL', gitlab.url), { env: {} });
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return r.config;
}

export function runnerToml(token: string, extra = ''): string {
  return `
[[runners]]
  name = "${token}"
  url = "GITLAB_URL"
  token = "${token}"
  executor = "kubernetes"
${extra}
`;
}

export interface Harness {
  manager: Manager;
  metrics: ManagerMetrics;
  connections: GitLabConnections;
  log: Logger;
  lines: string[];
  finished: { id: number; runner: string; outcome: JobOutcome; seconds: number }[];
  /** Resolves when the manager has finished `n` jobs (its own bookkeeping, after GitLab's). */
  waitForFinished(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startManager(
  config: PodrunnerConfig,
  handler: JobHandler,
  options: Partial<ManagerOptions> = {},
): Promise<Harness> {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (l: string) => lines.push(l) });
  const metrics = options.metrics ?? new ManagerMetrics({ defaultMetrics: false });
  const connections = new GitLabConnections({
    retry: { minDelayMs: 20, maxDelayMs: 200, maxHeaderDelayMs: 2000 },
  });
  const manager = new Manager({ handler, connections, metrics, log, systemId: 's_0123456789ab', ...options });
  const finished: Harness['finished'] = [];
  manager.on('job-finished', (j) => finished.push(j));
  await manager.start(config);
  return {
    manager,
    metrics,
    connections,
    log,
    lines,
    finished,
    waitForFinished(n, timeoutMs = 30_000) {
      if (finished.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`manager finished ${finished.length} of ${n} jobs`)),
          timeoutMs,
        );
        const check = () => {
          if (finished.length < n) return;
          clearTimeout(timer);
          manager.off('job-finished', check);
          resolve();
        };
        manager.on('job-finished', check);
      });
    },
    async stop() {
      await manager.shutdown('forceful', 5000, 'test end');
      await connections.destroy();
    },
  };
}

/** Log records (parsed JSON lines) whose msg matches. */
export function logged(h: Harness, msg: string | RegExp): Record<string, unknown>[] {
  return h.lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => (typeof msg === 'string' ? r.msg === msg : msg.test(String(r.msg))));
}
