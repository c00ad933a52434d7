// The manager's half of the distributed cache: from `[runners.cache]` / `[runners.cache.s3]` of
// config.toml and a job payload, the pre-signed S3 URLs (AWS Signature V4, query form) the helper
// uses, laid out like upstream (cache/cache.go): `<Path>/runner/<short token>/project/<id>/<key>`,
// without `runner/<short token>` when `Shared = true`. Pure apart from the clock (`now`).
import path from 'node:path';
import aws4 from 'aws4';
import type { JobPayload } from '../../src/gitlab/payload.ts';
import type { CacheStorage, S3CacheEntry } from '../contract.ts';
import { shortenToken } from '../http/client.ts';
import { type CacheKey, resolveJobCaches } from './keys.ts';

/** `[runners.cache.s3]` with config.toml's key names. */
export interface S3CacheConfig {
  ServerAddress?: string;
  AccessKey?: string;
  SecretKey?: string;
  SessionToken?: string;
  BucketName?: string;
  BucketLocation?: string;
  Insecure?: boolean;
  /** Unset: path style for any endpoint but AWS's own (upstream's auto-detection). */
  PathStyle?: boolean;
  AuthenticationType?: string;
  ServerSideEncryption?: string;
  ServerSideEncryptionKeyID?: string;
}

/** `[runners.cache]` with config.toml's key names. */
export interface RunnerCacheConfig {
  Type?: string;
  Path?: string;
  Shared?: boolean;
  MaxUploadedArchiveSize?: number;
  S3?: S3CacheConfig;
}

export type PresignMethod = 'GET' | 'HEAD' | 'PUT';

export interface PresignedUrl {
  url: string;
  /** Headers signed into the URL: the request must send them as they are. */
  headers: Record<string, string>;
}

export const MAX_PRESIGN_SECONDS = 604_800;
const AWS_ENDPOINT = 's3.amazonaws.com';

function rfc3986(segment: string): string {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Scheme, host and whether the bucket goes into the path, as upstream's S3 client would choose. */
export function s3Endpoint(s3: S3CacheConfig): {
  protocol: 'http:' | 'https:';
  host: string;
  pathStyle: boolean;
} {
  const bucket = s3.BucketName ?? '';
  const protocol = s3.Insecure ? 'http:' : 'https:';
  const region = s3.BucketLocation || 'us-east-1';
  let host: string;
  let custom = false;
  if (s3.ServerAddress && s3.ServerAddress !== AWS_ENDPOINT) {
    custom = true;
    host = s3.ServerAddress;
    // Omit canonical ports, as upstream's GetEndpoint.
    if ((protocol === 'https:' && host.endsWith(':443')) || (protocol === 'http:' && host.endsWith(':80'))) {
      host = host.replace(/:\d+$/, '');
    }
  } else {
    host = region === 'us-east-1' ? AWS_ENDPOINT : `s3.${region}.amazonaws.com`;
  }
  const virtualOk = !custom && /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket);
  const pathStyle = s3.PathStyle ?? !virtualOk;
  return { protocol, host: pathStyle ? host : `${bucket}.${host}`, pathStyle };
}

/**
 * One pre-signed URL (SigV4 query signing, `UNSIGNED-PAYLOAD`). `headers` are signed too and must be
 * sent with the request (e.g. `x-amz-meta-cachekey`, server-side encryption).
 */
export function presignS3Url(
  s3: S3CacheConfig,
  method: PresignMethod,
  objectName: string,
  options: { expiresSeconds: number; now?: Date; headers?: Record<string, string> },
): PresignedUrl {
  if (!s3.BucketName) throw new Error('[runners.cache.s3] BucketName is empty');
  if (!s3.AccessKey || !s3.SecretKey) {
    throw new Error(
      '[runners.cache.s3] needs AccessKey and SecretKey to pre-sign URLs (IAM credentials are not supported)',
    );
  }
  const endpoint = s3Endpoint(s3);
  const key = objectName.replace(/^\/+/, '').split('/').map(rfc3986).join('/');
  const basePath = endpoint.pathStyle ? `/${rfc3986(s3.BucketName)}/${key}` : `/${key}`;
  const expires = Math.max(1, Math.min(MAX_PRESIGN_SECONDS, Math.floor(options.expiresSeconds)));
  const date = (options.now ?? new Date()).toISOString().replace(/[:-]|\.\d{3}/g, '');
  const headers = { ...(options.headers ?? {}) };
  const signed = aws4.sign(
    {
      service: 's3',
      region: s3.BucketLocation || 'us-east-1',
      method,
      host: endpoint.host,
      path: `${basePath}?X-Amz-Expires=${expires}&X-Amz-Date=${date}`,
      headers: { ...headers },
      signQuery: true,
    },
    {
      accessKeyId: s3.AccessKey,
      secretAccessKey: s3.SecretKey,
      ...(s3.SessionToken ? { sessionToken: s3.SessionToken } : {}),
    },
  );
  return { url: `${endpoint.protocol}//${endpoint.host}${signed.path}`, headers };
}

