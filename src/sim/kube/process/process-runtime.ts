// `process` mode of the simulated kubelet: each container runs as real local processes with its env,
// working directory and volumes; with root, each pod gets its own network, UTS and IPC namespaces and
// each container its own mount and PID namespaces. See ../README.md, "Process mode".
import { randomBytes } from 'node:crypto';
import { accessSync, constants, rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { type ContainerRuntime, ImagePullError, type Sandbox, type SandboxSpec } from '../runtime.ts';
import { readHostPasswd } from './container-env.ts';
import { ProcessRuntimeError } from './errors.ts';
import { type HostListener, readHostListeners } from './host-listeners.ts';
import { detectIsolation, findRuntimeTools, type Isolation } from './host-tools.ts';
import {
  builtInImageTable,
  type ImageHostFacts,
  type ImageTable,
  type ImageTableFile,
  imageTableFromInput,
  loadImageTableFileSync,
  type ResolvedImage,
  resolveImage,
} from './image-table.ts';
import { MemoryCgroups } from './memory-cgroup.ts';
import { ProcessSandbox, type SandboxContext } from './sandbox.ts';
import { createBusyboxBin, createStateDir } from './state-dir.ts';

export interface ProcessRuntimeOptions {
  /** The runtime's own directory for pod state (default: `$TMPDIR/podrunner-sim-kube-<uid>/<pid>-<random>`). */
  stateDir?: string;
  /** An image table (a YAML/JSON file path, or the parsed object) whose entries come before the built-in ones. */
  imageTable?: string | ImageTableFile;
  /**
   * Host TCP ports reachable from inside pods at 127.0.0.1 / [::1]: `listening` (default) relays every
   * port the host listens on (loopback or any address) when the pod is created; a list relays those;
   * `none` relays nothing.
   */
  hostPorts?: 'listening' | 'none' | number[];
  /** `auto` (default): namespaces as root, else in an unprivileged user namespace, else an error. */
  isolation?: 'auto' | Isolation;
  /** Enforce `resources.limits.memory` with a memory cgroup when the host allows it (default true). */
  memoryLimits?: boolean;
  log?: Logger;
}

export interface ProcessRuntime extends ContainerRuntime {
  readonly mode: 'process';
  readonly isolation: Isolation;
  readonly stateDir: string;
  /** Whether `memoryLimitBytes` is enforced (a memory cgroup controller is usable here). */
  readonly memoryLimits: boolean;
  /** The parent of this runtime's memory cgroups, if limits are enforced. */
  readonly cgroupDir: string | undefined;
  /** What an image runs as here (entry of the image table), e.g. for `podrunner sim kube` to print. */
  describeImage(image: string): ResolvedImage;
}

const moduleDir = dirname(fileURLToPath(import.meta.url));
export const checkoutRoot = join(moduleDir, '..', '..', '..', '..');

function nodeBinDir(): string {
  const local = join(checkoutRoot, 'node_modules', '.bin');
  try {
    accessSync(join(local, 'node'), constants.X_OK);
    return local;
  } catch {
    const major = Number(process.versions.node.split('.')[0]);
    return major >= 22 ? dirname(process.execPath) : local;
  }
}

export function createProcessRuntime(options: ProcessRuntimeOptions = {}): ProcessRuntime {
  const tools = findRuntimeTools();
  const isolation = detectIsolation(tools, options.isolation ?? 'auto');
  const id = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const stateDir = createStateDir(options.stateDir, id);
  const busyboxBinDir = tools.busybox ? createBusyboxBin(stateDir, tools.busybox) : undefined;
  const facts: ImageHostFacts = {
    checkoutRoot,
    imagesDir: join(moduleDir, 'images'),
    nodeBinDir: nodeBinDir(),
    ...(busyboxBinDir ? { busyboxBinDir } : {}),
  };
  let imageTable: ImageTable;
  try {
    const extra =
      options.imageTable === undefined
        ? []
        : typeof options.imageTable === 'string'
          ? loadImageTableFileSync(options.imageTable, facts)
          : imageTableFromInput(options.imageTable, facts, '(options.imageTable)');
    imageTable = [...extra, ...builtInImageTable(facts)];
  } catch (error) {
    rmSync(stateDir, { recursive: true, force: true });
    throw error;
  }
  const cgroups = new MemoryCgroups(id, (options.memoryLimits ?? true) && isolation === 'root');
  const ctx: SandboxContext = {
    tools,
    isolation,
    imageTable,
    cgroups,
    passwd: readHostPasswd(),
    ...(options.log ? { log: options.log } : {}),
  };
  const sandboxes = new Set<ProcessSandbox>();
  const pulled = new Set<string>();
  let nextPod = 0;
  let closed = false;

  const hostListeners = async (): Promise<HostListener[]> => {
    const wanted = options.hostPorts ?? 'listening';
    if (wanted === 'none') return [];
    if (wanted === 'listening') return readHostListeners();
    // Relayed at 127.0.0.1 and [::1] alike, to the host's 127.0.0.1.
    return wanted.map((port) => ({ address: '127.0.0.1', family: 4 as const, port }));
  };

  return {
    mode: 'process',
    isolation,
    stateDir,
    memoryLimits: cgroups.available,
    cgroupDir: cgroups.directory,

    describeImage: (image) => resolveImage(imageTable, image),

    async pullImage(image, policy) {
      const { reference, config } = resolveImage(imageTable, image);
      if (config.pullError !== undefined) throw new ImagePullError(config.pullError);
      if (policy === 'Never') return { alreadyPresent: true };
      const alreadyPresent = pulled.has(reference);
      pulled.add(reference);
      return { alreadyPresent };
    },

    async createSandbox(spec: SandboxSpec): Promise<Sandbox> {
      if (closed) throw new ProcessRuntimeError('closed', 'the process runtime is closed');
      const n = nextPod++;
      // 10.244.0.2, 10.244.0.3, … 10.244.0.254, 10.244.1.2, … (the kubelet's usual pod CIDR).
      const podIP = `10.244.${Math.floor(n / 253) % 256}.${(n % 253) + 2}`;
      const name = `${spec.namespace}_${spec.name}_${spec.uid.slice(0, 8)}`.replace(/[^A-Za-z0-9_.-]/g, '_');
      const sandbox = await ProcessSandbox.create(
        ctx,
        spec,
        join(stateDir, 'pods', `${name}-${n}`),
        podIP,
        await hostListeners(),
        (s) => sandboxes.delete(s),
      );
      sandboxes.add(sandbox);
      if (closed) {
        await sandbox.destroy();
        throw new ProcessRuntimeError('closed', 'the process runtime is closed');
      }
      return sandbox;
    },

    async close() {
      closed = true;
      await Promise.all([...sandboxes].map((s) => s.destroy()));
      await cgroups.close();
      rmSync(join(stateDir, 'pods'), { recursive: true, force: true });
      if (busyboxBinDir) rmSync(busyboxBinDir, { recursive: true, force: true });
      if (!options.stateDir) {
        rmSync(stateDir, { recursive: true, force: true });
        try {
          rmdirSync(dirname(stateDir)); // the per-user parent, when no other runtime uses it
        } catch {
          // another runtime's directory is still there
        }
      }
    },
  };
}
