// One container of a pod as the kubelet tracks it: its spec, its current and previous instance, its
// runtime handle and the tail of its log (for FallbackToLogsOnError).
import { randomBytes } from 'node:crypto';
import type { ContainerLogWriter } from '../kubelet-store.ts';
import type { ContainerExit, ContainerOutput, RunningContainer } from '../runtime.ts';
import type { ContainerObject } from './env.ts';
import type { ContainerKind, ContainerView, RunState, TerminatedState } from './status.ts';

export function newContainerID(): string {
  return `containerd://${randomBytes(32).toString('hex')}`;
}

/** The last bytes of a container's output: the kubelet's fallback termination message. */
export class LogTail {
  private chunks: Buffer[] = [];
  private size = 0;
  private static readonly keep = 8192;

  push(chunk: Uint8Array): void {
    this.chunks.push(Buffer.from(chunk));
    this.size += chunk.byteLength;
    while (this.size > LogTail.keep && this.chunks.length > 1) {
      this.size -= (this.chunks.shift() as Buffer).byteLength;
    }
  }

  /** The last 80 lines, at most 2048 bytes (kubelet's maxLines/maxBytes for the fallback). */
  text(): string {
    let buf = Buffer.concat(this.chunks);
    if (buf.byteLength > 2048) buf = buf.subarray(buf.byteLength - 2048);
    const lines = buf.toString('utf8').split('\n');
    const trailing = lines.length > 0 && lines[lines.length - 1] === '';
    const body = trailing ? lines.slice(0, -1) : lines;
    return body.slice(-80).join('\n') + (trailing ? '\n' : '');
  }
}

export class ContainerRecord implements ContainerView {
  readonly name: string;
  readonly kind: ContainerKind;
  spec: ContainerObject;
  state: RunState;
  lastState?: TerminatedState;
  startupPassed = false;
  readinessPassed = false;
  restartCount = 0;
  image: string;
  imageID = '';
  containerID?: string;
  readonly volumeMounts: { name: string; mountPath: string; readOnly: boolean }[];
  /** The running instance, if any. */
  running?: RunningContainer;
  /** Resolves once the current instance's exit has been recorded in `state`. */
  exited?: Promise<ContainerExit>;
  /** Aborted when the current instance ends: stops its probes and fault timers. */
  instance?: AbortController;
  /** Wall-clock ms of the last exit (restart back-off counts from it). */
  finishedAtMs = 0;
  /** Whether this instance has already been asked to stop (a second Killing event is not sent). */
  stopping = false;

  constructor(spec: ContainerObject, kind: ContainerKind, hasInitContainers: boolean) {
    this.name = spec.name;
    this.kind = kind;
    this.spec = spec;
    this.image = spec.image ?? '';
    this.state = { kind: 'waiting', reason: hasInitContainers ? 'PodInitializing' : 'ContainerCreating' };
    this.volumeMounts = (spec.volumeMounts ?? []).map((m) => ({
      name: m.name,
      mountPath: m.mountPath,
      readOnly: m.readOnly ?? false,
    }));
  }

  get fieldPath(): string {
    return this.kind === 'regular' ? `spec.containers{${this.name}}` : `spec.initContainers{${this.name}}`;
  }

  get terminated(): (TerminatedState & { kind: 'terminated' }) | undefined {
    return this.state.kind === 'terminated' ? this.state : undefined;
  }
}

/** Sends a container's output to its log in the store, keeping a tail when the spec may need it. */
export function containerOutput(log: ContainerLogWriter, tail: LogTail | undefined): ContainerOutput {
  return {
    stdout(chunk) {
      log.write('stdout', chunk, new Date());
      tail?.push(chunk);
    },
    stderr(chunk) {
      log.write('stderr', chunk, new Date());
      tail?.push(chunk);
    },
  };
}
