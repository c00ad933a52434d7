// Chooses the executor plug-in for `run`. The Kubernetes executor is the default and only real one; `fake`
// runs jobs without a cluster (tests, demos of the manager alone).
import type { JobHandler } from './executor.ts';

export const executorPlugins = ['kubernetes', 'fake'] as const;
export type ExecutorPlugin = (typeof executorPlugins)[number];

export class ExecutorUnavailableError extends Error {
  readonly code = 'EXECUTOR_UNAVAILABLE';
}

export async function loadExecutor(name: string): Promise<JobHandler> {
  switch (name) {
    case 'fake': {
      const { fakeExecutor } = await import('./fake-executor.ts');
      return fakeExecutor();
    }
    case 'kubernetes':
      // Wired in when src/job (the Kubernetes executor) lands.
      throw new ExecutorUnavailableError(
        'the Kubernetes executor is not part of this build yet; `--executor-plugin fake` runs jobs without a cluster',
      );
    default:
      throw new ExecutorUnavailableError(
        `unknown executor plug-in ${JSON.stringify(name)} (one of: ${executorPlugins.join(', ')})`,
      );
  }
}
