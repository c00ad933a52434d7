// The HTTP server on `listen_address`: Prometheus `/metrics`, `/healthz` (the process answers), `/readyz`
// (config loaded, feeding, GitLab answered at least once) and upstream's `/debug/jobs/list`.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export const DEFAULT_METRICS_PORT = 9252;

export interface HealthSource {
  readiness(): { ready: boolean; reason: string };
  /** One line per running job, like upstream's `/debug/jobs/list`. */
  jobList(): string[];
}

/** `:9252` → all interfaces; `127.0.0.1:0`; a bare host gets port 9252 (upstream's default). */
export function parseListenAddress(address: string): { host: string | undefined; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(address);
  if (bracketed)
    return { host: bracketed[1], port: bracketed[2] ? Number(bracketed[2]) : DEFAULT_METRICS_PORT };
  const i = address.lastIndexOf(':');
  if (i === -1 || address.indexOf(':') !== i) {
    if (/^\d+$/.test(address)) return { host: undefined, port: Number(address) };
    return { host: address || undefined, port: DEFAULT_METRICS_PORT };
  }
  const host = address.slice(0, i);
  const port = address.slice(i + 1);
  return { host: host || undefined, port: port === '' ? DEFAULT_METRICS_PORT : Number(port) };
}

export interface MetricsServer {
  readonly server: Server;
  /** `http://host:port` as bound. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(
  address: string,
  registry: Registry,
  health: HealthSource,
): Promise<MetricsServer> {
  const { host, port } = parseListenAddress(address);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`listen address ${JSON.stringify(address)}: invalid port`);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(method === 'HEAD' ? undefined : body);
    };
    switch (path) {
      case '/metrics':
        registry.metrics().then(
          (text) => send(200, registry.contentType, text),
          (err: Error) => send(500, 'text/plain', `${err.message}\n`),
        );
        return;
      case '/healthz':
        send(200, 'text/plain; charset=utf-8', 'ok\n');
        return;
      case '/readyz': {
        const r = health.readiness();
        send(r.ready ? 200 : 503, 'text/plain; charset=utf-8', `${r.reason}\n`);
        return;
      }
      case '/debug/jobs/list':
        send(
          200,
          'text/plain; charset=utf-8',
          health
            .jobList()
            .map((l) => `${l}\n`)
            .join(''),
        );
        return;
      default:
        send(404, 'text/plain; charset=utf-8', 'not found\n');
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const shownHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    server,
    url: `http://${shownHost}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
