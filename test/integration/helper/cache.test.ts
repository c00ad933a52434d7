// Cache through the real helper program in real pipelines of the embedded GitLab: GitLab computes the
// cache keys (with `-protected`, fallback keys), the pod's helper.json carries URLs pre-signed by
// `cacheStorageForJob` (what the manager calls) for an S3 stand-in that verifies SigV4 signatures, or
// a shared cache volume.
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
import type { RunnerCacheConfig } from '../../../helper/cache/presign.ts';
import { shortenToken } from '../../../helper/http/client.ts';
import type { JobPod, PodOptions } from './support/pod.ts';
import { S3StandIn } from './support/s3-server.ts';
import { type HelperTarget, startTarget, type TargetProject } from './support/target.ts';

let target: HelperTarget;
let s3: S3StandIn;
const pods: JobPod[] = [];
let projects = 0;

beforeAll(async () => {
  target = await startTarget();
  s3 = await S3StandIn.start();
});
afterAll(async () => {
  for (const p of pods) rmSync(p.dirs.root, { recursive: true, force: true });
  await s3.stop();
  await target.stop();
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

async function project(yaml: string): Promise<TargetProject> {
  projects += 1;
  return await target.project(`group/cache${projects}`, {
    '.gitlab-ci.yml': `variables: { GIT_STRATEGY: none }\n${yaml}`,
  });
}

async function next(p: TargetProject, name: string, options: PodOptions = {}): Promise<JobPod> {
  const pod = await p.next(name, { cache: { config: runnerCache() }, ...options });
  pods.push(pod);
  return pod;
}

/** Where upstream (and podrunner) keeps a key of this project's runner in the bucket. */
function objectName(p: TargetProject, key: string): string {
  return `ci-cache/runner/${shortenToken(p.runnerToken)}/project/${p.id}/${key}`;
}

const DEPS = 'cache: { key: deps, paths: [node_modules/, "vendor/*.txt"] }';

describe('cache', () => {
  it('round trip between two pipelines with pull-push, stored where upstream stores it', async () => {
    const app = await project(`install: { script: [npm ci], ${DEPS} }\n`);
    await app.pipeline();
    const one = await next(app, 'install');
    expect(one.job.payload.cache).toEqual([
      expect.objectContaining({ key: 'deps-protected', policy: 'pull-push', when: 'on_success' }),
    ]);
    const restore1 = await one.prepare();
    expect(restore1.code, restore1.output).toBe(0);
    expect(restore1.output).toMatch(
      /section_start:\d+:restore_cache\r\x1b\[0K\x1b\[0K\x1b\[36;1mRestoring cache/,
    );
    expect(restore1.output).toContain('\x1b[32;1mChecking cache for deps-protected...\x1b[0;m');
    expect(restore1.output).toContain('WARNING: file does not exist');
    expect(restore1.output).toContain('\x1b[0;33mFailed to extract cache\x1b[0;m');

    const blob = randomBytes(70_000);
    const save = await one.build((dir) => {
      mkdirSync(path.join(dir, 'node_modules/pkg'), { recursive: true });
      writeFileSync(path.join(dir, 'node_modules/pkg/index.js'), 'module.exports = 1;\n');
      writeFileSync(path.join(dir, 'node_modules/pkg/blob.bin'), blob);
      mkdirSync(path.join(dir, 'vendor'));
      writeFileSync(path.join(dir, 'vendor/a.txt'), 'a\n');
      writeFileSync(path.join(dir, 'vendor/b.md'), 'not cached\n');
    }, 0);
    expect(save?.code, save?.output).toBe(0);
    expect(save?.output).toMatch(
      /section_start:\d+:archive_cache\r\x1b\[0K\x1b\[0K\x1b\[36;1mSaving cache for successful job/,
    );
    expect(save?.output).toContain('Creating cache deps-protected...');
    const name = objectName(app, 'deps-protected');
    expect(save?.output).toContain(`Uploading cache.zip to ${s3.url}/${s3.bucket}/${name}`);
    expect(save?.output).not.toMatch(/X-Amz-Signature/i);
    expect(save?.output).toContain('\x1b[32;1mCreated cache\x1b[0;m');
    expect(s3.objects.get(name)?.metadata).toEqual({ cachekey: 'deps-protected' });
    expect(await one.finish(app.runner)).toBe('success');

    // The next pipeline's job restores it.
    await app.pipeline();
    const two = await next(app, 'install');
    const restore2 = await two.prepare();
    expect(restore2.code, restore2.output).toBe(0);
    expect(restore2.output).toContain(`Downloading cache from ${s3.url}/${s3.bucket}/${name}`);
    expect(restore2.output).toContain('Successfully extracted cache');
    expect(readFileSync(path.join(two.projectDir, 'node_modules/pkg/blob.bin')).equals(blob)).toBe(true);
    expect(readFileSync(path.join(two.projectDir, 'vendor/a.txt'), 'utf8')).toBe('a\n');
    expect(existsSync(path.join(two.projectDir, 'vendor/b.md'))).toBe(false);
    await two.build(() => {}, 0);
    expect(await two.finish(app.runner)).toBe('success');
  });

  it('never uploads with policy pull', async () => {
    const app = await project(
      'lint: { script: [lint], cache: { key: deps, paths: [node_modules/], policy: pull } }\n',
    );
    await app.pipeline();
    const pod = await next(app, 'lint');
    expect(pod.job.payload.cache[0]?.policy).toBe('pull');
    expect(JSON.stringify(pod.settings.cache)).not.toContain('putUrl');
    expect((await pod.prepare()).code).toBe(0);
    const before = s3.requests.length;
    const run = await pod.build((dir) => {
      mkdirSync(path.join(dir, 'node_modules'));
      writeFileSync(path.join(dir, 'node_modules/x.js'), 'x');
    }, 0);
    expect(run?.code, run?.output).toBe(0);
    expect(run?.output).toContain('Not uploading cache deps-protected due to policy');
    expect(s3.requests.slice(before)).toEqual([]);
    expect(s3.objects.has(objectName(app, 'deps-protected'))).toBe(false);
    expect(await pod.finish(app.runner)).toBe('success');
  });

  it('uses the first fallback key that exists when the main key is missing', async () => {
    const app = await project(`stages: [seed, use]
seed: { stage: seed, script: [make], cache: { key: main, paths: [node_modules/], policy: push } }
use:
  stage: use
  script: [make]
  cache: { key: feature-x, paths: [node_modules/], fallback_keys: [nothing-here, main] }
`);
    await app.pipeline();
    const seed = await next(app, 'seed');
    expect((await seed.prepare()).output).not.toContain('Checking cache');
    const save = await seed.build((dir) => {
      mkdirSync(path.join(dir, 'node_modules'));
      writeFileSync(path.join(dir, 'node_modules/from-main.js'), 'main');
    }, 0);
    expect(save?.output).toContain('Created cache');
    await seed.finish(app.runner);

    const use = await next(app, 'use');
    expect(use.job.payload.cache[0]).toMatchObject({
      key: 'feature-x-protected',
      fallback_keys: ['nothing-here-protected', 'main-protected'],
    });
    const run = await use.prepare();
    expect(run.code, run.output).toBe(0);
    const order = [
      'Checking cache for feature-x-protected...',
      'Checking cache for nothing-here-protected...',
      'Checking cache for main-protected...',
      'Successfully extracted cache',
    ];
    let at = 0;
    for (const line of order) {
      const found = run.output.indexOf(line, at);
      expect(found, line).toBeGreaterThanOrEqual(at);
      at = found;
    }
    expect(readFileSync(path.join(use.projectDir, 'node_modules/from-main.js'), 'utf8')).toBe('main');
    await use.build(() => {}, 0);
    expect(await use.finish(app.runner)).toBe('success');
  });

  it('warns about a corrupt cache archive and leaves none of it behind', async () => {
    const app = await project(`install: { script: [npm ci], ${DEPS} }\n`);
    await app.pipeline();
    const pod = await next(app, 'install');
    s3.objects.set(objectName(app, 'deps-protected'), {
      data: Buffer.concat([Buffer.from('PK\x03\x04'), randomBytes(500)]),
      lastModified: new Date(),
      etag: '"x"',
      metadata: {},
    });
    mkdirSync(path.join(pod.projectDir, 'node_modules'), { recursive: true });
    writeFileSync(path.join(pod.projectDir, 'node_modules/stale.js'), 'stale');
    const run = await pod.prepare();
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/WARNING: corrupt zip archive/);
    expect(run.output).toContain('Failed to extract cache');
    expect(existsSync(path.join(pod.projectDir, 'node_modules'))).toBe(false);
    await pod.build(() => {}, 0);
    await pod.finish(app.runner);
  });

  it('retries a cache upload whose connection drops; when every try drops the job still succeeds without a cache', async () => {
    const app = await project(`install: { script: [npm ci], ${DEPS} }\n`);
    const name = objectName(app, 'deps-protected');
    for (const drops of [1, 3]) {
      s3.objects.delete(name);
      await app.pipeline();
      const pod = await next(app, 'install');
      expect((await pod.prepare()).code).toBe(0);
      s3.dropPut = { bytes: 50_000, times: drops };
      const run = await pod.build((dir) => {
        mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
        writeFileSync(path.join(dir, 'node_modules/big.bin'), randomBytes(200_000));
      }, 0);
      s3.dropPut = undefined;
      expect(run?.code, run?.output).toBe(0);
      if (drops === 1) {
        expect(run?.output).toContain('Created cache');
        expect(s3.objects.has(name)).toBe(true);
      } else {
        expect(run?.output).toMatch(/FATAL: the connection broke during the cache upload/);
        expect(run?.output).toContain('Failed to create cache');
        expect(s3.objects.has(name)).toBe(false);
      }
      expect(await pod.finish(app.runner)).toBe('success');
    }
  });

  it('refuses URLs signed with another secret (the stand-in really checks signatures)', async () => {
    const app = await project(`install: { script: [npm ci], ${DEPS} }\n`);
    await app.pipeline();
    const config = runnerCache();
    if (config.S3) config.S3.SecretKey = 'not-the-secret';
    const pod = await next(app, 'install', { cache: { config } });
    expect((await pod.prepare()).code).toBe(0);
    const run = await pod.build((dir) => {
      mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
      writeFileSync(path.join(dir, 'node_modules/x.js'), 'x');
    }, 0);
    expect(run?.code, run?.output).toBe(0);
    expect(run?.output).toMatch(/received: 403\. Request failed with code: SignatureDoesNotMatch/);
    expect(run?.output).toContain('Failed to create cache');
    await pod.finish(app.runner);
  });

  it('keeps caches on a shared volume as <cache_dir>/<project>/<key>/cache.zip, tar.gz when asked', async () => {
    const volume = mkdtempSync(path.join(tmpdir(), 'cache-volume-'));
    try {
      const app = await project(`install: { script: [npm ci], ${DEPS} }\n`);
      for (const format of ['zip', 'targz']) {
        await app.pipeline({ CACHE_COMPRESSION_FORMAT: format });
        const one = await next(app, 'install', { cache: { volume } });
        expect((await one.prepare()).code).toBe(0);
        const save = await one.build((dir) => {
          mkdirSync(path.join(dir, 'node_modules/a'), { recursive: true });
          writeFileSync(path.join(dir, 'node_modules/a/x.js'), `x-${format}`);
        }, 0);
        expect(save?.code, save?.output).toBe(0);
        const keyDir = path.join(volume, app.path, 'deps-protected');
        expect(readdirSync(keyDir)).toEqual(['cache.zip']);
        const magic = readFileSync(path.join(keyDir, 'cache.zip')).subarray(0, 2).toString('hex');
        expect(magic).toBe(format === 'zip' ? '504b' : '1f8b');
        await one.finish(app.runner);

        await app.pipeline({ CACHE_COMPRESSION_FORMAT: format });
        const two = await next(app, 'install', { cache: { volume } });
        const restore = await two.prepare();
        expect(restore.code, restore.output).toBe(0);
        expect(restore.output).toContain('Successfully extracted cache');
        expect(readFileSync(path.join(two.projectDir, 'node_modules/a/x.js'), 'utf8')).toBe(`x-${format}`);
        await two.build(() => {}, 0);
        await two.finish(app.runner);
      }
    } finally {
      rmSync(volume, { recursive: true, force: true });
    }
  });
});
