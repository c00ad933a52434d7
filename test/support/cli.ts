// Runs `podrunner` as a child process (bin/podrunner.js under the Node that runs the tests) and follows its
// output line by line.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/podrunner.js', import.meta.url));

export interface CliRun {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  /** Resolves with the first stdout/stderr line matching, including lines already seen. */
  line(match: RegExp, timeoutMs?: number): Promise<string>;
  exit: Promise<number | null>;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): CliRun {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  const collect = (into: string[]) => {
    let rest = '';
    return (chunk: Buffer) => {
      rest += chunk.toString('utf8');
      const lines = rest.split('\n');
      rest = lines.pop() ?? '';
      into.push(...lines);
      for (const w of [...waiters]) w();
    };
  };
  child.stdout!.on('data', collect(stdout));
  child.stderr!.on('data', collect(stderr));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    stdout,
    stderr,
    exit,
    line(match, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = [...stdout, ...stderr].find((l) => match.test(l));
          if (found === undefined) return false;
          clearTimeout(timer);
          waiters.delete(onData);
          resolve(found);
          return true;
        };
        const onData = () => void check();
        const timer = setTimeout(() => {
          waiters.delete(onData);
          reject(
            new Error(
              `no line matching ${match} within ${timeoutMs} ms:\n${[...stdout, ...stderr].join('\n')}`,
            ),
          );
        }, timeoutMs);
        if (check()) return;
        waiters.add(onData);
        void exit.then(() => {
          if (!check()) {
            clearTimeout(timer);
            waiters.delete(onData);
            reject(
              new Error(`exited before a line matching ${match}:\n${[...stdout, ...stderr].join('\n')}`),
            );
          }
        });
      });
    },
  };
}

/** Runs a command to completion. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string) {
  const run = startCli(args, env, cwd);
  const code = await run.exit;
  return { code, stdout: run.stdout.join('\n'), stderr: run.stderr.join('\n') };
}
