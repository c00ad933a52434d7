// The job-side knobs of the helper's stages, read from the job's variables with upstream's parsing
// rules and defaults (`common/build_settings.go`): a malformed value falls back to the default and
// produces a warning that the stage prints.
import type { JobPayload } from '../src/gitlab/payload.ts';
import type { HelperSettings } from './contract.ts';
import type { JobVariables } from './variables.ts';

export type GitStrategy = 'clone' | 'fetch' | 'none' | 'empty';
export type SubmoduleStrategy = 'none' | 'normal' | 'recursive';

export interface BuildSettings {
  gitStrategy: GitStrategy;
  gitCheckout: boolean;
  gitDepth: number;
  submoduleStrategy: SubmoduleStrategy;
  submodulePaths: string[];
  submoduleDepth: number;
  submoduleUpdateFlags: string[];
  cleanFlags: string[];
  fetchFlags: string[];
  cloneFlags: string[];
  lfsSkipSmudge: boolean;
  getSourcesAttempts: number;
  artifactDownloadAttempts: number;
  restoreCacheAttempts: number;
  debugTrace: boolean;
  transferMeterMs: number;
  cacheCompression: 'zip' | 'targz';
  featureFlags: FeatureFlags;
  /** Problems found while reading the variables; printed as warnings. */
  warnings: string[];
}

export const FEATURE_FLAG_DEFAULTS = {
  FF_USE_DIRECT_DOWNLOAD: true,
  FF_HASH_CACHE_KEYS: false,
  FF_CLEAN_UP_FAILED_CACHE_EXTRACT: false,
  FF_USE_EXPONENTIAL_BACKOFF_STAGE_RETRY: true,
} as const;
export type FeatureFlags = Record<keyof typeof FEATURE_FLAG_DEFAULTS, boolean>;

