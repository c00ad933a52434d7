// Exit codes of the manager commands; scripts (the Helm chart's probes, CI) branch on them.
// Documented in src/manager/README.md and in each command's --help.

export const EXIT = {
  /** Done: the runner(s) are valid, registered, removed; `run` stopped with every job reported. */
  OK: 0,
  /** The operation failed: a token GitLab rejects, a job whose final state could not be delivered. */
  FAILED: 1,
  /** Wrong usage: an unknown flag, a missing required value. */
  USAGE: 2,
  /** config.toml cannot be read or is invalid (the messages name file, line and key). */
  CONFIG: 3,
  /** GitLab could not be reached (network error, timeout, 5xx after retries). */
  UNREACHABLE: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const exitCodeHelp = `
Exit codes:
  0  success
  1  failed (GitLab rejected a token, a job could not be reported)
  2  usage error
  3  config.toml unreadable or invalid
  4  GitLab unreachable`;
