// Cache keys as upstream turns the payload's `key` into a storage name (shells/abstract.go
// `newCacheConfig`, cache/cachekey): variables expanded, the key sanitised (URL-encoded `/` and `.`
// decoded, `\` → `/`, `..` resolved inside a virtual root, trailing blanks trimmed), or SHA-256
// hashed when FF_HASH_CACHE_KEYS is on. Shared by the manager (to pre-sign URLs) and the helper.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { JobCache, JobPayload } from '../../src/gitlab/payload.ts';
import { expandVariables } from '../variables.ts';

export interface CacheKey {
  /** The sanitised key, as printed ("Checking cache for <human>..."). */
  human: string;
  /** The name used in storage: the human key, or its SHA-256 with FF_HASH_CACHE_KEYS. */
  storage: string;
}

export type KeyResult =
  | { ok: true; key: CacheKey; warning?: string }
  | { ok: false; error: string; warning?: string };

export function sanitizeCacheKey(raw: string): { ok: true; key: string } | { ok: false; error: string } {
  if (raw === '') return { ok: false, error: 'empty cache key' };
  const normal = raw.replace(/%2f/gi, '/').replace(/%2e/gi, '.').replaceAll('\\', '/');
  const parts = path.posix.normalize(`/${normal}`).slice(1).split('/');
  let n = parts.length;
  while (n > 0) {
    parts[n - 1] = parts[n - 1]!.replace(/\s+$/u, '');
    if (parts[n - 1] !== '') break;
    n--;
  }
  const key = parts.slice(0, n).join('/');
  if (key === '') return { ok: false, error: `cache key ${JSON.stringify(raw)} could not be sanitized` };
  return { ok: true, key };
}

export function resolveCacheKey(
  rawKey: string,
  lookup: (name: string) => string,
  hashKeys: boolean,
): KeyResult {
  const raw = expandVariables(rawKey, lookup);
  let human = raw;
  let warning: string | undefined;
  if (!hashKeys) {
    const sanitized = sanitizeCacheKey(raw);
    if (!sanitized.ok) return { ok: false, error: 'empty cache key', warning: sanitized.error };
    human = sanitized.key;
    if (human !== raw) warning = `cache key ${JSON.stringify(raw)} sanitized to ${JSON.stringify(human)}`;
  } else if (raw === '') {
    return { ok: false, error: 'empty cache key' };
  }
  const storage = hashKeys ? createHash('sha256').update(human).digest('hex') : human;
  return { ok: true, key: { human, storage }, warning };
}

export interface ResolvedCache {
  index: number;
  cache: JobCache;
  /** The policy after variable expansion. */
  policy: string;
  main: KeyResult;
  /** `fallback_keys`, then the CACHE_FALLBACK_KEY variable (which may not end in `-protected`). */
  fallbacks: CacheKey[];
  warnings: string[];
}

/** Every cache of the job that names something to cache, with its keys resolved. */
export function resolveJobCaches(
  job: Pick<JobPayload, 'cache' | 'variables' | 'job_info' | 'git_info'>,
  hashKeys: boolean,
): ResolvedCache[] {
  const values = new Map<string, string>();
  for (const v of job.variables) values.set(v.key, v.value);
  const lookup = (name: string) => values.get(name) ?? '';
  const out: ResolvedCache[] = [];
  job.cache.forEach((cache, index) => {
    if (cache.paths.length === 0 && !cache.untracked) return;
    const warnings: string[] = [];
    const userKey = cache.key === '' ? `${job.job_info.name}/${job.git_info.ref}` : cache.key;
    const main = resolveCacheKey(userKey, lookup, hashKeys);
    if (main.warning) warnings.push(main.warning);
    const fallbacks: CacheKey[] = [];
    const add = (raw: string, check?: (human: string) => boolean) => {
      if (raw === '') return;
      const r = resolveCacheKey(raw, lookup, hashKeys);
      if (r.warning) warnings.push(r.warning);
      if (r.ok && (!check || check(r.key.human))) fallbacks.push(r.key);
    };
    for (const key of cache.fallback_keys) add(key);
    add(lookup('CACHE_FALLBACK_KEY'), (human) => {
      const allowed = !human.replace(/[. ]+$/, '').endsWith('-protected');
      if (!allowed)
        warnings.push(
          `CACHE_FALLBACK_KEY ${JSON.stringify(lookup('CACHE_FALLBACK_KEY'))} not allowed to end in "-protected"`,
        );
      return allowed;
    });
    out.push({ index, cache, policy: expandVariables(cache.policy, lookup), main, fallbacks, warnings });
  });
  return out;
}

export function policyAllows(policy: string, action: 'pull' | 'push'): boolean | 'invalid' {
  switch (policy) {
    case 'pull-push':
    case '':
      return true;
    case 'pull':
      return action === 'pull';
    case 'push':
      return action === 'push';
    default:
      return 'invalid';
  }
}

export function whenAllows(when: string | null | undefined, success: boolean): boolean {
  switch (when ?? 'on_success') {
    case 'always':
      return true;
    case 'on_failure':
      return !success;
    default:
      return success;
  }
}
