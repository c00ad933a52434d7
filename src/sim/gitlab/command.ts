// `podrunner sim gitlab --listen 127.0.0.1:PORT [--admin-token-file PATH]`: serves the embedded GitLab
// until SIGINT/SIGTERM. Heavy imports stay inside the action so `podrunner --help` stays fast.
import { Command, InvalidArgumentError } from 'commander';

function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value) ?? /^()()(\d+)$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError('expected HOST:PORT, e.g. 127.0.0.1:8080');
  }
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of seconds');
  return n;
}

interface Options {
  listen: { host: string; port: number };
  adminTokenFile?: string;
  adminToken?: string;
  externalUrl?: string;
  state?: string;
  dataDir?: string;
  config?: string;
  longPoll?: number;
  pipelineOnPush?: boolean;
  allowRegistrationToken?: boolean;
}

export function simGitlabCommand(): Command {
  return new Command('gitlab')
    .description('serve the embedded GitLab: runner API, REST API subset, pipelines and git over HTTP')
    .option('--listen <host:port>', 'address to listen on', parseListen, { host: '127.0.0.1', port: 0 })
    .option('--admin-token-file <path>', 'write the admin personal access token to this file')
    .option('--admin-token <token>', 'use this admin token instead of a random one')
    .option(
      '--external-url <url>',
      'base URL given to jobs (CI_SERVER_URL, clone URLs); default: the listen address',
    )
    .option('--state <file>', 'keep state in this JSON file (repositories and artifacts in <file>.data)')
    .option('--data-dir <dir>', 'directory for repositories and artifacts')
    .option('--config <file>', 'JSON file of tunables (long polling, intervals, limits, faults)')
    .option(
      '--long-poll <seconds>',
      'hold job requests up to this long, like Workhorse (default 50)',
      parseSeconds,
    )
    .option('--pipeline-on-push', 'create a pipeline for every pushed branch or tag')
    .option('--allow-registration-token', 'accept legacy registration tokens on POST /api/v4/runners')
    .action(async (options: Options) => {
      try {
        await serve(options);
      } catch (error) {
        process.stderr.write(
          `podrunner sim gitlab: ${error instanceof Error ? error.message : String(error)}\n`,
        );
        process.exitCode = 2;
      }
    });
}

async function serve(options: Options): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const { tunablesPatchSchema } = await import('./options.ts');
  const { startSimGitlab } = await import('./server.ts');
  let fileTunables = {};
  if (options.config) {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(options.config, 'utf8'));
    } catch (error) {
      throw new Error(`${options.config}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const parsed = tunablesPatchSchema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new Error(`${options.config}: ${issues}`);
    }
    fileTunables = parsed.data;
  }
  const sim = await startSimGitlab({
    ...fileTunables,
    host: options.listen.host,
    port: options.listen.port,
    ...(options.externalUrl ? { externalUrl: options.externalUrl } : {}),
    ...(options.adminToken ? { adminToken: options.adminToken } : {}),
    ...(options.adminTokenFile ? { adminTokenFile: options.adminTokenFile } : {}),
    ...(options.state ? { statePath: options.state } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.longPoll !== undefined ? { longPollSeconds: options.longPoll } : {}),
    ...(options.pipelineOnPush ? { pipelineOnPush: true } : {}),
    ...(options.allowRegistrationToken ? { allowRegistrationToken: true } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`embedded GitLab at ${sim.url}\n`);
  if (!options.adminTokenFile) process.stdout.write(`admin token: ${sim.adminToken}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await sim.close();
}
