// Test repositories: a working copy per project that commits files and pushes them to the project's
// repository — a local bare repository, or one the embedded GitLab serves over HTTP.
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export type FileSpec = string | { content: string; mode?: number } | { symlink: string };

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    env: GIT_ENV,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

const execFileAsync = promisify(execFile);

/** Git without blocking the event loop: the embedded GitLab serving the push runs in this process. */
async function gitAsync(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' });
  return stdout.trim();
}

export class TestProject {
  readonly path: string;
  /** The push URL (a bare repository's path, or an HTTP URL with credentials). */
  readonly remote: string;
  readonly work: string;

  constructor(projectPath: string, remote: string) {
    this.path = projectPath;
    this.remote = remote;
    this.work = mkdtempSync(path.join(tmpdir(), 'work-'));
    git(this.work, 'init', '-q', '-b', 'main');
    git(this.work, 'remote', 'add', 'origin', remote);
  }

  /** A project in a new bare repository `<reposDir>/<projectPath>.git`. */
  static local(reposDir: string, projectPath: string): TestProject & { bare: string } {
    const bare = path.join(reposDir, `${projectPath}.git`);
    mkdirSync(bare, { recursive: true });
    git(bare, 'init', '--bare', '-q', '-b', 'main');
    return Object.assign(new TestProject(projectPath, bare), { bare });
  }

  /** Writes the files, commits and pushes `main`; returns the new commit's SHA. */
  async commit(files: Record<string, FileSpec>, message = 'commit'): Promise<string> {
    for (const [name, spec] of Object.entries(files)) {
      const full = path.join(this.work, name);
      mkdirSync(path.dirname(full), { recursive: true });
      rmSync(full, { force: true });
      if (typeof spec === 'string') writeFileSync(full, spec);
      else if ('symlink' in spec) symlinkSync(spec.symlink, full);
      else {
        writeFileSync(full, spec.content);
        if (spec.mode !== undefined) chmodSync(full, spec.mode);
      }
    }
    git(this.work, 'add', '--', ...Object.keys(files));
    git(this.work, 'commit', '-q', '--allow-empty', '-m', message);
    await gitAsync(this.work, 'push', '-q', 'origin', 'main');
    return git(this.work, 'rev-parse', 'HEAD');
  }

  /** Adds `sub` as a submodule at `at` (URL relative to this project, as GitLab users write it). */
  async addSubmodule(at: string, sub: TestProject, sha: string): Promise<string> {
    const rel = path.posix.relative(path.posix.dirname(this.path), sub.path);
    const gitmodules = `[submodule "${at}"]\n\tpath = ${at}\n\turl = ../${rel}.git\n`;
    writeFileSync(path.join(this.work, '.gitmodules'), gitmodules);
    git(this.work, 'add', '.gitmodules');
    git(this.work, 'update-index', '--add', '--cacheinfo', `160000,${sha},${at}`);
    // No `add -A` here: the submodule's directory is not checked out in this working copy.
    git(this.work, 'commit', '-q', '-m', `add submodule ${at}`);
    await gitAsync(this.work, 'push', '-q', 'origin', 'main');
    return git(this.work, 'rev-parse', 'HEAD');
  }

  cleanup(): void {
    rmSync(this.work, { recursive: true, force: true });
  }
}

export { git as testGit };
