// The manager under test, in a process of its own (`podrunner run`), so /proc shows its CPU and memory and
// nothing else's. Its log goes to a file; the bench reads it only to learn where /readyz is served.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export class ManagerProcessError extends Error {
  readonly code: 'MANAGER_NOT_READY' | 'MANAGER_EXITED';
  constructor(code: ManagerProcessError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

/** The last messages of a manager log (pino JSON lines, or plain text), for an error message. */
export async function logTail(path: string, count = 3): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-count)
    .map((line) => {
      try {
        const parsed = JSON.parse(line) as { msg?: unknown };
        return typeof parsed.msg === 'string' ? parsed.msg : line;
      } catch {
        return line;
      }
    });
}

export interface ManagerProcessOptions {
  configPath: string;
  executorPlugin: string;
  logPath: string;
  env?: NodeJS.ProcessEnv;
  /** How long to wait for /readyz (default 60 s). */
  readyTimeoutMs?: number;
  /** Write a V8 CPU profile of the manager here when it exits (`--profile`). */
  cpuProfileDir?: string;
}

export interface ManagerProcess {
  readonly pid: number;
  /** The metrics/health URL, once known. */
  readonly url: string | undefined;
  /** Rejects when the manager exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly running: boolean;
  /** SIGQUIT (graceful: running jobs finish), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const cliPath = fileURLToPath(new URL('../../bin/podrunner.js', import.meta.url));

async function waitReady(url: string, deadline: number, isRunning: () => boolean): Promise<boolean> {
  while (Date.now() < deadline && isRunning()) {
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      if (res.status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

export async function startManagerProcess(options: ManagerProcessOptions): Promise<ManagerProcess> {
  const log = createWriteStream(options.logPath);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...(options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : []),
      cliPath,
      'run',
      '--config',
      options.configPath,
      '--listen-address',
      '127.0.0.1:0',
      '--executor-plugin',
      options.executorPlugin,
      '--log-format',
      'json',
    ],
    { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (child.pid === undefined) throw new ManagerProcessError('MANAGER_EXITED', 'podrunner run did not start');
  const pid = child.pid;
  let running = true;
  // the bench going away (an error, a second Ctrl-C) must not leave a manager polling a GitLab that is gone
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      process.off('exit', killOnExit);
      resolve({ code, signal });
    });
  });
  let url: string | undefined;
  let announce: ((url: string) => void) | undefined;
  const urlKnown = new Promise<string>((resolve) => {
    announce = resolve;
  });
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    if (url !== undefined) return;
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const m = /"url":"(http:\/\/[^"]+)"/.exec(line);
      if (m && line.includes('metrics and health served')) {
        url = m[1] as string;
        announce?.(url);
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => log.write(chunk));
  const closeLog = () => new Promise<void>((r) => log.end(() => r()));

  const handle: ManagerProcess = {
    pid,
    get url() {
      return url;
    },
    exited,
    get running() {
      return running;
    },
    async stop(graceMs = 15_000) {
      if (running) {
        child.kill('SIGQUIT');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const result = await exited;
        clearTimeout(timer);
        await closeLog();
        return result;
      }
      const result = await exited;
      await closeLog();
      return result;
    },
  };

  const timeoutMs = options.readyTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const first = await Promise.race([
    urlKnown,
    exited.then(() => undefined),
    new Promise<undefined>((r) => setTimeout(() => r(undefined), timeoutMs).unref()),
  ]);
  const ready = first !== undefined && (await waitReady(first, deadline, () => running));
  if (!ready) {
    const exit = running ? undefined : await exited;
    await handle.stop(2000);
    const tail = await logTail(options.logPath);
    const said = tail.length > 0 ? `; it said: ${tail.join(' / ')}` : '';
    throw new ManagerProcessError(
      exit ? 'MANAGER_EXITED' : 'MANAGER_NOT_READY',
      exit
        ? `podrunner run exited with ${exit.code ?? exit.signal} before it was ready${said}`
        : `podrunner run was not ready within ${Math.round(timeoutMs / 1000)} s${said}`,
    );
  }
  return handle;
}
