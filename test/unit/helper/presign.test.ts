import { describe, expect, it } from 'vitest';
import {
  cacheObjectName,
  cacheStorageForJob,
  presignS3Url,
  s3Endpoint,
} from '../../../helper/cache/presign.ts';
import { helperSettingsSchema } from '../../../helper/contract.ts';
import { parseJobPayload } from '../../../src/gitlab/payload.ts';
import { makeJob } from './support/jobs.ts';

const AWS_EXAMPLE = {
  AccessKey: 'AKIAIOSFODNN7EXAMPLE',
  SecretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  BucketName: 'examplebucket',
  BucketLocation: 'us-east-1',
};

describe('presignS3Url', () => {
  it('matches the presigned GET example of the AWS SigV4 query-authentication documentation', () => {
    const { url } = presignS3Url(AWS_EXAMPLE, 'GET', 'test.txt', {
      expiresSeconds: 86400,
      now: new Date('2013-05-24T00:00:00Z'),
    });
    const u = new URL(url);
    expect(`${u.origin}${u.pathname}`).toBe('https://examplebucket.s3.amazonaws.com/test.txt');
    expect(u.searchParams.get('X-Amz-Credential')).toBe(
      'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request',
    );
    expect(u.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
    expect(u.searchParams.get('X-Amz-Signature')).toBe(
      'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
    );
  });

  it('uses path style for custom endpoints, drops canonical ports, signs extra headers and session tokens', () => {
    const s3 = { ...AWS_EXAMPLE, ServerAddress: 'minio.local:80', Insecure: true, SessionToken: 'tok' };
    expect(s3Endpoint(s3)).toEqual({ protocol: 'http:', host: 'minio.local', pathStyle: true });
    const put = presignS3Url(s3, 'PUT', 'ci/runner/abc/project/1/my key', {
      expiresSeconds: 10_000_000,
      headers: { 'x-amz-meta-cachekey': 'my key' },
    });
    const u = new URL(put.url);
    expect(u.pathname).toBe('/examplebucket/ci/runner/abc/project/1/my%20key');
    expect(u.searchParams.get('X-Amz-SignedHeaders')).toBe('host;x-amz-meta-cachekey');
    expect(u.searchParams.get('X-Amz-Security-Token')).toBe('tok');
    expect(u.searchParams.get('X-Amz-Expires')).toBe('604800');
    expect(put.headers).toEqual({ 'x-amz-meta-cachekey': 'my key' });
  });

  it('refuses to sign without keys (IAM) or bucket', () => {
    expect(() => presignS3Url({ BucketName: 'b' }, 'GET', 'k', { expiresSeconds: 1 })).toThrow(
      /AccessKey and SecretKey/,
    );
    expect(() => presignS3Url({ AccessKey: 'a', SecretKey: 's' }, 'GET', 'k', { expiresSeconds: 1 })).toThrow(
      /BucketName/,
    );
  });
});

describe('cacheObjectName', () => {
  it('lays objects out like upstream', () => {
    const base = { runnerToken: 'glrt-t1_0123456789abc', projectId: 7, key: 'deps' };
    expect(cacheObjectName({ ...base, path: 'cache' })).toBe('cache/runner/012345678/project/7/deps');
    expect(cacheObjectName({ ...base, shared: true })).toBe('project/7/deps');
    expect(cacheObjectName({ ...base, key: '../../8/deps' })).toBeNull();
  });
});

describe('cacheStorageForJob', () => {
  const job = () => {
    const input = makeJob({
      id: 1,
      token: 'glcbt-x',
      serverUrl: 'https://gitlab.example.com',
      project: 'g/p',
      sha: 'a'.repeat(40),
      variables: { CACHE_FALLBACK_KEY: 'global-fallback' },
      cache: [
        {
          key: 'deps-$CI_COMMIT_REF_NAME',
          paths: ['node_modules/'],
          policy: 'pull-push',
          fallback_keys: ['deps-main'],
        },
        { key: 'ro', paths: ['x/'], policy: 'pull' },
        { key: 'nothing', paths: [] },
      ],
    });
    const parsed = parseJobPayload(input);
    if (!parsed.ok) throw new Error(parsed.error);
    return parsed.job;
  };
  const cache = {
    Type: 's3',
    S3: { ServerAddress: 's3.local:9000', AccessKey: 'a', SecretKey: 's', BucketName: 'b', Insecure: true },
  };

  it('signs GET/HEAD for every key and PUT only for keys a job may push, valid through the job timeout', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const { storage, warnings } = cacheStorageForJob(job(), { cache, runnerToken: 'glrt-abcdefghijk', now });
    expect(warnings).toEqual([]);
    expect(storage.type).toBe('s3');
    if (storage.type !== 's3') return;
    expect(storage.entries.map((e) => [e.key, e.objectName, Boolean(e.putUrl)])).toEqual([
      ['deps-main', 'runner/abcdefghi/project/42/deps-main', true],
      ['global-fallback', 'runner/abcdefghi/project/42/global-fallback', false],
      ['ro', 'runner/abcdefghi/project/42/ro', false],
    ]);
    expect(new URL(storage.entries[0]!.getUrl).searchParams.get('X-Amz-Expires')).toBe(String(3600 + 3600));
    expect(storage.entries[0]!.putHeaders).toEqual({ 'x-amz-meta-cachekey': 'deps-main' });
    // The manager validates what it writes with the same schema the helper reads.
    expect(
      helperSettingsSchema.safeParse({
        serverUrl: 'https://gitlab.example.com',
        projectDir: '/builds/g/p',
        cache: storage,
      }).success,
    ).toBe(true);
  });

  it('explains unsupported cache types instead of failing', () => {
    expect(cacheStorageForJob(job(), { cache: { Type: 'gcs' }, runnerToken: 't' })).toEqual({
      storage: { type: 'none' },
      warnings: ['cache type "gcs" is not supported by podrunner: the job runs without a shared cache'],
    });
    expect(cacheStorageForJob(job(), { cache: undefined, runnerToken: 't' }).storage).toEqual({
      type: 'none',
    });
    const iam = cacheStorageForJob(job(), {
      cache: { Type: 's3', S3: { BucketName: 'b' } },
      runnerToken: 't',
    });
    expect(iam.warnings[0]).toMatch(/AccessKey and SecretKey/);
  });
});
