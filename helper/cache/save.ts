// The archive_cache / archive_cache_on_failure stage (upstream: `archiveCache` + `cache-archiver`):
// every cache whose `when` fits the build's outcome and whose policy pushes is archived (zip, or
// tar.gz with CACHE_COMPRESSION_FORMAT=targz) and stored. A failure is a warning, not a job failure.
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { tarGzStream } from '../archive/targz.ts';
import { zipStream } from '../archive/zip.ts';
import type { JobContext } from '../context.ts';
import { errorMessage, HelperError } from '../errors.ts';
import { matchFiles } from '../files/match.ts';
import { policyAllows, resolveJobCaches, whenAllows } from './keys.ts';
import type { CacheBackend } from './storage.ts';

/** Returns false when no cache applied (the stage is then not shown at all, as upstream skips it). */
export async function saveCacheStage(
  ctx: JobContext,
  backend: CacheBackend | undefined,
  success: boolean,
): Promise<boolean> {
  const caches = resolveJobCaches(ctx.job, ctx.build.featureFlags.FF_HASH_CACHE_KEYS).filter((c) =>
    whenAllows(c.cache.when, success),
  );
  if (caches.length === 0) return false;
  await ctx.trace.stage(success ? 'archive_cache' : 'archive_cache_on_failure', async () => {
    for (const resolved of caches) {
      for (const w of resolved.warnings) ctx.trace.warning(w);
      if (!resolved.main.ok) {
        ctx.trace.notice(`Skipping cache archiving due to ${resolved.main.error}`);
        continue;
      }
      const key = resolved.main.key;
      const allowed = policyAllows(resolved.policy, 'push');
      if (allowed === 'invalid') {
        ctx.trace.warning(`unknown cache policy ${JSON.stringify(resolved.policy)} for ${key.human}`);
        continue;
      }
      if (!allowed) {
        ctx.trace.notice(`Not uploading cache ${key.human} due to policy`);
        continue;
      }
      ctx.trace.notice(`Creating cache ${key.human}...`);
      try {
        await archiveAndStore(ctx, backend, resolved.cache.paths, resolved.cache.untracked, key);
        ctx.trace.notice('Created cache');
      } catch (error) {
        ctx.trace.log('fatal', errorMessage(error));
        ctx.trace.warning('Failed to create cache');
      }
    }
  });
  return true;
}

async function archiveAndStore(
  ctx: JobContext,
  backend: CacheBackend | undefined,
  paths: string[],
  untracked: boolean,
  key: import('./keys.ts').CacheKey,
): Promise<void> {
  const files = await matchFiles({
    wd: ctx.projectDir,
    paths: paths.map((p) => ctx.vars.expand(p)),
    untracked,
    trace: ctx.trace,
  });
  if (files.length === 0) {
    ctx.trace.log('warning', 'No files to cache.');
    return;
  }
  const staging = await mkdtemp(path.join(tmpdir(), 'podrunner-cache-'));
  try {
    const file = path.join(staging, 'cache.archive');
    const stream =
      ctx.build.cacheCompression === 'targz'
        ? tarGzStream(ctx.projectDir, files, ctx.trace)
        : zipStream(ctx.projectDir, files, ctx.trace);
    try {
      await pipeline(stream, createWriteStream(file));
    } catch (error) {
      throw new HelperError('ARCHIVE_FAILED', `creating the cache archive failed: ${errorMessage(error)}`);
    }
    if (!backend) {
      ctx.trace.log(
        'info',
        'No URL provided, cache will not be uploaded to shared cache server. Cache will be stored only locally.',
      );
      return;
    }
    await backend.upload(key, file);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
