// `.gitlab-ci.yml` → pipeline model, for the subset of keywords CI users write every day. Errors are
// phrased like GitLab's lint (`jobs:build config contains unknown keys: foo`); keywords GitLab knows but
// this stand-in does not implement are named as unsupported rather than silently ignored.
import { isMap, isScalar, isSeq, parseDocument, type YAMLMap } from 'yaml';
import { parseDuration, parseExpireIn } from './duration.ts';
import type {
  ArtifactWhen,
  CachePolicy,
  CiArtifacts,
  CiCache,
  CiCacheKey,
  CiExecutorOpts,
  CiHook,
  CiImage,
  CiJob,
  CiNeed,
  CiPipelineSpec,
  CiPort,
  CiReport,
  CiRetry,
  CiService,
  CiVariable,
  JobWhen,
  PullPolicy,
} from './model.ts';
import { REPORT_TYPES } from './reports.ts';

export type CiConfigResult = { ok: true; spec: CiPipelineSpec } | { ok: false; errors: string[] };

const GLOBAL_KEYS = new Set([
  'stages',
  'types',
  'default',
  'variables',
  'image',
  'services',
  'before_script',
  'after_script',
  'cache',
]);
const GLOBAL_UNSUPPORTED = new Set(['include', 'workflow', 'spec']);

const JOB_KEYS = new Set([
  'stage',
  'type',
  'image',
  'services',
  'before_script',
  'script',
  'after_script',
  'variables',
  'artifacts',
  'cache',
  'needs',
  'dependencies',
  'timeout',
  'allow_failure',
  'when',
  'tags',
  'retry',
  'interruptible',
  'coverage',
  'hooks',
]);
/** GitLab job keywords this stand-in does not implement. */
const JOB_UNSUPPORTED = new Set([
  'only',
  'except',
  'rules',
  'inherit',
  'resource_group',
  'start_in',
  'environment',
  'parallel',
  'release',
  'secrets',
  'id_tokens',
  'pages',
  'manual_confirmation',
  'identity',
  'dast_configuration',
  'trigger',
  'run',
  'inputs',
]);

const DEFAULT_KEYS = new Set([
  'image',
  'services',
  'before_script',
  'after_script',
  'cache',
  'artifacts',
  'tags',
  'timeout',
  'retry',
  'interruptible',
  'hooks',
]);
const DEFAULT_UNSUPPORTED = new Set(['id_tokens']);

const JOB_WHEN = ['on_success', 'on_failure', 'always', 'manual', 'delayed'] as const;
const ARTIFACT_WHEN: readonly ArtifactWhen[] = ['on_success', 'on_failure', 'always'];
const CACHE_POLICIES: readonly CachePolicy[] = ['pull', 'push', 'pull-push'];
const RETRY_WHEN = new Set([
  'always',
  'unknown_failure',
  'script_failure',
  'api_failure',
  'stuck_or_timeout_failure',
  'runner_system_failure',
  'runner_unsupported',
  'stale_schedule',
  'job_execution_timeout',
  'archived_failure',
  'unmet_prerequisites',
  'scheduler_failure',
  'data_integrity_failure',
]);
const DEFAULT_STAGES = ['build', 'test', 'deploy'];

type Json = unknown;
type Dict = Record<string, Json>;

class ConfigError extends Error {}

function isDict(v: Json): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(message: string): never {
  throw new ConfigError(message);
}

function checkKeys(where: string, value: Dict, allowed: Set<string>, unsupported: Set<string>): void {
  const keys = Object.keys(value);
  const unknown = keys.filter((k) => !allowed.has(k) && !unsupported.has(k));
  if (unknown.length > 0) fail(`${where} config contains unknown keys: ${unknown.join(', ')}`);
  const notHere = keys.filter((k) => unsupported.has(k));
  if (notHere.length > 0) {
    fail(`${where} config uses keywords the embedded GitLab does not support: ${notHere.join(', ')}`);
  }
}

function scalarString(where: string, v: Json): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return fail(`${where} config should be a string`);
}

function stringList(where: string, v: Json, { allowString = false } = {}): string[] {
  if (allowString && typeof v === 'string') return [v];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    return fail(`${where} config should be an array of strings`);
  }
  return v as string[];
}

