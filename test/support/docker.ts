// Whether Docker (and kind) can be used here, and small helpers to drive them from e2e tests.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function dockerAvailable(): Promise<string | undefined> {
  try {
    await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 20_000 });
    return undefined;
  } catch (error) {
    const text = `${(error as { stderr?: string }).stderr ?? (error as Error).message}`.trim().split('\n')[0];
    return `Docker is not usable here (${text})`;
  }
}

export async function kindAvailable(): Promise<string | undefined> {
  try {
    await run('kind', ['version'], { timeout: 20_000 });
    return undefined;
  } catch {
    return 'kind is not installed (https://kind.sigs.k8s.io)';
  }
}

/** Runs a command, streaming its output into the test log; rejects with its tail on failure. */
export function sh(
  command: string,
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
) {
  return new Promise<string>((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.length > 200_000) output = output.slice(-100_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGTERM'), options.timeoutMs ?? 600_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`\`${command}\` failed (${code ?? signal}):\n${output.slice(-4000)}`));
    });
  });
}

/** `--network` for image builds, when the machine needs one (DOCKER_BUILD_NETWORK=host). */
export function buildNetworkFlag(): string {
  const network = process.env.DOCKER_BUILD_NETWORK;
  return network ? ` --network ${network}` : '';
}
