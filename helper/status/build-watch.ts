// How the uploader learns that the build container has ended, whatever ended it (docs/pod-contract.md):
// it waits for `build.started`, then polls the `build.alive` FIFO opened O_RDONLY|O_NONBLOCK; a read
// of 0 bytes means no writer is left, i.e. every process of the build container is gone. `build.exit`
// then holds the script's exit code; without it the build was killed (OOM, SIGKILL): a failure.
import { closeSync, constants, existsSync, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { sleep } from '../context.ts';

export const STATUS_FILES = {
  alive: 'build.alive',
  started: 'build.started',
  exit: 'build.exit',
} as const;

export interface BuildOutcome {
  success: boolean;
  /** The `script` step's exit code, when build.sh could write it. */
  exitCode?: number;
  /** The build container ended without writing build.exit. */
  killed: boolean;
}

export async function waitForBuild(
  statusDir: string,
  options: { pollMs?: number; signal?: AbortSignal } = {},
): Promise<BuildOutcome> {
  const pollMs = options.pollMs ?? 250;
  const started = path.join(statusDir, STATUS_FILES.started);
  while (!existsSync(started)) {
    if (options.signal?.aborted) return readOutcome(statusDir);
    await sleep(pollMs, options.signal);
  }
  await waitForWriters(path.join(statusDir, STATUS_FILES.alive), pollMs, options.signal);
  return readOutcome(statusDir);
}

async function waitForWriters(fifo: string, pollMs: number, signal?: AbortSignal): Promise<void> {
  let fd: number;
  try {
    fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    // No FIFO (should not happen): fall back to waiting for the exit marker.
    while (!existsSync(path.join(path.dirname(fifo), STATUS_FILES.exit)) && !signal?.aborted)
      await sleep(pollMs, signal);
    return;
  }
  const buffer = Buffer.alloc(64);
  try {
    for (;;) {
      try {
        if (readSync(fd, buffer, 0, buffer.length, null) === 0) return;
        // Data written by someone: ignore it and keep waiting.
        continue;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      }
      if (signal?.aborted) return;
      await sleep(pollMs, signal);
    }
  } finally {
    closeSync(fd);
  }
}

export async function readOutcome(statusDir: string): Promise<BuildOutcome> {
  let text: string;
  try {
    text = await readFile(path.join(statusDir, STATUS_FILES.exit), 'utf8');
  } catch {
    return { success: false, killed: true };
  }
  const code = Number.parseInt(text.trim(), 10);
  if (!Number.isFinite(code)) return { success: false, killed: true };
  return { success: code === 0, exitCode: code, killed: false };
}
