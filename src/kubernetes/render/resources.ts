// Requests and limits as Kubernetes objects (the values come from overwrites.ts: config plus the job's
// allowed overwrites). Empty lists are left out, so an unconfigured container has no `resources`.
import type { V1ResourceRequirements } from '@kubernetes/client-node';
import type { ResourceSettings } from './overwrites.ts';

export function resourceRequirements(settings: ResourceSettings): V1ResourceRequirements | undefined {
  const result: V1ResourceRequirements = {};
  if (Object.keys(settings.requests).length > 0)
    result.requests = { ...settings.requests } as Record<string, string>;
  if (Object.keys(settings.limits).length > 0)
    result.limits = { ...settings.limits } as Record<string, string>;
  return result.requests || result.limits ? result : undefined;
}

/** Helper memory below this often dies during git, cache or artifact work (kubernetes-executor.md §6.6). */
export const HELPER_MEMORY_WARNING_BYTES = 256 * 1024 * 1024;
