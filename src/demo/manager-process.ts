// `podrunner run` as its own process, the way a deployment runs it: its log goes to a file, the demo waits
// for /readyz before it queues work, and stops it with a signal (SIGQUIT lets running jobs drain).
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, createWriteStream } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

const bin = fileURLToPath(new URL('../../bin/podrunner.js', import.meta.url));

export class ManagerStartError extends Error {
  readonly code = 'manager-start-failed';
}

export interface ManagerProcess {
  pid: number;
  /** Where `/metrics`, `/healthz` and `/readyz` are served. */
  url: string;
  logPath: string;
  /** Resolves with the exit code (128 + signal number when a signal ended it). */
  exited: Promise<number>;
  /** Sends `signal`, waits up to `graceMs` for the exit, then kills. */
  stop(signal: NodeJS.Signals, graceMs: number): Promise<number>;
  /** The last lines of its log, for error messages. */
  logTail(lines?: number): string;
}

function findExecutable(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {}
  }
  return undefined;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = {
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGTERM: 15,
};

export async function startManagerProcess(options: {
  configPath: string;
  logPath: string;
  readyTimeoutMs: number;
  extraArgs?: string[];
}): Promise<ManagerProcess> {
  const args = [
    bin,
    'run',
    '--config',
    options.configPath,
    '--listen-address',
    '127.0.0.1:0',
    ...(options.extraArgs ?? []),
  ];
  // With util-linux's setpriv the manager dies with the demo even when the demo is killed outright: it has
  // nothing to report to once the embedded GitLab is gone.
  const setpriv = findExecutable('setpriv');
  const child: ChildProcess = setpriv
    ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', process.execPath, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      })
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const log = createWriteStream(options.logPath, { flags: 'a' });
  const tail: string[] = [];
  let pending = '';
  let url: string | undefined;
  const onUrl = new Set<() => void>();
  const take = (chunk: Buffer) => {
    log.write(chunk);
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      tail.push(line);
      if (tail.length > 200) tail.shift();
      const m = /metrics and health served on (http:\/\/[^\s"]+)/.exec(line);
      if (m?.[1] && !url) {
        url = m[1];
        for (const f of onUrl) f();
      }
    }
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => {
      const done = () => resolve(code ?? 128 + (signal ? (SIGNAL_NUMBERS[signal] ?? 0) : 0));
      if (log.writableEnded) done();
      else log.end(done);
    });
  });
  let running = true;
  void exited.then(() => {
    running = false;
    for (const f of onUrl) f();
  });
  const logTail = (n = 20) => tail.slice(-n).join('\n');
  const fail = async (message: string): Promise<never> => {
    if (running) child.kill('SIGKILL');
    await exited;
    throw new ManagerStartError(`${message}\n--- last lines of ${options.logPath} ---\n${logTail()}`);
  };

  const deadline = Date.now() + options.readyTimeoutMs;
  await new Promise<void>((resolve) => {
    if (url || !running) return resolve();
    const timer = setTimeout(resolve, options.readyTimeoutMs);
    onUrl.add(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  if (!running) await fail(`podrunner run exited (code ${await exited}) before it served /readyz`);
  if (!url) await fail(`podrunner run did not serve /readyz within ${options.readyTimeoutMs} ms`);
  const base = url as string;
  for (;;) {
    const ready = await request(`${base}/readyz`).then(
      async (res) => {
        await res.body.dump();
        return res.statusCode === 200;
      },
      () => false,
    );
    if (ready) break;
    if (!running) await fail(`podrunner run exited (code ${await exited}) before it was ready`);
    if (Date.now() >= deadline) await fail(`podrunner run was not ready within ${options.readyTimeoutMs} ms`);
    await sleep(100);
  }

  return {
    pid: child.pid as number,
    url: base,
    logPath: options.logPath,
    exited,
    logTail,
    async stop(signal, graceMs) {
      if (!running) return exited;
      child.kill(signal);
      const timer = setTimeout(() => {
        if (running) child.kill('SIGKILL');
      }, graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
