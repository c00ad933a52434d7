// The build container's script (docs/pod-contract.md): a POSIX sh program that runs unchanged under
// bash, dash and busybox sh. It runs the job's user steps (`script`, `release`) and then
// `after_script`, each in a fresh subshell with gitlab-runner's shell options, exports, echo of
// every command and section markers; enforces the job timeout itself (so `after_script` still runs
// after it), turns SIGTERM (a cancel) into "stop the user step, run after_script", and reports the
// result through `/podrunner/status/build.exit` and the termination message.
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

const TIMEOUT_DOCS =
  'For more control over job and script timeouts see: ' +
  'https://docs.gitlab.com/ci/runners/configure_runners/#set-script-and-after_script-timeouts';

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

/** A printf command printing a runner-style warning. */
const warningCommand = (text: string) =>
  `printf '\\033[0;33m%s\\033[0;m\\n' ${shellQuote(`WARNING: ${text}`)}`;

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
  const lookup = (name: string) => {
    const v = [...expanded].reverse().find((x) => x.key === name);
    if (!v) return name === '$' ? '$' : '';
    return v.file ? fileVariablePath(input.projectDir, v.key) : v.value;
  };

  const steps = userSteps(input.job.steps);
  const after = input.job.steps.find((s) => s.name === 'after_script');
  const hasAfter = !!after && after.script.length > 0;

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

  const afterBody = hasAfter
    ? [
        `printf '\\033[32;1m%s\\033[0;m\\n' 'Running after script...'`,
        commandsBody('after_script_step', after.script, opts),
      ].join('\n')
    : '';

  const script = [
    '#!/bin/sh',
    `# podrunner build script for job ${input.job.id} (docs/pod-contract.md). Generated; runs under bash, dash and busybox sh.`,
    `_pr_status_dir=${shellQuote(paths.statusDir)}`,
    `_pr_job_dir=${shellQuote(paths.jobDir)}`,
    `_pr_termination_log=${shellQuote(paths.terminationLog)}`,
    '[ -n "${PODRUNNER_STATUS_DIR:-}" ] && _pr_status_dir=$PODRUNNER_STATUS_DIR',
    '[ -n "${PODRUNNER_JOB_DIR:-}" ] && _pr_job_dir=$PODRUNNER_JOB_DIR',
    '[ -n "${PODRUNNER_TERMINATION_LOG:-}" ] && _pr_termination_log=$PODRUNNER_TERMINATION_LOG',
    '_pr_main_pid=$$',
    '_pr_phase=setup',
    '_pr_canceled=0',
    '_pr_timed_out=0',
    '_pr_after_timed_out=0',
    '_pr_woke=0',
    '_pr_child=',
    '_pr_watchdog=',
    '_pr_killer=',
    '_pr_rc=0',
    '_pr_steps_done=0',
    `_pr_script_timeout=${timeouts.scriptSeconds}`,
    `_pr_after_timeout=${timeouts.afterScriptSeconds}`,
    '',
    '# Unix time for section markers: date, or awk where there is no date.',
    "_pr_ts() { date +%s 2>/dev/null || awk 'BEGIN { srand(); print srand() }' 2>/dev/null || echo 0; }",
    '',
    ...(traceSections
      ? [
          `_pr_section_start() { printf 'section_start:%s:%s\\r\\033[0K' "$(_pr_ts)" "$1"; }`,
          `_pr_section_end() { printf 'section_end:%s:%s\\r\\033[0K' "$(_pr_ts)" "$1"; }`,
        ]
      : ['_pr_section_start() { :; }', '_pr_section_end() { :; }']),
    `_pr_stage_title() { printf '\\033[0K\\033[36;1m%s\\033[0;m\\033[0;m\\n' "$1"; }`,
    `_pr_warning() { printf '\\033[0;33mWARNING: %s\\033[0;m\\n' "$1"; }`,
    '',
    '# Descendants of process $1, from /proc (no ps, setsid or job control needed).',
    '_pr_descendants() {',
    '  _pr_map=',
    '  for _pr_f in /proc/[0-9]*/stat; do',
    '    { read -r _pr_l < "$_pr_f"; } 2>/dev/null || continue',
    '    _pr_p=${_pr_f#/proc/}',
    '    _pr_r=${_pr_l##*) }',
    '    _pr_r=${_pr_r#* }',
    '    _pr_map="$_pr_map ${_pr_p%/stat}:${_pr_r%% *}"',
    '  done',
    '  _pr_found=',
    '  _pr_frontier=$1',
    '  while [ -n "$_pr_frontier" ]; do',
    '    _pr_next=',
    '    for _pr_e in $_pr_map; do',
    '      for _pr_q in $_pr_frontier; do',
    '        [ "${_pr_e#*:}" = "$_pr_q" ] && _pr_next="$_pr_next ${_pr_e%%:*}"',
    '      done',
    '    done',
    '    _pr_found="$_pr_found$_pr_next"',
    '    _pr_frontier=$_pr_next',
    '  done',
    '  echo $_pr_found',
    '}',
    '',
    '# Signal $1 to process $2 and everything under it.',
    '_pr_kill_tree() {',
    '  _pr_tree=$(_pr_descendants "$2")',
    '  kill "-$1" "$2" $_pr_tree 2>/dev/null',
    '}',
    '',
    '# Helpers (watchdog, killer) sleep in the background; SIGTERM makes them stop their sleep and exit.',
    '_pr_stop_helper() {',
    '  [ -n "$1" ] || return 0',
    '  kill -TERM "$1" 2>/dev/null',
    '  wait "$1" 2>/dev/null',
    '}',
    '',
    '# Send signal $2 to this shell after $1 seconds.',
    '_pr_watch() {',
    `  ( trap 'kill "$_pr_s" 2>/dev/null; exit 0' TERM`,
    '    sleep "$1" &',
    '    _pr_s=$!',
    '    wait "$_pr_s" && kill "-$2" "$_pr_main_pid" ) </dev/null >/dev/null 2>&1 9>&- &',
    '  _pr_watchdog=$!',
    '}',
    '',
    '# Stop the running step: SIGTERM to its processes now, SIGKILL to what is left after the grace.',
    '_pr_stop_step() {',
    '  [ -n "$_pr_child" ] || return 0',
    '  _pr_kill_tree TERM "$_pr_child"',
    `  ( trap 'kill "$_pr_s" 2>/dev/null; exit 0' TERM`,
    `    sleep ${grace} &`,
    '    _pr_s=$!',
    '    wait "$_pr_s" && _pr_kill_tree KILL "$_pr_child" ) </dev/null >/dev/null 2>&1 9>&- &',
    '  _pr_killer=$!',
    '}',
    '',
    '_pr_on_term() {',
    '  _pr_woke=1',
    '  case $_pr_phase in',
    '    setup | between) [ "$_pr_steps_done" = 1 ] || _pr_canceled=1 ;;',
    '    step) if [ "$_pr_canceled$_pr_timed_out" = 00 ]; then _pr_canceled=1; _pr_stop_step; fi ;;',
    '  esac',
    '}',
    '_pr_on_step_alarm() {',
    '  _pr_woke=1',
    '  if [ "$_pr_phase" = step ] && [ "$_pr_canceled$_pr_timed_out" = 00 ]; then _pr_timed_out=1; _pr_stop_step; fi',
    '}',
    '_pr_on_after_alarm() {',
    '  _pr_woke=1',
    '  if [ "$_pr_phase" = after ] && [ "$_pr_after_timed_out" = 0 ]; then _pr_after_timed_out=1; _pr_stop_step; fi',
    '}',
    'trap _pr_on_term TERM INT',
    'trap _pr_on_step_alarm USR1',
    'trap _pr_on_after_alarm USR2',
    '',
    '# Run function $3 as phase $1 in a fresh subshell (fd 9 closed, stdin /dev/null) for at most $2',
    '# seconds; the watchdog signals $4. Sets _pr_rc.',
    '_pr_run() {',
    '  _pr_phase=$1',
    '  _pr_killer=',
    `  ( trap 'exit 1' TERM; "$3" ) </dev/null 9>&- &`,
    '  _pr_child=$!',
    '  _pr_watch "$2" "$4"',
    '  while :; do',
    '    _pr_woke=0',
    '    wait "$_pr_child"',
    '    _pr_rc=$?',
    '    # A trapped signal interrupts wait; wait again while the step is still there.',
    '    if [ "$_pr_woke" = 1 ] && kill -0 "$_pr_child" 2>/dev/null; then continue; fi',
    '    break',
    '  done',
    '  _pr_child=',
    '  _pr_stop_helper "$_pr_watchdog"',
    '  _pr_watchdog=',
    '  _pr_stop_helper "$_pr_killer"',
    '  _pr_killer=',
    '  _pr_phase=between',
    '}',
    '',
    '# The shell options of every step (shells/bash.go): pipefail where the shell has it, errexit.',
    '_pr_shell_options() {',
    '  if (set -o pipefail) 2>/dev/null; then set -o pipefail; fi',
    '  set -o errexit',
    '  set +o noclobber',
    ...(input.debugTrace ? ['  set -o xtrace'] : []),
    '}',
    '',
    '_pr_exports() {',
    ...indent(exportLines(expanded, input.projectDir)),
    '}',
    '',
    ...stepFunctions,
    '',
    ...(hasAfter
      ? [
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
        ]
      : []),
    '# One user step ($1 = its stage name, $2 = its function) within what is left of the script timeout.',
    '_pr_user_step() {',
    '  [ "$_pr_rc" = 0 ] || return 0',
    '  if [ "$_pr_canceled" = 1 ]; then _pr_rc=1; return 0; fi',
    '  _pr_left=$((_pr_script_end - $(_pr_ts)))',
    '  if [ "$_pr_left" -le 0 ]; then',
    '    _pr_timed_out=1',
    '    _pr_rc=1',
    `    _pr_warning "$1 could not run to completion because the timeout was exceeded. ${TIMEOUT_DOCS}"`,
    '    return 0',
    '  fi',
    '  _pr_section_start "$1"',
    `  _pr_stage_title "Executing \\"$1\\" stage of the job script"`,
    '  _pr_run step "$_pr_left" "$2" USR1',
    '  _pr_section_end "$1"',
    '  if [ "$_pr_rc" != 0 ] && [ "$_pr_timed_out" = 1 ]; then',
    `    _pr_warning "$1 could not run to completion because the timeout was exceeded. ${TIMEOUT_DOCS}"`,
    '  elif [ "$_pr_rc" != 0 ] && [ "$_pr_canceled" = 1 ]; then',
    `    _pr_warning 'script canceled externally (UI, API)'`,
    '  fi',
    '}',
    '',
    '# Hand-off: the uploader sees this shell (and only it) holding build.alive open.',
    'if [ -d "$_pr_status_dir" ]; then',
    '  exec 9<>"$_pr_status_dir/build.alive"',
    '  : >"$_pr_status_dir/build.started"',
    'fi',
    '',
    ...timeouts.warnings.map(warningCommand),
    ...(input.debugTrace
      ? [
          warningCommand(
            'CI_DEBUG_TRACE is enabled: the shell prints every command and variable, so secrets may show in the job log (masked values are still masked)',
          ),
        ]
      : []),
    ...(input.deadlineEpochSeconds !== undefined
      ? [
          `_pr_left=$((${Math.floor(input.deadlineEpochSeconds)} - $(_pr_ts)))`,
          '[ "$_pr_left" -lt "$_pr_script_timeout" ] && _pr_script_timeout=$_pr_left',
        ]
      : []),
    '_pr_script_end=$(($(_pr_ts) + _pr_script_timeout))',
    '_pr_phase=between',
    ...(stepRuns.length ? stepRuns : ['[ "$_pr_canceled" = 1 ] && _pr_rc=1']),
    '_pr_steps_done=1',
    '',
    ...(hasAfter
      ? [
          'if [ "$_pr_rc" = 0 ]; then _pr_job_status=success',
          'elif [ "$_pr_timed_out" = 1 ]; then _pr_job_status=timedout',
          'elif [ "$_pr_canceled" = 1 ]; then _pr_job_status=canceled',
          'else _pr_job_status=failed; fi',
          '_pr_step_rc=$_pr_rc',
          '_pr_section_start after_script',
          '_pr_stage_title "Running after_script"',
          '_pr_run after "$_pr_after_timeout" _pr_after_script USR2',
          '_pr_section_end after_script',
          'if [ "$_pr_after_timed_out" = 1 ]; then',
          `  _pr_warning 'after_script could not run to completion because the timeout was exceeded. ${TIMEOUT_DOCS}'`,
          `  _pr_warning 'after_script failed, but job will continue unaffected: context deadline exceeded'`,
          'elif [ "$_pr_rc" != 0 ]; then',
          ...(ignoreAfterErrors
            ? [
                `  _pr_warning "after_script failed, but job will continue unaffected: command terminated with exit code $_pr_rc"`,
              ]
            : ['  [ "$_pr_step_rc" = 0 ] && _pr_step_rc=$_pr_rc']),
          'fi',
          '_pr_rc=$_pr_step_rc',
        ]
      : []),
    // Close the last marker's line: the log is line-based from here on.
    ...(traceSections ? ["printf '\\n'"] : []),
    '_pr_phase=done',
    '# A step that ended by itself with 0 was neither timed out nor canceled.',
    'if [ "$_pr_rc" = 0 ]; then _pr_timed_out=0; _pr_canceled=0; fi',
    '',
    ...fileVariableCleanup(expanded, input.projectDir),
    '_pr_bool() { if [ "$1" = 1 ]; then echo true; else echo false; fi; }',
    `{ printf '%s\\n' "$_pr_rc" >"$_pr_status_dir/build.exit"; } 2>/dev/null`,
    `{ printf '{"exit_code":%s,"timed_out":%s,"canceled":%s}\\n' "$_pr_rc" "$(_pr_bool "$_pr_timed_out")" "$(_pr_bool "$_pr_canceled")" >"$_pr_termination_log"; } 2>/dev/null`,
    'exit "$_pr_rc"',
    '',
  ].join('\n');

  return {
    files: { [BUILD_SCRIPT_KEY]: script },
    command: shellDetectionCommand(`${paths.jobDir}/${BUILD_SCRIPT_KEY}`),
  };
}

/** Removes file variables once the steps are done (upstream's cleanup_file_variables stage). */
function fileVariableCleanup(expanded: readonly ScriptVariable[], projectDir: string): string[] {
  const files = [
    ...new Set(
      expanded.filter((v) => v.file && isShellName(v.key)).map((v) => fileVariablePath(projectDir, v.key)),
    ),
  ];
  return files.length ? [`rm -f ${files.map(shellQuote).join(' ')} 2>/dev/null`] : [];
}
