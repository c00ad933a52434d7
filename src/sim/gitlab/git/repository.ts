// Bare repositories of the embedded GitLab, read and written with the `git` command line.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import picomatch from 'picomatch';

export class GitError extends Error {
  readonly code = 'GIT_FAILED';
}

interface RunOptions {
  input?: Buffer | string;
  env?: Record<string, string>;
  /** Exit codes that are not errors (e.g. 1 for "not found" queries). */
  okCodes?: number[];
}

export async function runGit(
  gitDir: string,
  args: string[],
  options: RunOptions = {},
): Promise<{ code: number; stdout: Buffer }> {
  return await new Promise((resolve, reject) => {
    const child = spawn('git', ['--git-dir', gitDir, ...args], {
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const exit = code ?? 1;
      if (exit === 0 || options.okCodes?.includes(exit)) resolve({ code: exit, stdout: Buffer.concat(out) });
      else
        reject(
          new GitError(`git ${args.join(' ')}: ${Buffer.concat(err).toString().trim() || `exit ${exit}`}`),
        );
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

async function gitText(gitDir: string, args: string[], options: RunOptions = {}): Promise<string> {
  return (await runGit(gitDir, args, options)).stdout.toString('utf8').trim();
}

export async function initBareRepository(gitDir: string, defaultBranch: string): Promise<void> {
  await runGit(gitDir, ['init', '--quiet', '--bare', `--initial-branch=${defaultBranch}`, gitDir]);
  await runGit(gitDir, ['config', 'http.receivepack', 'true']);
  await runGit(gitDir, ['config', 'uploadpack.allowAnySHA1InWant', 'true']);
}

export interface ResolvedRef {
  sha: string;
  tag: boolean;
}

/** A branch first, then a tag, as GitLab resolves `ref`. */
export async function resolveRef(gitDir: string, ref: string): Promise<ResolvedRef | null> {
  if (ref === '' || ref.startsWith('-')) return null;
  for (const [prefix, tag] of [
    ['refs/heads/', false],
    ['refs/tags/', true],
  ] as const) {
    const { code, stdout } = await runGit(
      gitDir,
      ['rev-parse', '--verify', '--quiet', `${prefix}${ref}^{commit}`],
      {
        okCodes: [1, 128],
      },
    );
    if (code === 0) return { sha: stdout.toString().trim(), tag };
  }
  return null;
}

export async function readBlob(gitDir: string, sha: string, path: string): Promise<Buffer | null> {
  const { code, stdout } = await runGit(gitDir, ['cat-file', 'blob', `${sha}:${path}`], {
    okCodes: [1, 128],
  });
  return code === 0 ? stdout : null;
}

/** Blob ids of the files matching `patterns` (literal paths or `*` globs) at `sha`. */
export async function blobIds(gitDir: string, sha: string, patterns: string[]): Promise<string[]> {
  const listing = await gitText(gitDir, ['ls-tree', '-r', '--full-tree', sha]);
  const files = new Map<string, string>();
  for (const line of listing.split('\n')) {
    const m = /^\d+ blob ([0-9a-f]+)\t(.*)$/.exec(line);
    if (m?.[1] && m[2] !== undefined) files.set(m[2], m[1]);
  }
  const ids: string[] = [];
  for (const pattern of patterns) {
    if (pattern.includes('*')) {
      const isMatch = picomatch(pattern.replace(/^\.?\//, ''), { dot: true });
      for (const [path, id] of files) if (isMatch(path)) ids.push(id);
    } else {
      const id = files.get(pattern.replace(/^\.?\//, ''));
      if (id) ids.push(id);
    }
  }
  return ids;
}

export interface CommitDetails {
  sha: string;
  authorName: string;
  authorEmail: string;
  authoredDate: string;
  committedDate: string;
  message: string;
  parent: string | null;
}

export async function commitDetails(gitDir: string, sha: string): Promise<CommitDetails> {
  const text = (
    await runGit(gitDir, ['log', '-1', '--format=%H%x00%an%x00%ae%x00%aI%x00%cI%x00%P%x00%B', sha])
  ).stdout.toString('utf8');
  const [hash = sha, an = '', ae = '', ad = '', cd = '', parents = '', body = ''] = text.split('\0');
  return {
    sha: hash,
    authorName: an,
    authorEmail: ae,
    authoredDate: ad,
    committedDate: cd,
    message: body.replace(/\n+$/, ''),
    parent: parents.split(' ')[0] || null,
  };
}

export async function updateRef(gitDir: string, ref: string, sha: string): Promise<void> {
  await runGit(gitDir, ['update-ref', ref, sha]);
}

/** `refname → sha` for every ref under refs/heads and refs/tags. */
export async function listRefs(gitDir: string): Promise<Map<string, string>> {
  const text = await gitText(gitDir, [
    'for-each-ref',
    '--format=%(objectname) %(refname)',
    'refs/heads',
    'refs/tags',
  ]);
  const refs = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [sha, name] = line.split(' ');
    if (sha && name) refs.set(name, sha);
  }
  return refs;
}

export interface CommitFilesOptions {
  branch: string;
  message: string;
  authorName: string;
  authorEmail: string;
  /** Start from the branch's current tree (default) or from an empty tree. */
  replace?: boolean;
}

/** Commits `files` onto `branch` without a work tree (for tests, the demo and the benchmark). */
export async function commitFiles(
  gitDir: string,
  files: Record<string, string | Buffer | { content: string | Buffer; executable?: boolean }>,
  options: CommitFilesOptions,
): Promise<string> {
  const indexFile = `${gitDir}/index.sim-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`;
  const env = {
    GIT_INDEX_FILE: indexFile,
    GIT_AUTHOR_NAME: options.authorName,
    GIT_AUTHOR_EMAIL: options.authorEmail,
    GIT_COMMITTER_NAME: options.authorName,
    GIT_COMMITTER_EMAIL: options.authorEmail,
  };
  const parent = (await resolveRef(gitDir, options.branch))?.sha ?? null;
  try {
    if (parent && !options.replace) await runGit(gitDir, ['read-tree', parent], { env });
    else await runGit(gitDir, ['read-tree', '--empty'], { env });
    for (const [path, value] of Object.entries(files)) {
      const entry = typeof value === 'string' || Buffer.isBuffer(value) ? { content: value } : value;
      const blob = await gitText(gitDir, ['hash-object', '-w', '--stdin'], { input: entry.content });
      const mode = entry.executable ? '100755' : '100644';
      await runGit(gitDir, ['update-index', '--add', '--cacheinfo', `${mode},${blob},${path}`], { env });
    }
    const tree = await gitText(gitDir, ['write-tree'], { env });
    const commit = await gitText(
      gitDir,
      ['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-F', '-'],
      {
        env,
        input: options.message,
      },
    );
    // Compare-and-swap: a concurrent commit to the same branch fails instead of being lost.
    await runGit(gitDir, ['update-ref', `refs/heads/${options.branch}`, commit, parent ?? '0'.repeat(40)]);
    return commit;
  } finally {
    await rm(indexFile, { force: true });
  }
}
