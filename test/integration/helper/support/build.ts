// Plays the build container's side of the status hand-off (docs/pod-contract.md): holds
// `build.alive` open read-write on fd 9, writes `build.started`, and at the end `build.exit` —
// or dies without it, as an OOM-killed container does.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface FakeBuild {
  child: ChildProcess;
  /** Ends the build normally with this exit code (writes build.exit, closes fd 9). */
  finish(code: number): Promise<void>;
  /** Kills the whole build with SIGKILL: no build.exit. */
  kill(): Promise<void>;
}

/** `controlDir` holds the test's `release` file (outside the status dir, which is the contract's). */
export async function startBuild(statusDir: string, controlDir = statusDir): Promise<FakeBuild> {
  const alive = path.join(statusDir, 'build.alive');
  const started = path.join(statusDir, 'build.started');
  const exit = path.join(statusDir, 'build.exit');
  const release = path.join(controlDir, 'release');
  if (!existsSync(alive) || !statSync(alive).isFIFO()) {
    throw new Error(`${alive} is not a FIFO: the helper did not prepare this pod`);
  }
  // The shell waits for the test to drop a `release` file, holding fd 9 like build.sh does.
  const script = `exec 9<>'${alive}'; : > '${started}'; while [ ! -e '${release}' ]; do sleep 0.05; done; cat '${release}' > '${exit}'; exit 0`;
  const child = spawn('sh', ['-c', script], { stdio: 'ignore' });
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  while (!existsSync(started)) await new Promise((r) => setTimeout(r, 10));
  return {
    child,
    finish: async (code) => {
      writeFileSync(release, `${code}\n`);
      await closed;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await closed;
    },
  };
}

/** A build that already ended: markers only, no process holding the FIFO. */
export function finishedBuild(statusDir: string, code: number | undefined): void {
  const alive = path.join(statusDir, 'build.alive');
  if (!existsSync(alive)) execFileSync('mkfifo', [alive]);
  writeFileSync(path.join(statusDir, 'build.started'), '');
  if (code !== undefined) writeFileSync(path.join(statusDir, 'build.exit'), `${code}\n`);
}
