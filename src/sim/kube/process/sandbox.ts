// One pod: its namespaces (the holder), its state directory with the volumes and the kubelet's files,
// the relays to host services, and its containers.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Logger } from 'pino';
import {
  type ContainerOutput,
  type ContainerSpec,
  ContainerStartError,
  type RunningContainer,
  type Sandbox,
  type SandboxSpec,
} from '../runtime.ts';
import { containerEnv, containerUser, type PasswdEntry, splitLaunchEnv } from './container-env.ts';
import { type InitMount, renderContainerInit } from './container-init.ts';
import { launchContainer, removeDir, startErrorMessage } from './container-process.ts';
import { ProcessRuntimeError } from './errors.ts';
import { type HostListener, planRelays } from './host-listeners.ts';
import type { Isolation, RuntimeTools } from './host-tools.ts';
import { kubeletHostsFile } from './hosts-file.ts';
import { containerArgv, type ImageTable, resolveImage } from './image-table.ts';
import type { MemoryCgroups } from './memory-cgroup.ts';
import { PodHolder } from './pod-holder.ts';
import { isContainedRelativePath, mountKind, type PreparedVolume, preparePodVolumes } from './pod-volumes.ts';
import { PortRelays } from './port-relay.ts';

export interface SandboxContext {
  tools: RuntimeTools;
  isolation: Isolation;
  imageTable: ImageTable;
  cgroups: MemoryCgroups;
  passwd: PasswdEntry[];
  log?: Logger;
}

/** The kubelet's hostname rule: at most 63 characters, no trailing '-' or '.'. */
export function podHostname(hostname: string): string {
  if (hostname.length <= 63) return hostname;
  return hostname.slice(0, 63).replace(/[-.]+$/, '');
}

const depth = (path: string) => posix.normalize(path).split('/').filter(Boolean).length;

export class ProcessSandbox implements Sandbox {
  readonly podIP: string;
  private readonly ctx: SandboxContext;
  private readonly spec: SandboxSpec;
  private readonly dir: string;
  private readonly hostname: string;
  private readonly holder: PodHolder;
  private readonly relays: PortRelays;
  private readonly volumes: Map<string, PreparedVolume>;
  private readonly onDestroyed: (sandbox: ProcessSandbox) => void;
  private readonly running = new Set<RunningContainer>();
  private readonly starting = new Set<Promise<RunningContainer>>();
  private destroyed = false;
  private nextContainer = 1;

  private constructor(parts: {
    ctx: SandboxContext;
    spec: SandboxSpec;
    dir: string;
    hostname: string;
    holder: PodHolder;
    relays: PortRelays;
    volumes: Map<string, PreparedVolume>;
    onDestroyed: (sandbox: ProcessSandbox) => void;
  }) {
    this.ctx = parts.ctx;
    this.spec = parts.spec;
    this.dir = parts.dir;
    this.hostname = parts.hostname;
    this.holder = parts.holder;
    this.relays = parts.relays;
    this.volumes = parts.volumes;
    this.podIP = parts.holder.podIP;
    this.onDestroyed = parts.onDestroyed;
  }

  static async create(
    ctx: SandboxContext,
    spec: SandboxSpec,
    dir: string,
    podIP: string,
    hostListeners: HostListener[],
    onDestroyed: (sandbox: ProcessSandbox) => void,
  ): Promise<ProcessSandbox> {
    const hostname = podHostname(spec.hostname);
    let holding: Promise<PodHolder> | undefined;
    let relays: PortRelays | undefined;
    try {
      await mkdir(join(dir, 'containers'), { recursive: true });
      await chmod(dir, 0o755);
      await mkdir(join(dir, 'shm'), { mode: 0o1777 });
      await chmod(join(dir, 'shm'), 0o1777);
      await writeFile(join(dir, 'etc-hosts'), kubeletHostsFile([podIP], hostname, spec.hostAliases), {
        mode: 0o644,
      });
      await writeFile(join(dir, 'etc-hostname'), `${hostname}\n`, { mode: 0o644 });
      holding = PodHolder.start(ctx.tools, ctx.isolation, podIP, hostname);
      const [volumes, holder] = await Promise.all([
        preparePodVolumes(join(dir, 'volumes'), spec.volumes),
        holding,
      ]);
      relays = await PortRelays.open(
        ProcessSandbox.enterNetwork(ctx, holder.pid),
        planRelays(hostListeners, new Set()),
      );
      for (const failure of relays.failures) {
        ctx.log?.warn(
          { pod: `${spec.namespace}/${spec.name}`, ...failure },
          'cannot relay a host port into the pod',
        );
      }
      return new ProcessSandbox({ ctx, spec, dir, hostname, holder, relays, volumes, onDestroyed });
    } catch (error) {
      relays?.close();
      await holding?.then(
        (holder) => holder.stop(),
        () => {},
      );
      await removeDir(dir);
      throw error;
    }
  }

