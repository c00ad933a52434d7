// The one list of config.toml keys podrunner accepts but does not act on yet. `run` and `verify` warn about
// every such key a config sets. Whoever implements a key removes its entry here (and the test that lists
// them follows). Patterns: dot-separated segments, `*` matches one key or array index; `children` reports
// each key set below the pattern instead of the pattern itself.
import type { KeyPath } from './toml-lines.ts';

export interface NotActedOnEntry {
  pattern: string;
  reason: string;
  children?: boolean;
}

const K8S_LATER = 'accepted for compatibility; the Kubernetes executor does not act on it yet';
const OTHER_EXECUTOR =
  'belongs to another gitlab-runner executor or platform; podrunner runs only Kubernetes';

export const notActedOn: NotActedOnEntry[] = [
  { pattern: 'session_server', reason: 'podrunner has no session server (web terminal); GitLab is told so' },
  { pattern: 'sentry_dsn', reason: 'podrunner does not report to Sentry' },
  { pattern: 'user', reason: 'podrunner does not switch users' },
  { pattern: 'connection_max_age', reason: 'connections to GitLab are kept alive without an age limit' },
  { pattern: 'experimental', reason: OTHER_EXECUTOR },
  { pattern: 'machine', reason: OTHER_EXECUTOR },

  {
    pattern: 'runners.*.cache.gcs',
    reason: 'podrunner stores caches in S3-compatible storage or a volume only',
  },
  {
    pattern: 'runners.*.cache.azure',
    reason: 'podrunner stores caches in S3-compatible storage or a volume only',
  },
  {
    pattern: 'runners.*.prepare_timeout',
    reason: 'the pod start is bounded by [runners.kubernetes] poll_timeout',
  },
  { pattern: 'runners.*.get_sources_timeout', reason: 'not enforced yet; GET_SOURCES_ATTEMPTS is' },
  { pattern: 'runners.*.shell', reason: 'podrunner detects bash or sh in the job image itself' },
  { pattern: 'runners.*.kubernetes.namespace_per_job', reason: K8S_LATER },
  { pattern: 'runners.*.kubernetes.bearer_token_overwrite_allowed', reason: K8S_LATER },
  { pattern: 'runners.*.kubernetes.retry_limits', reason: K8S_LATER },
  { pattern: 'runners.*.kubernetes.resource_availability_check_max_attempts', reason: K8S_LATER },
  { pattern: 'runners.*.kubernetes.pod_disruption_budget', reason: K8S_LATER },
  { pattern: 'runners.*.kubernetes.print_pod_warning_events', reason: K8S_LATER },
  { pattern: 'runners.*.kubernetes.cleanup_resources_timeout', reason: K8S_LATER },
  { pattern: 'runners.*.kubernetes.helper_image_flavor', reason: 'podrunner has one helper image' },
  {
    pattern: 'runners.*.kubernetes.helper_image_autoset_arch_and_os',
    reason: 'podrunner has one helper image',
  },
  {
    pattern: 'runners.*.kubernetes.poll_interval',
    reason: 'podrunner follows pods through a watch; there is no polling to tune',
  },
  {
    pattern: 'runners.*.kubernetes.init_permissions_container_security_context',
    reason: 'podrunner pods have no init-permissions container',
  },
  { pattern: 'runners.*.kubernetes.logs_base_dir', reason: 'podrunner pods have no logs volume' },
  { pattern: 'runners.*.kubernetes.scripts_base_dir', reason: 'podrunner pods have no scripts volume' },
  {
    pattern: 'runners.*.kubernetes.terminationGracePeriodSeconds',
    reason: 'deprecated upstream; use pod_termination_grace_period_seconds',
  },
  { pattern: 'runners.*.kubernetes.autoscaler', reason: K8S_LATER },
  { pattern: 'runners.*.kubernetes.suspend_pvc_size', reason: K8S_LATER },
  { pattern: 'runners.*.kubernetes.suspend_pvc_storage_class', reason: K8S_LATER },
  { pattern: 'runners.*.kubernetes.services.*.suspend_data_path', reason: K8S_LATER },

  { pattern: 'runners.*.proxy_exec', reason: OTHER_EXECUTOR },
  { pattern: 'runners.*.referees', reason: OTHER_EXECUTOR },
  { pattern: 'runners.*.monitoring', reason: OTHER_EXECUTOR },
  { pattern: 'runners.*.experimental', reason: OTHER_EXECUTOR },
  { pattern: 'runners.*.use_slot_cgroups', reason: OTHER_EXECUTOR },
  { pattern: 'runners.*.slot_cgroup_template', reason: OTHER_EXECUTOR },
  { pattern: 'runners.*.step_runner_image', reason: OTHER_EXECUTOR },
  { pattern: 'runners.*.docker', reason: OTHER_EXECUTOR },
  { pattern: 'runners.*.machine', reason: OTHER_EXECUTOR },
  { pattern: 'runners.*.custom', reason: OTHER_EXECUTOR },
  { pattern: 'runners.*.ssh', reason: OTHER_EXECUTOR },
  { pattern: 'runners.*.parallels', reason: OTHER_EXECUTOR },
  { pattern: 'runners.*.virtualbox', reason: OTHER_EXECUTOR },
  { pattern: 'runners.*.instance', reason: OTHER_EXECUTOR },
  { pattern: 'runners.*.autoscaler', reason: OTHER_EXECUTOR },
];

export interface NotActedOnKey {
  path: KeyPath;
  reason: string;
}

const isTable = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** The keys of a (key-normalized) document that match an entry, in document order of the entries. */
export function findNotActedOn(doc: unknown, entries: NotActedOnEntry[] = notActedOn): NotActedOnKey[] {
  const found: NotActedOnKey[] = [];
  for (const entry of entries) {
    const segments = entry.pattern.split('.');
    const visit = (value: unknown, depth: number, path: (string | number)[]): void => {
      if (depth === segments.length) {
        if (entry.children && isTable(value)) {
          for (const key of Object.keys(value)) found.push({ path: [...path, key], reason: entry.reason });
        } else if (!entry.children) {
          found.push({ path, reason: entry.reason });
        }
        return;
      }
      const seg = segments[depth]!;
      if (Array.isArray(value)) {
        if (seg !== '*' && !/^\d+$/.test(seg)) return;
        value.forEach((v, i) => {
          if (seg === '*' || Number(seg) === i) visit(v, depth + 1, [...path, i]);
        });
      } else if (isTable(value)) {
        for (const [k, v] of Object.entries(value)) {
          if (seg === '*' || seg === k) visit(v, depth + 1, [...path, k]);
        }
      }
    };
    visit(doc, 0, []);
  }
  return found;
}
