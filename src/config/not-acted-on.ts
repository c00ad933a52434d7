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

const JOB = 'acted on by the job executor, which is not built yet';
const OTHER_EXECUTOR =
  'belongs to another gitlab-runner executor or platform; podrunner runs only Kubernetes';

export const notActedOn: NotActedOnEntry[] = [
  { pattern: 'session_server', reason: 'podrunner has no session server (web terminal); GitLab is told so' },
  { pattern: 'sentry_dsn', reason: 'podrunner does not report to Sentry' },
  { pattern: 'user', reason: 'podrunner does not switch users' },
  { pattern: 'connection_max_age', reason: 'connections to GitLab are kept alive without an age limit' },
  { pattern: 'experimental', reason: OTHER_EXECUTOR },
  { pattern: 'machine', reason: OTHER_EXECUTOR },

  { pattern: 'runners.*.kubernetes', reason: 'the Kubernetes executor is not built yet', children: true },
  { pattern: 'runners.*.cache', reason: 'the distributed cache is not built yet' },
  { pattern: 'runners.*.artifact', reason: JOB },
  { pattern: 'runners.*.output_limit', reason: JOB },
  { pattern: 'runners.*.builds_dir', reason: JOB },
  { pattern: 'runners.*.cache_dir', reason: JOB },
  { pattern: 'runners.*.clone_url', reason: JOB },
  { pattern: 'runners.*.environment', reason: JOB },
  { pattern: 'runners.*.pre_get_sources_script', reason: JOB },
  { pattern: 'runners.*.post_get_sources_script', reason: JOB },
  { pattern: 'runners.*.pre_build_script', reason: JOB },
  { pattern: 'runners.*.post_build_script', reason: JOB },
  { pattern: 'runners.*.prepare_timeout', reason: JOB },
  { pattern: 'runners.*.get_sources_timeout', reason: JOB },
  { pattern: 'runners.*.debug_trace_disabled', reason: JOB },
  { pattern: 'runners.*.safe_directory_checkout', reason: JOB },
  { pattern: 'runners.*.clean_git_config', reason: JOB },
  { pattern: 'runners.*.custom_build_dir', reason: JOB },
  { pattern: 'runners.*.feature_flags', reason: JOB },
  { pattern: 'runners.*.shell', reason: JOB },

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