/** `script`-like: a string or an array nested up to 10 levels deep, flattened. */
function commands(where: string, v: Json): string[] {
  const out: string[] = [];
  const walk = (x: Json, depth: number): void => {
    if (typeof x === 'string') out.push(x);
    else if (Array.isArray(x) && depth < 10) for (const y of x) walk(y, depth + 1);
    else fail(`${where} config should be a string or a nested array of strings up to 10 levels deep`);
  };
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v))
    fail(`${where} config should be a string or a nested array of strings up to 10 levels deep`);
  walk(v, 0);
  return out;
}

function bool(where: string, v: Json): boolean {
  if (typeof v !== 'boolean') fail(`${where} config should be a boolean value`);
  return v;
}

function parseVariables(where: string, v: Json): CiVariable[] {
  if (v === null || v === undefined) return [];
  if (!isDict(v)) return fail(`${where} config should be a hash of key value pairs`);
  return Object.entries(v).map(([key, raw]) => {
    if (isDict(raw)) {
      checkKeys(`${where}:${key}`, raw, new Set(['value', 'description', 'expand', 'options']), new Set());
      const value =
        raw.value === undefined || raw.value === null ? '' : scalarString(`${where}:${key}:value`, raw.value);
      const expand = raw.expand === undefined ? true : bool(`${where}:${key}:expand`, raw.expand);
      return { key, value, raw: !expand };
    }
    if (raw === null) return { key, value: '', raw: false };
    if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') {
      return { key, value: String(raw), raw: false };
    }
    return fail(`${where} config should be a hash of key value pairs, value can be a hash`);
  });
}

function parsePorts(where: string, v: Json): CiPort[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return fail(`${where} config should be an array`);
  return v.map((p) => {
    if (typeof p === 'number') return { number: p, protocol: 'http' as const, name: 'default_port' };
    if (isDict(p) && typeof p.number === 'number') {
      const protocol = p.protocol === 'https' ? ('https' as const) : ('http' as const);
      return { number: p.number, protocol, name: typeof p.name === 'string' ? p.name : 'default_port' };
    }
    return fail(`${where} config should be an array of ports`);
  });
}

function parseExecutorOpts(where: string, v: Dict): CiExecutorOpts {
  const opts: CiExecutorOpts = {};
  if (v.docker !== undefined) {
    if (!isDict(v.docker)) fail(`${where}:docker config should be a hash`);
    checkKeys(`${where}:docker`, v.docker, new Set(['platform', 'user']), new Set());
    opts.docker = v.docker as CiExecutorOpts['docker'];
  }
  if (v.kubernetes !== undefined) {
    if (!isDict(v.kubernetes)) fail(`${where}:kubernetes config should be a hash`);
    checkKeys(`${where}:kubernetes`, v.kubernetes, new Set(['user']), new Set());
    opts.kubernetes = v.kubernetes as CiExecutorOpts['kubernetes'];
  }
  return opts;
}

const PULL_POLICIES: readonly PullPolicy[] = ['always', 'never', 'if-not-present'];

function pullPolicy(where: string, v: Json): PullPolicy[] | null {
  if (v === undefined || v === null) return null;
  const list = stringList(where, v, { allowString: true });
  const bad = list.filter((p) => !PULL_POLICIES.includes(p as PullPolicy));
  if (bad.length > 0) fail(`${where} config contains an invalid pull policy: ${bad.join(', ')}`);
  return list as PullPolicy[];
}

function parseImage(where: string, v: Json): CiImage {
  if (typeof v === 'string')
    return { name: v, entrypoint: null, pullPolicy: null, executorOpts: {}, ports: [] };
  if (!isDict(v)) return fail(`${where} config should be a hash or a string`);
  checkKeys(
    where,
    v,
    new Set(['name', 'entrypoint', 'pull_policy', 'docker', 'kubernetes', 'ports']),
    new Set(),
  );
  if (typeof v.name !== 'string' || v.name === '') return fail(`${where} name can't be blank`);
  return {
    name: v.name,
    entrypoint: v.entrypoint === undefined ? null : stringList(`${where}:entrypoint`, v.entrypoint),
    pullPolicy: pullPolicy(`${where}:pull_policy`, v.pull_policy),
    executorOpts: parseExecutorOpts(where, v),
    ports: parsePorts(`${where}:ports`, v.ports),
  };
}