export function readBuildSettings(
  job: JobPayload,
  vars: JobVariables,
  helper: HelperSettings,
): BuildSettings {
  const warnings: string[] = [];
  const bool = (name: string, def: boolean): boolean => {
    const raw = vars.get(name);
    if (raw === '') return def;
    const parsed = parseGoBool(raw);
    if (parsed === undefined) {
      warnings.push(`${name}: expected bool got ${JSON.stringify(raw)}, using default value: ${def}`);
      return def;
    }
    return parsed;
  };
  const int = (name: string, def: number): number => {
    const raw = vars.get(name);
    if (raw === '') return def;
    if (!/^[+-]?\d+$/.test(raw.trim())) {
      warnings.push(`${name}: expected int got ${JSON.stringify(raw)}, using default value: ${def}`);
      return def;
    }
    return Number.parseInt(raw, 10);
  };
  const attempts = (name: string, def: number): number => {
    const n = int(name, def);
    if (n < 1 || n > 10) {
      warnings.push(`${name}: number of attempts out of the range [1, 10], using default ${def}`);
      return def;
    }
    return n;
  };
  const flags = (name: string, def: string[]): string[] => {
    const raw = vars.get(name);
    if (raw === '') return def;
    if (raw === 'none') return [];
    return raw.split(/\s+/).filter(Boolean);
  };

  const defaultStrategy: GitStrategy = job.allow_git_fetch ? 'fetch' : 'clone';
  let gitStrategy: GitStrategy = defaultStrategy;
  const rawStrategy = vars.get('GIT_STRATEGY');
  if (['clone', 'fetch', 'none', 'empty'].includes(rawStrategy)) gitStrategy = rawStrategy as GitStrategy;
  else if (rawStrategy !== '') {
    warnings.push(
      `GIT_STRATEGY: expected either 'clone', 'fetch', 'none' or 'empty' got ${JSON.stringify(rawStrategy)}, using default value '${defaultStrategy}'`,
    );
  }

  let submoduleStrategy: SubmoduleStrategy = 'none';
  const rawSubmodules = vars.get('GIT_SUBMODULE_STRATEGY');
  if (['none', 'normal', 'recursive'].includes(rawSubmodules))
    submoduleStrategy = rawSubmodules as SubmoduleStrategy;
  else if (rawSubmodules !== '') {
    warnings.push(
      `GIT_SUBMODULE_STRATEGY: expected either 'normal', 'recursive' or 'none' got ${JSON.stringify(rawSubmodules)}`,
    );
  }
  const noSources = gitStrategy === 'none' || gitStrategy === 'empty';

  // The payload's depth already holds GIT_DEPTH; a job variable only fills in when the server sent none.
  let gitDepth = job.git_info.depth;
  if (gitDepth === 0 && vars.get('GIT_DEPTH') !== '') gitDepth = Math.max(0, int('GIT_DEPTH', 0));

  let debugTrace = bool('CI_DEBUG_TRACE', false);
  if (debugTrace && helper.debugTraceDisabled) {
    warnings.push('CI_DEBUG_TRACE: usage is disabled on this Runner');
    debugTrace = false;
  }

  const meter = vars.get('TRANSFER_METER_FREQUENCY');
  const meterMs = meter === '' ? helper.transferMeterSeconds * 1000 : parseGoDurationMs(meter);
  if (meterMs === undefined)
    warnings.push(`TRANSFER_METER_FREQUENCY: invalid duration ${JSON.stringify(meter)}`);

  const compression = vars.get('CACHE_COMPRESSION_FORMAT').toLowerCase();
  let cacheCompression: 'zip' | 'targz' = 'zip';
  if (compression === 'targz' || compression === 'tar.gz' || compression === 'tgz')
    cacheCompression = 'targz';
  else if (compression !== '' && compression !== 'zip') {
    warnings.push(
      `CACHE_COMPRESSION_FORMAT: ${JSON.stringify(compression)} is not supported here, using zip`,
    );
  }

  return {
    gitStrategy,
    gitCheckout: noSources ? false : bool('GIT_CHECKOUT', true),
    gitDepth,
    submoduleStrategy: noSources ? 'none' : submoduleStrategy,
    submodulePaths: flags('GIT_SUBMODULE_PATHS', []),
    submoduleDepth: int('GIT_SUBMODULE_DEPTH', gitDepth),
    submoduleUpdateFlags: flags('GIT_SUBMODULE_UPDATE_FLAGS', []),
    cleanFlags: flags('GIT_CLEAN_FLAGS', ['-ffdx']),
    fetchFlags: flags('GIT_FETCH_EXTRA_FLAGS', ['--prune', '--quiet']),
    cloneFlags: flags('GIT_CLONE_EXTRA_FLAGS', []),
    lfsSkipSmudge: bool('GIT_LFS_SKIP_SMUDGE', false),
    getSourcesAttempts: attempts('GET_SOURCES_ATTEMPTS', helper.attempts.getSources ?? 1),
    artifactDownloadAttempts: attempts('ARTIFACT_DOWNLOAD_ATTEMPTS', helper.attempts.artifactDownload ?? 1),
    restoreCacheAttempts: attempts('RESTORE_CACHE_ATTEMPTS', helper.attempts.restoreCache ?? 1),
    debugTrace,
    transferMeterMs: meterMs ?? helper.transferMeterSeconds * 1000,
    cacheCompression,
    featureFlags: readFeatureFlags(vars, helper.featureFlags, warnings),
    warnings,
  };
}

/** Runner config wins over the job's variables, which win over the defaults (upstream's order). */
function readFeatureFlags(
  vars: JobVariables,
  runner: Record<string, boolean>,
  warnings: string[],
): FeatureFlags {
  const out = { ...FEATURE_FLAG_DEFAULTS } as FeatureFlags;
  for (const name of Object.keys(out) as (keyof FeatureFlags)[]) {
    if (runner[name] !== undefined) {
      out[name] = runner[name];
      continue;
    }
    const raw = vars.get(name);
    if (raw === '') continue;
    const parsed = parseGoBool(raw);
    if (parsed === undefined)
      warnings.push(`${name}: could not parse feature flag, expected bool, got ${raw}`);
    else out[name] = parsed;
  }
  return out;
}

/** Go's `strconv.ParseBool`. */
export function parseGoBool(raw: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(raw)) return false;
  return undefined;
}

/** A Go duration (`10s`, `1m30s`, `500ms`) or plain seconds, in milliseconds. */
export function parseGoDurationMs(raw: string): number | undefined {
  const text = raw.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const units: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  let total = 0;
  let rest = text;
  if (rest === '' || rest === '0') return 0;
  while (rest !== '') {
    const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}
