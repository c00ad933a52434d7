// Runs generated build scripts with the real shells of this machine in a temp dir that stands in
// for the pod: job dir, status dir (with a real build.alive FIFO, as the helper makes it),
// termination log and project dir.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobStep } from '../../../src/gitlab/payload.ts';
import { type BuildScriptInput, renderBuildScript, type ScriptVariable } from '../../../src/scripts/index.ts';

export interface Shell {
  name: string;
  argv: string[];
}

export const SHELLS: Shell[] = [
  { name: 'bash', argv: ['bash'] },
  { name: 'dash', argv: ['dash'] },
  { name: 'busybox sh', argv: ['busybox', 'sh'] },
];

/** Whether a shell implements `set -o pipefail` (dash does not). */
export const hasPipefail = (shell: Shell) => shell.name !== 'dash';

export interface Pod {
  root: string;
  jobDir: string;
  statusDir: string;
  terminationLog: string;
  projectDir: string;
  cleanup(): void;
}

export function makePod(): Pod {
  const root = mkdtempSync(join(tmpdir(), 'podrunner-build-'));
  const pod = {
    root,
    jobDir: join(root, 'job'),
    statusDir: join(root, 'status'),
    terminationLog: join(root, 'termination-log'),
    projectDir: join(root, 'builds', 'group', 'project'),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
  for (const dir of [pod.jobDir, pod.statusDir, pod.projectDir]) mkdirSync(dir, { recursive: true });
  execFileSync('mkfifo', [join(pod.statusDir, 'build.alive')]);
  return pod;
}

export interface JobSpec extends Partial<Omit<BuildScriptInput, 'job' | 'paths' | 'projectDir'>> {
  script?: string[];
  afterScript?: string[];
  extraSteps?: JobStep[];
  traceSectionsFeature?: boolean;
}

const step = (name: string, script: string[], timeout: number): JobStep => ({
  name,
  script,
  timeout,
  when: name === 'after_script' ? 'always' : 'on_success',
  allow_failure: name === 'after_script',
});

export function writeScript(pod: Pod, spec: JobSpec): { command: string[]; script: string } {
  const timeout = spec.jobTimeoutSeconds ?? 60;
  const steps = [step('script', spec.script ?? [], timeout), ...(spec.extraSteps ?? [])];
  if (spec.afterScript) steps.push(step('after_script', spec.afterScript, timeout));
  const rendered = renderBuildScript({
    ...spec,
    job: {
      id: 77,
      steps,
      features: {
        trace_sections: spec.traceSectionsFeature ?? true,
        failure_reasons: [],
        token_mask_prefixes: [],
      },
    },
    variables: spec.variables ?? [],
    projectDir: pod.projectDir,
    jobTimeoutSeconds: timeout,
    paths: { jobDir: pod.jobDir, statusDir: pod.statusDir, terminationLog: pod.terminationLog },
    killGraceSeconds: spec.killGraceSeconds ?? 1,
  });
  for (const [key, content] of Object.entries(rendered.files)) writeFileSync(join(pod.jobDir, key), content);
  return { command: rendered.command, script: rendered.files['build.sh']! };
}

export interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  buildExit: string | null;
  termination: { exit_code: number; timed_out: boolean; canceled: boolean } | null;
  started: boolean;
  elapsedMs: number;
}

export interface RunOptions {
  /** SIGTERM the shell (as the kubelet does on pod deletion) once stdout contains this. */
  cancelWhen?: string;
  /** With `cancelWhen`: SIGTERM every process of the job at once, as the process-mode kubelet's init does. */
  cancelAll?: boolean;
  env?: Record<string, string>;
  /** Called with the child's pid once it is running. */
  onSpawn?: (pid: number) => void;
  /** Leave processes the job started in the background alone (the test ends them). */
  leaveGroup?: boolean;
  /** Every chunk of output as it arrives. */
  onData?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
}

/** Runs `argv` (a shell plus the script, or the rendered command) until it exits. */
export function run(pod: Pod, argv: string[], options: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: pod.root,
      detached: true,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: pod.root, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let canceled = false;
    child.stdout.on('data', (d: Buffer) => {
      options.onData?.('stdout', d);
      stdout += d.toString('utf8');
      if (options.cancelWhen && !canceled && stdout.includes(options.cancelWhen)) {
        canceled = true;
        if (options.cancelAll && child.pid) process.kill(-child.pid, 'SIGTERM');
        else child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      options.onData?.('stderr', d);
      stderr += d.toString('utf8');
    });
    child.on('error', reject);
    if (child.pid) options.onSpawn?.(child.pid);
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // Anything the job left behind goes with the "container".
      try {
        if (child.pid && !options.leaveGroup) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is already gone
      }
    });
    child.on('close', () => {
      const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : null);
      const term = read(pod.terminationLog);
      resolve({
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        stdout,
        stderr,
        buildExit: read(join(pod.statusDir, 'build.exit')),
        termination: term ? JSON.parse(term) : null,
        started: existsSync(join(pod.statusDir, 'build.started')),
        elapsedMs: Date.now() - started,
      });
    });
  });
}

export async function runJob(
  shell: Shell,
  spec: JobSpec,
  options: RunOptions = {},
): Promise<RunResult & { pod: Pod }> {
  const pod = makePod();
  try {
    writeScript(pod, spec);
    const result = await run(pod, [...shell.argv, join(pod.jobDir, 'build.sh')], options);
    return { ...result, pod };
  } finally {
    pod.cleanup();
  }
}

/** The output without ANSI colours, for readable assertions. */
export const plain = (s: string) => s.replace(/\x1b\[[0-9;]*[mK]/g, '');

export type { ScriptVariable };
