// Which files an artifact or cache archive holds, with upstream's rules (commands/helpers/file_archiver.go):
// each `paths` entry is a path or a doublestar glob relative to the project dir; every match is walked
// without following symlinks (directories and their contents, symlinks as links); `exclude` globs
// drop single paths; `untracked` adds `git ls-files -o`. The counts are printed as upstream does.
import { spawn } from 'node:child_process';
import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import type { Trace } from '../output/trace.ts';

export interface MatchedFile {
  /** Slash-separated, relative to the project dir. */
  rel: string;
  stats: Stats;
}

export interface MatchOptions {
  wd: string;
  paths: string[];
  exclude?: string[];
  untracked?: boolean;
  trace: Trace;
  /** "artifact" in upstream's messages. */
  noun?: string;
}

const GLOB_CHARS = /[*?[{]/;

/** doublestar's SplitPattern: the longest leading directory without glob characters, and the rest. */
export function splitPattern(pattern: string): { base: string; rest: string } {
  const parts = pattern.split('/');
  const firstGlob = parts.findIndex((p) => GLOB_CHARS.test(p));
  if (firstGlob < 0) return { base: pattern, rest: '' };
  const base = parts.slice(0, firstGlob).join('/');
  return {
    base: base === '' ? (pattern.startsWith('/') ? '/' : '.') : base,
    rest: parts.slice(firstGlob).join('/'),
  };
}

/** A user path or pattern made relative to the project dir; throws when it points outside. */
export function relativeToProject(wd: string, userPath: string): string {
  const slash = userPath.replaceAll('\\', '/');
  if (path.posix.normalize(slash) === path.posix.normalize(wd)) return '.';
  const { base, rest } = GLOB_CHARS.test(slash) ? splitPattern(slash) : { base: slash, rest: '' };
  const abs = path.posix.resolve(wd, base);
  const rel = path.posix.relative(wd, abs) || '.';
  if (rel === '..' || rel.startsWith('../')) {
    throw new Error(`artifact path is not a subpath of project directory: ${userPath}`);
  }
  return rest === '' ? rel : rel === '.' ? rest : `${rel}/${rest}`;
}

function matcher(pattern: string): (p: string) => boolean {
  return picomatch(pattern, { dot: true, noextglob: true, nonegate: true });
}

export async function matchFiles(options: MatchOptions): Promise<MatchedFile[]> {
  const { wd, trace } = options;
  const noun = options.noun ?? 'artifact';
  const files = new Map<string, Stats>();
  const excludedCount = new Map<string, number>();
  const excludes: { rule: string; test: (p: string) => boolean }[] = [];
  for (const rule of options.exclude ?? []) {
    try {
      excludes.push({ rule, test: matcher(relativeToProject(wd, rule)) });
    } catch (error) {
      trace.log('warning', `isExcluded: ${(error as Error).message}`);
    }
  }

  const consider = async (rel: string): Promise<boolean> => {
    const normal = path.posix.normalize(rel);
    if (normal === '..' || normal.startsWith('../')) {
      trace.log('warning', `${rel}: not supported: outside build directory`);
      return false;
    }
    const hit = excludes.find((e) => e.test(normal));
    if (hit) {
      excludedCount.set(hit.rule, (excludedCount.get(hit.rule) ?? 0) + 1);
      return false;
    }
    try {
      files.set(normal, await lstat(path.join(wd, normal)));
      return true;
    } catch {
      return false;
    }
  };

  for (const userPath of options.paths) {
    if (userPath === '') {
      trace.log('warning', 'No matching files. Path is empty.');
      continue;
    }
    let rel: string;
    try {
      rel = relativeToProject(wd, userPath);
    } catch (error) {
      trace.log('warning', `processPath: ${(error as Error).message}`);
      continue;
    }
    let found = 0;
    for (const match of await glob(wd, rel)) {
      for (const entry of await walk(wd, match)) if (await consider(entry)) found++;
    }
    if (found === 0) {
      trace.log(
        'warning',
        `${userPath}: no matching files. Ensure that the ${noun} path is relative to the working directory (${wd})`,
      );
    } else {
      trace.log('info', `${userPath}: found ${found} matching ${noun} files and directories`);
    }
  }

  if (options.untracked) {
    let found = 0;
    try {
      for (const rel of await untrackedFiles(wd)) if (await consider(rel)) found++;
      if (found === 0) trace.log('warning', 'untracked: no files');
      else trace.log('info', `untracked: found ${found} files`);
    } catch (error) {
      trace.log('warning', `untracked: ${(error as Error).message}`);
    }
  }

  for (const [rule, count] of excludedCount) trace.log('info', `${rule}: excluded ${count} files`);

  return [...files.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([rel, stats]) => ({ rel, stats }));
}

/** Paths (relative to wd) matching a relative pattern; a pattern without glob characters is itself. */
async function glob(wd: string, rel: string): Promise<string[]> {
  if (!GLOB_CHARS.test(rel)) {
    try {
      await lstat(path.join(wd, rel));
      return [path.posix.normalize(rel)];
    } catch {
      return [];
    }
  }
  const { base, rest } = splitPattern(rel);
  const test = matcher(rest);
  const out: string[] = [];
  const visit = async (dirRel: string, depthRel: string): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(path.join(wd, dirRel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const childRel = depthRel === '' ? entry.name : `${depthRel}/${entry.name}`;
      const childFull = dirRel === '.' ? entry.name : `${dirRel}/${entry.name}`;
      if (test(childRel)) out.push(childFull);
      if (entry.isDirectory()) await visit(childFull, childRel);
    }
  };
  await visit(base, '');
  return out.sort();
}

/** `filepath.Walk` without following symlinks: the path itself, then everything below a directory. */
async function walk(wd: string, rel: string): Promise<string[]> {
  const out = [rel];
  let stats: Stats;
  try {
    stats = await lstat(path.join(wd, rel));
  } catch {
    return [];
  }
  if (!stats.isDirectory()) return out;
  const entries = await readdir(path.join(wd, rel), { withFileTypes: true }).catch(() => []);
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    out.push(...(await walk(wd, rel === '.' ? entry.name : `${rel}/${entry.name}`)));
  }
  return out;
}

function untrackedFiles(wd: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_PARAMETERS: "'safe.directory=*'" };
    const child = spawn('git', ['ls-files', '-o', '-z'], { cwd: wd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0)
        return reject(new Error(Buffer.concat(err).toString().trim() || `git exited with ${code}`));
      resolve(
        Buffer.concat(out)
          .toString()
          .split('\0')
          .filter((s) => s !== ''),
      );
    });
  });
}