  private static enterNetwork(ctx: SandboxContext, holderPid: number): string[] {
    const user = ctx.isolation === 'user' ? ['--user', '--preserve-credentials'] : [];
    return [ctx.tools.nsenter, `--target=${holderPid}`, ...user, '--net', '--'];
  }

  start(container: ContainerSpec, output: ContainerOutput): Promise<RunningContainer> {
    if (this.destroyed)
      return Promise.reject(new ProcessRuntimeError('closed', 'the pod sandbox was destroyed'));
    const starting = this.startTracked(container, output);
    this.starting.add(starting);
    const forget = () => this.starting.delete(starting);
    starting.then(forget, forget);
    return starting;
  }

  private async startTracked(container: ContainerSpec, output: ContainerOutput): Promise<RunningContainer> {
    const running = await this.startContainer(container, output);
    if (this.destroyed) {
      // destroy() ran meanwhile: this container must not outlive its pod.
      running.signal('SIGKILL');
      await running.exited;
      throw new ProcessRuntimeError('closed', 'the pod sandbox was destroyed');
    }
    this.running.add(running);
    const forget = () => this.running.delete(running);
    running.exited.then(forget, forget);
    return running;
  }

  private async startContainer(container: ContainerSpec, output: ContainerOutput): Promise<RunningContainer> {
    const { ctx } = this;
    const image = resolveImage(ctx.imageTable, container.image).config;
    const argv = containerArgv(image, container.command, container.args);
    if (argv.length === 0) throw new ContainerStartError(startErrorMessage('no command specified'));
    const workingDir = container.workingDir || image.workingDir || '/';
    if (!workingDir.startsWith('/')) {
      throw new ContainerStartError(startErrorMessage(`cwd "${workingDir}" must be an absolute path`));
    }
    this.relays.release([...container.ports, ...image.ports]);

    let user = containerUser(image, container.runAsUser, container.runAsGroup, ctx.passwd);
    if (ctx.isolation === 'user' && (user.uid !== 0 || user.gid !== 0)) {
      ctx.log?.warn(
        { container: container.name, uid: user.uid, gid: user.gid },
        'runAsUser/runAsGroup need root: running as root of the user namespace',
      );
      user = { ...user, uid: 0, gid: 0 };
    }
    const env = containerEnv(image, this.hostname, container.env, user);
    const { launch: launchEnv, deferred: deferredEnv } = splitLaunchEnv(env);

    const dir = join(
      this.dir,
      'containers',
      `${container.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${this.nextContainer++}`,
    );
    await mkdir(join(dir, 'dev'), { recursive: true });
    const terminationLog = join(dir, 'termination-log');
    await writeFile(terminationLog, '');
    await chmod(terminationLog, 0o666);

    let mounts: InitMount[];
    try {
      mounts = await this.mountsFor(container, terminationLog);
    } catch (error) {
      await removeDir(dir);
      throw error;
    }
    const cgroup =
      container.memoryLimitBytes !== undefined && ctx.isolation === 'root'
        ? await ctx.cgroups.create(`${this.spec.name}-${container.name}`, container.memoryLimitBytes)
        : undefined;
    const script = renderContainerInit({
      tools: ctx.tools,
      label: `container ${container.name} of pod ${this.spec.namespace}/${this.spec.name}`,
      devStaging: join(dir, 'dev'),
      shmSource: join(this.dir, 'shm'),
      ...(cgroup ? { cgroupProcs: cgroup.procsFile } : {}),
      mounts,
      workingDir,
      ...(user.uid !== 0 || user.gid !== 0
        ? { user: { uid: user.uid, gid: user.gid, initGroups: user.known } }
        : {}),
      deferredEnv,
      ...(env.PWD !== undefined ? { pwd: env.PWD } : {}),
      ...(env.OLDPWD !== undefined ? { oldPwd: env.OLDPWD } : {}),
    });
    const initScript = join(dir, 'init.sh');
    await writeFile(initScript, script, { mode: 0o600 });

    const user_ns = ctx.isolation === 'user' ? ['--user', '--preserve-credentials'] : [];
    const argvChain = [
      ctx.tools.setpriv,
      '--pdeathsig',
      'SIGKILL',
      '--',
      ctx.tools.nsenter,
      `--target=${this.holder.pid}`,
      ...user_ns,
      '--net',
      '--uts',
      '--ipc',
      '--',
      ctx.tools.unshare,
      '--mount',
      '--propagation',
      'private',
      '--pid',
      '--fork',
      '--kill-child',
      '--',
      ctx.tools.initShell,
      initScript,
      ...argv,
    ];
    return launchContainer({
      argv: argvChain,
      env: launchEnv,
      output,
      terminationLog,
      ...(cgroup ? { cgroup } : {}),
      cleanup: () => removeDir(dir),
    });
  }

