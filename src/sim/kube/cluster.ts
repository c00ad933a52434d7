// `startSimKube`: the embedded Kubernetes put together — the API server (store, watch, logs, GC, events)
// on loopback, a kubeconfig for real clients, and, through injected factories, a container runtime and
// the simulated kubelet that runs pods through the KubeletStore.
import type { AddressInfo } from 'node:net';
import type { ApiFaults } from './api/faults.ts';
import { SimKubeApi, type SimKubeApiOptions } from './api/sim-api.ts';
import { kubeconfigYaml, writeKubeconfig } from './kubeconfig.ts';
import type { KubeletStore } from './kubelet-store.ts';
import type { ContainerRuntime } from './runtime.ts';

export interface KubeletHandle {
  stop(): Promise<void>;
}

export interface KubeletFactoryOptions {
  nodeName: string;
  /** The `kubelet:` section of the faults file, untouched. */
  faults?: unknown;
}

export type KubeletFactory = (
  store: KubeletStore,
  runtime: ContainerRuntime,
  options: KubeletFactoryOptions,
) => KubeletHandle;
export type RuntimeFactory = () => ContainerRuntime | Promise<ContainerRuntime>;

export interface StartSimKubeOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Write a kubeconfig here. */
  kubeconfigPath?: string;
  /** The kubeconfig context's namespace. */
  namespace?: string;
  faults?: { api?: ApiFaults; kubelet?: unknown };
  api?: Omit<SimKubeApiOptions, 'faults'>;
  /** Both or neither: without them only the API server runs (pods stay Pending, as with no node). */
  runtime?: RuntimeFactory;
  kubelet?: KubeletFactory;
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export interface SimKube {
  url: string;
  kubeconfig: string;
  kubeconfigPath: string | undefined;
  api: SimKubeApi;
  store: KubeletStore;
  close(): Promise<void>;
}

export async function startSimKube(options: StartSimKubeOptions = {}): Promise<SimKube> {
  const api = new SimKubeApi({
    ...options.api,
    ...(options.faults?.api ? { faults: options.faults.api } : {}),
    ...(options.tls && options.api?.caPem === undefined ? { caPem: options.tls.cert.toString() } : {}),
  });
  const server = api.createServer(options.tls);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const kubeconfigOptions = { server: url, ...(options.namespace ? { namespace: options.namespace } : {}) };
  if (options.kubeconfigPath) await writeKubeconfig(options.kubeconfigPath, kubeconfigOptions);

  let runtime: ContainerRuntime | undefined;
  let kubelet: KubeletHandle | undefined;
  const stopServer = () =>
    new Promise<void>((resolve) => {
      api.endStreams();
      server.close(() => resolve());
      // idle keep-alive connections go now; ended streams finish writing first
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 1000).unref();
    });
  try {
    if (options.runtime && options.kubelet) {
      runtime = await options.runtime();
      kubelet = options.kubelet(api.kubeletStore, runtime, {
        nodeName: api.nodeName,
        ...(options.faults?.kubelet !== undefined ? { faults: options.faults.kubelet } : {}),
      });
    }
  } catch (err) {
    await runtime?.close();
    await stopServer();
    api.close();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    kubeconfig: kubeconfigYaml(kubeconfigOptions),
    kubeconfigPath: options.kubeconfigPath,
    api,
    store: api.kubeletStore,
    close() {
      closing ??= (async () => {
        await kubelet?.stop();
        await runtime?.close();
        await stopServer();
        api.close();
      })();
      return closing;
    },
  };
}
