// Shared by the process-mode runtime tests: specs with defaults, output capture, cleanup.
import { randomUUID } from 'node:crypto';
import { afterAll } from 'vitest';
import { detectIsolation, findRuntimeTools } from '../../../src/sim/kube/process/host-tools.ts';
import {
  createProcessRuntime,
  type ProcessRuntime,
  type ProcessRuntimeOptions,
} from '../../../src/sim/kube/process/process-runtime.ts';
import type {
  ContainerExit,
  ContainerSpec,
  RunningContainer,
  Sandbox,
  SandboxSpec,
} from '../../../src/sim/kube/runtime.ts';

/** Why process mode cannot run on this machine, if it cannot (the tests say so instead of failing). */
export const unsupportedReason: string | undefined = (() => {
  try {
    detectIsolation(findRuntimeTools(), 'auto');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
})();

/** A runtime closed after the file's tests, whatever happened. */
export function useRuntime(options: ProcessRuntimeOptions = {}): () => ProcessRuntime {
  let runtime: ProcessRuntime | undefined;
  afterAll(async () => {
    await runtime?.close();
  });
  return () => {
    runtime ??= createProcessRuntime(options);
    return runtime;
  };
}

export function sandboxSpec(overrides: Partial<SandboxSpec> = {}): SandboxSpec {
  const name = overrides.name ?? `pod-${randomUUID().slice(0, 8)}`;
  return {
    uid: randomUUID(),
    namespace: 'default',
    name,
    hostname: name,
    hostAliases: [],
    volumes: [],
    ...overrides,
  };
}

export function containerSpec(overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    name: 'main',
    image: 'busybox:1.36',
    env: [],
    mounts: [],
    ports: [],
    terminationMessagePath: '/dev/termination-log',
    annotations: {},
    ...overrides,
  };
}

/** Collects a container's output and lets a test await a line in it (no sleeping). */
export class Output {
  stdout = '';
  stderr = '';
  private waiters: { pattern: RegExp; resolve: () => void }[] = [];
  readonly sink = {
    stdout: (chunk: Uint8Array) => this.add('stdout', chunk),
    stderr: (chunk: Uint8Array) => this.add('stderr', chunk),
  };

  private add(stream: 'stdout' | 'stderr', chunk: Uint8Array): void {
    this[stream] += Buffer.from(chunk).toString('utf8');
    this.waiters = this.waiters.filter((w) => {
      if (!w.pattern.test(this.stdout) && !w.pattern.test(this.stderr)) return true;
      w.resolve();
      return false;
    });
  }

  waitFor(pattern: RegExp): Promise<void> {
    if (pattern.test(this.stdout) || pattern.test(this.stderr)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ pattern, resolve }));
  }
}

export async function start(
  sandbox: Sandbox,
  overrides: Partial<ContainerSpec>,
): Promise<{ container: RunningContainer; output: Output }> {
  const output = new Output();
  const container = await sandbox.start(containerSpec(overrides), output.sink);
  return { container, output };
}

export async function run(
  sandbox: Sandbox,
  overrides: Partial<ContainerSpec>,
): Promise<{ exit: ContainerExit; stdout: string; stderr: string }> {
  const { container, output } = await start(sandbox, overrides);
  const exit = await container.exited;
  return { exit, stdout: output.stdout, stderr: output.stderr };
}

export const sh = (script: string) => ({ command: ['sh', '-c', script] });
