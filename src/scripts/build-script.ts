// The build container's script (docs/pod-contract.md): a POSIX sh program that runs unchanged under
// bash, dash and busybox sh. It runs the job's user steps (`script`, `release`) and then
// `after_script`, each in a fresh subshell with gitlab-runner's shell options, exports, echo of
// every command and section markers; enforces the job timeout itself (so `after_script` still runs
// after it), turns SIGTERM (a cancel) into "stop the user step, run after_script", and reports the
// result through `/podrunner/status/build.exit` and the termination message.
import { readFileSync } from 'node:fs';
import type { JobPayload, JobStep } from '../gitlab/payload.ts';
import { parseGoDuration } from './go-duration.ts';
import { isShellName, printfExact, shellDetectionCommand, shellQuote } from './shell.ts';
import {
  expandValue,
  expandVariables,
  fileVariablePath,
  type ScriptVariable,
  tmpProjectDir,
  variableValue,
} from './variables.ts';

export const BUILD_SCRIPT_KEY = 'build.sh';
export const DEFAULT_AFTER_SCRIPT_TIMEOUT_SECONDS = 300;
/** How long a stopped step gets between SIGTERM and SIGKILL. */
export const DEFAULT_KILL_GRACE_SECONDS = 5;

export interface BuildScriptPaths {
  /** Where the job Secret is mounted (`/podrunner/job`). */
  jobDir: string;
  /** The hand-off directory (`/podrunner/status`). */
  statusDir: string;
  /** The container's termination message file (`/dev/termination-log`). */
  terminationLog: string;
}

export const CONTRACT_PATHS: Readonly<BuildScriptPaths> = {
  jobDir: '/podrunner/job',
  statusDir: '/podrunner/status',
  terminationLog: '/dev/termination-log',
};

export interface BuildScriptInput {
  job: Pick<JobPayload, 'id' | 'steps' | 'features'>;
  /** The final variable list (job + runner-side + `[[runners]] environment`), not yet expanded. */
  variables: readonly ScriptVariable[];
  projectDir: string;
  /** The job timeout in seconds (`jobTimeoutSeconds(job)`). */
  jobTimeoutSeconds: number;
  /**
   * Absolute end of the job (Unix seconds), when known: user steps stop there even if the pod
   * started late. The script step gets min(job timeout, RUNNER_SCRIPT_TIMEOUT, time left).
   */
  deadlineEpochSeconds?: number;
  /** `RUNNER_AFTER_SCRIPT_TIMEOUT`; default: the variable, else 5 minutes. */
  afterScriptTimeoutSeconds?: number;
  /** `AFTER_SCRIPT_IGNORE_ERRORS`; default: the variable, else true. */
  afterScriptIgnoreErrors?: boolean;
  /** `CI_DEBUG_TRACE` (already refused by the caller when `debug_trace_disabled`). */
  debugTrace?: boolean;
  /** `FF_SCRIPT_SECTIONS`. */
  scriptSections?: boolean;
  /** `features.trace_sections` (default: the payload's, else true). */
  traceSections?: boolean;
  preBuildScript?: string;
  postBuildScript?: string;
  /** Contract paths; tests point them at temp dirs. `PODRUNNER_*` env vars override them at run time. */
  paths?: Partial<BuildScriptPaths>;
  killGraceSeconds?: number;
}

export interface RenderedBuildScript {
  /** Job Secret entries (mounted at `paths.jobDir`). */
  files: Record<string, string>;
  /** The build container's command. */
  command: string[];
}