function parseServices(where: string, v: Json): CiService[] {
  if (v === null) return [];
  if (!Array.isArray(v)) return fail(`${where} config should be a array`);
  return v.map((s, i) => {
    const at = `${where}:service[${i}]`;
    if (typeof s === 'string') {
      return { ...parseImage(at, s), alias: null, command: null, variables: [] };
    }
    if (!isDict(s)) return fail(`${at} config should be a hash or a string`);
    checkKeys(
      at,
      s,
      new Set([
        'name',
        'alias',
        'entrypoint',
        'command',
        'variables',
        'pull_policy',
        'docker',
        'kubernetes',
        'ports',
      ]),
      new Set(),
    );
    const { alias, command, variables, ...image } = s;
    return {
      ...parseImage(at, image),
      alias: alias === undefined || alias === null ? null : scalarString(`${at}:alias`, alias),
      command: command === undefined || command === null ? null : stringList(`${at}:command`, command),
      variables: parseVariables(`${at}:variables`, variables).map(({ key, value }) => ({ key, value })),
    };
  });
}

function artifactWhen(where: string, v: Json): ArtifactWhen | null {
  if (v === undefined || v === null) return null;
  if (!ARTIFACT_WHEN.includes(v as ArtifactWhen)) {
    return fail(`${where} config should be on_success, on_failure or always`);
  }
  return v as ArtifactWhen;
}

function parseReports(where: string, v: Json): CiReport[] {
  if (v === undefined || v === null) return [];
  if (!isDict(v)) return fail(`${where} config should be a hash`);
  const reports: CiReport[] = [];
  for (const [type, value] of Object.entries(v)) {
    if (type === 'coverage_report') {
      if (!isDict(value)) return fail(`${where}:coverage_report config should be a hash`);
      const format = value.coverage_format;
      if (format !== 'cobertura' && format !== 'jacoco') {
        return fail(`${where}:coverage_report coverage format should be one of: cobertura, jacoco`);
      }
      reports.push({
        type: format,
        paths: stringList(`${where}:coverage_report:path`, value.path, { allowString: true }),
      });
      continue;
    }
    if (REPORT_TYPES[type] === undefined) return fail(`${where} config contains unknown keys: ${type}`);
    reports.push({ type, paths: stringList(`${where}:${type}`, value, { allowString: true }) });
  }
  return reports;
}

function parseArtifacts(where: string, v: Json): CiArtifacts | null {
  if (v === null) return null;
  if (!isDict(v)) return fail(`${where} config should be a hash`);
  checkKeys(
    where,
    v,
    new Set(['name', 'paths', 'exclude', 'untracked', 'when', 'expire_in', 'reports']),
    new Set(['expose_as', 'public', 'access']),
  );
  const expireIn =
    v.expire_in === undefined || v.expire_in === null
      ? null
      : scalarString(`${where}:expire_in`, v.expire_in);
  if (expireIn !== null && parseExpireIn(expireIn) === undefined)
    fail(`${where} expire in should be a duration`);
  return {
    name: v.name === undefined || v.name === null ? null : scalarString(`${where}:name`, v.name),
    paths: v.paths === undefined ? [] : stringList(`${where}:paths`, v.paths),
    exclude: v.exclude === undefined ? [] : stringList(`${where}:exclude`, v.exclude),
    untracked:
      v.untracked === undefined || v.untracked === null ? null : bool(`${where}:untracked`, v.untracked),
    when: artifactWhen(`${where}:when`, v.when),
    expireIn,
    reports: parseReports(`${where}:reports`, v.reports),
  };
}

function parseCacheKey(where: string, v: Json): CiCacheKey | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string' || typeof v === 'number') {
    const key = String(v);
    if (key.includes('/') || key.toLowerCase().includes('%2f'))
      fail(`${where} config cannot contain the "/" character`);
    if (key === '.' || key === '%2e' || key === '%2E') fail(`${where} config cannot be "." or "%2E"`);
    return { kind: 'string', value: key };
  }
  if (!isDict(v)) return fail(`${where} config should be a hash, a string or a symbol`);
  checkKeys(where, v, new Set(['files', 'prefix']), new Set(['files_commits']));
  const files = stringList(`${where}:files`, v.files);
  if (files.length < 1 || files.length > 2)
    fail(`${where}:files config has to be an array of one or two file paths`);
  const prefix =
    v.prefix === undefined || v.prefix === null ? null : scalarString(`${where}:prefix`, v.prefix);
  return { kind: 'files', files, prefix };
}

