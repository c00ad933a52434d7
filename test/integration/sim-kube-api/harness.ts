// Shared by the sim-kube-api integration tests: an embedded cluster on 127.0.0.1:0 with its kubeconfig
// in a fresh temp dir, kubectl runs isolated from the user's ~/.kube, and a scripted kubelet that
// drives pods through the KubeletStore exactly as the simulated kubelet does.
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SimKube, type StartSimKubeOptions, startSimKube } from '../../../src/sim/kube/cluster.ts';
import type { KubeletStore, PodObject, PodStatusObject } from '../../../src/sim/kube/kubelet-store.ts';

export interface TestCluster {
  sim: SimKube;
  dir: string;
  kubeconfigPath: string;
  kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** A long-running kubectl (`get -w`, `logs -f`): its output so far, and a way to wait for text. */
  kubectlStream(args: string[]): KubectlStream;
  close(): Promise<void>;
}

export interface KubectlStream {
  child: ChildProcessWithoutNullStreams;
  output(): string;
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  exit: Promise<{ code: number | null; stdout: string; stderr: string }>;
  stop(): void;
}

export async function startCluster(options: StartSimKubeOptions = {}): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'sim-kube-api-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  const sim = await startSimKube({
    ...options,
    port: 0,
    kubeconfigPath,
    api: { gcDelayMs: 10, ...options.api },
  });
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, KUBECONFIG: kubeconfigPath };
  const streams: KubectlStream[] = [];
  return {
    sim,
    dir,
    kubeconfigPath,
    kubectl(args, input) {
      return new Promise((resolve) => {
        const child = execFile(
          '/usr/bin/kubectl',
          args,
          { env, timeout: 30_000, cwd: dir },
          (err, stdout, stderr) => {
            const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
            resolve({ code, stdout, stderr });
          },
        );
        if (input !== undefined) child.stdin?.end(input);
      });
    },
    kubectlStream(args) {
      const child = spawn('/usr/bin/kubectl', args, { env, cwd: dir });
      let stdout = '';
      let stderr = '';
      const waiters: { test: (s: string) => boolean; resolve: () => void }[] = [];
      const check = () => {
        for (const w of [...waiters]) {
          if (w.test(stdout)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve();
          }
        }
      };
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        check();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
      const stream: KubectlStream = {
        child,
        output: () => stdout,
        waitFor(text, timeoutMs = 15_000) {
          const test = (s: string) => (typeof text === 'string' ? s.includes(text) : text.test(s));
          if (test(stdout)) return Promise.resolve();
          return new Promise((resolve, reject) => {
            const timer = setTimeout(
              () =>
                reject(
                  new Error(`timed out waiting for ${String(text)} in kubectl output:\n${stdout}\n${stderr}`),
                ),
              timeoutMs,
            );
            waiters.push({
              test,
              resolve: () => {
                clearTimeout(timer);
                resolve();
              },
            });
          });
        },
        exit,
        stop: () => child.kill('SIGTERM'),
      };
      streams.push(stream);
      return stream;
    },
    async close() {
      for (const s of streams) s.stop();
      await Promise.all(streams.map((s) => s.exit));
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const t0 = '2025-03-01T10:00:00Z';

function now(): string {
  return `${new Date().toISOString().slice(0, 19)}Z`;
}

type ContainerState = NonNullable<PodStatusObject['containerStatuses']>[number];

export function waiting(
  name: string,
  reason: string,
  image = 'alpine:3.19',
  message?: string,
): ContainerState {
  return {
    name,
    image,
    imageID: '',
    ready: false,
    restartCount: 0,
    started: false,
    state: { waiting: { reason, ...(message ? { message } : {}) } },
    lastState: {},
  };
}

export function running(name: string, ready: boolean, image = 'alpine:3.19', started = true): ContainerState {
  return {
    name,
    image: `docker.io/library/${image}`,
    imageID: `docker.io/library/${image}@sha256:${'a'.repeat(64)}`,
    containerID: `containerd://${name.padEnd(64, '0').slice(0, 64)}`,
    ready,
    restartCount: 0,
    started,
    state: { running: { startedAt: now() } },
    lastState: {},
  };
}

export function terminated(
  name: string,
  exitCode: number,
  reason: string,
  image = 'alpine:3.19',
): ContainerState {
  const containerID = `containerd://${name.padEnd(64, '1').slice(0, 64)}`;
  return {
    name,
    image: `docker.io/library/${image}`,
    imageID: `docker.io/library/${image}@sha256:${'a'.repeat(64)}`,
    containerID,
    ready: exitCode === 0 && name.startsWith('init'),
    restartCount: 0,
    started: false,
    state: { terminated: { exitCode, reason, startedAt: now(), finishedAt: now(), containerID } },
    lastState: {},
  };
}

export function condition(type: string, status: 'True' | 'False', reason?: string, message?: string) {
  return {
    type,
    status,
    lastProbeTime: null as unknown as string,
    lastTransitionTime: t0,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
}

/** Plays the kubelet's part for tests: scheduling, status writes, logs, the final removal. */
export class ScriptedKubelet {
  readonly store: KubeletStore;
  readonly nodeName: string;
  readonly pods = new Map<string, PodObject>();
  private readonly unsubscribe: () => void;

  constructor(store: KubeletStore, nodeName = 'podrunner-sim') {
    this.store = store;
    this.nodeName = nodeName;
    this.unsubscribe = store.watchPods((type, pod) => {
      const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
      if (type === 'DELETED') this.pods.delete(key);
      else this.pods.set(key, pod);
    });
  }

  pod(namespace: string, name: string): PodObject {
    const pod = this.pods.get(`${namespace}/${name}`);
    if (!pod) throw new Error(`no pod ${namespace}/${name}`);
    return pod;
  }

  bind(namespace: string, name: string): void {
    const pod = this.pod(namespace, name);
    if (!this.store.bindPod(namespace, name, pod.metadata!.uid!, this.nodeName))
      throw new Error('bind failed');
    this.store.recordEvent({
      involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace, name, uid: pod.metadata!.uid! },
      reason: 'Scheduled',
      message: `Successfully assigned ${namespace}/${name} to ${this.nodeName}`,
      type: 'Normal',
      source: { component: 'default-scheduler' },
    });
  }

  status(namespace: string, name: string, status: PodStatusObject): PodObject {
    const pod = this.pod(namespace, name);
    const updated = this.store.updatePodStatus(namespace, name, pod.metadata!.uid!, {
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      startTime: t0,
      qosClass: 'BestEffort',
      ...status,
    });
    if (!updated) throw new Error('status write failed');
    return updated;
  }

  event(
    namespace: string,
    name: string,
    reason: string,
    message: string,
    fieldPath?: string,
    type: 'Normal' | 'Warning' = 'Normal',
  ): void {
    const pod = this.pod(namespace, name);
    this.store.recordEvent({
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Pod',
        namespace,
        name,
        uid: pod.metadata!.uid!,
        ...(fieldPath ? { fieldPath } : {}),
      },
      reason,
      message,
      type,
      source: { component: 'kubelet', host: this.nodeName },
    });
  }

  log(namespace: string, name: string, container: string) {
    return this.store.openContainerLog(this.pod(namespace, name).metadata!.uid!, container);
  }

  remove(namespace: string, name: string): void {
    const pod = this.pod(namespace, name);
    this.store.removePod(namespace, name, pod.metadata!.uid!);
  }

  stop(): void {
    this.unsubscribe();
  }
}

/** Resolves when `check` passes, polling; for state that changes through another process. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw last;
    await new Promise((r) => setTimeout(r, 50));
  }
}
