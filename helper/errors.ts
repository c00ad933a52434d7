// Every failure the helper reports carries a stable `code`; the stage runner maps it to the
// termination message's failure_reason in one place (`failureReasonFor`).

export type HelperErrorCode =
  | 'INVALID_INPUT' // job.json / helper.json unreadable or invalid
  | 'GIT_FAILED' // a git command failed (fetch, checkout, submodules…)
  | 'GIT_AUTH_FAILED' // the server refused the job token
  | 'HOOK_FAILED' // pre/post get-sources script exited non-zero
  | 'CLONE_PATH_INVALID'
  | 'ARTIFACT_DOWNLOAD_FAILED'
  | 'ARTIFACT_FORBIDDEN'
  | 'ARTIFACT_NOT_FOUND'
  | 'ARTIFACT_UPLOAD_FAILED'
  | 'ARTIFACT_TOO_LARGE'
  | 'ARCHIVE_INVALID' // corrupt archive, path escaping the project dir, unsupported entry
  | 'ARCHIVE_FAILED' // creating an archive failed
  | 'CACHE_FAILED'
  | 'NO_FILES'
  | 'IO_FAILED';

export class HelperError extends Error {
  override readonly name = 'HelperError';
  readonly code: HelperErrorCode;
  constructor(code: HelperErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isHelperError(error: unknown, code?: HelperErrorCode): error is HelperError {
  return error instanceof HelperError && (code === undefined || error.code === code);
}

/** Upstream fails these stages as a failing script would (exit code ≠ 0 → script_failure). */
export function failureReasonFor(error: unknown): 'script_failure' | 'runner_system_failure' {
  if (!(error instanceof HelperError)) return 'runner_system_failure';
  switch (error.code) {
    case 'INVALID_INPUT':
    case 'IO_FAILED':
      return 'runner_system_failure';
    default:
      return 'script_failure';
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