function parseCaches(where: string, v: Json): CiCache[] {
  if (v === null || v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  if (list.length > 4) fail(`${where} config no more than 4 caches can be created`);
  return list.map((c, i) => {
    const at = Array.isArray(v) ? `${where}[${i}]` : where;
    if (!isDict(c)) return fail(`${at} config should be a hash`);
    checkKeys(
      at,
      c,
      new Set(['key', 'paths', 'untracked', 'policy', 'when', 'fallback_keys', 'unprotect']),
      new Set(),
    );
    const policy = c.policy === undefined || c.policy === null ? null : c.policy;
    if (policy !== null && !CACHE_POLICIES.includes(policy as CachePolicy)) {
      fail(`${at}:policy config should be one of: pull-push, push, pull`);
    }
    const fallbackKeys =
      c.fallback_keys === undefined ? [] : stringList(`${at}:fallback_keys`, c.fallback_keys);
    if (fallbackKeys.length > 5) fail(`${at}:fallback_keys config should not have more than 5 keys`);
    return {
      key: parseCacheKey(`${at}:key`, c.key),
      paths: c.paths === undefined ? [] : stringList(`${at}:paths`, c.paths),
      untracked:
        c.untracked === undefined || c.untracked === null ? null : bool(`${at}:untracked`, c.untracked),
      policy: policy as CachePolicy | null,
      when: artifactWhen(`${at}:when`, c.when),
      fallbackKeys,
      unprotect: c.unprotect === undefined ? false : bool(`${at}:unprotect`, c.unprotect),
    };
  });
}

function parseNeeds(where: string, v: Json): CiNeed[] {
  if (!Array.isArray(v)) return fail(`${where} config can only be a hash or an array`);
  return v.map((n) => {
    if (typeof n === 'string') return { job: n, artifacts: true, optional: false };
    if (isDict(n)) {
      checkKeys(
        `${where}:need`,
        n,
        new Set(['job', 'artifacts', 'optional']),
        new Set(['pipeline', 'project', 'ref', 'parallel']),
      );
      if (typeof n.job !== 'string') return fail(`${where}:need config should contain job`);
      return {
        job: n.job,
        artifacts: n.artifacts === undefined ? true : bool(`${where}:need:artifacts`, n.artifacts),
        optional: n.optional === undefined ? false : bool(`${where}:need:optional`, n.optional),
      };
    }
    return fail(`${where}:need config can only be a string or a hash`);
  });
}

function parseRetry(where: string, v: Json): CiRetry | null {
  if (v === null || v === undefined) return null;
  const checkMax = (max: Json): number => {
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 0 || max > 2) {
      return fail(`${where} config must be between 0 and 2`);
    }
    return max;
  };
  if (typeof v === 'number') return { max: checkMax(v), when: ['always'], exitCodes: null };
  if (!isDict(v)) return fail(`${where} config has to be either an integer or a hash`);
  checkKeys(where, v, new Set(['max', 'when', 'exit_codes']), new Set());
  const when = v.when === undefined ? ['always'] : stringList(`${where}:when`, v.when, { allowString: true });
  const bad = when.filter((w) => !RETRY_WHEN.has(w));
  if (bad.length > 0) fail(`${where} when contains unknown values: ${bad.join(', ')}`);
  const exitCodes =
    v.exit_codes === undefined
      ? null
      : (Array.isArray(v.exit_codes) ? v.exit_codes : [v.exit_codes]).map(Number);
  return { max: v.max === undefined ? 0 : checkMax(v.max), when, exitCodes };
}

interface Defaults {
  image?: CiImage | null;
  services?: CiService[];
  beforeScript?: string[];
  afterScript?: string[];
  cache?: CiCache[];
  artifacts?: CiArtifacts | null;
  tags?: string[];
  timeoutSeconds?: number | null;
  retry?: CiRetry | null;
  hooks?: CiHook[];
}

