// pino for the manager: JSON lines, or pino-pretty on a terminal (or with log_format = "text"/"runner").
import pino, { type Logger } from 'pino';

const levels: Record<string, pino.Level> = {
  panic: 'fatal',
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  warning: 'warn',
  info: 'info',
  debug: 'debug',
  trace: 'trace',
};

export function pinoLevel(level: string | undefined): pino.Level {
  return levels[level ?? 'info'] ?? 'info';
}

export async function createLogger(options: {
  level?: string | undefined;
  format?: string | undefined;
  stream?: NodeJS.WritableStream;
}): Promise<Logger> {
  const level = pinoLevel(options.level);
  const stream = options.stream ?? process.stdout;
  const pretty =
    options.format === 'text' || options.format === 'runner'
      ? true
      : options.format === 'json'
        ? false
        : (stream as NodeJS.WriteStream).isTTY === true;
  const base = { base: { pid: process.pid }, level, timestamp: pino.stdTimeFunctions.isoTime };
  if (pretty) {
    const { default: pinoPretty } = await import('pino-pretty');
    return pino(
      base,
      pinoPretty({ destination: stream, sync: true, ignore: 'pid,hostname' }) as pino.DestinationStream,
    );
  }
  return pino(
    base,
    stream === process.stdout
      ? pino.destination({ dest: 1, sync: true })
      : (stream as pino.DestinationStream),
  );
}
