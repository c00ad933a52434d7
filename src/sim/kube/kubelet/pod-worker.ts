// One pod on the node, from admission to removal: volumes, sandbox, init containers one after
// another, native sidecars started in order (startup probe honoured), main containers together,
// restarts with back-off, and termination (completion, deletion, eviction, deadline) in the
// kubelet's order: main containers first, then sidecars in reverse, SIGKILL after the grace period.
import type { Logger } from 'pino';
import type { KubeletStore, PodObject, PodStatusObject } from '../kubelet-store.ts';
import {
  type ContainerExit,
  type ContainerRuntime,
  type ContainerSpec,
  ContainerStartError,
  ImagePullError,
  type RunningContainer,
  type Sandbox,
} from '../runtime.ts';
import { ContainerRecord, containerOutput, LogTail, newContainerID } from './container.ts';
import { formatBackOff, formatGoDuration } from './duration.ts';
import {
  type ApiLookup,
  ContainerConfigError,
  type ContainerObject,
  expandCommand,
  type PodRuntimeFacts,
  resolveEnv,
} from './env.ts';
import { type EventRecorder, type EventType, podDescription } from './events.ts';
import type { PodFaultPlan } from './faults.ts';
import {
  defaultPullPolicy,
  type ImageReference,
  imageID,
  imageSizeBytes,
  notFoundPullError,
  parseImage,
  pullMessages,
} from './images.ts';
import type { KubeletTiming } from './options.ts';
import { containerPorts, type ProbeHost, runProbes } from './probes.ts';
import { memoryBytes } from './resources.ts';
import { generatePodStatus, isStarted, type Phase, rfc3339Seconds, type TerminatedState } from './status.ts';
import {
  AbortedError,
  abortable,
  BackOff,
  Deadline,
  Mutex,
  Notifier,
  sleep,
  stopReason,
  throwIfAborted,
} from './timing.ts';
import { resolveMounts, resolveVolumes, VolumeMountError } from './volumes.ts';

/** What every pod worker of one kubelet shares. */
export interface WorkerContext {
  readonly store: KubeletStore;
  readonly runtime: ContainerRuntime;
  readonly nodeName: string;
  readonly nodeIP: string;
  readonly allocatable: { cpuMillis: number; memoryBytes: number };
  readonly timing: KubeletTiming;
  readonly events: EventRecorder;
  readonly imageBackOff: BackOff;
  readonly log: Logger | undefined;
  /** Queue a status write (coalesced with other changes of the same tick). */
  markDirty(worker: PodWorker): void;
  /** The pod reached a terminal phase or is gone: its resources are free again. */
  podReleased(uid: string): void;
  /** The worker has nothing left to do (the pod was removed). */
  workerDone(uid: string): void;
}

type Cause =
  | { kind: 'completed' }
  | { kind: 'init-failed' }
  | { kind: 'deleted' }
  | { kind: 'removed' }
  | { kind: 'evicted'; message: string; graceSeconds: number }
  | { kind: 'deadline' };

const epoch = '1970-01-01T00:00:00Z';
const maxTerminationMessagesBytes = 12 * 1024;
const deadlineMessage = 'Pod was active on the node longer than the specified deadline';
const statusUnknownMessage = 'The container could not be located when the pod was terminated';

export class PodWorker {
  pod: PodObject;
  readonly uid: string;
  readonly containers: ContainerRecord[];
  private readonly ctx: WorkerContext;
  private readonly faults: PodFaultPlan;
  private readonly main = new AbortController();
  private readonly startLock = new Mutex();
  private readonly changes = new Notifier();
  private readonly restartBackOff: BackOff;
  private sandbox?: Sandbox;
  private sandboxReady = false;
  private podIP?: string;
  private startTime = rfc3339Seconds();
  private phase?: Phase;
  private reason?: string;
  private message?: string;
  private lastWritten?: PodStatusObject;
  private lastWrittenJson = '';
  private podIsTerminal = false;
  private finalized = false;
  private forced?: { reason: string; message: string };
  private disruption?: { reason: string; message: string; at: string };
  private termination?: Promise<void>;
  private killDeadline?: Deadline;
  private deleteRequested = false;
  private removed = false;
  private gone = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(ctx: WorkerContext, pod: PodObject, faults: PodFaultPlan) {
    this.ctx = ctx;
    this.pod = pod;
    this.uid = pod.metadata?.uid ?? '';
    this.faults = faults;
    this.restartBackOff = new BackOff(ctx.timing.crashLoopBackOffMs, ctx.timing.crashLoopBackOffMaxMs);
    const spec = pod.spec;
    const hasInit = (spec?.initContainers ?? []).length > 0;
    this.containers = [
      ...(spec?.initContainers ?? []).map(
        (c) => new ContainerRecord(c, c.restartPolicy === 'Always' ? 'sidecar' : 'init', hasInit),
      ),
      ...(spec?.containers ?? []).map((c) => new ContainerRecord(c, 'regular', hasInit)),
    ];
  }