/** `hooks:` — GitLab's `ALLOWED_HOOKS` is `pre_get_sources_script` alone. */
function parseHooks(where: string, v: Json): CiHook[] {
  if (!isDict(v)) return fail(`${where} config should be a hash`);
  checkKeys(where, v, new Set(['pre_get_sources_script']), new Set());
  if (v.pre_get_sources_script === undefined || v.pre_get_sources_script === null) return [];
  return [
    {
      name: 'pre_get_sources_script',
      script: commands(`${where}:pre_get_sources_script`, v.pre_get_sources_script),
    },
  ];
}

function parseTimeout(where: string, v: Json): number {
  const seconds = typeof v === 'string' || typeof v === 'number' ? parseDuration(v) : null;
  if (seconds === null || seconds <= 0) return fail(`${where} config should be a duration`);
  return seconds;
}

function parseDefaults(where: string, v: Dict, into: Defaults): void {
  if (v.image !== undefined) into.image = v.image === null ? null : parseImage(`${where}:image`, v.image);
  if (v.services !== undefined) into.services = parseServices(`${where}:services`, v.services);
  if (v.before_script !== undefined) into.beforeScript = commands(`${where}:before_script`, v.before_script);
  if (v.after_script !== undefined) into.afterScript = commands(`${where}:after_script`, v.after_script);
  if (v.cache !== undefined) into.cache = parseCaches(`${where}:cache`, v.cache);
  if (v.artifacts !== undefined) into.artifacts = parseArtifacts(`${where}:artifacts`, v.artifacts);
  if (v.tags !== undefined) into.tags = stringList(`${where}:tags`, v.tags);
  if (v.timeout !== undefined) into.timeoutSeconds = parseTimeout(`${where}:timeout`, v.timeout);
  if (v.retry !== undefined) into.retry = parseRetry(`${where}:retry`, v.retry);
  if (v.hooks !== undefined && where !== 'root') into.hooks = parseHooks(`${where}:hooks`, v.hooks);
}

function parseJob(name: string, v: Json, defaults: Defaults): CiJob {
  const where = `jobs:${name}`;
  if (!isDict(v) || (v.script === undefined && v.run === undefined && v.trigger === undefined)) {
    return fail(`${where} config should implement the script:, run:, or trigger: keyword`);
  }
  checkKeys(where, v, JOB_KEYS, JOB_UNSUPPORTED);
  const script = commands(`${where}:script`, v.script);
  if (script.length === 0) fail(`${where} script can't be blank`);

  const whenRaw = v.when === undefined || v.when === null ? 'on_success' : v.when;
  if (!JOB_WHEN.includes(whenRaw as (typeof JOB_WHEN)[number])) {
    fail(`${where} when should be one of: ${JOB_WHEN.join(', ')}`);
  }
  if (whenRaw === 'delayed')
    fail(`${where} config uses keywords the embedded GitLab does not support: when:delayed`);
  const when = whenRaw as JobWhen;

  let allowFailure = when === 'manual';
  let allowFailureExitCodes: number[] | null = null;
  if (v.allow_failure !== undefined) {
    if (typeof v.allow_failure === 'boolean') allowFailure = v.allow_failure;
    else if (isDict(v.allow_failure)) {
      checkKeys(`${where}:allow_failure`, v.allow_failure, new Set(['exit_codes']), new Set());
      const codes = v.allow_failure.exit_codes;
      const list = Array.isArray(codes) ? codes : [codes];
      if (!list.every((c) => typeof c === 'number' && Number.isInteger(c))) {
        fail(`${where}:allow_failure exit codes should be an array of integers or an integer`);
      }
      allowFailure = false;
      allowFailureExitCodes = list as number[];
    } else fail(`${where} allow failure should be a hash or a boolean value`);
  }

  const stageRaw = v.stage ?? v.type;
  const needs = v.needs === undefined || v.needs === null ? null : parseNeeds(`${where}:needs`, v.needs);
  const dependencies =
    v.dependencies === undefined ? null : stringList(`${where}:dependencies`, v.dependencies);
  if (dependencies && needs) {
    const missing = dependencies.filter((d) => !needs.some((n) => n.job === d));
    if (missing.length > 0) fail(`${where} dependencies the ${missing.join(', ')} should be part of needs`);
  }
  const coverage =
    v.coverage === undefined || v.coverage === null ? null : scalarString(`${where}:coverage`, v.coverage);

  return {
    name,
    stage: stageRaw === undefined || stageRaw === null ? 'test' : scalarString(`${where}:stage`, stageRaw),
    image:
      v.image !== undefined
        ? v.image === null
          ? null
          : parseImage(`${where}:image`, v.image)
        : (defaults.image ?? null),
    services:
      v.services !== undefined ? parseServices(`${where}:services`, v.services) : (defaults.services ?? []),
    beforeScript:
      v.before_script !== undefined
        ? commands(`${where}:before_script`, v.before_script)
        : (defaults.beforeScript ?? []),
    script,
    afterScript:
      v.after_script !== undefined
        ? commands(`${where}:after_script`, v.after_script)
        : (defaults.afterScript ?? null),
    hooks: v.hooks !== undefined ? parseHooks(`${where}:hooks`, v.hooks) : (defaults.hooks ?? []),
    variables: parseVariables(`${where}:variables`, v.variables),
    artifacts:
      v.artifacts !== undefined
        ? parseArtifacts(`${where}:artifacts`, v.artifacts)
        : (defaults.artifacts ?? null),
    cache: v.cache !== undefined ? parseCaches(`${where}:cache`, v.cache) : (defaults.cache ?? []),
    needs,
    dependencies,
    timeoutSeconds:
      v.timeout !== undefined
        ? parseTimeout(`${where}:timeout`, v.timeout)
        : (defaults.timeoutSeconds ?? null),
    allowFailure,
    allowFailureExitCodes,
    when,
    tags:
      v.tags !== undefined
        ? v.tags === null
          ? []
          : stringList(`${where}:tags`, v.tags)
        : (defaults.tags ?? []),
    retry: v.retry !== undefined ? parseRetry(`${where}:retry`, v.retry) : (defaults.retry ?? null),
    coverageRegex: coverage === null ? null : coverage.replace(/^\/(.*)\/$/, '$1'),
  };
}

