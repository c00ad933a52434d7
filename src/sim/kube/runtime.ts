// The container runtime behind the simulated kubelet: the kubelet decides *what* runs and *when*
// (scheduling, init order, sidecars, probes, phases, events, grace periods); a runtime only runs
// containers. `process` mode runs real local processes, `virtual` mode runs timers.
// The kubelet resolves everything that needs the API (Secrets, ConfigMaps, env valueFrom) before it
// calls the runtime, so a runtime never talks to the store.

export interface ResolvedEnvVar {
  name: string;
  value: string;
}

/** A volume with its contents already resolved by the kubelet. */
export type ResolvedVolume =
  | { name: string; kind: 'emptyDir'; medium?: 'Memory' | ''; sizeLimitBytes?: number }
  /** secret, configMap, projected and downwardAPI volumes: files relative to the mount point. */
  | { name: string; kind: 'files'; files: { path: string; content: Uint8Array; mode: number }[] }
  | { name: string; kind: 'hostPath'; path: string; type?: string }
  /** Volume types the simulator cannot provide (PVCs, CSI, NFS…): an empty directory stands in. */
  | { name: string; kind: 'placeholder'; sourceType: string };

export interface ResolvedMount {
  volume: string;
  mountPath: string;
  subPath?: string;
  readOnly: boolean;
}

export interface SandboxSpec {
  uid: string;
  namespace: string;
  name: string;
  /** `spec.hostname` or the pod name; what `hostname` prints inside the pod. */
  hostname: string;
  /** `spec.hostAliases`, written to the pod's /etc/hosts the way the kubelet writes it. */
  hostAliases: { ip: string; hostnames: string[] }[];
  volumes: ResolvedVolume[];
}

export interface ContainerSpec {
  name: string;
  image: string;
  /** Kubernetes semantics: `command` replaces the image entrypoint, `args` replaces its cmd. */
  command?: string[];
  args?: string[];
  env: ResolvedEnvVar[];
  workingDir?: string;
  mounts: ResolvedMount[];
  runAsUser?: number;
  runAsGroup?: number;
  privileged?: boolean;
  /** `resources.limits.memory` in bytes, if set (process mode may enforce it; virtual mode ignores it). */
  memoryLimitBytes?: number;
  /** Declared `containerPort`s and probe ports (virtual mode "listens" on them). */
  ports: number[];
  /** Where the container may write its termination message (default `/dev/termination-log`). */
  terminationMessagePath: string;
  /** Pod annotations, for runtimes that take instructions from them (virtual mode). */
  annotations: Record<string, string>;
}

/** Thrown by `pullImage`; the kubelet turns it into ErrImagePull → ImagePullBackOff. */
export class ImagePullError extends Error {
  override readonly name = 'ImagePullError';
}

/** Thrown by `Sandbox.start` when the container cannot start (e.g. executable not found). */
export class ContainerStartError extends Error {
  override readonly name = 'ContainerStartError';
  /** The exit code containerd reports for a start failure (128). */
  readonly exitCode = 128;
}

export interface ContainerExit {
  exitCode: number;
  /** The signal that ended the main process, if any (exitCode is then 128 + signal number). */
  signal?: NodeJS.Signals;
  /** The runtime killed the container for exceeding its memory limit. */
  oomKilled: boolean;
  /** What the container wrote to its terminationMessagePath (at most 4096 bytes), if anything. */
  terminationMessage?: string;
}

export interface ContainerOutput {
  stdout(chunk: Uint8Array): void;
  stderr(chunk: Uint8Array): void;
}

export interface RunningContainer {
  signal(signal: 'SIGTERM' | 'SIGKILL'): void;
  /** Kill as the kernel's OOM killer would (fault injection): resolves `exited` with oomKilled. */
  oomKill(): void;
  readonly exited: Promise<ContainerExit>;
}

export interface Sandbox {
  /** The pod's IP (status.podIP). */
  readonly podIP: string;
  start(container: ContainerSpec, output: ContainerOutput): Promise<RunningContainer>;
  /** A TCP connect to `port` on the pod's own network (startupProbe / readinessProbe tcpSocket). */
  probeTcp(port: number, timeoutMs: number): Promise<boolean>;
  /** Tear down namespaces, mounts and per-pod directories; running containers must be gone first. */
  destroy(): Promise<void>;
}

export interface ContainerRuntime {
  readonly mode: 'process' | 'virtual';
  /** Resolves when the image is "present"; rejects with ImagePullError when it cannot be pulled. */
  pullImage(image: string, policy: 'Always' | 'IfNotPresent' | 'Never'): Promise<{ alreadyPresent: boolean }>;
  createSandbox(spec: SandboxSpec): Promise<Sandbox>;
  close(): Promise<void>;
}
