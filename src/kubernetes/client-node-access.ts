// Cluster access delegated to client-node, for the kubeconfig forms cluster-access.ts does not read
// itself (exec plugins, auth providers, proxies, merged KUBECONFIG lists, no kubeconfig at all).
// client-node is imported on the first request, so a manager that never needs it never loads it.
// Every request shares ONE undici dispatcher: client-node 2.0.1 builds a new Agent per request
// (`KubeConfig.createDispatcher`), which opens and keeps a socket per call (measured: 4x slower,
// +200 MB heap over 20k creates).
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, type Dispatcher } from 'undici';
import type { ClusterAccess, ClusterAccessConfig, RequestAccess } from './cluster-access.ts';
import { type HttpVerb, type QueryValues, requestUrl } from './request-url.ts';

type DispatcherFactory = (cluster: unknown, agentOptions: Record<string, unknown>) => Dispatcher | undefined;
type ClientNode = typeof import('@kubernetes/client-node');

/** What the caller already read from the kubeconfig. */
export interface KnownAccess {
  namespace?: string | undefined;
}

export function clientNodeAccess(config: ClusterAccessConfig, known: KnownAccess): ClusterAccess {
  let loaded: Promise<{ k8s: ClientNode; kc: KubeConfig; close(): Promise<void> }> | undefined;
  const load = () => {
    loaded ??= import('@kubernetes/client-node').then((k8s) => {
      const kc = new k8s.KubeConfig();
      if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
      else kc.loadFromDefault();
      if (config.context) kc.setCurrentContext(config.context);
      return { k8s, kc, ...shareOneDispatcher(kc) };
    });
    return loaded;
  };
  return {
    namespace: known.namespace,
    via: 'client-node',
    async prepare(method: HttpVerb, path: string, query?: QueryValues): Promise<RequestAccess> {
      const { k8s, kc } = await load();
      const server = kc.getCurrentCluster()?.server;
      if (!server) throw new Error('the kubeconfig has no current cluster');
      const url = requestUrl(server.replace(/\/+$/, ''), path, query);
      const ctx = new k8s.RequestContext(url.toString(), method);
      await kc.applySecurityAuthentication(ctx);
      const dispatcher = ctx.getDispatcher();
      if (!dispatcher) throw new Error('client-node gave no dispatcher for the Kubernetes API');
      return { url, headers: { ...ctx.getHeaders() }, dispatcher };
    },
    async close() {
      if (loaded) await (await loaded).close();
    },
  };
}

/**
 * Replaces the per-request dispatcher factory with one that builds a single Agent on the first
 * request (with the cluster's TLS options, which do not change for the life of the KubeConfig) and
 * returns it for every later request. Returns a handle to close it.
 */
export function shareOneDispatcher(kc: KubeConfig): { close(): Promise<void> } {
  let shared: Dispatcher | undefined;
  const target = kc as unknown as { createDispatcher: DispatcherFactory };
  target.createDispatcher = (cluster, agentOptions) => {
    if (shared) return shared;
    const opts = kc.createDispatcherOptions(
      cluster as Parameters<KubeConfig['createDispatcherOptions']>[0],
      agentOptions,
    );
    if (opts.type === 'proxy' || opts.type === 'socks') {
      throw new Error(`podrunner does not support ${opts.type} proxies for the Kubernetes API yet`);
    }
    const connect = opts.type === 'agent' ? opts.connect : { keepAlive: true, keepAliveInitialDelay: 30_000 };
    shared = new Agent({ connect, keepAliveTimeout: 30_000, pipelining: 1 });
    return shared;
  };
  return {
    async close() {
      await shared?.close();
      shared = undefined;
    },
  };
}
