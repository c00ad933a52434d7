// HTTP plumbing of the embedded GitLab: a tiny router, GitLab-shaped error answers, body readers and
// Grape-like parameter parsing (query string, JSON and form bodies merged).
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Headers = Record<string, string>;

/** An answer GitLab gives instead of the normal one; thrown by handlers, written by the router. */
export class ApiError extends Error {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
  constructor(status: number, body: unknown, headers: Headers = {}) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/** `{"message": "<text>"}` — GitLab's `render_api_error!`. */
export const apiError = (status: number, message: unknown, headers: Headers = {}) =>
  new ApiError(status, { message }, headers);
/** `{"error": "<text>"}` — Grape's parameter validation. */
export const paramError = (message: string) => new ApiError(400, { error: message });

export const unauthorized = () => apiError(401, '401 Unauthorized');
export const forbidden = (reason?: string, headers: Headers = {}) =>
  apiError(403, reason ? `403 Forbidden - ${reason}` : '403 Forbidden', headers);
export const notFound = (what?: string) => apiError(404, what ? `404 ${what} Not Found` : '404 Not Found');

export interface Request {
  raw: IncomingMessage;
  method: string;
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  header(name: string): string | undefined;
}

export type Handler = (req: Request, res: ServerResponse) => Promise<void> | void;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, path: string, handler: Handler): this {
    const names: string[] = [];
    const source = path
      .split('/')
      .map((part) => {
        if (part.startsWith(':')) {
          names.push(part.slice(1));
          return '([^/]+)';
        }
        return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    this.routes.push({ method, pattern: new RegExp(`^${source}$`), names, handler });
    return this;
  }

  /** The handler for a request, or `undefined` (404), or `null` (path known, method not: 405). */
  match(
    method: string,
    path: string,
  ): { handler: Handler; params: Record<string, string> } | null | undefined {
    let pathKnown = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      pathKnown = true;
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) continue;
      const params: Record<string, string> = {};
      try {
        route.names.forEach((name, i) => {
          params[name] = decodeURIComponent(m[i + 1] ?? '');
        });
      } catch {
        return undefined; // malformed %-encoding: no such resource
      }
      return { handler: route.handler, params };
    }
    return pathKnown ? null : undefined;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Headers = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache',
    ...headers,
  });
  res.end(text);
}

export function sendText(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  headers: Headers = {},
  contentType = 'text/plain',
): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Headers = {}): void {
  res.writeHead(status, headers);
  res.end();
}

export function sendError(res: ServerResponse, error: ApiError): void {
  if (error.body === null || error.body === undefined) sendEmpty(res, error.status, error.headers);
  else if (typeof error.body === 'string') sendText(res, error.status, error.body, error.headers);
  else sendJson(res, error.status, error.body, error.headers);
}

export class BodyTooLarge extends Error {
  readonly code = 'BODY_TOO_LARGE';
}

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) throw new BodyTooLarge(`body larger than ${limit} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/** Sets `obj[a][b][]…` from a Rack-style key such as `variables[][key]`. */
function assignRackKey(target: Record<string, unknown>, key: string, value: string): void {
  const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
  if (!m) {
    target[key] = value;
    return;
  }
  const path = [m[1] as string, ...[...(m[2] ?? '').matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1] as string)];
  let node: Record<string, unknown> | unknown[] = target;
  for (let i = 0; i < path.length; i++) {
    const part = path[i] as string;
    const last = i === path.length - 1;
    const nextIsArray = path[i + 1] === '';
    if (Array.isArray(node)) {
      // `[]` followed by a hash key: start a new element when the key is already set on the last one.
      const tail = node[node.length - 1] as Record<string, unknown> | undefined;
      if (last) {
        node.push(value);
        return;
      }
      const nextKey = path[i + 1] as string;
      if (!tail || typeof tail !== 'object' || nextKey in tail) node.push({});
      node = node[node.length - 1] as Record<string, unknown>;
      continue;
    }
    if (part === '') continue;
    if (last) {
      node[part] = value;
      return;
    }
    if (node[part] === undefined || typeof node[part] !== 'object') node[part] = nextIsArray ? [] : {};
    node = node[part] as Record<string, unknown>;
  }
}

export function parseForm(params: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of params) assignRackKey(out, key, value);
  return out;
}

/** Query, then the body (JSON or form) on top, as Grape merges `params`. Bad JSON → Grape's 400. */
export async function readParams(req: Request, limit = 1024 * 1024): Promise<Record<string, unknown>> {
  const params: Record<string, unknown> = parseForm(req.query);
  if (req.method === 'GET' || req.method === 'HEAD') return params;
  let body: Buffer;
  try {
    body = await readBody(req.raw, limit);
  } catch (error) {
    if (error instanceof BodyTooLarge) throw apiError(413, '413 Request Entity Too Large');
    throw error;
  }
  if (body.length === 0) return params;
  const type = (req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data') {
    return { ...params, ...parseForm(new URLSearchParams(body.toString('utf8'))) };
  }
  if (type === 'application/json' || type === '' || type.endsWith('+json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw paramError('message body does not match declared format');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw paramError('message body does not match declared format');
    }
    return { ...params, ...(parsed as Record<string, unknown>) };
  }
  return params;
}

/** Grape's Boolean coercion for params that may arrive as strings. */
export function boolParam(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === '1' || value === 1) return true;
  if (value === 'false' || value === '0' || value === 0) return false;
  return undefined;
}
