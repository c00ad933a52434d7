// Where a job's trace bytes go once they leave memory: one file per job in a directory of this
// process (like gitlab-runner's trace buffer, helpers/trace/buffer.go, which keeps the whole trace
// in a temp file). Appends and reads are synchronous: the buffer's API is, a spill is a few KiB into
// the page cache, and a read happens only when GitLab needs bytes again (416 backwards, 412 reset)
// or a PATCH reaches further back than the memory window.
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The file half of one trace: bytes [0, length) of it, appended in order. */
export interface SpoolFile {
  readonly length: number;
  /** The file, once something was appended. */
  readonly path?: string | undefined;
  /** Throws when the bytes cannot be stored; nothing is appended then. */
  append(data: Uint8Array): void;
  /** Fills `into` from `position` (position + into.length <= length). */
  read(position: number, into: Uint8Array): void;
  /** Removes the file. */
  dispose(): void;
}

export type SpoolFactory = () => SpoolFile;

let dir: string | undefined;
let count = 0;

const DIR_PREFIX = 'podrunner-trace-';
/** `podrunner-trace-<pid>-…`: the pid of the process that made the directory. */
const DIR_PID = /^podrunner-trace-(\d+)-/;

/**
 * The process's spool directory (mode 0700 under the system temp dir, `TMPDIR`), made on first use,
 * after removing those of podrunner processes that died without removing theirs (SIGKILL, OOM).
 */
function spoolDir(): string {
  if (dir) return dir;
  removeOrphanedSpoolDirs(tmpdir());
  dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
  const made = dir;
  process.once('exit', () => rmSync(made, { recursive: true, force: true }));
  return made;
}

/**
 * Removes `podrunner-trace-<pid>-*` directories under `parent` whose process is gone and that belong
 * to this user. Returns what it removed. A pid reused by another process keeps its directory until
 * that process ends, which is harmless.
 */
export function removeOrphanedSpoolDirs(
  parent: string,
  alive: (pid: number) => boolean = processAlive,
): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return removed;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    const m = DIR_PID.exec(name);
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    const path = join(parent, name);
    try {
      const st = statSync(path);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A spool file in the process's directory, created (mode 0600) on the first append. */
export const fileSpool: SpoolFactory = () => new FileSpool(() => join(spoolDir(), `trace-${++count}`));

class FileSpool implements SpoolFile {
  #path: string | undefined;
  #length = 0;
  readonly #pathFor: () => string;

  constructor(pathFor: () => string) {
    this.#pathFor = pathFor;
  }

  get length(): number {
    return this.#length;
  }

  get path(): string | undefined {
    return this.#path;
  }

  append(data: Uint8Array): void {
    if (data.length === 0) return;
    const path = this.#path ?? this.#pathFor();
    const fd = openSync(path, this.#path ? 'r+' : 'wx', 0o600);
    this.#path = path;
    try {
      let written = 0;
      while (written < data.length) {
        written += writeSync(fd, data, written, data.length - written, this.#length + written);
      }
    } finally {
      closeSync(fd);
    }
    this.#length += data.length;
  }

  read(position: number, into: Uint8Array): void {
    if (into.length === 0) return;
    if (!this.#path || position + into.length > this.#length) {
      throw new Error(`trace spool: bytes ${position}-${position + into.length} are not stored`);
    }
    const fd = openSync(this.#path, 'r');
    try {
      let got = 0;
      while (got < into.length) {
        const n = readSync(fd, into, got, into.length - got, position + got);
        if (n === 0) throw new Error(`trace spool: ${this.#path} ends before byte ${position + got}`);
        got += n;
      }
    } finally {
      closeSync(fd);
    }
  }

  dispose(): void {
    if (!this.#path) return;
    try {
      unlinkSync(this.#path);
    } catch {
      // already gone (the directory is removed at exit anyway)
    }
    this.#path = undefined;
  }
}
