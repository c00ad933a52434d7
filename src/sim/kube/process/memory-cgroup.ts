// Memory limits with cgroups, when the host has a memory controller we may use (cgroup v1's
// `memory` hierarchy, or cgroup v2 with `memory` delegated). Each limited container gets its own
// cgroup under `podrunner-<runtime>` beside the runtime's own cgroup; its init joins it before it
// starts the command. The kernel's OOM killer then ends the container as on a real node, and the
// cgroup's `oom_kill` counter says so.
import { readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface MemoryCgroup {
  /** The init writes `0` here to join. */
  procsFile: string;
  oomKills(): Promise<number>;
  remove(): Promise<void>;
}

type Flavor = { version: 1; base: string } | { version: 2; base: string };

function ownCgroupPath(version: 1 | 2): string | undefined {
  try {
    for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
      const [, controllers, path] = line.split(':');
      if (path === undefined) continue;
      if (version === 2 && line.startsWith('0::')) return path;
      if (version === 1 && controllers?.split(',').includes('memory')) return path;
    }
  } catch {
    // no procfs
  }
  return undefined;
}

function detectFlavor(): Flavor | undefined {
  try {
    readFileSync('/sys/fs/cgroup/memory/memory.limit_in_bytes');
    const own = ownCgroupPath(1);
    if (own !== undefined) return { version: 1, base: join('/sys/fs/cgroup/memory', own) };
  } catch {
    // not cgroup v1
  }
  try {
    const controllers = readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8');
    const own = ownCgroupPath(2);
    if (controllers.split(/\s+/).includes('memory') && own !== undefined) {
      // Our own cgroup holds processes, so limited cgroups go beside it, under its parent.
      return { version: 2, base: join('/sys/fs/cgroup', own, '..') };
    }
  } catch {
    // no cgroup v2 either
  }
  return undefined;
}

const readCounter = async (file: string, key: string): Promise<number> => {
  try {
    const line = (await readFile(file, 'utf8')).split('\n').find((l) => l.startsWith(`${key} `));
    return line ? Number(line.split(' ')[1]) : 0;
  } catch {
    return 0;
  }
};

async function removeDir(dir: string): Promise<void> {
  // The last processes of a killed container may take a moment to leave the cgroup.
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Removes the (empty) cgroups of runtimes whose process is gone, e.g. after a crash. */
function sweepStale(base: string): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(name.match(/^podrunner-(\d+)-/)?.[1]);
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    const dir = join(base, name);
    try {
      for (const child of readdirSync(dir, { withFileTypes: true })) {
        if (child.isDirectory()) rmdirSync(join(dir, child.name));
      }
      rmdirSync(dir);
    } catch {
      // still busy or not ours: leave it
    }
  }
}

/** Whether this host has a memory controller the runtime can use (without creating anything). */
export const memoryCgroupsAvailable = () => detectFlavor() !== undefined;

export class MemoryCgroups {
  private readonly flavor: Flavor | undefined;
  private readonly parent: string | undefined;
  private ready: Promise<boolean> | undefined;
  private next = 1;

  constructor(runtimeId: string, enabled: boolean) {
    this.flavor = enabled ? detectFlavor() : undefined;
    this.parent = this.flavor ? join(this.flavor.base, `podrunner-${runtimeId}`) : undefined;
    if (this.flavor) sweepStale(this.flavor.base);
  }

  /** Where this runtime's cgroups go (whether or not one was made yet). */
  get directory(): string | undefined {
    return this.parent;
  }

  get available(): boolean {
    return this.flavor !== undefined;
  }

  private prepare(): Promise<boolean> {
    this.ready ??= (async () => {
      if (!this.parent || !this.flavor) return false;
      try {
        await mkdir(this.parent, { recursive: true });
        if (this.flavor.version === 2)
          await writeFile(join(this.parent, 'cgroup.subtree_control'), '+memory');
        return true;
      } catch {
        return false;
      }
    })();
    return this.ready;
  }

  /** A cgroup limited to `limitBytes`, or undefined when limits cannot be enforced here. */
  async create(name: string, limitBytes: number): Promise<MemoryCgroup | undefined> {
    if (!this.flavor || !this.parent || !(await this.prepare())) return undefined;
    const dir = join(this.parent, `${this.next++}-${name.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
    const version = this.flavor.version;
    try {
      await mkdir(dir);
      if (version === 1) {
        await writeFile(join(dir, 'memory.limit_in_bytes'), String(limitBytes));
        // Without swap accounting the limit would let the container swap instead of being killed.
        await writeFile(join(dir, 'memory.memsw.limit_in_bytes'), String(limitBytes)).catch(() => {});
      } else {
        await writeFile(join(dir, 'memory.max'), String(limitBytes));
        await writeFile(join(dir, 'memory.swap.max'), '0').catch(() => {});
      }
    } catch {
      await removeDir(dir);
      return undefined;
    }
    return {
      procsFile: join(dir, 'cgroup.procs'),
      oomKills: () =>
        version === 1
          ? readCounter(join(dir, 'memory.oom_control'), 'oom_kill')
          : readCounter(join(dir, 'memory.events'), 'oom_kill'),
      remove: () => removeDir(dir),
    };
  }

  /** Removes the runtime's parent cgroup (its children are removed as their containers end). */
  async close(): Promise<void> {
    if (!this.parent || !this.ready) return;
    try {
      for (const child of await readdir(this.parent, { withFileTypes: true })) {
        if (child.isDirectory()) await removeDir(join(this.parent, child.name));
      }
    } catch {
      // already gone
    }
    await removeDir(this.parent);
  }
}
