// Cache through the real helper program, with URLs pre-signed by `cacheStorageForJob` (what the
// manager will call) against an S3 stand-in that verifies SigV4 signatures, and on a shared volume.
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheStorageForJob, type RunnerCacheConfig } from '../../../helper/cache/presign.ts';
import type { HelperSettingsInput } from '../../../helper/contract.ts';
import { type JobPayloadInput, parseJobPayload } from '../../../src/gitlab/payload.ts';
import { finishedBuild } from './support/build.ts';
import { makeJob } from './support/jobs.ts';
import { helperSettings, type PodDirs, podDirs, runHelper } from './support/run-helper.ts';
import { S3StandIn } from './support/s3-server.ts';

const RUNNER_TOKEN = 'glrt-t3_AbCdEfGhIjKlMnOp';
let s3: S3StandIn;
const pods: PodDirs[] = [];
let nextId = 500;

beforeAll(async () => {
  s3 = await S3StandIn.start();
});
afterAll(async () => {
  for (const p of pods) rmSync(p.root, { recursive: true, force: true });
  await s3.stop();
});

function runnerCache(): RunnerCacheConfig {
  return {
    Type: 's3',
    Path: 'ci-cache',
    Shared: false,
    S3: {
      ServerAddress: s3.address,
      Insecure: true,
      AccessKey: s3.accessKey,
      SecretKey: s3.secretKey,
      BucketName: s3.bucket,
      BucketLocation: s3.region,
    },
  };
}

function newPod(): { dirs: PodDirs; projectDir: string } {
  const dirs = podDirs();
  pods.push(dirs);
  const projectDir = path.join(dirs.buildsDir, 'group/app');
  mkdirSync(projectDir, { recursive: true });
  return { dirs, projectDir };
}

function cacheJob(cache: JobPayloadInput['cache']): JobPayloadInput {
  const id = nextId++;
  return makeJob({
    id,
    token: `glcbt-cache-${id}-${randomBytes(6).toString('hex')}`,
    serverUrl: 'http://127.0.0.1:9',
    project: 'group/app',
    sha: 'e'.repeat(40),
    variables: { GIT_STRATEGY: 'none' },
    cache,
  });
}

/** What the manager will write into helper.json for this job. */
function settingsFor(
  dirs: PodDirs,
  projectDir: string,
  job: JobPayloadInput,
  config = runnerCache(),
): HelperSettingsInput {
  const parsed = parseJobPayload(job);
  if (!parsed.ok) throw new Error(parsed.error);
  const { storage, warnings } = cacheStorageForJob(parsed.job, { cache: config, runnerToken: RUNNER_TOKEN });
  expect(warnings).toEqual([]);
  return helperSettings(dirs, { serverUrl: 'http://127.0.0.1:9', projectDir, cache: storage });
}

const deps = (key: string, extra: Partial<NonNullable<JobPayloadInput['cache']>[number]> = {}) => [
  {
    key,
    paths: ['node_modules/', 'vendor/*.txt'],
    untracked: false,
    policy: 'pull-push' as const,
    when: 'on_success' as const,
    fallback_keys: [],
    ...extra,
  },
];

