// @kubernetes/client-node with one shared undici dispatcher: 2.0.1 builds a new Agent (and socket) per
// request in `createDispatcher`; this KubeConfig hands out one cached Agent instead.
import { KubeConfig } from '@kubernetes/client-node';
import { Agent } from 'undici';

export class SharedDispatcherKubeConfig extends KubeConfig {
  private readonly agent = new Agent({ connect: { rejectUnauthorized: false }, keepAliveTimeout: 30_000 });

  constructor() {
    super();
    // `createDispatcher` is private in the type declarations; replace it on the instance.
    (this as unknown as { createDispatcher: () => Agent }).createDispatcher = () => this.agent;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

export function kubeConfigFrom(path: string): SharedDispatcherKubeConfig {
  const kc = new SharedDispatcherKubeConfig();
  kc.loadFromFile(path);
  return kc;
}
