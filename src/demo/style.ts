// Terminal styling for the demo's own lines: SGR colours on a terminal, plain text otherwise.

export interface Style {
  color: boolean;
  bold(text: string): string;
  dim(text: string): string;
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  /** A colour per job, so interleaved lines of parallel jobs are told apart at a glance. */
  job(index: number, text: string): string;
}

const JOB_COLOURS = ['36', '35', '33', '34', '32', '96', '95', '93', '94', '92'];

export function createStyle(color: boolean): Style {
  const wrap = (code: string) => (text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  return {
    color,
    bold: wrap('1'),
    dim: wrap('2'),
    green: wrap('32'),
    red: wrap('31'),
    yellow: wrap('33'),
    cyan: wrap('36'),
    job: (index, text) => wrap(JOB_COLOURS[index % JOB_COLOURS.length] ?? '36')(text),
  };
}

/**
 * Whether to colour: `--no-color`, NO_COLOR and a stdout that is not a terminal turn it off;
 * FORCE_COLOR turns it on (FORCE_COLOR=0 or false off), as in most Node tools.
 */
export function wantColor(option: boolean, stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (!option) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR === '0' || env.FORCE_COLOR === 'false') return false;
  if (env.FORCE_COLOR !== undefined) return true;
  return stream.isTTY === true;
}
