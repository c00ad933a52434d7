// Quoting for POSIX sh (bash, dash, busybox ash): single quotes keep every byte but NUL literally.

/** `'…'` with each `'` written as `'\''`. NUL cannot live in a shell word and is dropped. */
export function shellQuote(value: string): string {
  return `'${value.replace(/\0/g, '').replace(/'/g, `'\\''`)}'`;
}

/** A valid shell variable name: what `export` accepts. */
export function isShellName(key: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key);
}

/**
 * A `printf` command writing `value` exactly (no newline added), NUL bytes included: the value is
 * the format string with `\` and `%` escaped and NUL as `\000`.
 */
export function printfExact(value: string): string {
  if (!value.includes('\0')) return `printf '%s' ${shellQuote(value)}`;
  const format = value.replace(/\\/g, '\\\\').replace(/%/g, '%%').replace(/\0/g, '\\000');
  return `printf ${shellQuote(format)}`;
}

/** Where upstream looks for a shell, in order (shells/bash.go BashDetectShellScript). */
export const SHELL_CANDIDATES: readonly string[] = [
  '/usr/local/bin/bash',
  '/usr/bin/bash',
  '/bin/bash',
  '/usr/local/bin/sh',
  '/usr/bin/sh',
  '/bin/sh',
  '/busybox/sh',
];

/**
 * The build container's command: `sh -c` with upstream's shell detection (bash when the image has
 * it, else sh, else busybox) exec'ing `script`.
 */
export function shellDetectionCommand(script: string): string[] {
  const quoted = shellQuote(script);
  const branches = SHELL_CANDIDATES.map(
    (shell, i) => `${i === 0 ? 'if' : 'elif'} [ -x ${shell} ]; then\n\texec ${shell} ${quoted}\n`,
  ).join('');
  return ['sh', '-c', `${branches}else\n\techo shell not found\n\texit 1\nfi\n`];
}
