// gitlab-runner's ANSI sequences (helpers/ansi_colors.go): the GitLab log viewer colours by them.

export const ANSI_BOLD_RED = '\x1b[31;1m';
export const ANSI_BOLD_GREEN = '\x1b[32;1m';
export const ANSI_BOLD_YELLOW = '\x1b[33;1m';
export const ANSI_BOLD_CYAN = '\x1b[36;1m';
export const ANSI_YELLOW = '\x1b[0;33m';
export const ANSI_RESET = '\x1b[0;m';
/** Erase to end of line; printed after every section marker's `\r` and before plain runner lines. */
export const ANSI_CLEAR = '\x1b[0K';
