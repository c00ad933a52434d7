// A container runtime the test drives by hand: containers run until the test ends them, ports listen
// when the test says, and every call is recorded in order.
import {
  type ContainerExit,
  type ContainerOutput,
  type ContainerRuntime,
  type ContainerSpec,
  ContainerStartError,
  ImagePullError,
  type RunningContainer,
  type Sandbox,
  type SandboxSpec,
} from '../../../../src/sim/kube/runtime.ts';

export class FakeContainer implements RunningContainer {
  readonly exited: Promise<ContainerExit>;
  readonly signals: string[] = [];
  ended = false;
  private resolve!: (exit: ContainerExit) => void;
  readonly spec: ContainerSpec;
  readonly output: ContainerOutput;
  readonly pod: string;
  /** What SIGTERM does: exit 143 (default), nothing, or exit with this code. */
  onTerm: 'exit' | 'ignore' | number = 'exit';

  private readonly log: string[];

  constructor(pod: string, spec: ContainerSpec, output: ContainerOutput, log: string[]) {
    this.log = log;
    this.pod = pod;
    this.spec = spec;
    this.output = output;
    this.exited = new Promise((r) => {
      this.resolve = r;
    });
  }

  signal(signal: 'SIGTERM' | 'SIGKILL'): void {
    this.signals.push(signal);
    this.log.push(`${signal} ${this.pod}/${this.spec.name}`);
    if (this.ended) return;
    if (signal === 'SIGKILL') this.exit({ exitCode: 137, signal: 'SIGKILL', oomKilled: false });
    else if (this.onTerm === 'exit') this.exit({ exitCode: 143, signal: 'SIGTERM', oomKilled: false });
    else if (typeof this.onTerm === 'number') this.exit({ exitCode: this.onTerm, oomKilled: false });
  }

  oomKill(): void {
    this.signals.push('OOM');
    this.exit({ exitCode: 137, signal: 'SIGKILL', oomKilled: true });
  }

  exit(exit: Partial<ContainerExit> & { exitCode: number }): void {
    if (this.ended) return;
    this.ended = true;
    this.log.push(`exit ${this.pod}/${this.spec.name} ${exit.exitCode}`);
    this.resolve({ oomKilled: false, ...exit });
  }

  print(text: string): void {
    this.output.stdout(Buffer.from(text));
  }
}

/** An array that wakes the runtime's waiters on every push. */
class CallLog extends Array<string> {
  onPush?: () => void;
  override push(...items: string[]): number {
    const n = super.push(...items);
    this.onPush?.();
    return n;
  }
}

export class FakeRuntime implements ContainerRuntime {
  readonly mode = 'virtual' as const;
  readonly calls: string[] = new CallLog();
  readonly containers: FakeContainer[] = [];
  readonly listening = new Set<string>();
  readonly sandboxes: SandboxSpec[] = [];
  readonly destroyed: string[] = [];
  /** Images that fail to pull, with the error text. */
  readonly pullErrors = new Map<string, string>();
  /** Container names whose start fails (ContainerStartError message). */
  readonly startErrors = new Map<string, string>();
  /** Pulls that need a pull (absent images, policy Always) take this long. */
  pullDelayMs = 0;
  private waiters: (() => void)[] = [];

  constructor() {
    (this.calls as CallLog).onPush = () => this.changed();
  }

  /** Resolves once `check()` holds, re-checked after every runtime call, signal and exit. */
  async until(check: () => boolean, what = 'condition', timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private changed(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves with the newest container of that pod and name once it has started. */
  async started(pod: string, name: string, instance = 0, timeoutMs = 5000): Promise<FakeContainer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.containers.filter((c) => c.pod === pod && c.spec.name === name)[instance];
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`container ${pod}/${name}#${instance} never started`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async pullImage(
    image: string,
    policy: 'Always' | 'IfNotPresent' | 'Never',
  ): Promise<{ alreadyPresent: boolean }> {
    this.calls.push(`pull ${image} ${policy}`);
    const error = this.pullErrors.get(image);
    if (error !== undefined) throw new ImagePullError(error);
    if (policy === 'Never') throw new ImagePullError(`image ${image} is not present`);
    if (this.pullDelayMs > 0) await new Promise((r) => setTimeout(r, this.pullDelayMs));
    return { alreadyPresent: false };
  }

  async createSandbox(spec: SandboxSpec): Promise<Sandbox> {
    this.calls.push(`sandbox ${spec.name}`);
    this.sandboxes.push(spec);
    const runtime = this;
    return {
      podIP: '10.244.0.9',
      async start(container: ContainerSpec, output: ContainerOutput) {
        runtime.calls.push(`start ${spec.name}/${container.name}`);
        const error = runtime.startErrors.get(container.name);
        if (error !== undefined) throw new ContainerStartError(error);
        const c = new FakeContainer(spec.name, container, output, runtime.calls);
        runtime.containers.push(c);
        runtime.changed();
        return c;
      },
      async probeTcp(port: number) {
        return runtime.listening.has(`${spec.name}:${port}`);
      },
      async destroy() {
        runtime.calls.push(`destroy ${spec.name}`);
        runtime.destroyed.push(spec.name);
      },
    };
  }

  async close(): Promise<void> {}
}
