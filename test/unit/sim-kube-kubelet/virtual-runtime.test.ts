// The virtual runtime: scripts, signals, annotations, ports, and podrunner's own containers.
import { afterEach, describe, expect, it } from 'vitest';
import type { PodObject } from '../../../src/sim/kube/kubelet-store.ts';
import type { ContainerExit, ContainerSpec, ResolvedVolume, Sandbox } from '../../../src/sim/kube/runtime.ts';
import { createVirtualRuntime } from '../../../src/sim/kube/virtual/virtual-runtime.ts';
import { fastVirtual, type Harness, pod, startHarness } from './support/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

function spec(partial: Partial<ContainerSpec> & { name?: string }): ContainerSpec {
  return {
    name: 'main',
    image: 'alpine:3.19',
    env: [],
    mounts: [],
    ports: [],
    terminationMessagePath: '/dev/termination-log',
    annotations: {},
    ...partial,
  };
}

async function sandbox(volumes: ResolvedVolume[] = []): Promise<Sandbox> {
  const runtime = createVirtualRuntime({ ...fastVirtual, unknownCommandMs: 1 });
  return runtime.createSandbox({
    uid: 'u',
    namespace: 'ci',
    name: 'p',
    hostname: 'p',
    hostAliases: [],
    volumes,
  });
}

async function run(
  s: Sandbox,
  c: ContainerSpec,
  during?: (running: { signal(s: 'SIGTERM' | 'SIGKILL'): void }) => void,
): Promise<{ exit: ContainerExit; stdout: string; stderr: string; ms: number }> {
  let stdout = '';
  let stderr = '';
  const started = Date.now();
  const running = await s.start(c, {
    stdout: (b) => {
      stdout += Buffer.from(b).toString();
    },
    stderr: (b) => {
      stderr += Buffer.from(b).toString();
    },
  });
  during?.(running);
  const exit = await running.exited;
  return { exit, stdout, stderr, ms: Date.now() - started };
}

