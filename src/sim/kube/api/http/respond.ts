// Writing responses: JSON bodies (pretty for `pretty=true` and curl, like the API server), Status errors,
// the plain-text 404 outside served prefixes, and request bodies read with the server's 3 MiB limit.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stringify as toYaml } from 'yaml';
import { ApiError, entityTooLarge, type StatusObject } from '../status.ts';

const maxBodyBytes = 3 * 1024 * 1024;

export function commonHeaders(res: ServerResponse): void {
  res.setHeader('Audit-Id', randomUUID());
  res.setHeader('Cache-Control', 'no-cache, private');
}

export interface JsonOptions {
  pretty?: boolean;
  yaml?: boolean;
  headers?: Record<string, string>;
}

export function sendJson(res: ServerResponse, code: number, json: string, options: JsonOptions = {}): void {
  if (res.headersSent || res.destroyed) return;
  let body = json;
  let type = 'application/json';
  if (options.yaml) {
    body = toYaml(JSON.parse(json));
    type = 'application/yaml';
  } else if (options.pretty) body = `${JSON.stringify(JSON.parse(json), null, 2)}\n`;
  res.statusCode = code;
  res.setHeader('Content-Type', type);
  for (const [k, v] of Object.entries(options.headers ?? {})) res.setHeader(k, v);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

export function sendStatus(
  res: ServerResponse,
  status: StatusObject,
  code: number,
  options: JsonOptions = {},
): void {
  sendJson(res, code, JSON.stringify(status), options);
}

export function sendError(res: ServerResponse, err: ApiError, options: JsonOptions = {}): void {
  sendStatus(res, err.toStatus(), err.code, { ...options, headers: { ...err.headers, ...options.headers } });
}

export function sendPlain(
  res: ServerResponse,
  code: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  res.statusCode = code;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.end(text);
}

/** Outside every served prefix the API server answers Go's plain `404 page not found`. */
export function sendPlainNotFound(res: ServerResponse): void {
  sendPlain(res, 404, '404 page not found\n');
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBodyBytes) throw entityTooLarge(maxBodyBytes);
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}
