// Counts the requests an API server receives, by verb and resource (`create pods`, `get pods/log`,
// `watch pods`…), and optionally holds each one for a fixed latency before it is handled — a remote
// API server. Wraps the server's request listeners; the server itself is untouched.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { verbOf } from '../../sim/kube/api/handlers.ts';
import { parseRoute } from '../../sim/kube/api/http/route.ts';

/** Requests carrying this User-Agent (the bench's own watch) are neither counted nor delayed. */
export const BENCH_USER_AGENT = 'podrunner-bench';

export function requestKind(method: string, rawUrl: string): string {
  const url = new URL(rawUrl, 'http://localhost');
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
  const route = parseRoute(path);
  if (route.kind !== 'resource') return 'discovery';
  const verb = verbOf(method, route, url.searchParams) ?? method.toLowerCase();
  const resource = route.subresource ? `${route.def.resource}/${route.subresource}` : route.def.resource;
  return `${verb} ${resource}`;
}

export interface RequestTally {
  counts(): Record<string, number>;
}

export function tallyRequests(server: Server, latencyMs: number): RequestTally {
  const counts: Record<string, number> = {};
  const handlers = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const dispatch = () => {
      for (const h of handlers) h.call(server, req, res);
    };
    if (req.headers['user-agent'] === BENCH_USER_AGENT) {
      dispatch();
      return;
    }
    const kind = requestKind(req.method ?? 'GET', req.url ?? '/');
    counts[kind] = (counts[kind] ?? 0) + 1;
    if (latencyMs > 0) setTimeout(dispatch, latencyMs);
    else dispatch();
  });
  return { counts: () => ({ ...counts }) };
}