describe('virtual containers from commands', () => {
  it('interprets echo, printf, variables, stderr, sleep and exit', async () => {
    const s = await sandbox();
    const r = await run(
      s,
      spec({
        command: ['sh', '-c'],
        args: [
          // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a template
          'echo hello; echo "a $NAME ${OTHER:-b}" >&2\nsleep 0.05 && printf \'%s-%s\\n\' x y; exit 3; echo never',
        ],
        env: [{ name: 'NAME', value: 'world' }],
      }),
    );
    expect(r.stdout).toBe('hello\nx-y\n');
    expect(r.stderr).toBe('a world b\n');
    expect(r.exit).toEqual({ exitCode: 3, oomKilled: false });
    expect(r.ms).toBeGreaterThanOrEqual(45);
  });

  it('follows && / || and set -e, and ends with the last status', async () => {
    const s = await sandbox();
    expect((await run(s, spec({ command: ['sh', '-c', 'false && echo no || echo yes'] }))).stdout).toBe(
      'yes\n',
    );
    const strict = await run(
      s,
      spec({ name: 'b', command: ['/bin/bash', '-ec', 'echo one; false; echo never'] }),
    );
    expect(strict.stdout).toBe('one\n');
    expect(strict.exit.exitCode).toBe(1);
    expect((await run(s, spec({ name: 'c', command: ['false'] }))).exit.exitCode).toBe(1);
  });

  it('prints a line for unknown commands and succeeds', async () => {
    const s = await sandbox();
    const r = await run(s, spec({ command: ['make', 'test'] }));
    expect(r.stdout).toBe('[virtual] make test\n');
    expect(r.exit.exitCode).toBe(0);
  });

  it('ends promptly with 143 on SIGTERM, runs a TERM trap, and writes the termination message file', async () => {
    const s = await sandbox();
    const termed = await run(s, spec({ command: ['sleep', '30'] }), (c) =>
      setTimeout(() => c.signal('SIGTERM'), 10),
    );
    expect(termed.exit).toEqual({ exitCode: 143, signal: 'SIGTERM', oomKilled: false });
    expect(termed.ms).toBeLessThan(5000);

    const trapped = await run(
      s,
      spec({
        name: 't',
        command: [
          'sh',
          '-c',
          "trap 'echo bye; echo stopped > /dev/termination-log; exit 0' TERM; echo start; sleep 30",
        ],
      }),
      (c) => setTimeout(() => c.signal('SIGTERM'), 10),
    );
    expect(trapped.stdout).toBe('start\nbye\n');
    expect(trapped.exit).toEqual({ exitCode: 0, oomKilled: false, terminationMessage: 'stopped\n' });

    const message = await run(
      s,
      spec({ name: 'm', command: ['sh', '-c', 'echo \'{"ok":true}\' > /dev/termination-log'] }),
    );
    expect(message.exit.terminationMessage).toBe('{"ok":true}\n');
  });

  it('takes duration, exit code, output, termination message and TERM handling from annotations', async () => {
    const s = await sandbox();
    const annotations = {
      'sim.podrunner.dev/duration.main': '30ms',
      'sim.podrunner.dev/exit-code.main': '4',
      'sim.podrunner.dev/output': 'line one\\nline two',
      'sim.podrunner.dev/termination-message.main': 'custom',
    };
    const r = await run(s, spec({ command: ['sh', '-c', 'echo ignored'], annotations }));
    expect(r.stdout).toBe('line one\nline two\n');
    expect(r.exit).toEqual({ exitCode: 4, oomKilled: false, terminationMessage: 'custom' });

    const stubborn = await run(
      s,
      spec({
        name: 'stubborn',
        command: ['sleep', '30'],
        annotations: { 'sim.podrunner.dev/ignore-sigterm.stubborn': 'true' },
      }),
      (c) => {
        c.signal('SIGTERM');
        setTimeout(() => c.signal('SIGKILL'), 20);
      },
    );
    expect(stubborn.exit).toEqual({ exitCode: 137, signal: 'SIGKILL', oomKilled: false });
    expect(stubborn.ms).toBeGreaterThanOrEqual(15);
  });

  it('listens on declared ports after the listen delay, and not after it exits', async () => {
    const s = await sandbox();
    const c = await s.start(
      spec({
        name: 'docker',
        image: 'docker:dind',
        ports: [2375],
        annotations: { 'sim.podrunner.dev/listen-delay': '40ms' },
      }),
      { stdout: () => {}, stderr: () => {} },
    );
    expect(await s.probeTcp(2375, 100)).toBe(false);
    await new Promise((r) => setTimeout(r, 220));
    expect(await s.probeTcp(2375, 100)).toBe(true);
    expect(await s.probeTcp(2376, 100)).toBe(false);
    c.signal('SIGTERM');
    await c.exited;
    expect(await s.probeTcp(2375, 100)).toBe(false);
  });

  it('writes synthetic log lines at the annotated rate', async () => {
    const s = await sandbox();
    const r = await run(
      s,
      spec({ command: ['sleep', '1.1'], annotations: { 'sim.podrunner.dev/log-lines-per-second': '5' } }),
    );
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(5);
  });

  it('pulls an image once, then finds it present; refuses absent images under Never', async () => {
    const runtime = createVirtualRuntime({ presentImages: ['registry.local/**'] });
    await expect(runtime.pullImage('alpine:3.19', 'Never')).rejects.toThrow(/not present/);
    expect(await runtime.pullImage('alpine:3.19', 'IfNotPresent')).toEqual({ alreadyPresent: false });
    expect(await runtime.pullImage('alpine:3.19', 'Never')).toEqual({ alreadyPresent: true });
    expect(await runtime.pullImage('registry.local/x/y:1', 'IfNotPresent')).toEqual({ alreadyPresent: true });
  });
});

function jobSecret(script: string[], after: string[] = []): Record<string, string> {
  return {
    'job.json': JSON.stringify({
      id: 42,
      variables: [{ key: 'GREETING', value: 'hi there', public: true }],
      steps: [
        { name: 'script', script, timeout: 3600, when: 'on_success', allow_failure: false },
        ...(after.length ? [{ name: 'after_script', script: after, timeout: 300, when: 'always' }] : []),
      ],
    }),
    'build.sh': '#!/bin/sh\n',
  };
}

function virtualJobPod(name: string): PodObject {
  const helperImage = 'ghcr.io/podrunner/helper:0.1.0';
  const mounts = [
    { name: 'job', mountPath: '/podrunner/job', readOnly: true },
    { name: 'builds', mountPath: '/builds' },
  ];
  return pod(name, {
    restartPolicy: 'Never',
    terminationGracePeriodSeconds: 30,
    volumes: [
      { name: 'job', secret: { secretName: name } },
      { name: 'builds', emptyDir: {} },
    ],
    initContainers: [
      { name: 'helper', image: helperImage, command: ['podrunner-helper', 'prepare'], volumeMounts: mounts },
      {
        name: 'docker',
        image: 'docker:27-dind',
        restartPolicy: 'Always',
        startupProbe: { tcpSocket: { port: 2375 }, periodSeconds: 1, failureThreshold: 100 },
      },
    ],
    containers: [
      {
        name: 'build',
        image: 'alpine:3.19',
        command: ['sh', '/podrunner/job/build.sh'],
        volumeMounts: mounts,
      },
      { name: 'uploader', image: helperImage, command: ['podrunner-helper', 'upload'], volumeMounts: mounts },
    ],
  });
}

