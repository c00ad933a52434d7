// One HTTP client for everything the helper sends (GitLab's artifacts API, pre-signed cache URLs):
// one undici dispatcher with the runner's extra CA, the job's proxy variables and upstream's
// timeouts; redirects are followed by hand so the JOB-TOKEN never leaves the GitLab origin.
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher, EnvHttpProxyAgent, request } from 'undici';
import type { JobVariables } from '../variables.ts';

export interface HttpClientOptions {
  caPem?: string;
  /** A CA bundle inside the container, used when no PEM is given. */
  caFile?: string;
  userAgent: string;
  /** The job's `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` (either case). */
  vars?: JobVariables;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Dispatcher.ResponseData['body'];
  /** The URL that answered (after redirects). */
  url: string;
}

export type RequestBody = Dispatcher.DispatchOptions['body'];

export class HttpClient {
  readonly dispatcher: Dispatcher;
  readonly userAgent: string;

  constructor(options: HttpClientOptions) {
    this.userAgent = options.userAgent;
    let caPem = options.caPem;
    if (!caPem && options.caFile) {
      try {
        caPem = readFileSync(options.caFile, 'utf8');
      } catch {
        // upstream only logs an unreadable CA file; the system CAs still apply
      }
    }
    const connect = caPem ? { ca: [...rootCertificates, caPem] } : undefined;
    const timeouts = {
      headersTimeout: options.headersTimeoutMs ?? 600_000,
      bodyTimeout: options.bodyTimeoutMs ?? 3_600_000,
      connectTimeout: 30_000,
    };
    const v = (name: string) => options.vars?.get(name) || options.vars?.get(name.toLowerCase()) || '';
    const httpProxy = v('HTTP_PROXY');
    const httpsProxy = v('HTTPS_PROXY');
    this.dispatcher =
      httpProxy || httpsProxy
        ? new EnvHttpProxyAgent({
            ...timeouts,
            httpProxy: httpProxy || undefined,
            httpsProxy: httpsProxy || httpProxy || undefined,
            noProxy: v('NO_PROXY'),
            connect,
          })
        : new Agent({ ...timeouts, connect });
  }

  /**
   * One request; 3xx answers are followed (up to 10) when `follow` is set, dropping `dropOnCrossOrigin`
   * headers when the redirect leaves the original origin.
   */
  async send(
    method: 'GET' | 'HEAD' | 'PUT' | 'POST',
    url: string,
    options: {
      headers?: Record<string, string>;
      body?: RequestBody;
      follow?: boolean;
      dropOnCrossOrigin?: string[];
      signal?: AbortSignal;
    } = {},
  ): Promise<HttpResponse> {
    let current = url;
    const origin = new URL(url).origin;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': this.userAgent, ...options.headers };
      if (new URL(current).origin !== origin) {
        for (const h of options.dropOnCrossOrigin ?? []) {
          for (const key of Object.keys(headers))
            if (key.toLowerCase() === h.toLowerCase()) delete headers[key];
        }
      }
      const res = await request(current, {
        method,
        headers,
        body: hop === 0 ? options.body : undefined,
        dispatcher: this.dispatcher,
        signal: options.signal,
      });
      const flat: Record<string, string> = {};
      for (const [k, val] of Object.entries(res.headers)) {
        if (val !== undefined) flat[k.toLowerCase()] = Array.isArray(val) ? val.join(', ') : val;
      }
      const location = flat.location;
      if (options.follow && [301, 302, 303, 307, 308].includes(res.statusCode) && location && hop < 10) {
        await res.body.dump();
        current = new URL(location, current).toString();
        if (res.statusCode === 303) method = 'GET';
        continue;
      }
      return { status: res.statusCode, headers: flat, body: res.body, url: current };
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

/** Go's `http.Response.Status` text for a code: `201 Created`. */
export function statusText(status: number): string {
  return `${status} ${STATUS_TEXT[status] ?? ''}`.trim();
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  301: 'Moved Permanently',
  302: 'Found',
  307: 'Temporary Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Request Entity Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** `{"message": …}` of a GitLab error answer, else the status text (upstream's getMessageFromJSONResponse). */
export async function gitlabMessage(res: HttpResponse): Promise<string> {
  const text = await res.body.text().catch(() => '');
  if (res.status >= 200 && res.status < 300) return statusText(res.status);
  if ((res.headers['content-type'] ?? '').includes('application/json')) {
    try {
      const parsed = JSON.parse(text) as { message?: unknown; error?: unknown };
      const m = parsed.message ?? parsed.error;
      if (typeof m === 'string' && m !== '') return m;
      if (m !== undefined) return JSON.stringify(m);
    } catch {
      // not JSON after all
    }
  }
  return statusText(res.status);
}

/** upstream's `helpers.ShortenToken`: known prefixes removed, first 9 characters. */
export function shortenToken(token: string): string {
  const bare = token
    .replace(/^glrt-(t[123]_)?|^t[123]_|^glrtr-/, '')
    .replace(/^glcbt-/, '')
    .replace(/^GR[0-9A-Fa-f]{7}/, '');
  return bare.slice(0, 9);
}
