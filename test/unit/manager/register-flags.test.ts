import { describe, expect, it } from 'vitest';
import { mergeUnder } from '../../../src/config/edit.ts';
import { normalizeKeys } from '../../../src/config/normalize-keys.ts';
import { runnerConfigSchema } from '../../../src/config/schema/runner.ts';
import {
  cacheFlags,
  entryFlags,
  kubernetesFlags,
  parseFlagValue,
  runnerFlags,
} from '../../../src/manager/register-flags.ts';

describe('register flags', () => {
  it('every flag lands on a key the runner schema accepts', () => {
    for (const spec of entryFlags) {
      let doc: unknown =
        spec.kind === 'bool' ? true : spec.kind === 'int' ? 1 : spec.kind === 'string' ? 'x' : ['x'];
      for (const key of [...spec.path].reverse()) doc = { [key]: doc };
      expect(normalizeKeys(doc, runnerConfigSchema).unknownKeys, spec.flag).toEqual([]);
    }
  });

  it('uses gitlab-runner environment names', () => {
    const env = (flag: string) => entryFlags.find((s) => s.flag === flag)?.env;
    expect(env('kubernetes-namespace')).toBe('KUBERNETES_NAMESPACE');
    expect(env('kubernetes-image')).toBe('KUBERNETES_IMAGE');
    expect(env('kubernetes-context')).toBe('KUBECTL_CONTEXT');
    expect(env('kubernetes-retry-limit')).toBe('KUBERNETES_REQUEST_RETRY_LIMIT');
    expect(env('kubernetes-cpu-limit-overwrite-max-allowed')).toBe(
      'KUBERNETES_CPU_LIMIT_OVERWRITE_MAX_ALLOWED',
    );
    expect(env('limit')).toBe('RUNNER_LIMIT');
    expect(env('env')).toBe('RUNNER_ENV');
    expect(env('cache-s3-access-key')).toBe('CACHE_S3_ACCESS_KEY');
    expect(kubernetesFlags.filter((f) => /_overwrite_max_allowed$/.test(f.path[1]!))).toHaveLength(22);
    expect(runnerFlags.length + kubernetesFlags.length + cacheFlags.length).toBe(entryFlags.length);
    expect(new Set(entryFlags.map((f) => f.flag)).size).toBe(entryFlags.length);
  });

  it('parses values by kind', () => {
    const spec = (flag: string) => entryFlags.find((s) => s.flag === flag)!;
    expect(parseFlagValue(spec('limit'), '3')).toEqual({ value: 3 });
    expect(parseFlagValue(spec('limit'), 'x').error).toContain('--limit expects an integer');
    expect(parseFlagValue(spec('kubernetes-privileged'), true)).toEqual({ value: true });
    expect(parseFlagValue(spec('kubernetes-privileged'), 'false')).toEqual({ value: false });
    expect(parseFlagValue(spec('kubernetes-allowed-images'), 'a:*, b:*')).toEqual({ value: ['a:*', 'b:*'] });
    expect(parseFlagValue(spec('env'), 'A=1,2')).toEqual({ value: ['A=1,2'] });
    expect(parseFlagValue(spec('env'), ['A=1', 'B=2'])).toEqual({ value: ['A=1', 'B=2'] });
  });

  it('a template fills only what flags and env left empty', () => {
    expect(
      mergeUnder(
        { name: 'x', kubernetes: { namespace: 'env' } },
        { name: 'tpl', limit: 2, kubernetes: { namespace: 'tpl', image: 'alpine' } },
      ),
    ).toEqual({ name: 'x', limit: 2, kubernetes: { namespace: 'env', image: 'alpine' } });
  });
});
