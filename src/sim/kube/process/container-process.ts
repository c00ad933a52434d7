// One running container: the spawned chain `setpriv --pdeathsig → nsenter (pod namespaces) →
// unshare (own mount + PID namespaces, --kill-child) → sh init.sh → the command`, its output, its
// signals and its end. Should the runtime die, the parent-death signals take the whole chain down,
// and with the init (PID 1 of the container) goes every process of the container.
import { spawn } from 'node:child_process';
import { open, rm } from 'node:fs/promises';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import {
  type ContainerExit,
  type ContainerOutput,
  ContainerStartError,
  type RunningContainer,
} from '../runtime.ts';
import type { MemoryCgroup } from './memory-cgroup.ts';

/** containerd's wording around a runc start failure, as the kubelet shows it in the status message. */
export const startErrorMessage = (cause: string) =>
  `failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: ${cause}: unknown`;

const TERMINATION_MESSAGE_MAX = 4096;
/** Generous: setting a container up takes milliseconds; only a hung mount or system gets there. */
const START_TIMEOUT_MS = 60_000;

async function readTerminationMessage(file: string): Promise<string | undefined> {
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, TERMINATION_MESSAGE_MAX);
      const buffer = Buffer.alloc(length);
      // Like the kubelet (tail.ReadAtMost): the last 4096 bytes.
      await handle.read(buffer, 0, length, size - length);
      const text = buffer.toString('utf8');
      return text.length > 0 ? text : undefined;
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
}

export interface ContainerLaunch {
  argv: string[];
  env: Record<string, string>;
  output: ContainerOutput;
  terminationLog: string;
  cgroup?: MemoryCgroup;
  /** Runs after the container ended and its results were read (removes its state directory). */
  cleanup: () => Promise<void>;
}

class ProcessContainer implements RunningContainer {
  readonly exited: Promise<ContainerExit>;
  initPid: number | undefined;
  private ended = false;
  private oomInjected = false;
  private readonly kill: (signal: NodeJS.Signals) => void;

  constructor(exited: Promise<ContainerExit>, kill: (signal: NodeJS.Signals) => void) {
    this.exited = exited;
    this.kill = kill;
    exited.finally(() => {
      this.ended = true;
    });
  }

  get injectedOom(): boolean {
    return this.oomInjected;
  }

  signal(signal: 'SIGTERM' | 'SIGKILL'): void {
    if (!this.ended) this.kill(signal);
  }

  oomKill(): void {
    if (this.ended) return;
    this.oomInjected = true;
    this.kill('SIGKILL');
  }
}

/** Starts the container; resolves once its command runs, rejects with ContainerStartError if it can't. */
export function launchContainer(launch: ContainerLaunch): Promise<RunningContainer> {
  const [command, ...args] = launch.argv;
  if (!command) return Promise.reject(new ContainerStartError(startErrorMessage('no command')));
  const child = spawn(command, args, {
    env: launch.env,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => launch.output.stdout(chunk));
  // Until the command runs, stderr can only hold complaints of the launch chain (nsenter, unshare):
  // they belong in a start error, not in the container's log.
  let early: Buffer[] | undefined = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    if (early) early.push(chunk);
    else launch.output.stderr(chunk);
  });
  const flushEarly = () => {
    const chunks = early ?? [];
    early = undefined;
    for (const chunk of chunks) launch.output.stderr(chunk);
  };
  const earlyText = () =>
    Buffer.concat(early ?? [])
      .toString('utf8')
      .trim();

  let container: ProcessContainer | undefined;
  // SIGTERM goes to the init, which passes it to every process of the container; SIGKILL to the init
  // ends the container's PID namespace, and to the launch chain in case the init is not there yet.
  const kill = (signal: NodeJS.Signals) => {
    const pid = container?.initPid;
    if (pid !== undefined) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
    if (signal === 'SIGKILL') child.kill('SIGKILL');
  };

  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const exited = (async (): Promise<ContainerExit> => {
    const { code, signal } = await closed;
    const terminationMessage = await readTerminationMessage(launch.terminationLog);
    const cgroupOoms = launch.cgroup ? await launch.cgroup.oomKills() : 0;
    await launch.cgroup?.remove();
    await launch.cleanup().catch(() => {});
    const oomKilled = (container?.injectedOom ?? false) || cgroupOoms > 0;
    const exit: ContainerExit =
      signal !== null
        ? { exitCode: 128 + (constants.signals[signal] ?? 9), signal, oomKilled }
        : { exitCode: code ?? 128, oomKilled };
    if (oomKilled && container?.injectedOom) exit.exitCode = 137;
    if (terminationMessage !== undefined) exit.terminationMessage = terminationMessage;
    return exit;
  })();
  container = new ProcessContainer(exited, kill);
  const running = container;

  return new Promise<RunningContainer>((resolve, reject) => {
    const diagnostics: string[] = [];
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      kill('SIGKILL');
      // The caller gets no RunningContainer, so nobody else awaits this one.
      exited.then(
        () => reject(new ContainerStartError(startErrorMessage(message))),
        () => reject(new ContainerStartError(startErrorMessage(message))),
      );
    };
    const timer = setTimeout(() => fail(`not started after ${START_TIMEOUT_MS / 1000}s`), START_TIMEOUT_MS);
    exited.finally(() => clearTimeout(timer));
    child.once('error', (error) => fail(`cannot run ${command}: ${error.message}`));
    const status = child.stdio[3] as Readable;
    createInterface({ input: status }).on('line', (line) => {
      if (line.startsWith('pid ')) {
        running.initPid = Number(line.slice(4));
      } else if (line === 'ok') {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          flushEarly();
          resolve(running);
        }
      } else if (line.startsWith('error ')) {
        const detail = diagnostics.length > 0 ? ` (${diagnostics.join('; ')})` : '';
        fail(`${line.slice(6)}${detail}`);
      } else if (line.trim() !== '') {
        diagnostics.push(line.trim());
      }
    });
    closed.then(({ code, signal }) => {
      const detail = [...diagnostics, earlyText()].filter(Boolean).join('; ');
      fail(
        `container init ended before the command started (${signal ?? `exit ${code}`})${detail ? `: ${detail}` : ''}`,
      );
    });
  });
}

/** Removes a container's state directory. */
export const removeDir = (dir: string) => rm(dir, { recursive: true, force: true });
