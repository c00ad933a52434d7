// What the one-shot commands (register, verify, unregister, list) share: a GitLab client for a runner
// entry, output helpers and prompts.
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { GitLabClient } from '../gitlab/client.ts';
import { GitLabConnections } from '../gitlab/connections.ts';
import { resolveTlsFiles } from '../gitlab/tls.ts';

export interface CommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export const processIO = (): CommandIO => ({
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});

export function connectionsForCli(onProblem: (p: string) => void): GitLabConnections {
  // A command line should answer within seconds: fewer and shorter retries than the manager's.
  return new GitLabConnections({
    retry: { maxAttempts: 3, maxDelayMs: 5000 },
    connectTimeoutMs: 15_000,
    headersTimeoutMs: 60_000,
    onTlsProblem: onProblem,
  });
}

export function clientFor(
  connections: GitLabConnections,
  runner: {
    url: string;
    'tls-ca-file'?: string | undefined;
    'tls-cert-file'?: string | undefined;
    'tls-key-file'?: string | undefined;
  },
  configPath: string,
  systemId?: string,
): GitLabClient {
  const tls = resolveTlsFiles(
    runner.url,
    { caFile: runner['tls-ca-file'], certFile: runner['tls-cert-file'], keyFile: runner['tls-key-file'] },
    join(dirname(configPath), 'certs'),
  );
  return new GitLabClient({
    url: runner.url,
    dispatcher: connections.dispatcherFor(runner.url, tls),
    ...(systemId ? { systemId } : {}),
  });
}

export async function prompt(io: CommandIO, question: string, fallback?: string): Promise<string> {
  const rl = createInterface({ input: io.stdin, output: io.stdout as NodeJS.WritableStream, terminal: true });
  try {
    const answer = (await rl.question(`${question}${fallback ? ` [${fallback}]` : ''}\n`)).trim();
    return answer || fallback || '';
  } finally {
    rl.close();
  }
}
