// The job's variables as the build script exports them, assembled and expanded like gitlab-runner
// (common/build.go GetAllVariables, common/spec/variables.go Expand): resolved feature flags, then
// the runner's own variables, then the job's, then a few more of the runner's; every value that is
// not `raw` expanded with Go's os.Expand against the whole list (the last definition of a name
// wins; a file variable expands to its file's path).
import type { JobPayload } from '../gitlab/payload.ts';

export interface ScriptVariable {
  key: string;
  value: string;
  public?: boolean;
  masked?: boolean;
  /** The value goes into `<project dir>.tmp/<key>` and the variable holds that path. */
  file?: boolean;
  /** Not expanded. */
  raw?: boolean;
}

export const TEMP_PROJECT_DIR_VARIABLE = 'RUNNER_TEMP_PROJECT_DIR';

/** `<project dir>.tmp`: where file variables (and GITLAB_ENV) live. */
export function tmpProjectDir(projectDir: string): string {
  return `${projectDir.replace(/\/+$/, '')}.tmp`;
}

/** The path a file variable's value is written to. */
export function fileVariablePath(projectDir: string, key: string): string {
  return `${tmpProjectDir(projectDir)}/${key}`;
}

/** The raw value of the last definition of `key` (file variables: their content). */
export function variableValue(variables: readonly ScriptVariable[], key: string): string | undefined {
  for (let i = variables.length - 1; i >= 0; i--) if (variables[i]!.key === key) return variables[i]!.value;
  return undefined;
}

const SPECIAL = new Set([
  '*',
  '#',
  '$',
  '@',
  '!',
  '?',
  '-',
  '0',
  '1',
  '2',
  '3',
  '4',
  '5',
  '6',
  '7',
  '8',
  '9',
]);
const isAlphaNum = (c: string) => /[A-Za-z0-9_]/.test(c);

/** Go's os.Expand: `$NAME`, `${NAME}`; `$$` → `$`; invalid `${` syntax is dropped like Go does. */
export function expandValue(value: string, lookup: (name: string) => string): string {
  if (!value.includes('$')) return value;
  let out = '';
  let i = 0;
  for (let j = 0; j < value.length; j++) {
    if (value[j] !== '$' || j + 1 >= value.length) continue;
    out += value.slice(i, j);
    const [name, width] = shellName(value.slice(j + 1));
    if (name === '' && width > 0) {
      // invalid syntax: eaten
    } else if (name === '') {
      out += '$';
    } else {
      out += lookup(name);
    }
    j += width;
    i = j + 1;
  }
  return out + value.slice(i);
}

function shellName(s: string): [string, number] {
  if (s[0] === '{') {
    if (s.length > 2 && SPECIAL.has(s[1]!) && s[2] === '}') return [s[1]!, 3];
    for (let i = 1; i < s.length; i++) {
      if (s[i] === '}') return i === 1 ? ['', 2] : [s.slice(1, i), i + 1];
    }
    return ['', 1];
  }
  if (SPECIAL.has(s[0]!)) return [s[0]!, 1];
  let i = 0;
  while (i < s.length && isAlphaNum(s[i]!)) i++;
  return [s.slice(0, i), i];
}

/**
 * Every non-raw value expanded against the list as given. `$$` stays `$` (Go maps the name `$` to
 * itself), positional and special parameters expand to nothing, unknown names to nothing.
 */
export function expandVariables(variables: readonly ScriptVariable[], projectDir: string): ScriptVariable[] {
  const last = new Map<string, ScriptVariable>();
  for (const v of variables) last.set(v.key, v);
  const tmp = variableValue(variables, TEMP_PROJECT_DIR_VARIABLE) ?? tmpProjectDir(projectDir);
  const lookup = (name: string): string => {
    if (name === '$') return '$';
    if (SPECIAL.has(name)) return '';
    const v = last.get(name);
    if (!v) return '';
    return v.file ? `${tmp}/${v.key}` : v.value;
  };
  return variables.map((v) => (v.raw ? { ...v } : { ...v, value: expandValue(v.value, lookup) }));
}

/** The values the trace must mask: masked variables after expansion. */
export function maskedValues(expanded: readonly ScriptVariable[]): string[] {
  return expanded.filter((v) => v.masked).map((v) => v.value);
}

