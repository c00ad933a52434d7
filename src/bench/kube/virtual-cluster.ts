// Starts the bench's embedded Kubernetes (virtual mode) in a child process, so the API server and the
// kubelet get a CPU of their own instead of sharing the bench's event loop with the embedded GitLab.
import { type ChildProcess, fork } from 'node:child_process';
import { openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ChildOptions, ParentMessage } from './virtual-cluster-process.ts';

export interface VirtualCluster {
  url: string;
  kubeconfigPath: string;
  pid: number | undefined;
  /** Requests the API server received (the bench's own watch left out), by verb and resource. */
  requestCounts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export class VirtualClusterError extends Error {
  readonly code = 'VIRTUAL_CLUSTER_FAILED';
}

const entry = fileURLToPath(new URL('./virtual-cluster-process.ts', import.meta.url));

export async function startVirtualCluster(
  options: ChildOptions & { logPath: string },
): Promise<VirtualCluster> {
  const { logPath, ...childOptions } = options;
  const log = openSync(logPath, 'a');
  const child: ChildProcess = fork(entry, [JSON.stringify(childOptions)], {
    stdio: ['ignore', log, log, 'ipc'],
    serialization: 'json',
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pending = new Map<number, (counts: Record<string, number>) => void>();
  let nextId = 1;
  const ready = new Promise<string>((resolve, reject) => {
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'ready') resolve(m.url);
      else if (m.type === 'failed')
        reject(new VirtualClusterError(`the embedded Kubernetes failed: ${m.message}`));
      else if (m.type === 'counts') {
        pending.get(m.id)?.(m.counts);
        pending.delete(m.id);
      }
    });
    void exited.then((code) =>
      reject(new VirtualClusterError(`the embedded Kubernetes exited with ${code}; its log: ${logPath}`)),
    );
  });
  const timeout = setTimeout(() => child.kill('SIGKILL'), 60_000);
  let url: string;
  try {
    url = await ready;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    clearTimeout(timeout);
  }
  const send = (m: ParentMessage) => child.send(m);
  return {
    url,
    kubeconfigPath: childOptions.kubeconfigPath,
    pid: child.pid,
    requestCounts() {
      if (!child.connected) return Promise.resolve({});
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        send({ type: 'counts', id });
      });
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