  private async mountsFor(container: ContainerSpec, terminationLog: string): Promise<InitMount[]> {
    const mounts: InitMount[] = [];
    for (const m of container.mounts) {
      const volume = this.volumes.get(m.volume);
      if (!volume) {
        throw new ContainerStartError(
          startErrorMessage(`volume "${m.volume}" of mount ${m.mountPath} does not exist`),
        );
      }
      if (!m.mountPath.startsWith('/')) {
        throw new ContainerStartError(startErrorMessage(`mount path "${m.mountPath}" is not absolute`));
      }
      let source = volume.path;
      if (m.subPath) {
        if (!isContainedRelativePath(m.subPath)) {
          throw new ProcessRuntimeError(
            'invalid-sub-path',
            `subPath "${m.subPath}" of mount ${m.mountPath} leaves its volume`,
          );
        }
        source = join(volume.path, m.subPath);
        // The kubelet creates a missing subPath as a directory.
        await mkdir(source, { recursive: true }).catch(() => {});
      }
      mounts.push({
        source,
        target: posix.normalize(m.mountPath),
        readOnly: m.readOnly || volume.forceReadOnly,
        kind: await mountKind(source),
      });
    }
    mounts.sort((a, b) => depth(a.target) - depth(b.target));
    const mounted = new Set(mounts.map((m) => m.target));
    // The kubelet's files, unless the container mounts something there itself.
    const extra: InitMount[] = [
      { source: join(this.dir, 'etc-hosts'), target: '/etc/hosts', readOnly: false, kind: 'file' },
      { source: join(this.dir, 'etc-hostname'), target: '/etc/hostname', readOnly: false, kind: 'file' },
      {
        source: terminationLog,
        target: posix.normalize(container.terminationMessagePath || '/dev/termination-log'),
        readOnly: false,
        kind: 'file',
      },
    ];
    for (const m of extra) if (!mounted.has(m.target)) mounts.push(m);
    return mounts;
  }

  probeTcp(port: number, timeoutMs: number): Promise<boolean> {
    if (this.destroyed) return Promise.resolve(false);
    return this.holder.probeTcp(port, timeoutMs);
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.allSettled([...this.starting]);
    const left = [...this.running];
    for (const c of left) c.signal('SIGKILL');
    await Promise.all(left.map((c) => c.exited.catch(() => undefined)));
    this.relays.close();
    await this.holder.stop();
    await removeDir(this.dir);
    this.onDestroyed(this);
  }
}
