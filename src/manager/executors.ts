// Chooses the executor plug-in for `run`. The Kubernetes executor is the default and only real one; `fake`
// runs jobs without a cluster (tests, demos of the manager alone).
import type { Logger } from 'pino';
import { version } from '../version.ts';
import type { JobHandler } from './executor.ts';

export const executorPlugins = ['kubernetes', 'fake'] as const;
export type ExecutorPlugin = (typeof executorPlugins)[number];

export class ExecutorUnavailableError extends Error {
  readonly code = 'EXECUTOR_UNAVAILABLE';
}

export async function loadExecutor(name: string, log: Logger): Promise<JobHandler> {
  switch (name) {
    case 'fake': {
      const { fakeExecutor } = await import('./fake-executor.ts');
      return fakeExecutor();
    }
    case 'kubernetes': {
      const { KubernetesExecutor } = await import('../job/kubernetes-executor.ts');
      const lease = Number.parseInt(process.env.PODRUNNER_LEASE_SECONDS ?? '', 10);
      return new KubernetesExecutor({
        log,
        version,
        revision: process.env.PODRUNNER_REVISION ?? 'dev',
        // How long a manager may go silent before another replica takes its jobs over.
        ...(Number.isFinite(lease) && lease > 0 ? { leaseDurationSeconds: lease } : {}),
      });
    }
    default:
      throw new ExecutorUnavailableError(
        `unknown executor plug-in ${JSON.stringify(name)} (one of: ${executorPlugins.join(', ')})`,
      );
  }
}