export interface RunnerVariableOptions {
  /** `builds_dir` (`/builds`). */
  buildsDir: string;
  /** `/builds/<namespace>/<project>` or GIT_CLONE_PATH. */
  projectDir: string;
  jobTimeoutSeconds: number;
  /** `CI_RUNNER_SHORT_TOKEN`. */
  shortToken: string;
  /** The runner-wide job slot (`CI_CONCURRENT_ID`) and the per-project one (`CI_CONCURRENT_PROJECT_ID`). */
  concurrentId?: number;
  concurrentProjectId?: number;
  /** GitLab sends CI_RUNNER_ID/DESCRIPTION/TAGS itself; these fill in when it does not. */
  runnerId?: number;
  runnerDescription?: string;
  runnerTags?: readonly string[];
  /** The job image (`CI_JOB_IMAGE`), when the job has one. */
  image?: string;
  /** PEM contents for the file variables CI_SERVER_TLS_CA_FILE / _CERT_FILE / _KEY_FILE. */
  tlsCaChain?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** `[[runners]] environment`: `KEY=VALUE` entries. */
  environment?: readonly string[];
  /** Effective value of every feature flag to export (`FF_*=true|false`). */
  featureFlags?: Readonly<Record<string, boolean>>;
  version: string;
  revision: string;
  /** `linux/amd64`. */
  arch?: string;
}

const internal = (key: string, value: string, extra: Partial<ScriptVariable> = {}): ScriptVariable => ({
  key,
  value,
  public: true,
  ...extra,
});

/** `KEY=VALUE` from `[[runners]] environment`; entries without `=` are ignored like upstream. */
export function parseEnvironmentEntry(entry: string): ScriptVariable | undefined {
  const eq = entry.indexOf('=');
  if (eq <= 0) return undefined;
  return { key: entry.slice(0, eq), value: entry.slice(eq + 1), public: true };
}

/**
 * The variables the runner adds around the job's own (kubernetes-executor.md §2.5):
 * `before` precede the job's variables (so GitLab's win), `after` follow them.
 */
export function runnerVariables(o: RunnerVariableOptions): {
  before: ScriptVariable[];
  after: ScriptVariable[];
} {
  const before: ScriptVariable[] = [];
  for (const [key, on] of Object.entries(o.featureFlags ?? {})) before.push(internal(key, String(on)));
  if (o.image) before.push(internal('CI_JOB_IMAGE', o.image));
  before.push(internal('CI_RUNNER_SHORT_TOKEN', o.shortToken));
  if (o.runnerId !== undefined) before.push(internal('CI_RUNNER_ID', String(o.runnerId)));
  if (o.runnerDescription !== undefined) before.push(internal('CI_RUNNER_DESCRIPTION', o.runnerDescription));
  if (o.runnerTags) before.push(internal('CI_RUNNER_TAGS', JSON.stringify(o.runnerTags)));
  for (const entry of o.environment ?? []) {
    const v = parseEnvironmentEntry(entry);
    if (v) before.push(v);
  }
  before.push(
    internal('CI_BUILDS_DIR', o.buildsDir),
    internal('CI_PROJECT_DIR', o.projectDir),
    internal('CI_CONCURRENT_ID', String(o.concurrentId ?? 0)),
    internal('CI_CONCURRENT_PROJECT_ID', String(o.concurrentProjectId ?? 0)),
    internal('CI_SERVER', 'yes'),
    internal('CI_JOB_STATUS', 'running'),
    internal('CI_JOB_TIMEOUT', String(Math.floor(o.jobTimeoutSeconds))),
  );
  if (o.tlsCaChain) before.push(internal('CI_SERVER_TLS_CA_FILE', o.tlsCaChain, { file: true }));
  if (o.tlsCert && o.tlsKey) {
    before.push(
      internal('CI_SERVER_TLS_CERT_FILE', o.tlsCert, { file: true }),
      internal('CI_SERVER_TLS_KEY_FILE', o.tlsKey, { file: true, public: false }),
    );
  }
  const after: ScriptVariable[] = [
    internal('CI_DISPOSABLE_ENVIRONMENT', 'true'),
    internal('CI_RUNNER_VERSION', o.version),
    internal('CI_RUNNER_REVISION', o.revision),
    internal('CI_RUNNER_EXECUTABLE_ARCH', o.arch ?? 'linux/amd64'),
    internal(TEMP_PROJECT_DIR_VARIABLE, tmpProjectDir(o.projectDir)),
  ];
  return { before, after };
}

/**
 * The final variable list in upstream's order: runner `before`, the job's variables (without the
 * feature flags the runner already resolved), runner `after`. Not yet expanded.
 */
export function assembleVariables(
  job: Pick<JobPayload, 'variables'>,
  o: RunnerVariableOptions,
): ScriptVariable[] {
  const { before, after } = runnerVariables(o);
  const resolved = new Set(Object.keys(o.featureFlags ?? {}));
  const jobVars = job.variables.filter((v) => !resolved.has(v.key));
  return [...before, ...jobVars, ...after];
}
