// The restore_cache stage (upstream: `cacheExtractor` + `cache-extractor`): for each cache, its key
// then each fallback key until one extracts. A missing or broken archive is a warning, never a job
// failure; a broken one is cleaned away (the cache's paths are removed) before the next key.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SafeWriter } from '../archive/safe-writer.ts';
import { extractTarGz } from '../archive/targz.ts';
import { extractZip, verifyZip } from '../archive/zip.ts';
import { type JobContext, withStageAttempts } from '../context.ts';
import { errorMessage, HelperError } from '../errors.ts';
import { relativeToProject } from '../files/match.ts';
import { type CacheKey, policyAllows, resolveJobCaches } from './keys.ts';
import type { CacheBackend } from './storage.ts';

export async function restoreCacheWithRetries(
  ctx: JobContext,
  backend: CacheBackend | undefined,
): Promise<void> {
  const caches = resolveJobCaches(ctx.job, ctx.build.featureFlags.FF_HASH_CACHE_KEYS);
  if (caches.length === 0) return;
  await withStageAttempts(ctx, ctx.build.restoreCacheAttempts, () =>
    ctx.trace.stage('restore_cache', () => restoreCaches(ctx, backend)),
  );
}

async function restoreCaches(ctx: JobContext, backend: CacheBackend | undefined): Promise<void> {
  const { trace } = ctx;
  for (const resolved of resolveJobCaches(ctx.job, ctx.build.featureFlags.FF_HASH_CACHE_KEYS)) {
    for (const w of resolved.warnings) trace.warning(w);
    if (!resolved.main.ok) {
      trace.notice(`Skipping cache extraction due to ${resolved.main.error}`);
      continue;
    }
    const allowed = policyAllows(resolved.policy, 'pull');
    if (allowed === 'invalid') {
      throw new HelperError(
        'CACHE_FAILED',
        `unknown cache policy ${JSON.stringify(resolved.policy)} for ${resolved.main.key.human}`,
      );
    }
    if (!allowed) {
      trace.notice(`Not downloading cache ${resolved.main.key.human} due to policy`);
      continue;
    }
    const paths = resolved.cache.paths.map((p) => ctx.vars.expand(p));
    for (const key of [resolved.main.key, ...resolved.fallbacks]) {
      trace.notice(`Checking cache for ${key.human}...`);
      if (await restoreOne(ctx, backend, key, paths)) {
        trace.notice('Successfully extracted cache');
        break;
      }
      trace.warning('Failed to extract cache');
    }
  }
}

async function restoreOne(
  ctx: JobContext,
  backend: CacheBackend | undefined,
  key: CacheKey,
  paths: string[],
): Promise<boolean> {
  const { trace } = ctx;
  if (!backend) {
    trace.log(
      'info',
      'No URL provided, cache will not be downloaded from shared cache server. Instead a local version of cache will be extracted.',
    );
    trace.log('warning', 'Cache file does not exist');
    return false;
  }
  const staging = await mkdtemp(path.join(tmpdir(), 'podrunner-cache-'));
  const file = path.join(staging, 'cache.archive');
  try {
    let found: boolean;
    try {
      found = await backend.download(key, file);
    } catch (error) {
      trace.log('warning', errorMessage(error));
      return false;
    }
    if (!found) {
      trace.log('warning', 'file does not exist');
      return false;
    }
    try {
      const magic = (await readFile(file)).subarray(0, 2);
      const writer = new SafeWriter(ctx.projectDir, { owner: ctx.helper.buildOwner });
      if (magic[0] === 0x1f && magic[1] === 0x8b) {
        await extractTarGz(file, writer, trace);
      } else {
        await verifyZip(file);
        await extractZip(file, writer, trace);
      }
      return true;
    } catch (error) {
      trace.log('warning', errorMessage(error));
      await removeCachePaths(ctx, paths);
      return false;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Leaves no half-extracted cache behind (upstream does this with FF_CLEAN_UP_FAILED_CACHE_EXTRACT). */
async function removeCachePaths(ctx: JobContext, paths: string[]): Promise<void> {
  for (const p of paths) {
    if (/[*?[{]/.test(p)) continue;
    let rel: string;
    try {
      rel = relativeToProject(ctx.projectDir, p);
    } catch {
      continue;
    }
    if (rel === '.' || rel === '') continue;
    ctx.trace.printf(`Removing ${p}`);
    await rm(path.join(ctx.projectDir, rel), { recursive: true, force: true });
  }
}
