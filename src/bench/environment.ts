// What every level runs against: the embedded GitLab in this process (one runner, one project), and the
// Kubernetes side when the executor needs one. The manager under test is the only thing in its process.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SimGitlab, startSimGitlab } from '../sim/gitlab/server.ts';
import type { PodTimes } from './job-times.ts';
import type { BenchMode } from './report.ts';

/** The Kubernetes the manager's pods run on, as the bench sees it. */
export interface KubeSide {
  namespace: string;
  /** For the manager process (e.g. KUBECONFIG). */
  managerEnv: NodeJS.ProcessEnv;
  /** `[runners.kubernetes] host`, when the kubeconfig is not enough. */
  host?: string;
  /** `[runners.kubernetes] pod_annotations` for every job pod. */
  podAnnotations: Record<string, string>;
  /** Pod-side times of a GitLab job, once its pod was seen. */
  podTimes(jobId: number): PodTimes | undefined;
  /** Requests the API server received, by verb and resource; null when it cannot tell (a real cluster). */
  requestCounts(): Record<string, number> | null;
  close(): Promise<void>;
}

export interface BenchEnvironment {
  mode: BenchMode;
  gitlab: SimGitlab;
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
  try {
    const runner = gitlab.createRunner({ runUntagged: true, description: 'podrunner bench' });
    const project = await gitlab.createProject({ name: 'bench', namespace: 'podrunner' });
    await gitlab.commitFiles(project.id, { 'README.md': '# podrunner bench\n' });
    if (options.mode !== 'fake') kube = await startKubeSide(options);
    return {
      mode: options.mode,
      gitlab,
      projectId: project.id,
      runnerToken: runner.token,
      workDir,
      kube,
      async close() {
        await kube?.close();
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

async function startKubeSide(options: EnvironmentOptions): Promise<KubeSide> {
  void options;
  // The embedded Kubernetes API server (src/sim/kube/api) and the Kubernetes executor are not part of this
  // build yet; until they are, the bench measures the manager with the fake executor.
  throw new EnvironmentError(
    'KUBERNETES_UNAVAILABLE',
    'the Kubernetes executor and the embedded Kubernetes API server are not part of this build yet; run `podrunner bench --executor-plugin fake` to measure the manager and the GitLab path',
  );
}
