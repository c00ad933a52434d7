// Injected faults for resilience tests: 429 / 5xx answers and dropped connections, per endpoint, by
// probability, for the next N requests or for every Nth; before GitLab handles the request or after (the
// answer is lost). Configured through the tunables (`faults`).
import type { FaultEndpoint, FaultRule } from './options.ts';

/** The endpoint class of a request, for matching fault rules. */
export function classifyEndpoint(method: string, path: string): FaultEndpoint {
  if (path === '/api/v4/jobs/request') return 'request_job';
  if (/^\/api\/v4\/jobs\/[^/]+$/.test(path) && method === 'PUT') return 'update_job';
  if (/^\/api\/v4\/jobs\/[^/]+\/trace$/.test(path)) return 'patch_trace';
  if (/^\/api\/v4\/jobs\/[^/]+\/artifacts$/.test(path))
    return method === 'GET' ? 'artifacts_download' : 'artifacts_upload';
  if (/^\/api\/v4\/runners(\/verify|\/managers|\/reset_authentication_token)?$/.test(path)) return 'runners';
  if (path.startsWith('/api/')) return 'api';
  if (path.startsWith('/-/')) return 'any';
  return 'git';
}

/** The runner-facing endpoints GitLab's migrations backoff applies to. */
export function isRunnerEndpoint(endpoint: FaultEndpoint): boolean {
  return [
    'request_job',
    'update_job',
    'patch_trace',
    'artifacts_upload',
    'artifacts_download',
    'runners',
  ].includes(endpoint);
}

export class FaultInjector {
  private readonly used = new WeakMap<FaultRule, number>();
  private readonly seen = new WeakMap<FaultRule, number>();

  /** The fault to apply to this request, if any; `times` rules are consumed. */
  pick(
    rules: FaultRule[],
    endpoint: FaultEndpoint,
    random: () => number = Math.random,
  ): FaultRule | undefined {
    for (const rule of rules) {
      if (rule.endpoint !== 'any' && rule.endpoint !== endpoint) continue;
      if (rule.times !== undefined) {
        const used = this.used.get(rule) ?? 0;
        if (used >= rule.times) continue;
        this.used.set(rule, used + 1);
        return rule;
      }
      if (rule.every !== undefined) {
        const seen = (this.seen.get(rule) ?? 0) + 1;
        this.seen.set(rule, seen);
        if (seen % rule.every === 0) return rule;
        continue;
      }
      if (rule.rate !== undefined && random() < rule.rate) return rule;
    }
    return undefined;
  }
}
