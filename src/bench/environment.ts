// What every level runs against: the embedded GitLab in this process (one runner, one project), and the
// Kubernetes side when the executor needs one. The manager under test is the only thing in its process.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SimGitlab, startSimGitlab } from '../sim/gitlab/server.ts';
import type { PodTimes } from './job-times.ts';
import type { BenchMode } from './report.ts';
import { BENCH_NAMESPACE, virtualPodAnnotations } from './workload.ts';

/** The Kubernetes the manager's pods run on, as the bench sees it. */
export interface KubeSide {
  namespace: string;
  /** For the manager process (e.g. KUBECONFIG). */
  managerEnv: NodeJS.ProcessEnv;
  /** `[runners.kubernetes] host`, when the kubeconfig is not enough. */
  host?: string;
  /** The process of the embedded Kubernetes (its CPU is reported); absent for a real cluster. */
  pid?: number;
  /** `[runners.kubernetes] pod_annotations` for every job pod. */
  podAnnotations: Record<string, string>;
  /** Pod-side times of a GitLab job, once its pod was seen. */
  podTimes(jobId: number): PodTimes | undefined;
  /** Requests the API server received, by verb and resource; null when it cannot tell (a real cluster). */
  requestCounts(): Promise<Record<string, number> | null>;
  close(): Promise<void>;
}

export interface BenchEnvironment {
  mode: BenchMode;
  gitlab: SimGitlab;
  /** Requests the embedded GitLab answered since it started, by endpoint class (`request_job`, …). */
  gitlabRequestCounts(): Record<string, number>;
  projectId: number;
  runnerToken: string;
  /** Per-level config, logs; removed at the end unless --keep. */
  workDir: string;
  kube: KubeSide | undefined;
  close(): Promise<void>;
}

export class EnvironmentError extends Error {
  readonly code: 'KUBERNETES_UNAVAILABLE' | 'ENVIRONMENT_FAILED';
  constructor(code: EnvironmentError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

export interface EnvironmentOptions {
  mode: BenchMode;
  gitlabLatencyMs: number;
  apiLatencyMs: number;
  kubeconfig?: string;
  jobDurationMs: number;
  logBytes: number;
  keep: boolean;
  /** Where the work directory goes (default: the system temp dir). */
  workRoot?: string;
}

export function modeFor(executorPlugin: string, kubeconfig: string | undefined): BenchMode {
  if (executorPlugin === 'fake') return 'fake';
  return kubeconfig ? 'cluster' : 'virtual';
}

export async function startEnvironment(options: EnvironmentOptions): Promise<BenchEnvironment> {
  const workDir = await mkdtemp(join(options.workRoot ?? tmpdir(), 'podrunner-bench-'));
  const gitlab = await startSimGitlab({
    responseDelayMs: options.gitlabLatencyMs,
    // GitLab's defaults otherwise: Workhorse long polling, 60 s trace update interval while nobody watches
  });
  let kube: KubeSide | undefined;
  const requests: Record<string, number> = {};
  const stopCounting = gitlab.on('request', (r) => {
    requests[r.endpoint] = (requests[r.endpoint] ?? 0) + 1;
  });
  try {
    const runner = gitlab.createRunner({ runUntagged: true, description: 'podrunner bench' });
    const project = await gitlab.createProject({ name: 'bench', namespace: 'podrunner' });
    await gitlab.commitFiles(project.id, { 'README.md': '# podrunner bench\n' });
    if (options.mode !== 'fake') kube = await startKubeSide(options, workDir);
    return {
      mode: options.mode,
      gitlab,
      gitlabRequestCounts: () => ({ ...requests }),
      projectId: project.id,
      runnerToken: runner.token,
      workDir,
      kube,
      async close() {
        await kube?.close();
        stopCounting();
        await gitlab.close();
        if (!options.keep) await rm(workDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await kube?.close();
    await gitlab.close();
    await rm(workDir, { recursive: true, force: true });
    throw err;
  }
}

async function startKubeSide(options: EnvironmentOptions, workDir: string): Promise<KubeSide> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const { watchPodTimes } = await import('./kube/pod-times.ts');
  const shape = { durationMs: options.jobDurationMs, logBytes: options.logBytes };
  if (options.mode === 'cluster') {
    const path = options.kubeconfig as string;
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(path);
    } catch (err) {
      throw new EnvironmentError(
        'KUBERNETES_UNAVAILABLE',
        `--kubeconfig ${path}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const namespace = kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';
    const watch = await watchPodTimes(kc, namespace).catch((err: unknown) => {
      throw new EnvironmentError(
        'KUBERNETES_UNAVAILABLE',
        `cannot watch pods in namespace ${namespace} of ${kc.getCurrentCluster()?.server ?? path}: ${err instanceof Error ? err.message : String(err)}`,
      );
    });
    return {
      namespace,
      managerEnv: { KUBECONFIG: path },
      podAnnotations: {},
      podTimes: (id) => watch.times(id),
      requestCounts: async () => null,
      close: () => watch.close(),
    };
  }
  const { startVirtualCluster } = await import('./kube/virtual-cluster.ts');
  const kubeconfigPath = join(workDir, 'kubeconfig');
  const cluster = await startVirtualCluster({
    namespace: BENCH_NAMESPACE,
    apiLatencyMs: options.apiLatencyMs,
    kubeconfigPath,
    logPath: join(workDir, 'kube.log'),
  });
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const watch = await watchPodTimes(kc, BENCH_NAMESPACE);
    return {
      namespace: BENCH_NAMESPACE,
      managerEnv: { KUBECONFIG: kubeconfigPath },
      podAnnotations: virtualPodAnnotations(shape),
      podTimes: (id) => watch.times(id),
      requestCounts: () => cluster.requestCounts(),
      ...(cluster.pid !== undefined ? { pid: cluster.pid } : {}),
      async close() {
        await watch.close();
        await cluster.close();
      },
    };
  } catch (err) {
    await cluster.close();
    throw err;
  }
}
