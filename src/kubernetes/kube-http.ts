// The wire layer under the Cluster adapter: ClusterAccess supplies the URL, auth and the one shared
// dispatcher of each request (cluster-access.ts, client-node for the rare forms); requests and responses stay
// wire JSON. That keeps watch events and API answers in one shape, skips class deserialisation on
// the hot path, and lets streams report a dropped connection (client-node's Log pipes the body
// without forwarding its errors, so a drop would hang a follower).
import type { Readable } from 'node:stream';
import { request } from 'undici';
import type { ClusterAccess } from './cluster-access.ts';
import { errorFromResponse, KubeApiError } from './kube-errors.ts';
import type { RateLimiter } from './rate-limiter.ts';
import type { HttpVerb, QueryValues } from './request-url.ts';

export interface KubeRequestOptions {
  query?: QueryValues;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export interface KubeStream {
  body: Readable;
  abort(): void;
}

export interface RetryPolicy {
  /** Tries per call for retryable errors (config.toml `retry_limit`, default 5). */
  limit: number;
  /** Backoff ceiling in ms (`retry_backoff_max`, default 2000, floor 500). */
  backoffMaxMs: number;
}

export class KubeHttp {
  readonly #access: ClusterAccess;
  readonly #limiter: RateLimiter;
  readonly #retry: RetryPolicy;
  /** Requests sent to the API server (each retry counts), by verb. */
  readonly requests = { total: 0, byVerb: new Map<string, number>() };

  constructor(access: ClusterAccess, limiter: RateLimiter, retry: RetryPolicy) {
    this.#access = access;
    this.#limiter = limiter;
    this.#retry = retry;
  }

  /** A JSON request with retries for transient failures; throws KubeApiError. */
  async json<T>(method: HttpVerb, path: string, options: KubeRequestOptions = {}): Promise<T> {
    let attempt = 0;
    for (;;) {
      attempt++;
      try {
        return await this.#once<T>(method, path, options);
      } catch (err) {
        const e = err instanceof KubeApiError ? err : toNetworkError(err);
        if (!e.retryable || attempt >= this.#retry.limit || options.signal?.aborted) throw e;
        const backoff = Math.min(this.#retry.backoffMaxMs, 500 * 2 ** (attempt - 1));
        await sleep(e.retryAfterSeconds !== undefined ? e.retryAfterSeconds * 1000 : backoff, options.signal);
      }
    }
  }

  /** Opens a streaming GET (watch, follow logs); non-200 answers throw KubeApiError. No retries. */
  async stream(path: string, options: KubeRequestOptions = {}): Promise<KubeStream | undefined> {
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const { url, headers, dispatcher } = await this.#prepare('GET', path, options.query);
    await this.#limiter.take();
    this.#count('GET');
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(url, { method: 'GET', headers, dispatcher, signal: controller.signal });
    } catch (err) {
      options.signal?.removeEventListener('abort', onAbort);
      throw toNetworkError(err);
    }
    if (res.statusCode === 204) {
      await res.body.dump();
      options.signal?.removeEventListener('abort', onAbort);
      return undefined;
    }
    if (res.statusCode !== 200) {
      const body = await readJson(res.body);
      options.signal?.removeEventListener('abort', onAbort);
      throw errorFromResponse(res.statusCode, body, headerValue(res.headers['retry-after']));
    }
    res.body.once('close', () => options.signal?.removeEventListener('abort', onAbort));
    return {
      body: res.body,
      abort: () => controller.abort(),
    };
  }

  async #once<T>(method: HttpVerb, path: string, options: KubeRequestOptions): Promise<T> {
    const { url, headers, dispatcher } = await this.#prepare(method, path, options.query);
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = options.contentType ?? 'application/json';
    }
    await this.#limiter.take();
    this.#count(method);
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(url, {
        method,
        headers,
        dispatcher,
        ...(body === undefined ? {} : { body }),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      throw toNetworkError(err);
    }
    const parsed = await readJson(res.body);
    if (res.statusCode >= 200 && res.statusCode < 300) return parsed as T;
    throw errorFromResponse(res.statusCode, parsed, headerValue(res.headers['retry-after']));
  }

  async #prepare(method: HttpVerb, path: string, query: KubeRequestOptions['query']) {
    const { url, headers, dispatcher } = await this.#access.prepare(method, path, query);
    const all: Record<string, string> = { accept: 'application/json', ...headers };
    return { url, headers: all, dispatcher };
  }

  #count(verb: string): void {
    this.requests.total++;
    this.requests.byVerb.set(verb, (this.requests.byVerb.get(verb) ?? 0) + 1);
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

async function readJson(body: Readable & { text(): Promise<string> }): Promise<unknown> {
  const text = await body.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}

function toNetworkError(err: unknown): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new KubeApiError('network', 0, `Kubernetes API unreachable: ${message}`, { cause: err });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