/** Stage order and DAG checks across jobs (GitLab's YAML processor validations). */
function validateGraph(spec: CiPipelineSpec): void {
  const byName = new Map(spec.jobs.map((j) => [j.name, j]));
  const stageIndex = (j: CiJob) => spec.stages.indexOf(j.stage);
  for (const job of spec.jobs) {
    if (!spec.stages.includes(job.stage)) {
      fail(
        `${job.name} job: chosen stage ${job.stage} does not exist; available stages are ${spec.stages.join(', ')}`,
      );
    }
  }
  for (const job of spec.jobs) {
    for (const dep of job.dependencies ?? []) {
      const target = byName.get(dep);
      if (!target) fail(`${job.name} job: undefined dependency: ${dep}`);
      if (stageIndex(target) > stageIndex(job)) {
        fail(`${job.name} job: dependency ${dep} is not defined in current or prior stages`);
      }
    }
    for (const need of job.needs ?? []) {
      const target = byName.get(need.job);
      if (!target) {
        if (need.optional) continue;
        fail(`${job.name} job: undefined need: ${need.job}`);
      }
      if (stageIndex(target) > stageIndex(job)) {
        fail(`${job.name} job: need ${need.job} is not defined in current or prior stages`);
      }
    }
  }
  // Same-stage needs can form cycles.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string): void => {
    const s = state.get(name);
    if (s === 'done') return;
    if (s === 'visiting') fail('The pipeline has circular dependencies');
    state.set(name, 'visiting');
    for (const need of byName.get(name)?.needs ?? []) if (byName.has(need.job)) visit(need.job);
    state.set(name, 'done');
  };
  for (const job of spec.jobs) visit(job.name);
}

/** GitLab's `extends` merge: hashes merge deeply, everything else (arrays included) is replaced. */
function deepMerge(base: Dict, over: Dict): Dict {
  const out: Dict = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isDict(b) && isDict(v) ? deepMerge(b, v) : v;
  }
  return out;
}

const MAX_EXTENDS_DEPTH = 11;

