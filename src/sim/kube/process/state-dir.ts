// Where the runtime keeps its pods on the host: by default a directory per runtime process under
// $TMPDIR/podrunner-sim-kube-<uid>/, named `<pid>-<random>`. Directories of runtimes whose process is gone
// (a crash, a killed test worker) are removed when the next runtime starts.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** One parent per user, so users do not trip over each other's directories. */
export const defaultStateParent = () => join(tmpdir(), `podrunner-sim-kube-${process.getuid?.() ?? 0}`);

export function sweepStaleStateDirs(parent: string): void {
  let entries: string[];
  try {
    entries = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of entries) {
    const pid = Number(name.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid)) {
      rmSync(join(parent, name), { recursive: true, force: true });
    }
  }
}

/** Creates the runtime's state directory, traversable by every uid a container may run as. */
export function createStateDir(explicit: string | undefined, id: string): string {
  const dir = explicit ?? join(defaultStateParent(), id);
  if (!explicit) {
    mkdirSync(defaultStateParent(), { recursive: true });
    sweepStaleStateDirs(defaultStateParent());
  }
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  return dir;
}

/** A directory of links named after busybox's applets, so a busybox image's PATH finds them first. */
export function createBusyboxBin(stateDir: string, busybox: string): string | undefined {
  try {
    const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    const dir = join(stateDir, 'busybox-bin');
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    for (const applet of applets) {
      if (/^[A-Za-z0-9_.[-]+$/.test(applet)) symlinkSync(busybox, join(dir, applet));
    }
    return dir;
  } catch {
    return undefined;
  }
}
