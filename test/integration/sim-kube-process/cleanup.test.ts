// Nothing outlives a pod, a runtime, or even a runtime that crashes: no process, namespace, mount,
// cgroup or state directory.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { createProcessRuntime } from '../../../src/sim/kube/process/process-runtime.ts';
import { containerSpec, run, sandboxSpec, sh, start, unsupportedReason } from './support.ts';

const mountTable = () => readFileSync('/proc/self/mountinfo', 'utf8');

/** Host processes in network namespace `netns` (`net:[inode]`). */
function processesInNetns(netns: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/net`) === netns) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

function processesMentioning(text: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', '-a', text], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** Polls a condition that has no event to await (the kernel delivering parent-death signals). */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`still not true after 10s: ${what}`);
}

describe.skipIf(unsupportedReason)('process mode: cleanup', () => {
  it('leaves no process, namespace, mount, cgroup or directory behind after destroy and close', async () => {
    const mountsBefore = mountTable();
    const runtime = createProcessRuntime();
    try {
      const spec = sandboxSpec({ volumes: [{ name: 'builds', kind: 'emptyDir' }] });
      const sandbox = await runtime.createSandbox(spec);
      const probe = await run(sandbox, sh('readlink /proc/self/ns/net'));
      const netns = probe.stdout.trim();
      expect(netns).toMatch(/^net:\[\d+\]$/);
      expect(netns).not.toBe(readlinkSync('/proc/self/ns/net'));
      const { output } = await start(sandbox, {
        memoryLimitBytes: 256 * 1024 * 1024,
        mounts: [{ volume: 'builds', mountPath: '/builds', readOnly: false }],
        ...sh('echo ready; sleep 1000 & sleep 1000'),
      });
      await output.waitFor(/ready/);
      expect(processesInNetns(netns).length).toBeGreaterThan(0);
      expect(mountTable()).toBe(mountsBefore); // every mount lives in the containers' own namespaces

      await sandbox.destroy();
      expect(processesInNetns(netns)).toEqual([]);
      expect(processesMentioning(runtime.stateDir)).toEqual([]);
      expect(processesMentioning(spec.name)).toEqual([]);
      expect(readdirSync(join(runtime.stateDir, 'pods'))).toEqual([]);
    } finally {
      await runtime.close();
    }
    expect(existsSync(runtime.stateDir)).toBe(false);
    expect(mountTable()).toBe(mountsBefore);
    if (runtime.cgroupDir) expect(existsSync(runtime.cgroupDir)).toBe(false);
  });

  it('takes every process and namespace down with a runtime that is SIGKILLed', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'podrunner-crash-'));
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, 'fixtures', 'crash-child.ts'), stateDir],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`crash child exited early (${code})`)));
      });
      const { netns, name, cgroupDir } = JSON.parse(line) as {
        netns: string;
        name: string;
        cgroupDir?: string;
      };
      expect(processesInNetns(netns).length).toBeGreaterThan(0);
      const reaped = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await reaped;
      await eventually(() => processesInNetns(netns).length === 0, `no process left in ${netns}`);
      await eventually(() => processesMentioning(stateDir).length === 0, `no process mentions ${stateDir}`);
      expect(processesMentioning(name)).toEqual([]);
      if (cgroupDir) {
        // The dead runtime's (now empty) cgroups are swept by the next runtime.
        expect(existsSync(cgroupDir)).toBe(true);
        await createProcessRuntime().close();
        expect(existsSync(cgroupDir)).toBe(false);
      }
    } finally {
      child.kill('SIGKILL');
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('does not let a container whose start races with destroy outlive its pod', async () => {
    const runtime = createProcessRuntime();
    try {
      const spec = sandboxSpec();
      const sandbox = await runtime.createSandbox(spec);
      const starting = sandbox.start(containerSpec({ command: ['sleep', '1000'] }), {
        stdout() {},
        stderr() {},
      });
      await sandbox.destroy();
      await expect(starting).rejects.toMatchObject({ code: 'closed' });
      expect(processesMentioning(runtime.stateDir)).toEqual([]);
      expect(processesMentioning(spec.name)).toEqual([]);
    } finally {
      await runtime.close();
    }
  });
});