const statusOf = (p: PodObject, name: string) =>
  [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])].find(
    (c) => c.name === name,
  );

describe("podrunner's containers in virtual mode", () => {
  it('run the job script from job.json and report the contract results', async () => {
    h = startHarness();
    const { store } = h;
    store.putSecret('ci', 'vjob', jobSecret(['echo $GREETING', 'sleep 0.05', 'exit 2'], ['echo cleanup']));
    store.createPod({
      ...virtualJobPod('vjob'),
      metadata: {
        name: 'vjob',
        namespace: 'ci',
        annotations: { 'sim.podrunner.dev/listen-delay.docker': '60ms' },
      },
    });
    const done = await store.waitForPod('ci', 'vjob', (p) => p.status?.phase === 'Failed');
    const uid = done.metadata?.uid ?? '';
    expect(statusOf(done, 'helper')?.state?.terminated).toMatchObject({
      exitCode: 0,
      message: '{"ok":true}',
    });
    expect(statusOf(done, 'build')?.state?.terminated).toMatchObject({
      exitCode: 2,
      reason: 'Error',
      message: '{"exit_code":2,"timed_out":false,"canceled":false}',
    });
    expect(statusOf(done, 'uploader')?.state?.terminated).toMatchObject({
      exitCode: 0,
      message: '{"ok":true,"uploaded":0}',
    });
    const buildLog = store.logText(uid, 'build');
    expect(buildLog).toMatch(/^section_start:\d+:step_script\r\x1b\[0K/);
    expect(buildLog).toContain('\x1b[32;1m$ echo $GREETING\x1b[0;m\nhi there\n');
    expect(buildLog).toContain('$ exit 2');
    expect(buildLog).toContain('cleanup\n');
    expect(store.logText(uid, 'helper')).toContain('get_sources');
    // The uploader started with the build but finished after it.
    const build = statusOf(done, 'build')?.state?.terminated;
    const uploader = statusOf(done, 'uploader')?.state?.terminated;
    expect(Date.parse(uploader?.finishedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(build?.finishedAt ?? ''),
    );
    // The sidecar was started (its port answered) before the build.
    expect(store.eventsFor('vjob').some((e) => e.startsWith('Unhealthy: Startup probe failed'))).toBe(true);
  });

  it('on cancel (graceful delete) the build reports canceled and the uploader still finishes', async () => {
    h = startHarness();
    const { store } = h;
    store.putSecret('ci', 'cancel', jobSecret(['sleep 30']));
    store.createPod(virtualJobPod('cancel'));
    await store.waitForPod('ci', 'cancel', (p) => p.status?.phase === 'Running');
    store.deletePod('ci', 'cancel');
    await store.waitForGone('ci', 'cancel');
    const last = store.history
      .filter((e) => e.pod.metadata?.name === 'cancel' && e.type === 'MODIFIED')
      .pop()?.pod;
    expect(statusOf(last as PodObject, 'build')?.state?.terminated).toMatchObject({
      exitCode: 143,
      message: '{"exit_code":143,"timed_out":false,"canceled":true}',
    });
    expect(statusOf(last as PodObject, 'uploader')?.state?.terminated).toMatchObject({
      exitCode: 0,
      message: '{"ok":true,"uploaded":0}',
    });
    expect(statusOf(last as PodObject, 'docker')?.state?.terminated?.exitCode).toBe(143);
    expect(last?.status?.phase).toBe('Failed');
  });
});

describe('services in virtual mode', () => {
  it('serve until stopped without a command, with their own flags, or with declared ports', async () => {
    const s = await sandbox();
    for (const [i, c] of [
      spec({ name: 'a', image: 'docker:27-dind', args: ['--tls=false'] }),
      spec({ name: 'b', image: 'postgres:16' }),
      spec({ name: 'c', image: 'example/api:1', ports: [8080], command: ['/app/server'] }),
    ].entries()) {
      const r = await run(s, c, (running) => setTimeout(() => running.signal('SIGTERM'), 30));
      expect([i, r.exit.exitCode, r.ms >= 25]).toEqual([i, 143, true]);
    }
    // A plain image without a command just runs a while and succeeds.
    expect((await run(s, spec({ name: 'd', image: 'alpine:3.19' }))).exit.exitCode).toBe(0);
  });
});