describe('cache', () => {
  it('round trip between two pipelines with pull-push, stored where upstream stores it', async () => {
    const one = newPod();
    const job1 = cacheJob(deps('deps-protected'));
    const settings1 = settingsFor(one.dirs, one.projectDir, job1);
    const restore1 = await runHelper('prepare', one.dirs, job1, settings1);
    expect(restore1.code, restore1.output).toBe(0);
    expect(restore1.output).toMatch(
      /section_start:\d+:restore_cache\r\x1b\[0K\x1b\[0K\x1b\[36;1mRestoring cache/,
    );
    expect(restore1.output).toContain('\x1b[32;1mChecking cache for deps-protected...\x1b[0;m');
    expect(restore1.output).toContain('WARNING: file does not exist');
    expect(restore1.output).toContain('\x1b[0;33mFailed to extract cache\x1b[0;m');

    const blob = randomBytes(70_000);
    mkdirSync(path.join(one.projectDir, 'node_modules/pkg'), { recursive: true });
    writeFileSync(path.join(one.projectDir, 'node_modules/pkg/index.js'), 'module.exports = 1;\n');
    writeFileSync(path.join(one.projectDir, 'node_modules/pkg/blob.bin'), blob);
    mkdirSync(path.join(one.projectDir, 'vendor'));
    writeFileSync(path.join(one.projectDir, 'vendor/a.txt'), 'a\n');
    writeFileSync(path.join(one.projectDir, 'vendor/b.md'), 'not cached\n');
    finishedBuild(one.dirs.statusDir, 0);
    const save = await runHelper('upload', one.dirs, job1, settings1);
    expect(save.code, save.output).toBe(0);
    expect(save.output).toMatch(
      /section_start:\d+:archive_cache\r\x1b\[0K\x1b\[0K\x1b\[36;1mSaving cache for successful job/,
    );
    expect(save.output).toContain('Creating cache deps-protected...');
    const objectName = 'ci-cache/runner/AbCdEfGhI/project/42/deps-protected';
    expect(save.output).toContain(`Uploading cache.zip to ${s3.url}/${s3.bucket}/${objectName}`);
    expect(save.output).not.toMatch(/X-Amz-Signature/i);
    expect(save.output).toContain('\x1b[32;1mCreated cache\x1b[0;m');
    expect([...s3.objects.keys()]).toContain(objectName);
    expect(s3.objects.get(objectName)?.metadata).toEqual({ cachekey: 'deps-protected' });

    const two = newPod();
    const job2 = cacheJob(deps('deps-protected'));
    const restore2 = await runHelper('prepare', two.dirs, job2, settingsFor(two.dirs, two.projectDir, job2));
    expect(restore2.code, restore2.output).toBe(0);
    expect(restore2.output).toMatch(
      /Downloading cache from http:\/\/127\.0\.0\.1:\d+\/runner-cache\/ci-cache\/runner\/AbCdEfGhI\/project\/42\/deps-protected\s*\x1b\[0;m {2}ETag/,
    );
    expect(restore2.output).toContain('Successfully extracted cache');
    expect(readFileSync(path.join(two.projectDir, 'node_modules/pkg/blob.bin')).equals(blob)).toBe(true);
    expect(readFileSync(path.join(two.projectDir, 'vendor/a.txt'), 'utf8')).toBe('a\n');
    expect(existsSync(path.join(two.projectDir, 'vendor/b.md'))).toBe(false);
  });

  it('never uploads with policy pull', async () => {
    const p = newPod();
    const job = cacheJob(deps('pull-only', { policy: 'pull' }));
    const settings = settingsFor(p.dirs, p.projectDir, job);
    expect(JSON.stringify(settings.cache)).not.toContain('putUrl');
    mkdirSync(path.join(p.projectDir, 'node_modules'));
    writeFileSync(path.join(p.projectDir, 'node_modules/x.js'), 'x');
    finishedBuild(p.dirs.statusDir, 0);
    const before = s3.requests.length;
    const run = await runHelper('upload', p.dirs, job, settings);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('Not uploading cache pull-only due to policy');
    expect(s3.requests.slice(before).filter((r) => r.method === 'PUT')).toEqual([]);
    expect([...s3.objects.keys()].some((k) => k.endsWith('/pull-only'))).toBe(false);
  });

  it('uses the first fallback key that exists when the main key is missing', async () => {
    const seed = newPod();
    const seedJob = cacheJob(deps('main-protected'));
    const seedSettings = settingsFor(seed.dirs, seed.projectDir, seedJob);
    mkdirSync(path.join(seed.projectDir, 'node_modules'));
    writeFileSync(path.join(seed.projectDir, 'node_modules/from-main.js'), 'main');
    finishedBuild(seed.dirs.statusDir, 0);
    expect((await runHelper('upload', seed.dirs, seedJob, seedSettings)).code).toBe(0);

    const p = newPod();
    const job = cacheJob(deps('feature-x-protected', { fallback_keys: ['nothing-here', 'main-protected'] }));
    const run = await runHelper('prepare', p.dirs, job, settingsFor(p.dirs, p.projectDir, job));
    expect(run.code, run.output).toBe(0);
    const order = [
      'Checking cache for feature-x-protected...',
      'Checking cache for nothing-here...',
      'Checking cache for main-protected...',
      'Successfully extracted cache',
    ];
    let at = 0;
    for (const line of order) {
      const found = run.output.indexOf(line, at);
      expect(found, line).toBeGreaterThanOrEqual(at);
      at = found;
    }
    expect(readFileSync(path.join(p.projectDir, 'node_modules/from-main.js'), 'utf8')).toBe('main');
  });

  it('warns about a corrupt cache archive and leaves none of it behind', async () => {
    const p = newPod();
    const job = cacheJob(deps('corrupt-protected'));
    const settings = settingsFor(p.dirs, p.projectDir, job);
    s3.objects.set('ci-cache/runner/AbCdEfGhI/project/42/corrupt-protected', {
      data: Buffer.concat([Buffer.from('PK\x03\x04'), randomBytes(500)]),
      lastModified: new Date(),
      etag: '"x"',
      metadata: {},
    });
    mkdirSync(path.join(p.projectDir, 'node_modules'));
    writeFileSync(path.join(p.projectDir, 'node_modules/stale.js'), 'stale');
    const run = await runHelper('prepare', p.dirs, job, settings);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/WARNING: corrupt zip archive/);
    expect(run.output).toContain('Failed to extract cache');
    expect(existsSync(path.join(p.projectDir, 'node_modules'))).toBe(false);
  });

  it('retries a cache upload whose connection drops; when every try drops the job still succeeds without a cache', async () => {
    for (const drops of [1, 3]) {
      const p = newPod();
      const key = `drop-${drops}-protected`;
      const job = cacheJob(deps(key));
      const settings = settingsFor(p.dirs, p.projectDir, job);
      mkdirSync(path.join(p.projectDir, 'node_modules'));
      writeFileSync(path.join(p.projectDir, 'node_modules/big.bin'), randomBytes(200_000));
      finishedBuild(p.dirs.statusDir, 0);
      s3.dropPut = { bytes: 50_000, times: drops };
      const run = await runHelper('upload', p.dirs, job, settings);
      s3.dropPut = undefined;
      expect(run.code, run.output).toBe(0);
      const stored = [...s3.objects.keys()].some((k) => k.endsWith(`/${key}`));
      if (drops === 1) {
        expect(run.output).toContain('Created cache');
        expect(stored).toBe(true);
      } else {
        expect(run.output).toMatch(/FATAL: the connection broke during the cache upload/);
        expect(run.output).toContain('Failed to create cache');
        expect(stored).toBe(false);
      }
    }
  });

  it('refuses URLs signed with another secret (the stand-in really checks signatures)', async () => {
    const p = newPod();
    const job = cacheJob(deps('wrong-secret'));
    const config = runnerCache();
    config.S3!.SecretKey = 'not-the-secret';
    const settings = settingsFor(p.dirs, p.projectDir, job, config);
    mkdirSync(path.join(p.projectDir, 'node_modules'));
    writeFileSync(path.join(p.projectDir, 'node_modules/x.js'), 'x');
    finishedBuild(p.dirs.statusDir, 0);
    const run = await runHelper('upload', p.dirs, job, settings);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/received: 403\. Request failed with code: SignatureDoesNotMatch/);
    expect(run.output).toContain('Failed to create cache');
  });

  it('keeps caches on a shared volume as <dir>/<key>/cache.zip, tar.gz when asked', async () => {
    const volume = mkdtempSync(path.join(tmpdir(), 'cache-volume-'));
    try {
      for (const format of ['zip', 'targz']) {
        const one = newPod();
        const job1 = cacheJob(deps(`vol-${format}`));
        job1.variables!.push({ key: 'CACHE_COMPRESSION_FORMAT', value: format, public: true, masked: false });
        const settings1 = helperSettings(one.dirs, {
          serverUrl: 'http://127.0.0.1:9',
          projectDir: one.projectDir,
          cache: { type: 'volume', path: volume },
        });
        mkdirSync(path.join(one.projectDir, 'node_modules/a'), { recursive: true });
        writeFileSync(path.join(one.projectDir, 'node_modules/a/x.js'), `x-${format}`);
        finishedBuild(one.dirs.statusDir, 0);
        const save = await runHelper('upload', one.dirs, job1, settings1);
        expect(save.code, save.output).toBe(0);
        expect(readdirSync(path.join(volume, `vol-${format}`))).toEqual(['cache.zip']);
        const magic = readFileSync(path.join(volume, `vol-${format}`, 'cache.zip'))
          .subarray(0, 2)
          .toString('hex');
        expect(magic).toBe(format === 'zip' ? '504b' : '1f8b');

        const two = newPod();
        const job2 = cacheJob(deps(`vol-${format}`));
        const settings2 = helperSettings(two.dirs, {
          serverUrl: 'http://127.0.0.1:9',
          projectDir: two.projectDir,
          cache: { type: 'volume', path: volume },
        });
        const restore = await runHelper('prepare', two.dirs, job2, settings2);
        expect(restore.code, restore.output).toBe(0);
        expect(restore.output).toContain('Successfully extracted cache');
        expect(readFileSync(path.join(two.projectDir, 'node_modules/a/x.js'), 'utf8')).toBe(`x-${format}`);
      }
    } finally {
      rmSync(volume, { recursive: true, force: true });
    }
  });
});
