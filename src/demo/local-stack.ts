// The embedded GitLab and Kubernetes started together, with a runner registered and a config.toml
// that points a manager at both: what the demo, the executor's integration tests and the benchmark
// stand on. Nothing here is specific to tests.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SimGitlab, type StartSimGitlabOptions, startSimGitlab } from '../sim/gitlab/server.ts';
import { type SimKube, type StartSimKubeOptions, startSimKube } from '../sim/kube/cluster.ts';
import type { ProcessRuntimeOptions } from '../sim/kube/process/process-runtime.ts';

export interface LocalStackOptions {
  mode: 'process' | 'virtual';
  gitlab?: StartSimGitlabOptions;
  kube?: Omit<StartSimKubeOptions, 'runtime' | 'kubelet' | 'kubeconfigPath'>;
  /** Options of the process-mode container runtime (image table, host ports, …). */
  processRuntime?: ProcessRuntimeOptions;
  /** Options of the kubelet (timing, capacity, faults). */
  kubelet?: Record<string, unknown>;
  /** Extra lines for the `[[runners]]` entry (TOML, may open sub-tables at the end). */
  runnerToml?: string;
  /** `[runners.kubernetes] poll_timeout`: how long a pod may wait to be scheduled (default 60). */
  pollTimeoutSeconds?: number;
  /** Extra lines for `[runners.kubernetes]` (may open its sub-tables at the end). */
  kubernetesToml?: string;
  /** Top-level config.toml lines (`concurrent`, `check_interval`, …). */
  globalToml?: string;
  /** Runner tags (the runner also takes untagged jobs). */
  tags?: string[];
  dir?: string;
}

export interface LocalStack {
  gitlab: SimGitlab;
  kube: SimKube;
  runner: { id: number; token: string };
  dir: string;
  configPath: string;
  kubeconfigPath: string;
  /** The config.toml text written to `configPath`. */
  config: string;
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'podrunner-stack-')));
  const ownDir = options.dir === undefined;
  const kubeconfigPath = join(dir, 'kubeconfig');
  const gitlab = await startSimGitlab({ longPollSeconds: 2, ...options.gitlab });
  const { startKubelet } = await import('../sim/kube/kubelet/kubelet.ts');
  const runtime =
    options.mode === 'process'
      ? async () =>
          (await import('../sim/kube/process/process-runtime.ts')).createProcessRuntime(
            options.processRuntime ?? {},
          )
      : async () => (await import('../sim/kube/virtual/virtual-runtime.ts')).createVirtualRuntime();
  const kube = await startSimKube({
    ...options.kube,
    kubeconfigPath,
    runtime,
    kubelet: (store, rt, o) => startKubelet(store, rt, { nodeName: o.nodeName, ...options.kubelet }),
  });
  const runner = gitlab.createRunner({ runUntagged: true, ...(options.tags ? { tags: options.tags } : {}) });
  const config = [
    options.globalToml ?? 'concurrent = 10\ncheck_interval = 1',
    '',
    '[[runners]]',
    '  name = "podrunner-local"',
    `  url = "${gitlab.url}"`,
    `  token = "${runner.token}"`,
    '  executor = "kubernetes"',
    options.runnerToml ?? '',
    '  [runners.kubernetes]',
    `    host = "${kube.url}"`,
    '    namespace = "default"',
    `    poll_timeout = ${options.pollTimeoutSeconds ?? 60}`,
    options.kubernetesToml ?? '',
    '',
  ].join('\n');
  const configPath = join(dir, 'config.toml');
  await writeFile(configPath, config);
  return {
    gitlab,
    kube,
    runner,
    dir,
    configPath,
    kubeconfigPath,
    config,
    async stop() {
      await kube.close();
      await gitlab.close();
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}
