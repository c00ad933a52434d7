// `podrunner list`: the runners of config.toml, one per line, tokens shortened.
import { resolve } from 'node:path';
import { formatIssue, loadConfig } from '../config/load.ts';
import { shortToken } from '../gitlab/tokens.ts';
import { type CommandIO, processIO } from './cli-support.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';

export async function listRunners(opts: { config: string }, io: CommandIO = processIO()): Promise<ExitCode> {
  const configPath = resolve(opts.config);
  const loaded = await loadConfig(configPath);
  if (!loaded.ok) {
    for (const e of loaded.errors) io.stderr.write(`ERROR: ${formatIssue(e)}\n`);
    return EXIT.CONFIG;
  }
  io.stdout.write(`Listing configured runners  ConfigFile=${configPath}\n`);
  const width = Math.max(0, ...loaded.config.runners.map((r) => r.name.length));
  for (const r of loaded.config.runners) {
    io.stdout.write(
      `${r.name.padEnd(width)}  Executor=${r.executor} Token=${shortToken(r.token)} URL=${r.url}\n`,
    );
  }
  return EXIT.OK;
}