/** Resolves `extends:` of every job and hidden job, in order, bases first. */
function resolveExtends(root: Dict): Dict {
  const resolved = new Map<string, Dict>();
  const resolve = (key: string, stack: string[]): Dict => {
    const done = resolved.get(key);
    if (done) return done;
    const entry = root[key];
    if (!isDict(entry) || entry.extends === undefined) return isDict(entry) ? entry : {};
    if (stack.includes(key)) fail(`${key}: circular dependency detected in \`extends\``);
    if (stack.length >= MAX_EXTENDS_DEPTH) fail(`${key}: nesting too deep in \`extends\``);
    const bases = typeof entry.extends === 'string' ? [entry.extends] : entry.extends;
    if (!Array.isArray(bases) || !bases.every((b) => typeof b === 'string')) {
      fail(`jobs:${key}:extends config should be an array of strings or a string`);
    }
    const unknown = (bases as string[]).filter((b) => !(b in root));
    if (unknown.length > 0) fail(`${key}: unknown keys in \`extends\` (${unknown.join(', ')})`);
    let merged: Dict = {};
    for (const base of bases as string[]) {
      if (!isDict(root[base])) fail(`${key}: invalid base hash in \`extends\``);
      merged = deepMerge(merged, resolve(base, [...stack, key]));
    }
    const { extends: _ignored, ...own } = entry;
    const result = deepMerge(merged, own);
    resolved.set(key, result);
    return result;
  };
  const out: Dict = {};
  for (const [key, value] of Object.entries(root)) {
    out[key] =
      !GLOBAL_KEYS.has(key) && isDict(value) && value.extends !== undefined ? resolve(key, []) : value;
  }
  return out;
}

/** Parses YAML text (anchors and `<<` merge keys included) into a plain value. */
function loadYaml(text: string): Json {
  const doc = parseDocument(text, { merge: true, uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0) fail(`(<unknown>): ${doc.errors[0]?.message ?? 'invalid YAML'}`);
  const tagged = findCustomTag(doc.contents);
  if (tagged) fail(`${tagged} tags are not supported by the embedded GitLab`);
  return doc.toJS({ maxAliasCount: 1000 });
}

function findCustomTag(node: unknown): string | null {
  if (isScalar(node) || isMap(node) || isSeq(node)) {
    const tag = (node as { tag?: string }).tag;
    if (tag && !tag.startsWith('tag:yaml.org,2002:')) return tag;
  }
  if (isMap(node)) {
    for (const pair of (node as YAMLMap).items) {
      const found = findCustomTag(pair.key) ?? findCustomTag(pair.value);
      if (found) return found;
    }
  }
  if (isSeq(node)) {
    for (const item of node.items) {
      const found = findCustomTag(item);
      if (found) return found;
    }
  }
  return null;
}

export function parseCiConfig(text: string): CiConfigResult {
  try {
    if (text.trim() === '') fail('Please provide content of .gitlab-ci.yml');
    const loaded = loadYaml(text);
    if (!isDict(loaded)) fail('Invalid configuration format');
    const root = resolveExtends(loaded);

    const unsupported = Object.keys(root).filter((k) => GLOBAL_UNSUPPORTED.has(k));
    if (unsupported.length > 0) {
      fail(`root config uses keywords the embedded GitLab does not support: ${unsupported.join(', ')}`);
    }

    const defaults: Defaults = {};
    parseDefaults('root', root, defaults);
    if (root.default !== undefined && root.default !== null) {
      if (!isDict(root.default)) fail('default config should be a hash');
      checkKeys('default', root.default, DEFAULT_KEYS, DEFAULT_UNSUPPORTED);
      parseDefaults('default', root.default, defaults);
    }

    const stagesRaw = root.stages ?? root.types;
    const userStages =
      stagesRaw === undefined || stagesRaw === null ? DEFAULT_STAGES : stringList('stages', stagesRaw);
    const stages = ['.pre', ...userStages.filter((s) => s !== '.pre' && s !== '.post'), '.post'];

    const jobs: CiJob[] = [];
    for (const [name, value] of Object.entries(root)) {
      if (GLOBAL_KEYS.has(name) || name.startsWith('.')) continue;
      jobs.push(parseJob(name, value, defaults));
    }
    if (jobs.length === 0) fail('jobs config should contain at least one visible job');

    const spec: CiPipelineSpec = { stages, variables: parseVariables('variables', root.variables), jobs };
    validateGraph(spec);
    // GitLab orders a pipeline's jobs by stage, then by their order in the file.
    spec.jobs.sort((a, b) => stages.indexOf(a.stage) - stages.indexOf(b.stage));
    return { ok: true, spec };
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, errors: [error.message] };
    throw error;
  }
}