/** `true`/`false` per Go's strconv.ParseBool, undefined otherwise. */
function goBool(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

interface StageTimeouts {
  scriptSeconds: number;
  afterScriptSeconds: number;
  /** Warnings upstream prints about malformed or too long timeout variables. */
  warnings: string[];
}

/** RUNNER_SCRIPT_TIMEOUT / RUNNER_AFTER_SCRIPT_TIMEOUT, checked like `getStageTimeoutContexts`. */
export function stageTimeouts(
  variables: readonly ScriptVariable[],
  jobTimeoutSeconds: number,
  afterScriptOverride?: number,
): StageTimeouts {
  const warnings: string[] = [];
  const read = (name: string, fallback: number): number => {
    const raw = variableValue(variables, name) ?? '';
    if (raw.trim() === '') return fallback;
    const seconds = parseGoDuration(raw);
    if (seconds === undefined) {
      warnings.push(`Ignoring malformed ${name} timeout: ${raw}`);
      return fallback;
    }
    if (seconds < 0) {
      warnings.push(`Ignoring relative ${name} timeout: ${raw}`);
      return fallback;
    }
    if (seconds > jobTimeoutSeconds) {
      warnings.push(`${name} timeout: ${raw} is longer than job timeout. Setting to job timeout`);
      return jobTimeoutSeconds;
    }
    return seconds === 0 ? fallback : seconds;
  };
  const scriptSeconds = read('RUNNER_SCRIPT_TIMEOUT', jobTimeoutSeconds);
  const afterScriptSeconds =
    afterScriptOverride ?? read('RUNNER_AFTER_SCRIPT_TIMEOUT', DEFAULT_AFTER_SCRIPT_TIMEOUT_SECONDS);
  return {
    scriptSeconds: Math.max(1, Math.ceil(scriptSeconds)),
    afterScriptSeconds: Math.max(1, Math.ceil(afterScriptSeconds)),
    warnings,
  };
}

/** printf format text: `%` and `\` escaped. */
const fmt = (text: string) => text.replace(/\\/g, '\\\\').replace(/%/g, '%%');

interface CommandOptions {
  scriptSections: boolean;
  traceSections: boolean;
}

/**
 * The body upstream evaluates for one list of commands (shells/abstract.go writeCommands): each
 * command echoed as `$ cmd` in green (a multi-line one collapsed, or in its own folded section with
 * FF_SCRIPT_SECTIONS), then the command itself.
 */
export function commandsBody(prefix: string, commands: readonly string[], o: CommandOptions): string {
  const lines: string[] = [];
  commands.forEach((raw, i) => {
    const command = raw.trim();
    if (command === '') {
      lines.push('echo');
      return;
    }
    const nl = command.indexOf('\n');
    if (nl === -1) {
      lines.push(`printf '\\033[32;1m%s\\033[0;m\\n' ${shellQuote(`$ ${command}`)}`);
    } else if (o.scriptSections && o.traceSections) {
      const id = `section_${prefix}_${i}`;
      lines.push(
        `printf 'section_start:%s:${fmt(id)}[hide_duration=true,collapsed=true]\\r\\033[0K\\033[32;1m%s\\033[0;m\\n' "$(_pr_ts)" ${shellQuote(`$ ${command}`)}`,
        `printf 'section_end:%s:${fmt(id)}\\r\\033[0K\\n' "$(_pr_ts)"`,
      );
    } else {
      lines.push(
        `printf '\\033[32;1m%s\\033[0;m\\n' ${shellQuote(`$ ${command.slice(0, nl)} # collapsed multi-line command`)}`,
      );
    }
    lines.push(command);
  });
  return lines.join('\n');
}

/** `export` lines for every variable (file variables written to `<project dir>.tmp/<key>`). */
function exportLines(expanded: readonly ScriptVariable[], projectDir: string): string[] {
  const tmp = tmpProjectDir(projectDir);
  const lines: string[] = [`mkdir -p ${shellQuote(tmp)}`];
  for (const v of expanded) {
    if (!isShellName(v.key)) continue; // not an environment variable name any shell accepts
    if (v.file) {
      const path = fileVariablePath(projectDir, v.key);
      lines.push(`${printfExact(v.value)} > ${shellQuote(path)}`, `export ${v.key}=${shellQuote(path)}`);
    } else {
      lines.push(`export ${v.key}=${shellQuote(v.value)}`);
    }
  }
  const env = `${tmp}/gitlab_runner_env`;
  lines.push(
    `export GITLAB_ENV=${shellQuote(env)}`,
    `: >> "$GITLAB_ENV"`,
    `while read -r _pr_line; do export "$_pr_line"; done < "$GITLAB_ENV"`,
  );
  return lines;
}

const indent = (lines: readonly string[], depth = 1) => lines.map((l) => (l ? '  '.repeat(depth) + l : l));

/** The user steps in the order they run (everything but after_script). */
function userSteps(steps: readonly JobStep[]): JobStep[] {
  return steps.filter((s) => s.name !== 'after_script');
}

/** The shell runtime every build script carries (functions only; `_pr_main` runs the job). */
const RUNTIME = readFileSync(new URL('./build-runtime.sh', import.meta.url), 'utf8');

export function renderBuildScript(input: BuildScriptInput): RenderedBuildScript {
  const paths = { ...CONTRACT_PATHS, ...input.paths };
  const traceSections = input.traceSections ?? input.job.features.trace_sections ?? true;
  const opts: CommandOptions = { scriptSections: input.scriptSections ?? false, traceSections };
  const expanded = expandVariables(input.variables, input.projectDir);
  const timeouts = stageTimeouts(input.variables, input.jobTimeoutSeconds, input.afterScriptTimeoutSeconds);
  const ignoreAfterErrors =
    input.afterScriptIgnoreErrors ??
    goBool(variableValue(input.variables, 'AFTER_SCRIPT_IGNORE_ERRORS')) ??
    true;
  const grace = Math.max(1, Math.ceil(input.killGraceSeconds ?? DEFAULT_KILL_GRACE_SECONDS));
  const lastByKey = new Map(expanded.map((v) => [v.key, v]));
  const lookup = (name: string) => {
    const v = lastByKey.get(name);
    if (!v) return name === '$' ? '$' : '';
    return v.file ? fileVariablePath(input.projectDir, v.key) : v.value;
  };

  const steps = userSteps(input.job.steps);
  const after = input.job.steps.find((s) => s.name === 'after_script');
  const afterCommands = after?.script ?? [];

  const stepFunctions: string[] = [];
  const stepRuns: string[] = [];
  steps.forEach((step, n) => {
    const stage = `step_${step.name.toLowerCase()}`;
    // `release:` arrives as a step whose lines upstream expands with the job's variables.
    const script = step.name === 'release' ? step.script.map((s) => expandValue(s, lookup)) : step.script;
    const body = [
      input.preBuildScript ? commandsBody('pre_build_script', [input.preBuildScript], opts) : '',
      commandsBody('script_step', script, opts),
      input.postBuildScript ? commandsBody('post_build_script', [input.postBuildScript], opts) : '',
    ]
      .filter(Boolean)
      .join('\n');
    stepFunctions.push(
      `_pr_user_step_${n}() {`,
      ...indent([
        '_pr_shell_options',
        '_pr_exports',
        `cd ${shellQuote(input.projectDir)}`,
        `eval ${shellQuote(body)}`,
      ]),
      '}',
    );
    stepRuns.push(`_pr_user_step ${shellQuote(stage)} _pr_user_step_${n}`);
  });

  const afterBody = [
    `printf '\\033[32;1m%s\\033[0;m\\n' 'Running after script...'`,
    commandsBody('after_script_step', afterCommands, opts),
  ].join('\n');

  const notices = [
    ...timeouts.warnings,
    ...(input.debugTrace
      ? [
          'CI_DEBUG_TRACE is enabled: the shell prints every command and variable, so secrets may show in the job log (masked values are still masked)',
        ]
      : []),
  ];
  const files = [
    ...new Set(
      expanded
        .filter((v) => v.file && isShellName(v.key))
        .map((v) => fileVariablePath(input.projectDir, v.key)),
    ),
  ];

  const script = [
    '#!/bin/sh',
    `# podrunner build script for job ${input.job.id} (docs/pod-contract.md). Generated; runs under bash, dash and busybox sh.`,
    `_pr_status_dir=${shellQuote(paths.statusDir)}`,
    `_pr_job_dir=${shellQuote(paths.jobDir)}`,
    `_pr_termination_log=${shellQuote(paths.terminationLog)}`,
    `_pr_sections=${traceSections ? 1 : 0}`,
    `_pr_xtrace=${input.debugTrace ? 1 : 0}`,
    `_pr_script_timeout=${timeouts.scriptSeconds}`,
    `_pr_after_timeout=${timeouts.afterScriptSeconds}`,
    `_pr_deadline=${input.deadlineEpochSeconds !== undefined ? Math.floor(input.deadlineEpochSeconds) : ''}`,
    `_pr_kill_grace=${grace}`,
    `_pr_has_after_script=${afterCommands.length > 0 ? 1 : 0}`,
    `_pr_ignore_after_errors=${ignoreAfterErrors ? 1 : 0}`,
    '',
    RUNTIME,
    '_pr_notices() {',
    ...indent([...notices.map((n) => `_pr_warning ${shellQuote(n)}`), ':']),
    '}',
    '',
    '_pr_exports() {',
    ...indent(exportLines(expanded, input.projectDir)),
    '}',
    '',
    ...stepFunctions,
    '',
    '_pr_user_steps() {',
    ...indent([...stepRuns, ':']),
    '}',
    '',
    '_pr_after_script() {',
    ...indent([
      '_pr_shell_options',
      '_pr_exports',
      'export CI_JOB_STATUS="$_pr_job_status"',
      `cd ${shellQuote(input.projectDir)}`,
      `eval ${shellQuote(afterBody)}`,
    ]),
    '}',
    '',
    "# File variables go once the steps are done (upstream's cleanup_file_variables stage).",
    '_pr_cleanup_files() {',
    ...indent([...(files.length ? [`rm -f ${files.map(shellQuote).join(' ')} 2>/dev/null`] : []), ':']),
    '}',
    '',
    '_pr_main',
    '',
  ].join('\n');

  return {
    files: { [BUILD_SCRIPT_KEY]: script },
    command: shellDetectionCommand(`${paths.jobDir}/${BUILD_SCRIPT_KEY}`),
  };
}
