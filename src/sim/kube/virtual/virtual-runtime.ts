// The virtual container runtime: no processes, no images, no network. Each container is a small
// program run on timers (see programs.ts), so thousands of pods fit in one process. A container
// "listens" on its declared ports once its listen delay has passed, which is what probes see.
import picomatch from 'picomatch';
import {
  type ContainerExit,
  type ContainerOutput,
  type ContainerRuntime,
  type ContainerSpec,
  ImagePullError,
  type RunningContainer,
  type Sandbox,
  type SandboxSpec,
} from '../runtime.ts';
import { type ContainerProgram, type ProgramOptions, programFor, timestampPlaceholder } from './programs.ts';
import type { Action } from './shell.ts';

export interface VirtualRuntimeOptions extends Partial<ProgramOptions> {
  /** How long pulling an image takes. */
  pullDelayMs?: number;
  /** Globs of images already on the node (otherwise an image is present after its first pull). */
  presentImages?: string[];
}

const defaults: ProgramOptions & { pullDelayMs: number } = {
  defaultDurationMs: 1000,
  unknownCommandMs: 100,
  helperMs: 200,
  uploaderMs: 200,
  listenDelayMs: 0,
  pullDelayMs: 0,
};

const maxTerminationMessage = 4096;
/** Passed to abort(): without a reason each call builds a DOMException. */
const interrupted = Symbol('interrupted');

function waitMs(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

const filler =
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore';

class VirtualContainer implements RunningContainer {
  readonly exited: Promise<ContainerExit>;
  readonly name: string;
  readonly ports: number[];
  readonly listenAt: number;
  private resolveExit!: (exit: ContainerExit) => void;
  private ended = false;
  private queue: Action[];
  private trap: Action[] | 'ignore' | 'default' = 'default';
  private wait = new AbortController();
  private pendingHandler?: Action[];
  private written = '';
  private readonly program: ContainerProgram;
  private readonly output: ContainerOutput;
  private readonly sandbox: VirtualSandbox;
  private rateTimer?: NodeJS.Timeout;
  private lineNumber = 0;

  constructor(
    spec: ContainerSpec,
    program: ContainerProgram,
    output: ContainerOutput,
    sandbox: VirtualSandbox,
  ) {
    this.name = spec.name;
    this.ports = spec.ports;
    this.listenAt = Date.now() + program.listenDelayMs;
    this.program = program;
    this.queue = [...program.actions];
    this.output = output;
    this.sandbox = sandbox;
    this.exited = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
  }

  get running(): boolean {
    return !this.ended;
  }

  start(): void {
    const rate = this.program.logRate;
    if (rate) {
      this.rateTimer = setInterval(() => this.emitRate(rate.linesPerSecond, rate.bytesPerSecond), 1000);
    }
    this.run().catch((error: unknown) => {
      this.write('stderr', `[virtual] ${String(error)}\n`);
      this.finish({ exitCode: 1, oomKilled: false }, true);
    });
  }

  signal(signal: 'SIGTERM' | 'SIGKILL'): void {
    if (this.ended) return;
    if (signal === 'SIGKILL') {
      this.finish({ exitCode: 137, signal: 'SIGKILL', oomKilled: false }, false);
      return;
    }
    const trap = this.trap;
    if (trap === 'ignore') return;
    if (trap === 'default') {
      this.finish({ exitCode: 143, signal: 'SIGTERM', oomKilled: false }, false);
      return;
    }
    // A handler runs now; the script goes on afterwards unless the handler exits.
    this.trap = 'ignore';
    this.pendingHandler = trap;
    this.wait.abort(interrupted);
  }

  oomKill(): void {
    if (this.ended) return;
    this.finish({ exitCode: 137, signal: 'SIGKILL', oomKilled: true }, false);
  }

  private write(stream: 'stdout' | 'stderr', data: string): void {
    const text = data.includes(timestampPlaceholder)
      ? data.replaceAll(timestampPlaceholder, String(Math.floor(Date.now() / 1000)))
      : data;
    const chunk = Buffer.from(text);
    if (stream === 'stdout') this.output.stdout(chunk);
    else this.output.stderr(chunk);
  }

  private emitRate(lines: number, bytes: number): void {
    if (this.ended) return;
    let text = '';
    for (let i = 0; i < lines; i++) text += `${this.name} line ${++this.lineNumber}: ${filler}\n`;
    while (bytes > 0) {
      const line = `${this.name} ${++this.lineNumber} ${filler}`.slice(
        0,
        Math.max(0, Math.min(bytes, 100) - 1),
      );
      text += `${line}\n`;
      bytes -= line.length + 1;
    }
    if (text) this.write('stdout', text);
  }

  private async run(): Promise<void> {
    for (;;) {
      if (this.ended) return;
      const action = this.queue.shift();
      if (!action) {
        this.finish({ exitCode: 0, oomKilled: false }, true);
        return;
      }
      /** An interrupted wait that goes on after a TERM handler (a killed sleep does not). */
      let resume: Action | undefined;
      switch (action.kind) {
        case 'write':
          this.write(action.stream, action.data);
          break;
        case 'message':
          this.written = action.append ? this.written + action.text : action.text;
          break;
        case 'trap':
          this.trap = action.handler;
          break;
        case 'sleep':
          await waitMs(action.ms, this.currentWait());
          break;
        case 'forever':
          await untilAborted(this.currentWait());
          resume = action;
          break;
        case 'waitFor':
          await Promise.race([this.sandbox.exitOf(action.container), untilAborted(this.currentWait())]);
          if (!this.sandbox.hasExited(action.container)) resume = action;
          break;
        case 'exit':
          this.finish({ exitCode: action.code, oomKilled: false }, true);
          return;
      }
      if (this.ended) return;
      const handler = this.pendingHandler;
      this.pendingHandler = undefined;
      this.queue.unshift(...(handler ?? []), ...(resume ? [resume] : []));
    }
  }

  private currentWait(): AbortSignal {
    if (this.wait.signal.aborted) this.wait = new AbortController();
    return this.wait.signal;
  }

  private finish(exit: ContainerExit, normal: boolean): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.rateTimer);
    this.wait.abort(interrupted);
    let message = this.written;
    if (normal && this.program.terminationMessage !== undefined) message = this.program.terminationMessage;
    if (Buffer.byteLength(message) > maxTerminationMessage) {
      message = Buffer.from(message).subarray(0, maxTerminationMessage).toString('utf8');
    }
    this.sandbox.containerExited(this);
    this.resolveExit({ ...exit, ...(message ? { terminationMessage: message } : {}) });
  }
}

