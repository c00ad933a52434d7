// The get_sources stage, step for step as upstream's generated get_sources script
// (shells/abstract.go): hooks, git cleanup, init + fetch of the payload's refspecs (GIT_STRATEGY
// clone starts from an empty directory), checkout of the exact SHA as a detached HEAD, clean,
// submodules, LFS. GET_SOURCES_ATTEMPTS retries the stage, clearing the worktree before the 2nd try.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { type JobContext, withStageAttempts } from '../context.ts';
import { errorMessage, HelperError, isHelperError } from '../errors.ts';
import { cleanUrl } from '../output/mask.ts';
import { GitAccess, remoteFromPayload } from './credentials.ts';
import { GitRunner, isAuthFailure } from './git.ts';
import { hookCommands, runHook } from './hooks.ts';

const LOCK_FILES = ['index.lock', 'shallow.lock', 'HEAD.lock', 'hooks/post-checkout', 'config.lock'];

export async function getSourcesWithRetries(ctx: JobContext): Promise<void> {
  await withStageAttempts(ctx, ctx.build.getSourcesAttempts, async (attempt) => {
    if (attempt === 1) await ctx.trace.stage('clear_worktree', () => clearWorktree(ctx));
    await ctx.trace.stage('get_sources', () => getSources(ctx));
  });
}

export async function getSources(ctx: JobContext): Promise<void> {
  const { trace, build, helper, job, projectDir } = ctx;
  for (const warning of build.warnings) trace.warning(warning);

  const remote = remoteFromPayload(job.git_info.repo_url, helper.cloneUrl);
  const access = await GitAccess.create({
    remoteUrl: remote.url,
    token: job.token,
    caPem: helper.tlsCaPem,
    caFile: helper.tlsCaFile,
    userAgent: `${helper.userAgent} git`,
  });
  try {
    const gitEnv = access.gitEnv(build.lfsSkipSmudge ? {} : { GIT_LFS_SKIP_SMUDGE: '1' });
    const git = new GitRunner(trace, gitEnv, { debug: build.debugTrace });
    const hookEnv = {
      vars: ctx.vars,
      extra: {
        ...gitEnv,
        CI_PROJECT_DIR: projectDir,
        CI_BUILDS_DIR: helper.buildsDir,
        CI_SERVER: 'yes',
        CI_DISPOSABLE_ENVIRONMENT: 'true',
      },
    };
    const withHooks = build.gitStrategy === 'clone' || build.gitStrategy === 'fetch';

    if (withHooks) {
      const pre = hookCommands('pre', helper.preGetSourcesScript, job.hooks);
      await mkdir(helper.buildsDir, { recursive: true });
      await runHook(trace, pre, helper.buildsDir, hookEnv, ctx.signal);
    }

    await fetchSources(ctx, git, remote.url);
    if (build.gitCheckout) await checkout(ctx, git);
    else if (withHooks) trace.notice('Skipping Git checkout');
    await updateSubmodules(ctx, git);

    if (withHooks) {
      const post = hookCommands('post', helper.postGetSourcesScript, job.hooks);
      await runHook(trace, post, projectDir, hookEnv, ctx.signal);
    }
  } catch (error) {
    throw explain(error, remote.url);
  } finally {
    await access.dispose();
  }
}

function explain(error: unknown, remoteUrl: string): unknown {
  if (isHelperError(error, 'GIT_FAILED') && isAuthFailure(error.message)) {
    return new HelperError(
      'GIT_AUTH_FAILED',
      `the Git server refused the job token for ${cleanUrl(remoteUrl)} (authentication failed): check that the job token is valid and that this project may read the repository`,
      { cause: error },
    );
  }
  return error;
}

async function fetchSources(ctx: JobContext, git: GitRunner, remoteUrl: string): Promise<void> {
  const { trace, build, job, projectDir } = ctx;
  switch (build.gitStrategy) {
    case 'none':
      trace.notice('Skipping Git repository setup');
      await mkdir(projectDir, { recursive: true });
      return;
    case 'empty':
      trace.notice('Skipping Git repository setup and creating an empty build directory');
      await rm(projectDir, { recursive: true, force: true });
      await mkdir(projectDir, { recursive: true });
      return;
    case 'clone':
    case 'fetch':
      break;
  }

  await cleanupGitDir(ctx);
  if (build.gitStrategy === 'clone') await rm(projectDir, { recursive: true, force: true });

  const depth = build.gitDepth;
  trace.notice(depth > 0 ? `Fetching changes with git depth set to ${depth}...` : 'Fetching changes...');
  await mkdir(projectDir, { recursive: true });
  const format = job.git_info.repo_object_format;
  await git.run(projectDir, ['init', ...(format && format !== 'sha1' ? ['--object-format', format] : [])]);

  if (await git.try(projectDir, ['remote', 'add', 'origin', remoteUrl], { echo: false })) {
    trace.notice('Created fresh repository.');
  } else {
    await git.run(projectDir, ['remote', 'set-url', 'origin', remoteUrl]);
  }

  const args = ['fetch', 'origin', '--no-recurse-submodules', ...job.git_info.refspecs];
  if (depth > 0) args.push('--depth', String(depth));
  args.push(...build.fetchFlags);
  if (depth <= 0 && existsSync(path.join(projectDir, '.git', 'shallow'))) args.push('--unshallow');
  await git.run(projectDir, args);
}

