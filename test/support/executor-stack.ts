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
import type { PipelineView, SimGitlab } from '../../src/sim/gitlab/server.ts';
import type { PodObject } from '../../src/sim/kube/kubelet-store.ts';

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
    options?: PipelineOptions,
  ): Promise<PipelineResult>;
  /** Starts a pipeline and returns at once: its first job's id, and a promise of its end. */
  startPipeline(
    ciYaml: string,
    files?: Record<string, string>,
    options?: PipelineOptions,
  ): Promise<StartedPipeline>;
  /** Watches the job (as its page in a browser does) until `text` is in its trace in GitLab (bounded). */
  traceContains(jobId: number, text: string, timeoutMs?: number): Promise<void>;
  /** What the API server showed of a job's pod (found by its `job.runner.gitlab.com/id` annotation). */
  podOf(jobId: number): JobPodView;
  /** Resolves once the job's pod object is gone from the API server (bounded). */
  podGone(jobId: number, timeoutMs?: number): Promise<JobPodView>;
  stopManager(): Promise<void>;
}

export interface JobPodView {
  name: string | undefined;
  /** The last version seen (the pod as it was deleted, when it is gone). */
  last: PodObject | undefined;
  /** `metadata.deletionGracePeriodSeconds` when the pod was first marked for deletion. */
  deletionGraceSeconds: number | undefined;
  deleted: boolean;
}

export interface PipelineOptions {
  /** Pipeline variables (as `POST /projects/:id/pipeline` takes them). */
  variables?: { key: string; value: string }[];
  /** CI/CD variables set on the project first (a new project), e.g. masked ones. */
  projectVariables?: Parameters<SimGitlab['setVariable']>[1][];
  /** Run in this existing project (its files are replaced by these) instead of a new one. */
  projectId?: number;
  timeoutMs?: number;
  name?: string;
}

export interface StartedPipeline {
  id: number;
  projectId: number;
  jobIds: number[];
  done: Promise<PipelineResult>;
}

export interface PipelineJob {
  id: number;
  name: string;
  status: string;
  failureReason?: string | null;
  exitCode?: number | null;
  trace: string;
}

export interface PipelineResult {
  status: string;
  jobs: PipelineJob[];
  job(name: string): PipelineJob;
}

function pipelineResult(stack: LocalStack, done: PipelineView): PipelineResult {
  const jobs = done.jobs.map((j) => ({
    id: j.id,
    name: j.name,
    status: j.status,
    failureReason: j.failureReason,
    exitCode: j.exitCode,
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
}

export async function startExecutorStack(
  options: Partial<LocalStackOptions> & {
    systemId?: string;
    traceUpdateIntervalMs?: number;
    tracePromptDelayMs?: number;
  } = {},
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
    ...(options.tracePromptDelayMs !== undefined ? { tracePromptDelayMs: options.tracePromptDelayMs } : {}),
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
  const pods = new Map<number, JobPodView>();
  const goneWaiters: (() => void)[] = [];
  const stopWatchingPods = stack.kube.store.watchPods((type, pod) => {
    const id = Number(pod.metadata?.annotations?.['job.runner.gitlab.com/id']);
    if (!Number.isInteger(id)) return;
    let view = pods.get(id);
    if (!view) {
      view = { name: pod.metadata?.name, last: undefined, deletionGraceSeconds: undefined, deleted: false };
      pods.set(id, view);
    }
    view.last = pod;
    if (pod.metadata?.deletionTimestamp && view.deletionGraceSeconds === undefined)
      view.deletionGraceSeconds = pod.metadata.deletionGracePeriodSeconds ?? undefined;
    if (type === 'DELETED') {
      view.deleted = true;
      for (const wake of goneWaiters.splice(0)) wake();
    }
  });
  let projects = 0;
  const startPipeline: ExecutorStack['startPipeline'] = async (ciYaml, files = {}, o = {}) => {
    const projectId =
      o.projectId ?? (await stack.gitlab.createProject({ name: o.name ?? `p${++projects}` })).id;
    for (const v of o.projectVariables ?? []) stack.gitlab.setVariable(projectId, v);
    await stack.gitlab.commitFiles(projectId, { '.gitlab-ci.yml': ciYaml, ...files });
    const created = await stack.gitlab.createPipeline(projectId, undefined, o.variables);
    const done = stack.gitlab
      .waitForPipeline(created.id, { timeoutMs: o.timeoutMs ?? 90_000 })
      .then((view) => pipelineResult(stack, view));
    done.catch(() => undefined);
    return { id: created.id, projectId, jobIds: created.jobs.map((j) => j.id), done };
  };
  return {
    ...stack,
    manager,
    executor,
    log,
    logLines,
    finished,
    stopManager,
    async pipeline(ciYaml, files = {}, o = {}) {
      return (await startPipeline(ciYaml, files, o)).done;
    },
    startPipeline,
    async traceContains(jobId, text, timeoutMs = 60_000) {
      // Someone watching the job page: GitLab asks for a trace update every 3 s instead of 60 s.
      stack.gitlab.watchJob(jobId);
      await stack.gitlab.waitForJob(jobId, () => stack.gitlab.trace(jobId).includes(text), { timeoutMs });
    },
    podOf(jobId) {
      return (
        pods.get(jobId) ?? {
          name: undefined,
          last: undefined,
          deletionGraceSeconds: undefined,
          deleted: false,
        }
      );
    },
    podGone(jobId, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`the pod of job ${jobId} was not deleted within ${timeoutMs} ms`)),
          timeoutMs,
        );
        const check = () => {
          const view = pods.get(jobId);
          if (view?.deleted) {
            clearTimeout(timer);
            resolve(view);
          } else goneWaiters.push(check);
        };
        check();
      });
    },
    async stop() {
      stopWatchingPods();
      await stopManager();
      await stack.stop();
    },
  };
}
