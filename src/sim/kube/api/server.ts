// The HTTP server: non-resource endpoints (/version, discovery, OpenAPI, health), routing of resource
// requests, injected faults, and errors as Status objects.
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { PodObject } from '../kubelet-store.ts';
import {
  apiGroupJson,
  apiGroupListJson,
  apiResourceListJson,
  apiVersionsJson,
  openApiDocuments,
  versionInfo,
} from './discovery.ts';
import type { ErrorFault } from './faults.ts';
import { type HandlerContext, handleResource, verbOf } from './handlers.ts';
import { commonHeaders, sendError, sendJson, sendPlain, sendPlainNotFound } from './http/respond.ts';
import { parseRoute } from './http/route.ts';
import { parseBool } from './log-endpoint.ts';
import {
  ApiError,
  internalError,
  methodNotAllowed,
  notFoundGeneric,
  serverTimeout,
  serviceUnavailable,
} from './status.ts';

/** One request as the API server received it (for request accounting in tests and benchmarks). */
export interface ApiRequestRecord {
  method: string;
  path: string;
  query: URLSearchParams;
  /** For resource requests: the Kubernetes verb (`get`, `list`, `watch`, `create`, …). */
  verb?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface ApiServerOptions extends HandlerContext {
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Called once per request, before it is served. */
  onRequest?: (request: ApiRequestRecord) => void;
  /** Called for requests that failed with an unexpected error (a bug), with the error. */
  onInternalError?: (err: unknown) => void;
}

export function createApiServer(options: ApiServerOptions): Server {
  const openapi = openApiDocuments();
  const version = JSON.stringify(versionInfo());
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    handle(options, openapi, version, req, res).catch((err: unknown) => {
      if (err instanceof ApiError) {
        sendError(res, err);
        return;
      }
      options.onInternalError?.(err);
      if (!res.headersSent) sendError(res, internalError(err instanceof Error ? err.message : String(err)));
      else res.destroy();
    });
  };
  const server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key, noDelay: true }, handler)
    : createHttpServer({ noDelay: true }, handler);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  server.requestTimeout = 0;
  return server;
}

async function handle(
  ctx: ApiServerOptions,
  openapi: ReturnType<typeof openApiDocuments>,
  version: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  commonHeaders(res);
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
  const query = url.searchParams;
  const agent = String(req.headers['user-agent'] ?? '');
  const pretty = parseBool(query.get('pretty')) || /^(curl|Wget|Mozilla)\//.test(agent);
  const encoding = { pretty };
  const method = req.method ?? 'GET';

  const route = parseRoute(path);
  if (route.kind !== 'resource') ctx.onRequest?.({ method, path, query });
  switch (path) {
    case '/version':
      sendJson(res, 200, version, encoding);
      return;
    case '/api':
      sendJson(res, 200, apiVersionsJson(req.headers.host ?? '127.0.0.1'), encoding);
      return;
    case '/apis':
      sendJson(res, 200, apiGroupListJson(), encoding);
      return;
    case '/healthz':
    case '/livez':
    case '/readyz':
      sendPlain(res, 200, 'ok');
      return;
    case '/openapi/v3':
      sendJson(res, 200, openapi.root, encoding);
      return;
  }
  if (path.startsWith('/openapi/v3/')) {
    const doc = openapi.byPath.get(path.slice('/openapi/v3/'.length));
    if (doc) sendJson(res, 200, doc, encoding);
    else sendPlainNotFound(res);
    return;
  }
  if (path.startsWith('/apis/') && path.split('/').length === 3) {
    const group = apiGroupJson(path.split('/')[2]!);
    if (group) sendJson(res, 200, group, encoding);
    else sendPlainNotFound(res);
    return;
  }

  switch (route.kind) {
    case 'notFoundPlain':
      sendPlainNotFound(res);
      return;
    case 'notFoundStatus':
      sendError(res, notFoundGeneric(), encoding);
      return;
    case 'groupVersion': {
      const doc = apiResourceListJson(route.group, route.version);
      if (doc) sendJson(res, 200, doc, encoding);
      else sendPlainNotFound(res);
      return;
    }
  }
  const verb = verbOf(method, route, query);
  ctx.onRequest?.({
    method,
    path,
    query,
    ...(verb ? { verb } : {}),
    resource: route.def.resource,
    ...(route.subresource ? { subresource: route.subresource } : {}),
    ...(route.namespace ? { namespace: route.namespace } : {}),
    ...(route.name !== undefined ? { name: route.name } : {}),
  });
  if (verb === undefined) throw methodNotAllowed();
  const resource = route.subresource ? `${route.def.resource}/${route.subresource}` : route.def.resource;
  let fault = ctx.faults.errorFor({ verb, resource, namespace: route.namespace });
  if (!fault && route.def.resource === 'pods' && route.name !== undefined && verb !== 'create') {
    const pod = ctx.registry.find(route.def, route.namespace, route.name)?.obj as PodObject | undefined;
    fault = ctx.faults.errorFromAnnotations(pod?.metadata?.annotations, verb);
  }
  if (fault) {
    await injectFault(fault, req, res, query, encoding);
    return;
  }
  await handleResource(ctx, req, res, route, verb, query, encoding);
}

function requestTimeoutMs(query: URLSearchParams): number | undefined {
  const text = query.get('timeout');
  if (!text) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!m) return undefined;
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * factor;
}

/** Waits `ms`; false when the client went away first. */
function delay(ms: number, res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(true), ms);
    res.once('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

async function injectFault(
  fault: ErrorFault,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  encoding: { pretty: boolean },
): Promise<void> {
  req.resume();
  switch (fault.code) {
    case 429: {
      const retryAfter = { 'Retry-After': String(fault.retryAfterSeconds) };
      if (fault.format === 'status') {
        const details = { retryAfterSeconds: fault.retryAfterSeconds };
        sendError(
          res,
          new ApiError(
            429,
            'TooManyRequests',
            'Too many requests: please try again later',
            details,
            retryAfter,
          ),
          encoding,
        );
      } else sendPlain(res, 429, 'Too many requests, please try again later.\n', retryAfter);
      return;
    }
    case 500:
      sendError(res, internalError('etcdserver: request timed out'), encoding);
      return;
    case 503:
      sendError(res, serviceUnavailable('the server is currently unable to handle the request'), encoding);
      return;
    case 504:
    case 'timeout': {
      const wait = Math.min(fault.delayMs ?? 60_000, requestTimeoutMs(query) ?? Number.POSITIVE_INFINITY);
      if (await delay(wait, res)) {
        sendError(
          res,
          serverTimeout('request did not complete within requested timeout - context deadline exceeded'),
          encoding,
        );
      }
      return;
    }
    case 'hang':
      if (fault.delayMs !== undefined) {
        if (await delay(fault.delayMs, res)) res.destroy();
      } else await delay(2 ** 31 - 1, res);
      return;
  }
}
