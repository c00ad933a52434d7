// `[runners.kubernetes.container_lifecycle]`: postStart/preStop hooks for the containers that run job
// content (build, uploader, services). The helper is an init container, where Kubernetes refuses hooks.
import type { V1Lifecycle, V1LifecycleHandler } from '@kubernetes/client-node';
import type { KubernetesConfig } from '../../config/schema/kubernetes.ts';

type HandlerConfig = NonNullable<NonNullable<KubernetesConfig['container_lifecycle']>['post_start']>;

function handler(h: HandlerConfig): V1LifecycleHandler {
  const result: V1LifecycleHandler = {};
  if (h.exec) result.exec = { command: h.exec.command };
  if (h.http_get) {
    const g = h.http_get;
    result.httpGet = {
      port: g.port,
      ...(g.host ? { host: g.host } : {}),
      ...(g.path ? { path: g.path } : {}),
      ...(g.scheme ? { scheme: g.scheme } : {}),
      ...(g.http_headers?.length
        ? { httpHeaders: g.http_headers.map((x) => ({ name: x.name, value: x.value })) }
        : {}),
    };
  }
  if (h.tcp_socket)
    result.tcpSocket = { port: h.tcp_socket.port, ...(h.tcp_socket.host ? { host: h.tcp_socket.host } : {}) };
  return result;
}

export function lifecycle(config: KubernetesConfig['container_lifecycle']): V1Lifecycle | undefined {
  if (!config?.post_start && !config?.pre_stop) return undefined;
  return {
    ...(config.post_start ? { postStart: handler(config.post_start) } : {}),
    ...(config.pre_stop ? { preStop: handler(config.pre_stop) } : {}),
  };
}
