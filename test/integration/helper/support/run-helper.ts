// Runs the real helper program (`bin/podrunner-helper.js`) the way a pod runs it: a job dir with
// job.json and helper.json, a status dir, a termination-message file. Optionally watches every
// process's argv and environment for a secret while the helper runs.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HelperSettingsInput } from '../../../../helper/contract.ts';
import type { JobPayloadInput } from '../../../../src/gitlab/payload.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const NODE = path.join(ROOT, 'node_modules/.bin/node');
const HELPER = path.join(ROOT, 'bin/podrunner-helper.js');

export interface PodDirs {
  root: string;
  jobDir: string;
  statusDir: string;
  buildsDir: string;
}

export function podDirs(): PodDirs {
  const root = mkdtempSync(path.join(tmpdir(), 'pod-'));
  const dirs = {
    root,
    jobDir: path.join(root, 'job'),
    statusDir: path.join(root, 'status'),
    buildsDir: path.join(root, 'builds'),
  };
  for (const d of [dirs.jobDir, dirs.statusDir, dirs.buildsDir]) mkdirSync(d, { recursive: true });
  return dirs;
}

export interface HelperRun {
  code: number;
  output: string;
  termination: Record<string, unknown> | undefined;
  /** Processes whose argv or environment held the watched secret. */
  sightings: string[];
}

export function helperSettings(
  dirs: PodDirs,
  settings: Partial<HelperSettingsInput> & { serverUrl: string; projectDir: string },
): HelperSettingsInput {
  return {
    buildsDir: dirs.buildsDir,
    statusDir: dirs.statusDir,
    retry: { stageMinMs: 10, stageMaxMs: 50, requestMs: 10 },
    ...settings,
  };
}

export async function runHelper(
  command: 'prepare' | 'upload',
  dirs: PodDirs,
  /** The payload, or the raw 201 body as GitLab sent it. */
  job: JobPayloadInput | string,
  settings: HelperSettingsInput,
  options: { watch?: string; env?: Record<string, string>; onSpawn?: (pid: number) => void } = {},
): Promise<HelperRun> {
  writeFileSync(path.join(dirs.jobDir, 'job.json'), typeof job === 'string' ? job : JSON.stringify(job));
  writeFileSync(path.join(dirs.jobDir, 'helper.json'), JSON.stringify(settings));
  const termination = path.join(dirs.root, `termination-${command}`);
  const child = spawn(NODE, [HELPER, command, '--job-dir', dirs.jobDir, '--termination-log', termination], {
    cwd: dirs.root,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dirs.root, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  options.onSpawn?.(child.pid ?? 0);
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const sightings = new Set<string>();
  let running = true;
  const watcher = options.watch
    ? (async () => {
        while (running) {
          for (const seen of scanProcesses(options.watch!)) sightings.add(seen);
          await new Promise((r) => setTimeout(r, 2));
        }
      })()
    : Promise.resolve();
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  running = false;
  await watcher;
  const text = existsSync(termination) ? readFileSync(termination, 'utf8').trim() : '';
  return {
    code,
    output,
    termination: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
    sightings: [...sightings],
  };
}

/** Every readable /proc/<pid>/{cmdline,environ} that contains `secret`. */
export function scanProcesses(secret: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    for (const file of ['cmdline', 'environ']) {
      try {
        const text = readFileSync(`/proc/${pid}/${file}`).toString();
        if (text.includes(secret)) {
          found.push(
            `${pid} ${file}: ${readFileSync(`/proc/${pid}/cmdline`).toString().replaceAll('\0', ' ')}`,
          );
        }
      } catch {
        // gone or not ours
      }
    }
  }
  return found;
}
