// `pre_get_sources_script` / `post_get_sources_script`: the runner's snippet and the job's `hooks`,
// run by a shell in the helper container as upstream's get_sources script does (each command echoed
// as `$ cmd` in green, the first failing command stops the hook). The job's variables are in the
// shell's environment, as upstream exports them; the script itself travels in a private file.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HelperError } from '../errors.ts';
import { ANSI, type Trace } from '../output/trace.ts';
import type { JobVariables } from '../variables.ts';
import { shellQuote } from './credentials.ts';

export function hookCommands(
  kind: 'pre' | 'post',
  runnerScript: string,
  jobHooks: { name: string; script: string[] }[],
): string[] {
  const name = kind === 'pre' ? 'pre_get_sources_script' : 'post_get_sources_script';
  const fromJob = jobHooks.filter((h) => h.name === name).flatMap((h) => h.script);
  const fromRunner = runnerScript.trim() === '' ? [] : [runnerScript];
  return kind === 'pre' ? [...fromRunner, ...fromJob] : [...fromJob, ...fromRunner];
}

/** The shell script for a list of commands, written like upstream's bash writer. */
export function hookScript(commands: string[]): string {
  const lines = ['set -e', '(set -o pipefail) 2>/dev/null && set -o pipefail'];
  for (const raw of commands) {
    const command = raw.trim();
    if (command === '') continue;
    const nl = command.indexOf('\n');
    const shown = nl < 0 ? command : `${command.slice(0, nl)} # collapsed multi-line command`;
    lines.push(`printf '%s\\n' ${shellQuote(`${ANSI.boldGreen}$ ${shown}${ANSI.reset}`)}`, command);
  }
  return `${lines.join('\n')}\n`;
}

export interface HookEnvironment {
  vars: JobVariables;
  /** Runner-provided variables (CI_PROJECT_DIR, …) and the git environment of the stage. */
  extra: Record<string, string>;
}

export async function runHook(
  trace: Trace,
  commands: string[],
  cwd: string,
  env: HookEnvironment,
  signal?: AbortSignal,
): Promise<void> {
  if (commands.length === 0) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'podrunner-hook-'));
  try {
    const childEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) childEnv[k] = v;
    for (const v of env.vars.all()) {
      if (v.file) {
        const file = path.join(dir, `var-${v.key}`);
        await writeFile(file, v.value, { mode: 0o600 });
        childEnv[v.key] = file;
      } else childEnv[v.key] = v.value;
    }
    Object.assign(childEnv, env.extra);
    const script = path.join(dir, 'script.sh');
    await writeFile(script, hookScript(commands), { mode: 0o600 });
    const shell = ['/bin/bash', '/usr/bin/bash', '/bin/sh'].find((s) => existsSync(s)) ?? 'sh';
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(shell, [script], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], signal });
      const out = trace.lineStream();
      const err = trace.lineStream();
      child.stdout.on('data', (d: Buffer) => out.write(d));
      child.stderr.on('data', (d: Buffer) => err.write(d));
      child.on('error', reject);
      child.on('close', (c, sig) => {
        out.end();
        err.end();
        resolve(c ?? (sig ? 128 : 1));
      });
    });
    if (code !== 0) throw new HelperError('HOOK_FAILED', `get_sources hook script failed: exit code ${code}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
