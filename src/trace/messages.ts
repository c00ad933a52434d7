// The text gitlab-runner writes into a job log: section markers (helpers/build_section.go), the four
// runner message styles (buildlogger/internal/tee.go) and the stage titles (common/build.go). The
// manager, the helper program and the uploader all print through these so GitLab folds and colours
// podrunner's log exactly like upstream's (gitlab-runner-api.md §4.4).
import {
  ANSI_BOLD_CYAN,
  ANSI_BOLD_GREEN,
  ANSI_BOLD_RED,
  ANSI_BOLD_YELLOW,
  ANSI_CLEAR,
  ANSI_RESET,
  ANSI_YELLOW,
} from './ansi.ts';

export interface SectionOptions {
  /** `[collapsed=true]`: GitLab shows the section folded. */
  collapsed?: boolean;
  /** `[hide_duration=true]`: GitLab shows no duration for the section. */
  hideDuration?: boolean;
}

/** Upstream's option order: `hide_duration` first, then `collapsed` (shells/abstract.go). */
export function sectionOptions(options: SectionOptions = {}): string {
  const opts: string[] = [];
  if (options.hideDuration) opts.push('hide_duration=true');
  if (options.collapsed) opts.push('collapsed=true');
  return opts.length ? `[${opts.join(',')}]` : '';
}

/** `section_start:<unix seconds>:<name>[<options>]\r\x1b[0K` — the header text (if any) follows it. */
export function sectionStart(name: string, unixSeconds: number, options?: SectionOptions): string {
  return `section_start:${Math.floor(unixSeconds)}:${name}${sectionOptions(options)}\r${ANSI_CLEAR}`;
}

/** `section_end:<unix seconds>:<name>\r\x1b[0K`. */
export function sectionEnd(name: string, unixSeconds: number): string {
  return `section_end:${Math.floor(unixSeconds)}:${name}\r${ANSI_CLEAR}`;
}

/** `Println`: a plain runner line. */
export function plainLine(text: string): string {
  return `${ANSI_CLEAR}${text}${ANSI_RESET}\n`;
}

/** `Infoln`: green, e.g. `Job succeeded`. */
export function infoLine(text: string): string {
  return `${ANSI_BOLD_GREEN}${text}${ANSI_RESET}\n`;
}

/** `Warningln`: yellow `WARNING: …`. */
export function warningLine(text: string): string {
  return `${ANSI_YELLOW}WARNING: ${text}${ANSI_RESET}\n`;
}

/** `Errorln`/`SoftErrorln`: bold red `ERROR: …`, e.g. `ERROR: Job failed: …`. */
export function errorLine(text: string): string {
  return `${ANSI_BOLD_RED}ERROR: ${text}${ANSI_RESET}\n`;
}

/** The notice the trace buffer appends when `output_limit` is reached (helpers/trace/buffer.go). */
export function outputLimitMessage(limitBytes: number): string {
  return (
    `\n${ANSI_BOLD_YELLOW}Job's log exceeded limit of ${limitBytes} bytes.\n` +
    `Job execution will continue but no more output will be collected.${ANSI_RESET}\n`
  );
}

/** Stage (section) names in the order a job runs them. `step_<name>` covers `step_script`, `step_release`. */
export type StageName =
  | 'resolve_secrets'
  | 'prepare_executor'
  | 'prepare_script'
  | 'get_sources'
  | 'clear_worktree'
  | 'restore_cache'
  | 'download_artifacts'
  | `step_${string}`
  | 'after_script'
  | 'archive_cache'
  | 'archive_cache_on_failure'
  | 'upload_artifacts_on_success'
  | 'upload_artifacts_on_failure'
  | 'cleanup_file_variables';

const stageDescriptions: Record<string, string> = {
  resolve_secrets: 'Resolving secrets',
  prepare_executor: 'Preparing the "kubernetes" executor',
  prepare_script: 'Preparing environment',
  get_sources: 'Getting source from Git repository',
  clear_worktree: 'Deleting all tracked and untracked files due to source fetch failure',
  restore_cache: 'Restoring cache',
  download_artifacts: 'Downloading artifacts',
  after_script: 'Running after_script',
  archive_cache: 'Saving cache for successful job',
  archive_cache_on_failure: 'Saving cache for failed job',
  upload_artifacts_on_failure: 'Uploading artifacts for failed job',
  upload_artifacts_on_success: 'Uploading artifacts for successful job',
  cleanup_file_variables: 'Cleaning up project directory and file based variables',
};

/** The cyan title upstream prints at the start of each stage (`GetStageDescription`). */
export function stageDescription(stage: StageName): string {
  return stageDescriptions[stage] ?? `Executing ${JSON.stringify(stage)} stage of the job script`;
}

/** The title line of a stage: `\x1b[0K\x1b[36;1m<description>\x1b[0;m\x1b[0;m\n`. */
export function stageTitle(stage: StageName): string {
  return plainLine(`${ANSI_BOLD_CYAN}${stageDescription(stage)}${ANSI_RESET}`);
}

/**
 * What opens a stage in the log: the section marker (unless the job's `features.trace_sections` is
 * false) followed by the stage title.
 */
export function stageStart(stage: StageName, unixSeconds: number, traceSections = true): string {
  return (traceSections ? sectionStart(stage, unixSeconds) : '') + stageTitle(stage);
}

/** What closes a stage: its section end marker, or nothing without trace sections. */
export function stageEnd(stage: StageName, unixSeconds: number, traceSections = true): string {
  return traceSections ? sectionEnd(stage, unixSeconds) : '';
}

export interface BannerOptions {
  /** e.g. `podrunner 0.1.0 (abc12345)`. */
  versionLine: string;
  /** `[[runners]] name`. */
  runnerName: string;
  shortToken: string;
  systemId: string;
}

/** The first two lines of every job log (`Running with …` and `  on <name> <short token>, system ID: …`). */
export function runnerBanner(options: BannerOptions): string {
  return (
    plainLine(`Running with ${options.versionLine}`) +
    plainLine(`  on ${options.runnerName} ${options.shortToken}, system ID: ${options.systemId}`)
  );
}
