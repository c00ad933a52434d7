// Feature flags that change what the trace looks like, resolved like gitlab-runner does
// (common/build_settings.go): `[runners.feature_flags]` in config.toml wins, then a job variable
// that parses as a Go bool, then the flag's default.

/** Defaults as of gitlab-runner R18.11 for the flags podrunner reads. */
export const FEATURE_FLAG_DEFAULTS: Readonly<Record<string, boolean>> = {
  FF_TIMESTAMPS: true,
  FF_MASK_ALL_DEFAULT_TOKENS: true,
  FF_SCRIPT_SECTIONS: false,
  FF_USE_DYNAMIC_TRACE_FORCE_SEND_INTERVAL: false,
};

/** Go's strconv.ParseBool: `1 t T TRUE true True 0 f F FALSE false False`, anything else undefined. */
export function parseGoBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

export interface FeatureFlagSources {
  /** The job's variables (later definitions win). */
  variables?: readonly { key: string; value: string }[];
  /** `[runners.feature_flags]`. */
  configFlags?: Readonly<Record<string, boolean>>;
}

export function resolveFeatureFlag(name: string, sources: FeatureFlagSources = {}): boolean {
  const configured = sources.configFlags?.[name];
  if (configured !== undefined) return configured;
  const vars = sources.variables ?? [];
  for (let i = vars.length - 1; i >= 0; i--) {
    if (vars[i]!.key !== name) continue;
    const parsed = parseGoBool(vars[i]!.value);
    if (parsed !== undefined) return parsed;
    break;
  }
  return FEATURE_FLAG_DEFAULTS[name] ?? false;
}