class VirtualSandbox implements Sandbox {
  readonly podIP: string;
  private readonly spec: SandboxSpec;
  private readonly options: ProgramOptions;
  private readonly containers = new Map<string, VirtualContainer>();
  private readonly exits = new Map<string, { promise: Promise<void>; resolve: () => void; done: boolean }>();
  private destroyed = false;

  constructor(spec: SandboxSpec, podIP: string, options: ProgramOptions) {
    this.spec = spec;
    this.podIP = podIP;
    this.options = options;
  }

  async start(spec: ContainerSpec, output: ContainerOutput): Promise<RunningContainer> {
    if (this.destroyed) throw new Error(`sandbox of pod ${this.spec.namespace}/${this.spec.name} is gone`);
    const program = programFor(spec, this.spec.volumes, this.options);
    const container = new VirtualContainer(spec, program, output, this);
    this.containers.set(spec.name, container);
    const exit = this.exitEntry(spec.name);
    if (exit.done) this.exits.delete(spec.name);
    container.start();
    return container;
  }

  async probeTcp(port: number): Promise<boolean> {
    const now = Date.now();
    for (const c of this.containers.values()) {
      if (c.running && c.ports.includes(port) && now >= c.listenAt) return true;
    }
    return false;
  }

  async destroy(): Promise<void> {
    this.destroyed = true;
    this.containers.clear();
    this.onDestroy?.();
  }

  onDestroy?: () => void;

  /** Kills whatever still runs (the runtime is closing). */
  killAll(): void {
    for (const c of this.containers.values()) c.signal('SIGKILL');
  }

  exitOf(name: string): Promise<void> {
    return this.exitEntry(name).promise;
  }

  hasExited(name: string): boolean {
    return this.exits.get(name)?.done ?? false;
  }

  containerExited(c: VirtualContainer): void {
    if (this.containers.get(c.name) !== c) return;
    const entry = this.exitEntry(c.name);
    entry.done = true;
    entry.resolve();
  }

  private exitEntry(name: string) {
    let entry = this.exits.get(name);
    if (!entry) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      entry = { promise, resolve, done: false };
      this.exits.set(name, entry);
    }
    return entry;
  }
}

/** A runtime whose containers are timers: for tests, demos and benchmarks with thousands of pods. */
export function createVirtualRuntime(options: VirtualRuntimeOptions = {}): ContainerRuntime {
  const o = { ...defaults, ...options };
  const present = new Set<string>();
  const preloaded = (options.presentImages ?? []).map((g) => picomatch(g, { dot: true }));
  let nextIP = 0;
  const sandboxes = new Set<VirtualSandbox>();
  return {
    mode: 'virtual',
    async pullImage(image, policy) {
      const here = present.has(image) || preloaded.some((m) => m(image));
      if (policy === 'Never' || (policy === 'IfNotPresent' && here)) {
        if (here) return { alreadyPresent: true };
        throw new ImagePullError(`image ${image} is not present on the node`);
      }
      if (o.pullDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, o.pullDelayMs));
      present.add(image);
      return { alreadyPresent: false };
    },
    async createSandbox(spec) {
      const n = nextIP++ % 65_000;
      const podIP = `10.244.${Math.floor(n / 250)}.${(n % 250) + 2}`;
      const sandbox = new VirtualSandbox(spec, podIP, o);
      sandboxes.add(sandbox);
      sandbox.onDestroy = () => sandboxes.delete(sandbox);
      return sandbox;
    },
    async close() {
      for (const s of sandboxes) s.killAll();
      sandboxes.clear();
    },
  };
}
