// The embedded Kubernetes for `podrunner bench`, in a process of its own (forked by virtual-cluster.ts):
// the API server with request counting and injected latency, and the kubelet with the virtual runtime,
// sized for thousands of pods. Talks to the bench over Node's IPC channel.
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { SimKubeApi } from '../../sim/kube/api/sim-api.ts';
import { writeKubeconfig } from '../../sim/kube/kubeconfig.ts';
import { startKubelet } from '../../sim/kube/kubelet/kubelet.ts';
import { createVirtualRuntime } from '../../sim/kube/virtual/virtual-runtime.ts';
import { tallyRequests } from './request-tally.ts';

export const childOptionsSchema = z.object({
  namespace: z.string().min(1),
  apiLatencyMs: z.number().min(0),
  kubeconfigPath: z.string().min(1),
});
export type ChildOptions = z.infer<typeof childOptionsSchema>;

export type ParentMessage = { type: 'counts'; id: number } | { type: 'stop' };
export type ChildMessage =
  | { type: 'ready'; url: string }
  | { type: 'counts'; id: number; counts: Record<string, number> }
  | { type: 'failed'; message: string };

const send = (m: ChildMessage) => process.send?.(m);

async function main(): Promise<void> {
  const options = childOptionsSchema.parse(JSON.parse(process.argv[2] ?? '{}'));
  const api = new SimKubeApi({
    namespaces: [options.namespace],
    runtimeMode: 'virtual',
    onInternalError: (err) => process.stderr.write(`sim kube internal error: ${String(err)}\n`),
  });
  const server = api.createServer();
  const tally = tallyRequests(server, options.apiLatencyMs);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await writeKubeconfig(options.kubeconfigPath, { server: url, namespace: options.namespace });
  const runtime = createVirtualRuntime();
  const kubelet = startKubelet(api.kubeletStore, runtime, {
    nodeName: api.nodeName,
    // one node that holds every pod of the sweep: the bench measures the manager, not scheduling
    capacity: { cpu: '100000', memory: '1000Ti', pods: 1_000_000 },
  });

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await kubelet.stop();
    await runtime.close();
    api.endStreams();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 1000).unref();
    });
    api.close();
    if (process.connected) process.disconnect();
  };
  process.on('message', (m: ParentMessage) => {
    if (m.type === 'counts') send({ type: 'counts', id: m.id, counts: tally.counts() });
    else if (m.type === 'stop') void stop();
  });
  // the bench went away: do not outlive it
  process.on('disconnect', () => void stop().finally(() => process.exit(0)));
  send({ type: 'ready', url });
}

main().catch((err: unknown) => {
  send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  process.exitCode = 1;
});