async function checkout(ctx: JobContext, git: GitRunner): Promise<void> {
  const { trace, build, job, projectDir } = ctx;
  trace.notice(
    `Checking out ${job.git_info.sha.slice(0, 8)} as detached HEAD (ref is ${job.git_info.ref})...`,
  );
  await git.run(projectDir, ['-c', 'submodule.recurse=false', 'checkout', '-f', '-q', job.git_info.sha]);
  if (build.cleanFlags.length > 0) await git.run(projectDir, ['clean', ...build.cleanFlags]);
  if (!build.lfsSkipSmudge && (await git.try(projectDir, ['lfs', 'version'], { echo: false }))) {
    await git.run(projectDir, ['lfs', 'pull']);
  }
}

async function updateSubmodules(ctx: JobContext, git: GitRunner): Promise<void> {
  const { trace, build, projectDir } = ctx;
  if (build.submoduleStrategy === 'none') {
    if (build.gitStrategy === 'clone' || build.gitStrategy === 'fetch')
      trace.notice('Skipping Git submodules setup');
    return;
  }
  const recursive = build.submoduleStrategy === 'recursive';
  const depth = build.submoduleDepth;
  const how = recursive ? ' recursively' : '';
  trace.notice(
    depth > 0
      ? `Updating/initializing submodules${how} with git depth set to ${depth}...`
      : `Updating/initializing submodules${how}...`,
  );
  if (build.submodulePaths.includes(':(exclude)')) {
    throw new HelperError(
      'GIT_FAILED',
      `GIT_SUBMODULE_PATHS: invalid submodule pathspec ${JSON.stringify(build.submodulePaths)}`,
    );
  }
  const pathArgs = build.submodulePaths.length > 0 ? ['--', ...build.submodulePaths] : [];
  const foreach = ['submodule', 'foreach', ...(recursive ? ['--recursive'] : [])];
  const sync = ['submodule', 'sync', ...(recursive ? ['--recursive'] : []), ...pathArgs];
  const update = [
    'submodule',
    'update',
    '--init',
    ...(recursive ? ['--recursive'] : []),
    ...(depth > 0 ? ['--depth', String(depth)] : []),
    ...build.submoduleUpdateFlags,
    ...pathArgs,
  ];
  const clean = `git clean ${(build.cleanFlags.length > 0 ? build.cleanFlags : ['-ffdx']).join(' ')}`;

  await git.run(projectDir, ['submodule', 'init']);
  await git.run(projectDir, sync);
  await git.run(projectDir, [...foreach, clean]);
  await git.run(projectDir, [...foreach, 'git reset --hard']);
  try {
    await git.run(projectDir, update);
    trace.notice('Updated submodules');
    await git.run(projectDir, sync);
  } catch (error) {
    if (isAuthFailure(errorMessage(error))) throw error;
    trace.warning('Updating submodules failed. Retrying...');
    await git.run(projectDir, sync);
    await git.run(projectDir, update);
    await git.run(projectDir, [...foreach, 'git reset --hard']);
  }
  await git.run(projectDir, [...foreach, clean]);
  if (!build.lfsSkipSmudge && (await git.try(projectDir, ['lfs', 'version'], { echo: false }))) {
    trace.notice('Pulling LFS files...');
    await git.run(projectDir, [...foreach, 'git lfs pull']);
  }
}

/**
 * Removes lock files a killed git left behind and, unless the runner's `clean_git_config = false`,
 * the repository's config and hooks (they could carry code from an earlier job on a shared volume).
 */
async function cleanupGitDir(ctx: JobContext): Promise<void> {
  const gitDir = path.join(ctx.projectDir, '.git');
  if (!existsSync(gitDir)) return;
  const withSubmodules = ctx.build.submoduleStrategy !== 'none';
  const modules = path.join(gitDir, 'modules');
  for (const file of LOCK_FILES) {
    await rm(path.join(gitDir, file), { force: true });
    if (withSubmodules) await removeNamedRecursive(modules, path.basename(file));
  }
  await removeMatchingRecursive(path.join(gitDir, 'refs'), (name) => name.endsWith('.lock'));
  const clean = ctx.helper.cleanGitConfig ?? true;
  if (!clean) return;
  await rm(path.join(gitDir, 'config'), { force: true });
  await rm(path.join(gitDir, 'hooks'), { recursive: true, force: true });
  if (withSubmodules) {
    await removeNamedRecursive(modules, 'config');
    await removeNamedRecursive(modules, 'hooks');
  }
}

async function removeNamedRecursive(dir: string, name: string): Promise<void> {
  await removeMatchingRecursive(dir, (n) => n === name);
}

async function removeMatchingRecursive(dir: string, match: (name: string) => boolean): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (match(entry.name)) await rm(full, { recursive: true, force: true });
    else if (entry.isDirectory()) await removeMatchingRecursive(full, match);
  }
}

/** Upstream's clear_worktree stage, run before the second get_sources attempt. */
async function clearWorktree(ctx: JobContext): Promise<void> {
  ctx.trace.notice('Deleting tracked and untracked files...');
  if (!existsSync(ctx.projectDir)) return;
  const git = new GitRunner(ctx.trace, { GIT_TERMINAL_PROMPT: '0' });
  await git.try(ctx.projectDir, ['rm', '-rf', '--ignore-unmatch', '.'], { echo: false });
  await git.try(ctx.projectDir, ['clean', '-ffdx'], { echo: false });
}
