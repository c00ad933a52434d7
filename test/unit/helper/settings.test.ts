import { describe, expect, it } from 'vitest';
import { parseHelperSettings, resolveProjectDir } from '../../../helper/contract.ts';
import { parseGoDurationMs, readBuildSettings } from '../../../helper/settings.ts';
import { remoteFromPayload } from '../../../helper/sources/credentials.ts';
import { expandVariables, JobVariables } from '../../../helper/variables.ts';
import { type JobPayload, parseJobPayload } from '../../../src/gitlab/payload.ts';
import { makeJob } from './support/jobs.ts';

function job(variables: Record<string, string> = {}, depth = 20): JobPayload {
  const parsed = parseJobPayload(
    makeJob({
      id: 1,
      token: 't',
      serverUrl: 'https://gitlab.example.com',
      project: 'group/sub/app',
      sha: 'a'.repeat(40),
      variables,
      depth,
    }),
  );
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.job;
}

const helper = (() => {
  const r = parseHelperSettings({
    serverUrl: 'https://gitlab.example.com',
    projectDir: '/builds/group/sub/app',
  });
  if (!r.ok) throw new Error(r.error);
  return r.settings;
})();

describe('build settings from job variables', () => {
  it('has upstream defaults', () => {
    const j = job();
    const s = readBuildSettings(j, new JobVariables(j.variables), helper);
    expect(s).toMatchObject({
      gitStrategy: 'fetch',
      gitCheckout: true,
      gitDepth: 20,
      submoduleStrategy: 'none',
      cleanFlags: ['-ffdx'],
      fetchFlags: ['--prune', '--quiet'],
      getSourcesAttempts: 1,
      artifactDownloadAttempts: 1,
      restoreCacheAttempts: 1,
      cacheCompression: 'zip',
      warnings: [],
    });
    expect(s.featureFlags.FF_USE_DIRECT_DOWNLOAD).toBe(true);
  });

  it('falls back to defaults with upstream warnings for malformed values', () => {
    const j = job({
      GIT_STRATEGY: 'copy',
      GIT_CHECKOUT: 'maybe',
      GET_SOURCES_ATTEMPTS: '11',
      GIT_DEPTH: 'x',
      FF_HASH_CACHE_KEYS: 'yes',
    });
    const s = readBuildSettings(j, new JobVariables(j.variables), helper);
    expect(s.gitStrategy).toBe('fetch');
    expect(s.gitCheckout).toBe(true);
    expect(s.getSourcesAttempts).toBe(1);
    expect(s.warnings).toEqual([
      "GIT_STRATEGY: expected either 'clone', 'fetch', 'none' or 'empty' got \"copy\", using default value 'fetch'",
      'GIT_CHECKOUT: expected bool got "maybe", using default value: true',
      'GET_SOURCES_ATTEMPTS: number of attempts out of the range [1, 10], using default 1',
      'FF_HASH_CACHE_KEYS: could not parse feature flag, expected bool, got yes',
    ]);
  });

  it('turns checkout and submodules off for GIT_STRATEGY none; flags "none" empties; runner flags win', () => {
    const j = job(
      {
        GIT_STRATEGY: 'none',
        GIT_SUBMODULE_STRATEGY: 'recursive',
        GIT_CLEAN_FLAGS: 'none',
        FF_USE_DIRECT_DOWNLOAD: 'true',
      },
      0,
    );
    const s = readBuildSettings(j, new JobVariables(j.variables), {
      ...helper,
      featureFlags: { FF_USE_DIRECT_DOWNLOAD: false },
    });
    expect(s.gitCheckout).toBe(false);
    expect(s.submoduleStrategy).toBe('none');
    expect(s.cleanFlags).toEqual([]);
    expect(s.featureFlags.FF_USE_DIRECT_DOWNLOAD).toBe(false);
  });

  it('parses Go durations', () => {
    expect(parseGoDurationMs('1m30s')).toBe(90_000);
    expect(parseGoDurationMs('500ms')).toBe(500);
    expect(parseGoDurationMs('5')).toBe(5000);
    expect(parseGoDurationMs('soon')).toBeUndefined();
  });
});

describe('variable expansion (Go os.Expand)', () => {
  it('expands $VAR and {VAR} in braces, unknown to empty, keeps a lone $', () => {
    const lookup = (n: string) => ({ A: 'x', B_2: 'y' })[n] ?? '';
    const braced = ['$', '{B_2}'].join('');
    expect(expandVariables(`$A-${braced}-$NOPE-$`, lookup)).toBe('x-y--$');
    expect(expandVariables('cost: $ 5', lookup)).toBe('cost: $ 5');
  });
});

describe('helper.json and the project dir', () => {
  it('names every invalid field', () => {
    const r = parseHelperSettings({
      serverUrl: 'not a url',
      projectDir: 'relative',
      cache: { type: 's3', entries: [{}] },
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toMatch(/serverUrl/);
    expect(r.error).toMatch(/projectDir/);
    expect(r.error).toMatch(/cache\.entries\.0\.key/);
  });

  it('derives CI_PROJECT_DIR like upstream, with GIT_CLONE_PATH inside the builds dir only', () => {
    expect(resolveProjectDir(job(), { buildsDir: '/builds' })).toEqual({
      ok: true,
      dir: '/builds/group/sub/app',
    });
    expect(resolveProjectDir(job({ GIT_STRATEGY: 'empty' }), { buildsDir: '/builds' })).toEqual({
      ok: true,
      dir: '/builds/group/sub/app-empty',
    });
    expect(
      resolveProjectDir(job({ GIT_CLONE_PATH: '$CI_BUILDS_DIR/custom/app' }), { buildsDir: '/builds' }),
    ).toEqual({
      ok: true,
      dir: '/builds/custom/app',
    });
    expect(resolveProjectDir(job({ GIT_CLONE_PATH: '/etc/app' }), { buildsDir: '/builds' })).toEqual({
      ok: false,
      error: 'the GIT_CLONE_PATH="/etc/app" has to be within "/builds"',
    });
    expect(
      resolveProjectDir(job({ GIT_CLONE_PATH: '/builds/x' }), {
        buildsDir: '/builds',
        customBuildDirEnabled: false,
      }).ok,
    ).toBe(false);
  });
});

describe('the remote git fetches from', () => {
  it('drops the credentials of repo_url and applies clone_url', () => {
    const repo = 'https://gitlab-ci-token:glcbt-secret@gitlab.example.com/group/app.git';
    expect(remoteFromPayload(repo)).toEqual({
      url: 'https://gitlab.example.com/group/app.git',
      tokenInUrl: 'glcbt-secret',
    });
    expect(remoteFromPayload(repo, 'http://gitlab.internal:8080/prefix/').url).toBe(
      'http://gitlab.internal:8080/prefix/group/app.git',
    );
  });
});