/** The object name of a cache key, or null when the key would leave the project's prefix. */
export function cacheObjectName(options: {
  path?: string;
  shared?: boolean;
  runnerToken: string;
  projectId: number;
  key: string;
}): string | null {
  const namespace = options.shared ? '' : path.posix.join('runner', shortenToken(options.runnerToken));
  const base = path.posix.join(options.path ?? '', namespace, 'project', String(options.projectId));
  const full = path.posix.join(base, options.key);
  if (!full.startsWith(`${base}/`)) return null;
  return full.replace(/^\/+/, '');
}

function serverSideEncryptionHeaders(s3: S3CacheConfig): Record<string, string> {
  switch ((s3.ServerSideEncryption ?? '').toUpperCase()) {
    case 'S3':
    case 'AES256':
      return { 'x-amz-server-side-encryption': 'AES256' };
    case 'KMS':
    case 'AWS:KMS':
      return {
        'x-amz-server-side-encryption': 'aws:kms',
        ...(s3.ServerSideEncryptionKeyID
          ? { 'x-amz-server-side-encryption-aws-kms-key-id': s3.ServerSideEncryptionKeyID }
          : {}),
      };
    case 'DSSE-KMS':
    case 'AWS:KMS:DSSE':
      return {
        'x-amz-server-side-encryption': 'aws:kms:dsse',
        ...(s3.ServerSideEncryptionKeyID
          ? { 'x-amz-server-side-encryption-aws-kms-key-id': s3.ServerSideEncryptionKeyID }
          : {}),
      };
    default:
      return {};
  }
}

/**
 * `helper.json`'s `cache` for a job: for every cache of the payload, GET and HEAD URLs for its key and
 * each fallback key, and a PUT URL for its key. URLs stay valid for the job timeout plus an hour
 * (capped at S3's 7 days), so the upload at the end of a long job still works.
 */
export function cacheStorageForJob(
  job: Pick<JobPayload, 'cache' | 'variables' | 'job_info' | 'git_info' | 'runner_info'>,
  options: {
    cache: RunnerCacheConfig | undefined;
    runnerToken: string;
    /** The runner's `[runners.feature_flags]` FF_HASH_CACHE_KEYS (the job's variable applies otherwise). */
    hashCacheKeys?: boolean;
    now?: Date;
    expiresSeconds?: number;
  },
): { storage: CacheStorage; warnings: string[] } {
  const warnings: string[] = [];
  const config = options.cache;
  if (!config?.Type) return { storage: { type: 'none' }, warnings };
  if (config.Type.toLowerCase() !== 's3') {
    warnings.push(
      `cache type ${JSON.stringify(config.Type)} is not supported by podrunner: the job runs without a shared cache`,
    );
    return { storage: { type: 'none' }, warnings };
  }
  if (!config.S3) {
    warnings.push(
      '[runners.cache] Type = "s3" needs a [runners.cache.s3] section: the job runs without a shared cache',
    );
    return { storage: { type: 'none' }, warnings };
  }
  const jobFlag = job.variables.findLast((v) => v.key === 'FF_HASH_CACHE_KEYS')?.value;
  const hash = options.hashCacheKeys ?? ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(jobFlag ?? '');
  const timeout = (job.runner_info.timeout ?? 0) > 0 ? job.runner_info.timeout! : 7200;
  const expiresSeconds = options.expiresSeconds ?? timeout + 3600;
  const entries = new Map<string, S3CacheEntry>();
  const sign = (key: CacheKey, withPut: boolean) => {
    const objectName = cacheObjectName({
      path: config.Path,
      shared: config.Shared,
      runnerToken: options.runnerToken,
      projectId: job.job_info.project_id,
      key: key.storage,
    });
    if (objectName === null) {
      warnings.push(
        `cache key ${JSON.stringify(key.human)}: computed cache path outside of project bucket. Please remove \`../\` from cache key`,
      );
      return;
    }
    const common = { expiresSeconds, now: options.now };
    const existing = entries.get(key.human);
    try {
      const entry: S3CacheEntry = existing ?? {
        key: key.human,
        objectName,
        getUrl: presignS3Url(config.S3!, 'GET', objectName, common).url,
        headUrl: presignS3Url(config.S3!, 'HEAD', objectName, common).url,
        putHeaders: {},
      };
      if (withPut && !entry.putUrl) {
        const put = presignS3Url(config.S3!, 'PUT', objectName, {
          ...common,
          headers: { 'x-amz-meta-cachekey': key.human, ...serverSideEncryptionHeaders(config.S3!) },
        });
        entry.putUrl = put.url;
        entry.putHeaders = put.headers;
      }
      entries.set(key.human, entry);
    } catch (error) {
      warnings.push(`cache: ${(error as Error).message}`);
    }
  };
  for (const resolved of resolveJobCaches(job, hash)) {
    if (resolved.main.ok) sign(resolved.main.key, resolved.policy !== 'pull');
    for (const fallback of resolved.fallbacks) sign(fallback, false);
  }
  return {
    storage: {
      type: 's3',
      entries: [...entries.values()],
      maxUploadedArchiveSize: config.MaxUploadedArchiveSize ?? 0,
    },
    warnings,
  };
}
