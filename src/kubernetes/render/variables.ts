// The job's final variable list as the renderer reads it: the same entries `src/scripts` exports in the
// build script (payload variables, runner-side ones, `[[runners]] environment`), not yet expanded.
// Lookups follow gitlab-runner: the last definition of a name wins, a file variable reads as the path
// of its file, and `$NAME`/`${NAME}` expand like Go's os.Expand (one level, unknown names to "").

import { expandValue as expandScriptValue } from '../../scripts/variables.ts';

export interface RenderVariable {
  key: string;
  value: string;
  /** Exposed to service containers (GitLab's `public`, and every runner-side variable). */
  public?: boolean;
  masked?: boolean;
  /** The value is a file's content; the variable itself holds the file's path. */
  file?: boolean;
  /** Not expanded. */
  raw?: boolean;
}

export type Lookup = (name: string) => string;

/** Go's os.Expand, shared with the build script generator so both expand alike. */
export const expandValue: (value: string, lookup: Lookup) => string = expandScriptValue;

/** The last definition of `key`, or undefined. */
export function lastVariable(variables: readonly RenderVariable[], key: string): RenderVariable | undefined {
  for (let i = variables.length - 1; i >= 0; i--) if (variables[i]!.key === key) return variables[i];
  return undefined;
}

/** Where file variables live: `RUNNER_TEMP_PROJECT_DIR`, else `<CI_PROJECT_DIR>.tmp`. */
export function fileVariableDir(variables: readonly RenderVariable[]): string {
  const tmp = lastVariable(variables, 'RUNNER_TEMP_PROJECT_DIR')?.value;
  if (tmp) return tmp;
  const project = lastVariable(variables, 'CI_PROJECT_DIR')?.value ?? '/builds/project';
  return `${project.replace(/\/+$/, '')}.tmp`;
}

/**
 * The value a variable has in the job after expansion (what `$NAME` gives in the script): a file
 * variable is its path, a raw one is taken as is, others are expanded one level against the list.
 */
export class VariableSet {
  readonly list: readonly RenderVariable[];
  private readonly last = new Map<string, RenderVariable>();
  private readonly fileDir: string;

  constructor(list: readonly RenderVariable[]) {
    this.list = list;
    for (const v of list) this.last.set(v.key, v);
    this.fileDir = fileVariableDir(list);
  }

  has(name: string): boolean {
    return this.last.has(name);
  }

  /** The unexpanded value a lookup of `name` yields (file variables: the path). */
  private lookupValue(name: string, publicOnly: boolean): string {
    if (name === '$') return '$';
    const v = this.last.get(name);
    if (!v || (publicOnly && !v.public)) return '';
    return v.file ? `${this.fileDir}/${v.key}` : v.value;
  }

  /** `$NAME` as the job sees it. */
  readonly lookup: Lookup = (name) => this.lookupValue(name, false);

  /**
   * `$NAME` for text that ends up in the Pod object (labels, annotations, paths, image names): only
   * public variables expand; a reference to any other one gives "" so no secret reaches the Pod.
   */
  readonly publicLookup: Lookup = (name) => this.lookupValue(name, true);

  /** The expanded value of `name` (undefined when unset). */
  value(name: string): string | undefined {
    const v = this.last.get(name);
    if (!v) return undefined;
    return this.resolve(v);
  }

  /** The expanded value of one entry. */
  resolve(v: RenderVariable): string {
    if (v.file) return `${this.fileDir}/${v.key}`;
    return v.raw ? v.value : expandValue(v.value, this.lookup);
  }

  /** Expands text for the Pod object (see publicLookup). */
  expandPublic(text: string): string {
    return expandValue(text, this.publicLookup);
  }

  /** Names referenced by `text` that are set but not public (so `expandPublic` left them out). */
  hiddenReferences(text: string): string[] {
    const found: string[] = [];
    expandValue(text, (name) => {
      const v = this.last.get(name);
      if (v && !v.public && !found.includes(name)) found.push(name);
      return '';
    });
    return found;
  }
}

/** Go's strconv.ParseBool; undefined when the text is not a boolean. */
export function parseGoBool(text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

/**
 * A feature flag as gitlab-runner resolves it: `[runners.feature_flags]` first, then the job variable,
 * then the flag's default.
 */
export function featureFlag(
  name: string,
  runnerFlags: Readonly<Record<string, boolean>>,
  variables: VariableSet,
  fallback: boolean,
): boolean {
  const configured = runnerFlags[name];
  if (configured !== undefined) return configured;
  return parseGoBool(variables.value(name)) ?? fallback;
}
