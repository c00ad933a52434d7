import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  policyAllows,
  resolveCacheKey,
  resolveJobCaches,
  sanitizeCacheKey,
  whenAllows,
} from '../../../helper/cache/keys.ts';
import { parseJobPayload } from '../../../src/gitlab/payload.ts';
import { makeJob } from './support/jobs.ts';

describe('cache keys', () => {
  it('sanitises like upstream cachekey.Sanitize', () => {
    expect(sanitizeCacheKey('simple')).toEqual({ ok: true, key: 'simple' });
    expect(sanitizeCacheKey('a/../b')).toEqual({ ok: true, key: 'b' });
    expect(sanitizeCacheKey('../../etc/passwd')).toEqual({ ok: true, key: 'etc/passwd' });
    expect(sanitizeCacheKey('a%2F..%2F..%2Fb')).toEqual({ ok: true, key: 'b' });
    expect(sanitizeCacheKey('a\\b')).toEqual({ ok: true, key: 'a/b' });
    expect(sanitizeCacheKey('key  /  ')).toEqual({ ok: true, key: 'key' });
    expect(sanitizeCacheKey('..').ok).toBe(false);
  });

  it('expands variables, warns when sanitising changed the key, hashes with FF_HASH_CACHE_KEYS', () => {
    const lookup = (n: string) => ({ REF: 'main', EMPTY: '' })[n] ?? '';
    expect(resolveCacheKey('deps-$REF', lookup, false)).toEqual({
      ok: true,
      key: { human: 'deps-main', storage: 'deps-main' },
    });
    expect(resolveCacheKey('../x', lookup, false)).toMatchObject({
      ok: true,
      warning: 'cache key "../x" sanitized to "x"',
    });
    expect(resolveCacheKey('$EMPTY', lookup, false)).toMatchObject({ ok: false, error: 'empty cache key' });
    const hashed = resolveCacheKey('deps', lookup, true);
    expect(hashed.ok && hashed.key.storage).toBe(createHash('sha256').update('deps').digest('hex'));
    expect(hashed.ok && hashed.key.storage).toMatch(/^[0-9a-f]{64}$/);
  });

  it('resolves fallbacks and refuses a CACHE_FALLBACK_KEY ending in -protected', () => {
    const parsed = parseJobPayload(
      makeJob({
        id: 1,
        token: 't',
        serverUrl: 'http://x',
        project: 'g/p',
        sha: 'a'.repeat(40),
        variables: { CACHE_FALLBACK_KEY: 'main-protected', POLICY: 'pull' },
        cache: [{ key: 'k', paths: ['a'], policy: '$POLICY', fallback_keys: ['f1', '$CI_COMMIT_REF_NAME'] }],
      }),
    );
    if (!parsed.ok) throw new Error(parsed.error);
    const [c] = resolveJobCaches(parsed.job, false);
    expect(c?.fallbacks.map((k) => k.human)).toEqual(['f1', 'main']);
    expect(c?.warnings).toEqual(['CACHE_FALLBACK_KEY "main-protected" not allowed to end in "-protected"']);
    expect(c?.policy).toBe('pull');
  });

  it('decides policy and when', () => {
    expect(policyAllows('pull', 'push')).toBe(false);
    expect(policyAllows('push', 'push')).toBe(true);
    expect(policyAllows('bogus', 'pull')).toBe('invalid');
    expect(whenAllows('on_failure', true)).toBe(false);
    expect(whenAllows('always', false)).toBe(true);
    expect(whenAllows(undefined, false)).toBe(false);
  });
});
