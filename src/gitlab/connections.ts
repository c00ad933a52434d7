// One undici Agent per GitLab origin and TLS setting, shared by every client of that GitLab: connections are
// reused across job requests, updates and trace patches, and the transport retries are composed onto it once.
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import { type RetryPolicy, retryInterceptor } from './retry-interceptor.ts';
import { readTlsMaterial, type TlsFiles } from './tls.ts';

export interface ConnectionOptions {
  retry?: Partial<RetryPolicy>;
  /** Upstream waits up to 10 minutes for response headers (long-polled job requests last ~50 s). */
  headersTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Told about unreadable TLS files; the connection is still made without them. */
  onTlsProblem?: (problem: string) => void;
}

export class GitLabConnections {
  private readonly agents = new Map<string, { agent: Agent; dispatcher: Dispatcher }>();
  private readonly options: ConnectionOptions;

  constructor(options: ConnectionOptions = {}) {
    this.options = options;
  }

  dispatcherFor(url: string, tls: TlsFiles = {}): Dispatcher {
    const origin = new URL(url).origin;
    const key = JSON.stringify([origin, tls.caFile ?? '', tls.certFile ?? '', tls.keyFile ?? '']);
    const cached = this.agents.get(key);
    if (cached) return cached.dispatcher;
    const material = readTlsMaterial(tls);
    for (const p of material.problems) this.options.onTlsProblem?.(p);
    const agent = new Agent({
      connect: {
        timeout: this.options.connectTimeoutMs ?? 30_000,
        minVersion: 'TLSv1.2',
        // A custom CA adds to the public roots, as Go's cert pool does, rather than replacing them.
        ...(material.ca ? { ca: [...rootCertificates, material.ca.toString()] } : {}),
        ...(material.cert && material.key ? { cert: material.cert, key: material.key } : {}),
      },
      headersTimeout: this.options.headersTimeoutMs ?? 10 * 60_000,
      bodyTimeout: this.options.headersTimeoutMs ?? 10 * 60_000,
      keepAliveTimeout: 60_000,
    });
    const dispatcher = agent.compose(retryInterceptor(this.options.retry));
    this.agents.set(key, { agent, dispatcher });
    return dispatcher;
  }

  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map(({ agent }) => agent.close().catch(() => undefined)));
  }

  /** Drops open connections now (used when aborting at shutdown). */
  async destroy(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map(({ agent }) => agent.destroy().catch(() => undefined)));
  }
}
