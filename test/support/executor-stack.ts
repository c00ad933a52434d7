// A manager with the Kubernetes executor, in this process, on the local stack (embedded GitLab and
// Kubernetes). The executor's integration tests drive real pipelines through it.
import pino, { type Logger } from 'pino';
import { parseConfig } from '../../src/config/load.ts';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../src/demo/local-stack.ts';
import { GitLabConnections } from '../../src/gitlab/connections.ts';
import { KubernetesExecutor } from '../../src/job/kubernetes-executor.ts';
import type { JobOutcome } from '../../src/manager/executor.ts';
import { Manager } from '../../src/manager/manager.ts';
import { ManagerMetrics } from '../../src/metrics/registry.ts';

export interface ExecutorStack extends LocalStack {
  manager: Manager;
  executor: KubernetesExecutor;
  log: Logger;
  logLines: string[];
  finished: { id: number; outcome: JobOutcome }[];
  /** Runs a pipeline from `ciYaml` (plus other files) and waits for it to end. */
  pipeline(
    ciYaml: string,
    files?: Record<string, string>,
    options?: { variables?: { key: string; value: string }[]; timeoutMs?: number; name?: string },
  ): Promise<PipelineResult>;
  stopManager(): Promise<void>;
}

export interface PipelineResult {
  status: string;
  jobs: { id: number; name: string; status: string; failureReason?: string | null; trace: string }[];
  job(name: string): {
    id: number;
    name: string;
    status: string;
    failureReason?: string | null;
    trace: string;
  };
}

export async function startExecutorStack(
  options: Partial<LocalStackOptions> & { systemId?: string; traceUpdateIntervalMs?: number } = {},
): Promise<ExecutorStack> {
  const stack = await startLocalStack({ mode: 'process', ...options });
  const parsed = parseConfig(stack.config, { env: {} });
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  const logLines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (l: string) => logLines.push(l) });
  const executor = new KubernetesExecutor({
    log,
    version: '0.0.0-test',
    revision: 'test',
    hostname: 'test-manager',
    traceUpdateIntervalMs: options.traceUpdateIntervalMs ?? 200,
    leaseDurationSeconds: 3,
  });
  const connections = new GitLabConnections({
    retry: { minDelayMs: 20, maxDelayMs: 200, maxHeaderDelayMs: 2000 },
  });
  const manager = new Manager({
    handler: executor,
    connections,
    metrics: new ManagerMetrics({ defaultMetrics: false }),
    log,
    systemId: options.systemId ?? 's_0123456789ab',
  });
  const finished: ExecutorStack['finished'] = [];
  manager.on('job-finished', (j: { id: number; outcome: JobOutcome }) =>
    finished.push({ id: j.id, outcome: j.outcome }),
  );
  await manager.start(parsed.config);
  let managerStopped = false;
  const stopManager = async () => {
    if (managerStopped) return;
    managerStopped = true;
    await manager.shutdown('graceful', 30_000, 'test end');
    await executor.close();
    await connections.destroy();
  };
  let projects = 0;
  return {
    ...stack,
    manager,
    executor,
    log,
    logLines,
    finished,
    stopManager,
    async pipeline(ciYaml, files = {}, o = {}) {
      const project = await stack.gitlab.createProject({ name: o.name ?? `p${++projects}` });
      await stack.gitlab.commitFiles(project.id, { '.gitlab-ci.yml': ciYaml, ...files });
      const created = await stack.gitlab.createPipeline(project.id, undefined, o.variables);
      const done = await stack.gitlab.waitForPipeline(created.id, { timeoutMs: o.timeoutMs ?? 90_000 });
      const jobs = done.jobs.map((j) => ({
        id: j.id,
        name: j.name,
        status: j.status,
        failureReason: j.failureReason,
        trace: stack.gitlab.trace(j.id),
      }));
      return {
        status: done.status,
        jobs,
        job(name) {
          const j = jobs.find((x) => x.name === name);
          if (!j) throw new Error(`no job ${name} in ${jobs.map((x) => x.name).join(', ')}`);
          return j;
        },
      };
    },
    async stop() {
      await stopManager();
      await stack.stop();
    },
  };
}