  // ---- identity and small helpers

  private get namespace(): string {
    return this.pod.metadata?.namespace ?? 'default';
  }

  private get name(): string {
    return this.pod.metadata?.name ?? '';
  }

  private get restartPolicy(): string {
    return this.pod.spec?.restartPolicy ?? 'Always';
  }

  private scaled(seconds: number): number {
    return seconds * 1000 * this.ctx.timing.specTimeScale;
  }

  private event(type: EventType, reason: string, message: string, fieldPath?: string): void {
    this.ctx.events.record(this.pod, type, reason, message, fieldPath);
  }

  private changed(): void {
    this.changes.notify();
    if (!this.gone) this.ctx.markDirty(this);
  }

  private timer(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  // ---- watch input

  /** Starts the pod's lifecycle. */
  start(): void {
    this.run().catch((error: unknown) => this.crashed(error));
  }

  /**
   * The pod already ran on this node under a kubelet that is gone (the simulator was restarted with
   * its store): its containers are gone too. What the API shows as running ends ContainerStatusUnknown
   * and the pod turns terminal, as after a node reboot; nothing is started again.
   */
  recoverLost(): void {
    const api = [
      ...(this.pod.status?.initContainerStatuses ?? []),
      ...(this.pod.status?.containerStatuses ?? []),
    ];
    if (this.pod.status?.startTime) this.startTime = this.pod.status.startTime;
    for (const c of this.containers) {
      const s = api.find((x) => x.name === c.name);
      if (!s) continue;
      c.restartCount = s.restartCount ?? 0;
      c.image = s.image ?? c.image;
      c.imageID = s.imageID ?? '';
      if (s.containerID) c.containerID = s.containerID;
      const last = s.lastState?.terminated;
      if (last) c.lastState = toTerminated(last);
      if (s.state?.terminated) c.state = { kind: 'terminated', ...toTerminated(s.state.terminated) };
      else if (s.state?.running)
        c.state = { kind: 'running', startedAt: s.state.running.startedAt ?? this.startTime };
    }
    this.podIsTerminal = true;
    this.main.abort(stopReason);
    this.termination = this.finalize();
  }

  /** A newer version of the pod from the API (MODIFIED). */
  update(pod: PodObject): void {
    this.pod = pod;
    if (!pod.metadata?.deletionTimestamp) return;
    this.deleteRequested = true;
    if (this.finalized) this.remove();
    else void this.terminate({ kind: 'deleted' }, this.scaled(pod.metadata.deletionGracePeriodSeconds ?? 0));
  }

  /** The pod object is gone (DELETED): stop everything without writing status. */
  deleted(): void {
    this.gone = true;
    this.deleteRequested = true;
    if (this.finalized) this.remove();
    else void this.terminate({ kind: 'removed' }, 0);
  }

  /** Stops every container at once (kubelet shutdown): no status writes, no removal. */
  async shutdown(): Promise<void> {
    this.gone = true;
    await this.terminate({ kind: 'removed' }, 0);
  }

  private crashed(error: unknown): void {
    this.ctx.log?.error({ err: error, pod: `${this.namespace}/${this.name}` }, 'pod worker failed');
    void this.terminate({ kind: 'completed' }, 0);
  }

  // ---- status

  /** Writes the current status if it differs from the last write. Called by the status writer. */
  writeStatus(): void {
    if (this.gone) return;
    const { status } = generatePodStatus({
      pod: this.pod,
      containers: this.containers,
      startTime: this.startTime,
      hostIP: this.ctx.nodeIP,
      ...(this.podIP ? { podIP: this.podIP } : {}),
      sandboxReady: this.sandboxReady,
      podIsTerminal: this.podIsTerminal,
      finalized: this.finalized,
      ...(this.forced ? { forced: this.forced } : {}),
      ...(this.disruption ? { disruption: this.disruption } : {}),
      ...(this.phase ? { previousPhase: this.phase } : {}),
      ...(this.reason ? { previousReason: this.reason } : {}),
      ...(this.message ? { previousMessage: this.message } : {}),
      ...(this.lastWritten ? { previous: this.lastWritten } : {}),
      now: rfc3339Seconds(),
    });
    const json = JSON.stringify(status);
    if (json === this.lastWrittenJson) return;
    const wasTerminal = this.phase === 'Succeeded' || this.phase === 'Failed';
    this.phase = status.phase as Phase;
    this.reason = status.reason;
    this.message = status.message;
    const updated = this.ctx.store.updatePodStatus(this.namespace, this.name, this.uid, status);
    if (!updated) {
      this.deleted();
      return;
    }
    this.lastWritten = status;
    this.lastWrittenJson = json;
    this.pod = updated;
    const isTerminal = this.phase === 'Succeeded' || this.phase === 'Failed';
    if (isTerminal && !wasTerminal) this.ctx.podReleased(this.uid);
  }

  // ---- lifecycle

  private async run(): Promise<void> {
    const signal = this.main.signal;
    this.writeStatus();
    this.armPodTimers();
    try {
      const volumes = await this.mountVolumes(signal);
      await this.createSandbox(volumes, signal);
      for (const c of this.containers) {
        if (c.kind === 'sidecar') {
          this.supervise(c, signal).catch((error: unknown) => this.crashed(error));
          await this.changes.waitFor(() => isStarted(c), signal);
        } else if (c.kind === 'init') {
          if (!(await this.runToCompletion(c, signal))) {
            void this.terminate(
              { kind: 'init-failed' },
              this.scaled(this.pod.spec?.terminationGracePeriodSeconds ?? 30),
            );
            return;
          }
        }
      }
      await Promise.all(
        this.containers.filter((c) => c.kind === 'regular').map((c) => this.supervise(c, signal)),
      );
      void this.terminate(
        { kind: 'completed' },
        this.scaled(this.pod.spec?.terminationGracePeriodSeconds ?? 30),
      );
    } catch (error) {
      if (!(error instanceof AbortedError)) throw error;
    }
  }

  private armPodTimers(): void {
    const deadline = this.pod.spec?.activeDeadlineSeconds;
    if (deadline !== undefined && deadline !== null) {
      this.timer(this.scaled(deadline), () => {
        if (!this.termination) {
          void this.terminate(
            { kind: 'deadline' },
            this.scaled(this.pod.spec?.terminationGracePeriodSeconds ?? 30),
          );
        }
      });
    }
    const eviction = this.faults.eviction;
    if (eviction) {
      this.timer(eviction.afterMs, () => {
        if (!this.termination) {
          const message = eviction.message ?? this.defaultEvictionMessage();
          void this.terminate(
            { kind: 'evicted', message, graceSeconds: eviction.graceSeconds },
            this.scaled(eviction.graceSeconds),
          );
        }
      });
    }
  }

  private defaultEvictionMessage(): string {
    const victim = this.containers.find((c) => c.kind === 'regular') ?? this.containers[0];
    const request = victim?.spec.resources?.requests?.memory ?? '0';
    return (
      'The node was low on resource: memory. ' +
      'Threshold quantity: 100Mi, available: 91924Ki. ' +
      `Container ${victim?.name ?? 'unknown'} was using 1930880Ki, request is ${request}, has larger consumption of memory. `
    );
  }

  private facts(): PodRuntimeFacts {
    return {
      nodeName: this.ctx.nodeName,
      hostIP: this.ctx.nodeIP,
      podIP: this.podIP ?? '',
      allocatable: this.ctx.allocatable,
    };
  }

  private api(): ApiLookup {
    return this.ctx.store;
  }

  private async mountVolumes(signal: AbortSignal) {
    for (;;) {
      try {
        return resolveVolumes(this.pod, this.api(), this.facts());
      } catch (error) {
        if (!(error instanceof VolumeMountError)) throw error;
        this.event('Warning', 'FailedMount', error.message);
        await sleep(this.ctx.timing.podResyncMs, signal);
      }
    }
  }

  private async createSandbox(
    volumes: ReturnType<typeof resolveVolumes>,
    signal: AbortSignal,
  ): Promise<void> {
    const spec = this.pod.spec;
    for (;;) {
      throwIfAborted(signal);
      try {
        const sandbox = await this.ctx.runtime.createSandbox({
          uid: this.uid,
          namespace: this.namespace,
          name: this.name,
          hostname: spec?.hostname ?? this.name,
          hostAliases: (spec?.hostAliases ?? []).map((h) => ({ ip: h.ip, hostnames: h.hostnames ?? [] })),
          volumes,
        });
        this.sandbox = sandbox;
        if (signal.aborted) {
          // Terminated meanwhile: finalize() destroys the sandbox unless it already ran.
          if (this.finalized) await sandbox.destroy();
          return;
        }
        this.podIP = sandbox.podIP;
        this.sandboxReady = true;
        this.changed();
        return;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.event('Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${message}`);
        await sleep(this.ctx.timing.podResyncMs, signal);
      }
    }
  }

  /** A regular init container: start it until it exits 0 (true), or fails under `Never` (false). */
  private async runToCompletion(c: ContainerRecord, signal: AbortSignal): Promise<boolean> {
    for (;;) {
      if (await this.ensureStarted(c, signal)) await abortable(c.exited as Promise<ContainerExit>, signal);
      if (c.terminated?.exitCode === 0) return true;
      if (this.restartPolicy === 'Never') return false;
      await this.backOffRestart(c, signal);
    }
  }

  /** A sidecar or regular container: run, and restart as its restart policy says. */
  private async supervise(c: ContainerRecord, signal: AbortSignal): Promise<void> {
    try {
      for (;;) {
        if (await this.ensureStarted(c, signal)) await abortable(c.exited as Promise<ContainerExit>, signal);
        throwIfAborted(signal);
        if (!this.shouldRestart(c)) return;
        await this.backOffRestart(c, signal);
      }
    } catch (error) {
      if (!(error instanceof AbortedError)) throw error;
      if (c.kind === 'regular') throw error;
    }
  }

  private shouldRestart(c: ContainerRecord): boolean {
    if (c.kind === 'sidecar') return true;
    const exitCode = c.terminated?.exitCode ?? 0;
    if (this.restartPolicy === 'Always') return true;
    if (this.restartPolicy === 'OnFailure') return exitCode !== 0;
    return false;
  }

  /** Immediate first restart, then CrashLoopBackOff doubling from 10s (kubelet's doBackOff). */
  private async backOffRestart(c: ContainerRecord, signal: AbortSignal): Promise<void> {
    const key = c.name;
    const last = c.terminated;
    if (this.restartBackOff.isInBackOffSince(key, c.finishedAtMs)) {
      const delay = this.restartBackOff.get(key);
      this.event(
        'Warning',
        'BackOff',
        `Back-off restarting failed container ${c.name} in pod ${podDescription(this.pod)}`,
        c.fieldPath,
      );
      if (last) c.lastState = stripKind(last);
      c.state = {
        kind: 'waiting',
        reason: 'CrashLoopBackOff',
        message: `back-off ${formatBackOff(delay)} restarting failed container=${c.name} pod=${podDescription(this.pod)}`,
      };
      this.changed();
      await sleep(c.finishedAtMs + delay - Date.now(), signal);
    }
    this.restartBackOff.next(key);
    const previous = c.state.kind === 'terminated' ? stripKind(c.state) : c.lastState;
    if (previous) c.lastState = previous;
    c.restartCount++;
  }

  // ---- starting one container (image, config, create, start), one at a time per pod

  /** True when the container is running; false when its start failed (terminated StartError). */
  private async ensureStarted(c: ContainerRecord, signal: AbortSignal): Promise<boolean> {
    for (;;) {
      throwIfAborted(signal);
      const release = await this.startLock.acquire();
      let retryMs: number;
      try {
        throwIfAborted(signal);
        const outcome = await this.tryStart(c, signal);
        if (outcome === 'started') return true;
        if (outcome === 'start-failed') return false;
        retryMs = outcome.retryMs;
      } finally {
        release();
      }
      await sleep(retryMs, signal);
    }
  }

  private setWaiting(c: ContainerRecord, reason: string, message?: string): void {
    c.state = { kind: 'waiting', reason, ...(message ? { message } : {}) };
    this.changed();
  }

  private async tryStart(
    c: ContainerRecord,
    signal: AbortSignal,
  ): Promise<'started' | 'start-failed' | { retryMs: number }> {
    const resync = { retryMs: this.ctx.timing.podResyncMs };
    const pulled = await this.ensureImage(c, signal);
    if ('retryMs' in pulled) return pulled;
    const ref = pulled.ref;

    let env: ReturnType<typeof resolveEnv>;
    try {
      env = resolveEnv(this.pod, c.spec, this.api(), this.facts());
    } catch (error) {
      if (!(error instanceof ContainerConfigError)) throw error;
      this.setWaiting(c, 'CreateContainerConfigError', error.message);
      this.event('Warning', 'Failed', `Error: ${error.message}`, c.fieldPath);
      return resync;
    }
    const sandbox = this.sandbox as Sandbox;
    const spec = this.containerSpec(c.spec, env);
    const containerID = newContainerID();
    const log = this.ctx.store.openContainerLog(this.uid, c.name);
    const tail = c.spec.terminationMessagePolicy === 'FallbackToLogsOnError' ? new LogTail() : undefined;
    let running: RunningContainer;
    try {
      running = await sandbox.start(spec, containerOutput(log, tail));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log.close();
      if (error instanceof ContainerStartError) {
        this.adoptInstance(c, containerID, ref);
        this.event('Normal', 'Created', `Created container: ${c.name}`, c.fieldPath);
        const now = Date.now();
        c.finishedAtMs = now;
        c.state = {
          kind: 'terminated',
          exitCode: error.exitCode,
          reason: 'StartError',
          message: this.trimMessage(message),
          startedAt: epoch,
          finishedAt: rfc3339Seconds(now),
          containerID,
        };
        this.event('Warning', 'Failed', `Error: ${message}`, c.fieldPath);
        this.changed();
        return 'start-failed';
      }
      this.setWaiting(c, 'CreateContainerError', message);
      this.event('Warning', 'Failed', `Error: ${message}`, c.fieldPath);
      return resync;
    }
    this.adoptInstance(c, containerID, ref);
    this.event('Normal', 'Created', `Created container: ${c.name}`, c.fieldPath);
    const startedMs = Date.now();
    const startedAt = rfc3339Seconds(startedMs);
    c.running = running;
    c.stopping = false;
    c.state = { kind: 'running', startedAt };
    c.startupPassed = !c.spec.startupProbe;
    c.readinessPassed = c.startupPassed && !c.spec.readinessProbe;
    const instance = new AbortController();
    c.instance = instance;
    c.exited = running.exited
      .catch((error: unknown): ContainerExit => {
        this.ctx.log?.warn({ err: error, container: c.name }, 'runtime lost a container');
        return { exitCode: 137, oomKilled: false };
      })
      .then((exit) => {
        this.recordExit(c, exit, startedAt, containerID, tail, log);
        instance.abort(stopReason);
        return exit;
      });
    this.event('Normal', 'Started', `Started container ${c.name}`, c.fieldPath);
    if (c.spec.startupProbe || c.spec.readinessProbe || c.spec.livenessProbe) {
      runProbes(this.probeHost(), c, AbortSignal.any([instance.signal, signal])).catch((error: unknown) =>
        this.ctx.log?.warn({ err: error }, 'probe failed'),
      );
    }
    const oomAfter = this.faults.oomKillAfterMs(c.name);
    if (oomAfter !== undefined) {
      this.timer(oomAfter, () => {
        if (c.running === running && !instance.signal.aborted) running.oomKill();
      });
    }
    this.changed();
    return 'started';
  }

  private adoptInstance(c: ContainerRecord, containerID: string, ref: ImageReference): void {
    c.containerID = containerID;
    c.image = ref.normalized;
    c.imageID = imageID(ref);
  }

  private recordExit(
    c: ContainerRecord,
    exit: ContainerExit,
    startedAt: string,
    containerID: string,
    tail: LogTail | undefined,
    log: { close(): void },
  ): void {
    log.close();
    const now = Date.now();
    c.running = undefined;
    c.finishedAtMs = now;
    c.startupPassed = false;
    c.readinessPassed = false;
    let message = exit.terminationMessage ?? '';
    if (message === '' && tail && exit.exitCode !== 0) message = tail.text();
    c.state = {
      kind: 'terminated',
      exitCode: exit.exitCode,
      reason: exit.oomKilled ? 'OOMKilled' : exit.exitCode === 0 ? 'Completed' : 'Error',
      ...(message ? { message: this.trimMessage(message) } : {}),
      startedAt,
      finishedAt: rfc3339Seconds(now),
      containerID,
    };
    this.changed();
  }

  private trimMessage(message: string): string {
    const budget = Math.floor(maxTerminationMessagesBytes / Math.max(1, this.containers.length));
    const bytes = Buffer.from(message);
    return bytes.byteLength <= budget ? message : bytes.subarray(0, budget).toString('utf8');
  }

  private containerSpec(spec: ContainerObject, env: ReturnType<typeof resolveEnv>): ContainerSpec {
    const podSecurity = this.pod.spec?.securityContext;
    const sc = spec.securityContext;
    const runAsUser = sc?.runAsUser ?? podSecurity?.runAsUser;
    const runAsGroup = sc?.runAsGroup ?? podSecurity?.runAsGroup;
    const memoryLimit = spec.resources?.limits?.memory;
    const command = expandCommand(spec.command, env);
    const args = expandCommand(spec.args, env);
    const limitBytes = memoryBytes(memoryLimit);
    return {
      name: spec.name,
      image: spec.image ?? '',
      ...(command ? { command } : {}),
      ...(args ? { args } : {}),
      env,
      ...(spec.workingDir ? { workingDir: spec.workingDir } : {}),
      mounts: resolveMounts(spec),
      ...(runAsUser !== undefined && runAsUser !== null ? { runAsUser } : {}),
      ...(runAsGroup !== undefined && runAsGroup !== null ? { runAsGroup } : {}),
      ...(sc?.privileged ? { privileged: true } : {}),
      ...(limitBytes !== undefined ? { memoryLimitBytes: limitBytes } : {}),
      ports: containerPorts(spec),
      terminationMessagePath: spec.terminationMessagePath ?? '/dev/termination-log',
      annotations: { ...(this.pod.metadata?.annotations ?? {}) },
    };
  }

  /** Pulls as the kubelet's image manager does: policy, back-off, events, waiting reasons. */
  private async ensureImage(
    c: ContainerRecord,
    signal: AbortSignal,
  ): Promise<{ ref: ImageReference } | { retryMs: number }> {
    const resync = { retryMs: this.ctx.timing.podResyncMs };
    const image = c.spec.image ?? '';
    const ref = parseImage(image);
    if (!ref) {
      const message = pullMessages.invalidName(image);
      this.setWaiting(c, 'InvalidImageName', message);
      this.event('Warning', 'InspectFailed', message, c.fieldPath);
      this.event('Warning', 'Failed', 'Error: InvalidImageName', c.fieldPath);
      return resync;
    }
    const policy = (c.spec.imagePullPolicy ?? defaultPullPolicy(image)) as
      | 'Always'
      | 'IfNotPresent'
      | 'Never';
    const injected = this.faults.pullError(c.name, image, ref.normalized);
    const runtime = this.ctx.runtime;

    if (policy !== 'Always') {
      let present = injected === undefined;
      if (present) {
        try {
          await abortable(runtime.pullImage(image, 'Never'), signal);
        } catch (error) {
          if (!(error instanceof ImagePullError)) throw error;
          present = false;
        }
      }
      if (present) {
        this.event('Normal', 'Pulled', pullMessages.present(image), c.fieldPath);
        return { ref };
      }
      if (policy === 'Never') {
        const message = pullMessages.neverPull(image);
        this.setWaiting(c, 'ErrImageNeverPull', message);
        this.event('Warning', 'ErrImageNeverPull', message, c.fieldPath);
        this.event('Warning', 'Failed', 'Error: ErrImageNeverPull', c.fieldPath);
        return resync;
      }
    }

    const key = `${this.uid}/${image}`;
    const backOff = this.ctx.imageBackOff;
    if (backOff.isInBackOffSinceUpdate(key)) {
      const lastError = backOff.lastError(key) ?? '';
      this.setWaiting(c, 'ImagePullBackOff', pullMessages.backOffWaiting(image, lastError));
      this.event('Normal', 'BackOff', pullMessages.backOffEvent(image), c.fieldPath);
      this.event('Warning', 'Failed', 'Error: ImagePullBackOff', c.fieldPath);
      return { retryMs: Math.max(1, backOff.remainingMs(key)) };
    }

    this.event('Normal', 'Pulling', pullMessages.pulling(image), c.fieldPath);
    const started = Date.now();
    let failure: string | undefined;
    if (injected !== undefined) {
      failure = injected === '' ? notFoundPullError(ref) : injected;
    } else {
      try {
        await abortable(runtime.pullImage(image, policy), signal);
      } catch (error) {
        if (!(error instanceof ImagePullError)) throw error;
        failure = error.message;
      }
    }
    if (failure !== undefined) {
      backOff.next(key, Date.now(), failure);
      this.setWaiting(c, 'ErrImagePull', failure);
      this.event('Warning', 'Failed', pullMessages.failed(image, failure), c.fieldPath);
      this.event('Warning', 'Failed', 'Error: ErrImagePull', c.fieldPath);
      return resync;
    }
    backOff.delete(key);
    const took = Date.now() - started;
    this.event(
      'Normal',
      'Pulled',
      pullMessages.pulled(image, took, took, imageSizeBytes(ref), formatGoDuration),
      c.fieldPath,
    );
    return { ref };
  }

  private probeHost(): ProbeHost {
    return {
      sandbox: this.sandbox as Sandbox,
      specTimeScale: this.ctx.timing.specTimeScale,
      restartPolicy: this.restartPolicy,
      event: (type, reason, message, fieldPath) => this.event(type, reason, message, fieldPath),
      changed: () => this.changed(),
      killForProbe: (c, message, graceSeconds) => {
        const grace = this.scaled(graceSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30);
        void this.stopContainer(c, new Deadline(Date.now() + grace), message);
      },
    };
  }

  // ---- termination

  /**
   * Ends the pod: stops what runs (main containers first, then sidecars in reverse order), then
   * writes the terminal status and, when the pod was deleted, removes it.
   */
  private terminate(cause: Cause, graceMs: number): Promise<void> {
    if (cause.kind === 'deleted' || cause.kind === 'removed') this.deleteRequested = true;
    if (this.termination) {
      this.killDeadline?.moveEarlier(Date.now() + graceMs);
      return this.termination;
    }
    const now = rfc3339Seconds();
    if (cause.kind === 'deadline') {
      this.forced = { reason: 'DeadlineExceeded', message: deadlineMessage };
      this.event('Normal', 'DeadlineExceeded', deadlineMessage);
    } else if (cause.kind === 'evicted') {
      this.event('Warning', 'Evicted', cause.message);
      this.forced = { reason: 'Evicted', message: cause.message };
      this.disruption = { reason: 'TerminationByKubelet', message: cause.message, at: now };
    }
    this.podIsTerminal = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.main.abort(stopReason);
    this.changed();
    this.killDeadline = new Deadline(Date.now() + graceMs);
    this.termination = this.stopAll(this.killDeadline).then(
      () => this.finalize(),
      (error: unknown) => {
        this.ctx.log?.error({ err: error }, 'terminating a pod failed');
        return this.finalize();
      },
    );
    return this.termination;
  }

  private async stopAll(deadline: Deadline): Promise<void> {
    // Wait for a start in progress to finish, so nothing starts behind our back.
    const release = await this.startLock.acquire();
    try {
      const first = this.containers.filter((c) => c.kind !== 'sidecar' && c.running);
      await Promise.all(first.map((c) => this.stopContainer(c, deadline)));
      const sidecars = this.containers.filter((c) => c.kind === 'sidecar').reverse();
      for (const c of sidecars) if (c.running) await this.stopContainer(c, deadline);
    } finally {
      release();
    }
  }

  /** SIGTERM, then SIGKILL once the grace (never less than the runtime's minimum) has passed. */
  private async stopContainer(c: ContainerRecord, deadline: Deadline, message?: string): Promise<void> {
    const running = c.running;
    const exited = c.exited;
    if (!running || !exited) return;
    if (c.stopping) {
      await exited;
      return;
    }
    c.stopping = true;
    this.event('Normal', 'Killing', message ?? `Stopping container ${c.name}`, c.fieldPath);
    running.signal('SIGTERM');
    const termAt = Date.now();
    let kill: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(kill);
      const at = Math.max(deadline.at, termAt + this.ctx.timing.minStopGraceMs);
      kill = setTimeout(() => running.signal('SIGKILL'), Math.max(0, at - Date.now()));
    };
    arm();
    const unsubscribe = deadline.subscribe(arm);
    try {
      await exited;
    } finally {
      clearTimeout(kill);
      unsubscribe();
    }
  }

  private async finalize(): Promise<void> {
    // status_manager.TerminatePod: nothing of a finished pod may look alive.
    const finished = rfc3339Seconds();
    const markUnknown = (c: ContainerRecord): void => {
      c.state = {
        kind: 'terminated',
        exitCode: 137,
        reason: 'ContainerStatusUnknown',
        message: statusUnknownMessage,
        startedAt: c.state.kind === 'running' ? c.state.startedAt : finished,
        finishedAt: finished,
        ...(c.containerID ? { containerID: c.containerID } : {}),
      };
    };
    if (this.hasInitialized()) {
      for (const c of this.containers)
        if (c.kind === 'regular' && c.state.kind !== 'terminated') markUnknown(c);
    }
    const init = this.containers.filter((c) => c.kind !== 'regular');
    let lastStarted = -1;
    init.forEach((c, i) => {
      if (c.state.kind !== 'waiting' || c.lastState) lastStarted = i;
    });
    for (let i = 0; i <= lastStarted; i++) {
      const c = init[i] as ContainerRecord;
      if (c.state.kind !== 'terminated') markUnknown(c);
    }
    if (this.sandbox) {
      try {
        await this.sandbox.destroy();
      } catch (error) {
        this.ctx.log?.warn({ err: error }, 'destroying a sandbox failed');
      }
    }
    this.sandboxReady = false;
    this.finalized = true;
    for (const c of this.containers) this.ctx.imageBackOff.delete(`${this.uid}/${c.spec.image ?? ''}`);
    this.changed();
    this.writeStatus();
    this.ctx.podReleased(this.uid);
    if (this.deleteRequested) this.remove();
  }

  private hasInitialized(): boolean {
    const init = this.containers.filter((c) => c.kind !== 'regular');
    if (init.length === 0) return true;
    if (this.containers.some((c) => c.kind === 'regular' && (c.lastState || c.state.kind !== 'waiting')))
      return true;
    const last = init[init.length - 1] as ContainerRecord;
    if (last.kind === 'sidecar') return isStarted(last);
    return last.lastState?.exitCode === 0 || last.terminated?.exitCode === 0;
  }

  /** The last step of a deleted pod: remove the object (unless already gone) and forget the worker. */
  private remove(): void {
    if (this.removed) return;
    this.removed = true;
    if (!this.gone) {
      this.gone = true;
      this.ctx.store.removePod(this.namespace, this.name, this.uid);
    }
    this.ctx.workerDone(this.uid);
  }
}

function toTerminated(t: {
  exitCode: number;
  reason?: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  containerID?: string;
}): TerminatedState {
  return {
    exitCode: t.exitCode,
    reason: t.reason ?? (t.exitCode === 0 ? 'Completed' : 'Error'),
    ...(t.message ? { message: t.message } : {}),
    startedAt: t.startedAt ?? '',
    finishedAt: t.finishedAt ?? '',
    ...(t.containerID ? { containerID: t.containerID } : {}),
  };
}

function stripKind(t: TerminatedState & { kind?: string }): TerminatedState {
  const { kind: _kind, ...rest } = t;
  return rest;
}
