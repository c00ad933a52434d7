// Whether a job needs the uploader container: it has artifacts to upload, or a cache to save (a cache
// whose policy is not `pull`; GitLab may send the policy as an unexpanded `$VARIABLE`).
import type { JobPayload } from '../../gitlab/payload.ts';
import { expandValue, type Lookup } from './variables.ts';

export function jobNeedsUploader(job: Pick<JobPayload, 'artifacts' | 'cache'>, lookup: Lookup): boolean {
  const artifacts = job.artifacts.some((a) => a.untracked || a.paths.length > 0);
  const caches = job.cache.some((c) => {
    const policy = expandValue(String(c.policy), lookup).trim() || 'pull-push';
    return policy !== 'pull' && (c.untracked || c.paths.length > 0);
  });
  return artifacts || caches;
}
