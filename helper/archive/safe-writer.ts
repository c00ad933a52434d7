// Writes archive entries below a root directory and nowhere else: entry names are checked before
// anything is written (no absolute paths, no `..`), nothing is written through a symlink (a parent
// that is a symlink fails the entry), existing files are replaced rather than written into, and
// directory modes and times are applied last, as upstream's extractors do.
import { constants, type Stats } from 'node:fs';
import { chmod, lchown, lstat, lutimes, mkdir, open, rm, symlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HelperError } from '../errors.ts';

/** Checks an entry name and returns it normalised (slash-separated, no trailing slash). */
export function checkEntryName(name: string): string {
  if (name.includes('\0')) throw invalid(name, 'contains a NUL byte');
  const slash = name.replaceAll('\\', '/');
  if (slash.startsWith('/') || /^[A-Za-z]:/.test(slash)) throw invalid(name, 'is an absolute path');
  const parts = slash.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw invalid(name, 'escapes the target directory');
  if (parts.length === 0) throw invalid(name, 'has an empty name');
  return parts.join('/');
}

function invalid(name: string, why: string): HelperError {
  return new HelperError('ARCHIVE_INVALID', `archive entry ${JSON.stringify(name)} ${why}`);
}

export class SafeWriter {
  readonly root: string;
  readonly #dirs: { full: string; mode: number; mtime?: Date }[] = [];
  readonly #owner?: { uid: number; gid: number };
  count = 0;

  constructor(root: string, options: { owner?: { uid: number; gid: number } } = {}) {
    this.root = path.resolve(root);
    this.#owner = options.owner;
  }

  async #prepareParent(rel: string): Promise<string> {
    const full = path.join(this.root, rel);
    const parts = rel.split('/');
    let current = this.root;
    for (const part of parts.slice(0, -1)) {
      current = path.join(current, part);
      let stats: Stats | undefined;
      try {
        stats = await lstat(current);
      } catch {
        stats = undefined;
      }
      if (stats === undefined) {
        await mkdir(current, { mode: 0o777 });
        await this.#chown(current);
      } else if (stats.isSymbolicLink()) {
        throw invalid(rel, `would be written through the symbolic link ${path.relative(this.root, current)}`);
      } else if (!stats.isDirectory()) {
        await rm(current, { force: true });
        await mkdir(current, { mode: 0o777 });
        await this.#chown(current);
      }
    }
    return full;
  }

  async #chown(full: string): Promise<void> {
    if (this.#owner) await lchown(full, this.#owner.uid, this.#owner.gid).catch(() => undefined);
  }

  async directory(name: string, mode: number, mtime?: Date): Promise<void> {
    const rel = checkEntryName(name);
    const full = await this.#prepareParent(rel);
    const existing = await lstat(full).catch(() => undefined);
    if (existing && !existing.isDirectory()) await rm(full, { recursive: true, force: true });
    if (!existing?.isDirectory()) await mkdir(full, { mode: 0o777 });
    await this.#chown(full);
    this.#dirs.push({ full, mode: mode & 0o7777, mtime });
    this.count++;
  }

  async symlink(name: string, target: string): Promise<void> {
    const rel = checkEntryName(name);
    const full = await this.#prepareParent(rel);
    const existing = await lstat(full).catch(() => undefined);
    if (existing?.isDirectory()) {
      throw invalid(rel, 'is a symbolic link in the archive but a directory on disk');
    }
    if (existing) await rm(full, { force: true });
    await symlink(target, full);
    await this.#chown(full);
    this.count++;
  }

  async file(name: string, mode: number, data: Readable, mtime?: Date): Promise<void> {
    const rel = checkEntryName(name);
    const full = await this.#prepareParent(rel);
    const existing = await lstat(full).catch(() => undefined);
    if (existing?.isDirectory()) await rm(full, { recursive: true, force: true });
    else if (existing) await rm(full, { force: true });
    // O_EXCL|O_NOFOLLOW: never open something another process slipped in meanwhile.
    const handle = await open(
      full,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    // The stream owns the handle and closes it, also on errors.
    await pipeline(data, handle.createWriteStream());
    await chmod(full, mode & 0o7777);
    if (mtime) await utimes(full, new Date(), mtime).catch(() => undefined);
    await this.#chown(full);
    this.count++;
  }

  /** Directory modes and times, deepest first so setting a parent's mode cannot block a child. */
  async finish(): Promise<void> {
    for (const dir of [...this.#dirs].reverse()) {
      await chmod(dir.full, dir.mode).catch(() => undefined);
      if (dir.mtime) await lutimes(dir.full, new Date(), dir.mtime).catch(() => undefined);
    }
  }
}
