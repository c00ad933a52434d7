// Debian's python3-kubernetes (run with /usr/bin/python3) against the embedded API server: it lists,
// watches (while the server keeps ending its watches), reads and follows logs, and gets a 404.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  condition,
  running,
  ScriptedKubelet,
  startCluster,
  type TestCluster,
  terminated,
} from './harness.ts';

let cluster: TestCluster;
let kubelet: ScriptedKubelet;

beforeAll(async () => {
  cluster = await startCluster({
    faults: {
      api: {
        watch: { minDurationSeconds: 0.3, maxDurationSeconds: 0.6, dropRate: 0, expireRate: 0 },
        errors: [],
        logs: { dropRate: 0, mode: 'end' },
      },
    },
  });
  kubelet = new ScriptedKubelet(cluster.sim.store);
});

afterAll(async () => {
  kubelet.stop();
  await cluster.close();
});

async function createPod(name: string): Promise<void> {
  const body = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'build', image: 'alpine:3.19' }] },
  };
  const result = await cluster.kubectl(['create', '-f', '-'], JSON.stringify(body));
  expect(result.code, result.stderr).toBe(0);
}

describe('python3-kubernetes against the embedded API server', () => {
  it('lists, watches, reads and follows logs', async () => {
    await createPod('py-1');
    kubelet.bind('default', 'py-1');
    const log = kubelet.log('default', 'py-1', 'build');
    log.write('stdout', Buffer.from('hello from py-1\n'), new Date());
    kubelet.status('default', 'py-1', {
      phase: 'Running',
      containerStatuses: [running('build', true)],
      conditions: [condition('Ready', 'True')],
    });

    const child = spawn(
      '/usr/bin/python3',
      [join(import.meta.dirname, 'python', 'client.py'), cluster.kubeconfigPath],
      {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cluster.dir },
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const steps: Record<string, unknown>[] = [];
    const events: string[] = [];
    const followed: string[] = [];
    for await (const line of createInterface({ input: child.stdout })) {
      const step = JSON.parse(line) as Record<string, unknown>;
      steps.push(step);
      if (step.step === 'watching') {
        await createPod('py-2');
        // outlast a few server-ended watches: the client resumes from its resourceVersion
        await new Promise((r) => setTimeout(r, 1500));
        kubelet.bind('default', 'py-2');
        await new Promise((r) => setTimeout(r, 700));
        kubelet.status('default', 'py-2', {
          phase: 'Succeeded',
          containerStatuses: [terminated('build', 0, 'Completed')],
        });
        expect((await cluster.kubectl(['delete', 'pod', 'py-2'])).code).toBe(0);
      } else if (step.step === 'event') {
        events.push(`${step.type} ${step.name} ${step.phase}`);
      } else if (step.step === 'following') {
        log.write('stdout', Buffer.from('second line\n\n'), new Date());
      } else if (step.step === 'line') {
        followed.push(String(step.text));
        if (step.text === 'second line') {
          log.write('stderr', Buffer.from('third line\nunterminated'), new Date());
          log.close();
          kubelet.status('default', 'py-1', {
            phase: 'Succeeded',
            containerStatuses: [terminated('build', 0, 'Completed')],
          });
        }
      }
    }
    expect(await exited, stderr).toBe(0);
    expect(steps[0]).toMatchObject({ step: 'list', names: ['py-1'], rv: expect.stringMatching(/^\d+$/) });
    expect(steps[1]).toEqual({ step: 'log', text: 'hello from py-1\n' });
    expect(events).toEqual([
      'ADDED py-2 Pending',
      'MODIFIED py-2 Pending',
      'MODIFIED py-2 Succeeded',
      'MODIFIED py-2 Succeeded',
      'DELETED py-2 Succeeded',
    ]);
    // python splits on newlines, drops empty lines, and loses a last line without a newline
    expect(steps.find((s) => s.step === 'followed')).toEqual({
      step: 'followed',
      lines: ['hello from py-1', 'second line', 'third line'],
    });
    expect(steps.at(-1)).toEqual({
      step: 'missing',
      status: 404,
      reason: 'NotFound',
      message: 'pods "missing" not found',
    });
  });
});
