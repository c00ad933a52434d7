// Where cache archives live: behind the manager's pre-signed S3 URLs, or as `<dir>/<key>/cache.zip`
// on a volume shared between jobs. Transfers follow upstream's cache-extractor/cache-archiver:
// 404 = no cache, 5xx and broken connections are retried twice 1 s apart, other answers fail.
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { sleep } from '../context.ts';
import type { CacheStorage, S3CacheEntry } from '../contract.ts';
import { errorMessage, HelperError } from '../errors.ts';
import type { HttpClient, HttpResponse } from '../http/client.ts';
import { cleanUrl } from '../output/mask.ts';
import { type Trace, TransferMeter } from '../output/trace.ts';
import type { CacheKey } from './keys.ts';

export const ARCHIVE_NAME = 'cache.zip';

export interface CacheBackend {
  /** Fetches the archive of `key` into `target`: false when there is none. */
  download(key: CacheKey, target: string): Promise<boolean>;
  /** Stores `file` as the archive of `key`. */
  upload(key: CacheKey, file: string): Promise<void>;
}

class RetryableError extends Error {}

export function createBackend(
  storage: CacheStorage,
  deps: { http: HttpClient; trace: Trace; retryMs: number; meterMs: number; signal?: AbortSignal },
): CacheBackend | undefined {
  switch (storage.type) {
    case 'none':
      return undefined;
    case 'volume':
      return new VolumeBackend(storage.path, deps.trace);
    case 's3':
      return new PresignedBackend(storage.entries, storage.maxUploadedArchiveSize, deps);
  }
}

async function withRetries<T>(
  trace: Trace,
  retryMs: number,
  run: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof RetryableError) || retry >= 2 || signal?.aborted) throw error;
      await sleep(retryMs, signal);
      trace.log('warning', 'Retrying...', { error: error.message });
    }
  }
}

/** upstream's `retryOnServerError`: the status, the S3 error code and message if the body has them. */
async function storageError(res: HttpResponse): Promise<Error> {
  const body = await res.body.text().catch(() => '');
  let message = `received: ${res.status}`;
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
  const text = /<Message>([^<]*)<\/Message>/.exec(body)?.[1];
  if (code || text)
    message += `. Request failed with ${[code && `code: ${code}`, text && `message: ${text}`].filter(Boolean).join(', ')}`;
  return res.status >= 500 ? new RetryableError(message) : new HelperError('CACHE_FAILED', message);
}

class PresignedBackend implements CacheBackend {
  readonly #entries: Map<string, S3CacheEntry>;
  readonly #maxSize: number;
  readonly #deps: { http: HttpClient; trace: Trace; retryMs: number; meterMs: number; signal?: AbortSignal };

  constructor(
    entries: S3CacheEntry[],
    maxSize: number,
    deps: { http: HttpClient; trace: Trace; retryMs: number; meterMs: number; signal?: AbortSignal },
  ) {
    this.#entries = new Map(entries.map((e) => [e.key, e]));
    this.#maxSize = maxSize;
    this.#deps = deps;
  }

  async download(key: CacheKey, target: string): Promise<boolean> {
    const { http, trace, retryMs, meterMs, signal } = this.#deps;
    const entry = this.#entries.get(key.human);
    if (!entry) {
      trace.log(
        'info',
        'No URL provided, cache will not be downloaded from shared cache server. Instead a local version of cache will be extracted.',
      );
      return false;
    }
    return withRetries(
      trace,
      retryMs,
      async () => {
        let res: HttpResponse;
        try {
          res = await http.send('GET', entry.getUrl, { follow: true, signal });
        } catch (error) {
          throw new RetryableError(errorMessage(error));
        }
        if (res.status === 404) {
          await res.body.dump();
          return false;
        }
        if (res.status < 200 || res.status > 299) throw await storageError(res);
        const etag = res.headers.etag;
        trace.log('info', `Downloading cache from ${cleanUrl(entry.getUrl)}`, etag ? { ETag: etag } : {});
        const total = Number(res.headers['content-length']);
        const meter = new TransferMeter(trace, 'Downloading cache', {
          total: Number.isFinite(total) && total > 0 ? total : undefined,
          intervalMs: meterMs,
        });
        res.body.on('data', (d: Buffer) => meter.add(d.length));
        const partial = `${target}.part`;
        try {
          await pipeline(res.body, createWriteStream(partial));
        } catch (error) {
          await rm(partial, { force: true });
          throw new RetryableError(`the connection broke during the cache download (${errorMessage(error)})`);
        }
        meter.done();
        await rename(partial, target);
        return true;
      },
      signal,
    );
  }

  async upload(key: CacheKey, file: string): Promise<void> {
    const { http, trace, retryMs, meterMs, signal } = this.#deps;
    const entry = this.#entries.get(key.human);
    if (!entry?.putUrl) {
      trace.log(
        'info',
        'No URL provided, cache will not be uploaded to shared cache server. Cache will be stored only locally.',
      );
      return;
    }
    const info = await stat(file);
    if (this.#maxSize > 0 && info.size > this.#maxSize) {
      trace.log(
        'info',
        `Cache archive size (${info.size}) is too big (Limit is set to ${this.#maxSize}). Cache will be stored only locally.`,
      );
      return;
    }
    const putUrl = entry.putUrl;
    await withRetries(
      trace,
      retryMs,
      async () => {
        trace.log('info', `Uploading ${ARCHIVE_NAME} to ${cleanUrl(putUrl)}`);
        const meter = new TransferMeter(trace, 'Uploading cache', { total: info.size, intervalMs: meterMs });
        const body = createReadStream(file);
        body.on('data', (d) => meter.add((d as Buffer).length));
        let res: HttpResponse;
        try {
          res = await http.send('PUT', putUrl, {
            headers: {
              'content-type': 'application/octet-stream',
              ...entry.putHeaders,
              'content-length': String(info.size),
              'last-modified': info.mtime.toUTCString(),
            },
            body,
            signal,
          });
        } catch (error) {
          throw new RetryableError(`the connection broke during the cache upload (${errorMessage(error)})`);
        } finally {
          body.destroy();
        }
        if (res.status < 200 || res.status > 299) throw await storageError(res);
        await res.body.dump();
        meter.done();
      },
      signal,
    );
  }
}

/** `<dir>/<key>/cache.zip` on a shared volume; written to a temporary name, then renamed. */
class VolumeBackend implements CacheBackend {
  readonly #dir: string;
  readonly #trace: Trace;

  constructor(dir: string, trace: Trace) {
    this.#dir = dir;
    this.#trace = trace;
  }

  #file(key: CacheKey): string {
    const file = path.join(this.#dir, key.storage, ARCHIVE_NAME);
    if (!file.startsWith(`${path.resolve(this.#dir)}/`)) {
      throw new HelperError(
        'CACHE_FAILED',
        `cache key ${JSON.stringify(key.human)} points outside the cache directory`,
      );
    }
    return file;
  }

  async download(key: CacheKey, target: string): Promise<boolean> {
    const file = this.#file(key);
    try {
      await copyFile(file, target);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw new HelperError('CACHE_FAILED', `reading ${file}: ${errorMessage(error)}`);
    }
  }

  async upload(key: CacheKey, file: string): Promise<void> {
    const target = this.#file(key);
    await mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.${process.pid}.tmp`;
    try {
      await copyFile(file, temp);
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw new HelperError('CACHE_FAILED', `writing ${target}: ${errorMessage(error)}`);
    }
    this.#trace.log('info', `Saved ${ARCHIVE_NAME} to the cache volume`, { key: key.human });
  }
}
