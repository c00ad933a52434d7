// A container's process: command and env, volumes at their paths, users, signals, exits, OOM and
// termination messages, start errors.

import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerStartError, type Sandbox } from '../../../src/sim/kube/runtime.ts';
import { containerSpec, run, sandboxSpec, sh, start, unsupportedReason, useRuntime } from './support.ts';

const encoder = new TextEncoder();

const hostProcessesMatching = (text: string): string[] => {
  try {
    return execFileSync('pgrep', ['-f', '-a', text], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
};

describe.skipIf(unsupportedReason)('process mode: containers', () => {
  const runtime = useRuntime({
    imageTable: {
      images: [
        {
          match: 'registry.test/env-image:*',
          env: { FROM_IMAGE: 'image', BOTH: 'image' },
          workingDir: '/srv/app',
        },
        { match: 'registry.test/entrypoint-image:*', entrypoint: ['sh', '-c'], cmd: ['echo from cmd'] },
      ],
    },
  });
  let pod: Sandbox;
  // Paths that are not volumes land on the host's filesystem (the containers share it).
  const hostScratch = mkdtempSync(join(tmpdir(), 'podrunner-process-test-'));

  beforeAll(async () => {
    pod = await runtime().createSandbox(
      sandboxSpec({
        volumes: [
          { name: 'builds', kind: 'emptyDir' },
          {
            name: 'job',
            kind: 'files',
            files: [
              { path: 'build.sh', content: encoder.encode('echo building\n'), mode: 0o755 },
              { path: 'job.json', content: encoder.encode('{"id":1}'), mode: 0o400 },
              { path: 'nested/deep.txt', content: encoder.encode('deep'), mode: 0o644 },
            ],
          },
        ],
      }),
    );
  });
  afterAll(async () => {
    await pod?.destroy();
    rmSync(hostScratch, { recursive: true, force: true });
  });

  it('puts image env first and container env over it, with HOSTNAME, HOME and the image working dir', async () => {
    const result = await run(pod, {
      image: 'registry.test/env-image:1',
      env: [
        { name: 'BOTH', value: 'container' },
        { name: 'ONLY_CONTAINER', value: 'yes' },
      ],
      ...sh('echo "$FROM_IMAGE $BOTH $ONLY_CONTAINER $HOSTNAME $HOME $(pwd)"; echo "PATH=$PATH"'),
    });
    expect(result.exit.exitCode).toBe(0);
    const [line, path] = result.stdout.split('\n');
    expect(line).toMatch(/^image container yes pod-[0-9a-f]{8} \/root \/srv\/app$/);
    expect(path).toBe('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  });

  it("gives loader and shell-startup variables to the command only, not to the runtime's tools", async () => {
    const result = await run(pod, {
      env: [
        { name: 'LD_PRELOAD', value: '/nonexistent/podrunner-preload.so' },
        { name: 'BASH_ENV', value: '/nonexistent/bash-env' },
      ],
      ...sh('echo "$LD_PRELOAD $BASH_ENV"'),
    });
    expect(result.exit.exitCode).toBe(0);
    expect(result.stdout).toBe('/nonexistent/podrunner-preload.so /nonexistent/bash-env\n');
    // Only the command itself was started with the preload (the loader says so once, for `sh`).
    expect(result.stderr.match(/podrunner-preload\.so/g) ?? []).toHaveLength(1);
  });

  it('runs `args` after the image entrypoint, and `command` instead of both', async () => {
    const image = 'registry.test/entrypoint-image:1';
    expect((await run(pod, { image })).stdout).toBe('from cmd\n');
    expect((await run(pod, { image, args: ['echo from args'] })).stdout).toBe('from args\n');
    expect((await run(pod, { image, command: ['echo', 'from', 'command'] })).stdout).toBe('from command\n');
    // busybox has no entrypoint: args alone replace its `sh`, as on a real node.
    await expect(
      pod.start(containerSpec({ args: ['-c', 'true'] }), { stdout() {}, stderr() {} }),
    ).rejects.toThrow('exec: "-c": executable file not found in $PATH');
  });

  it('mounts emptyDir read-write and Secret-like files read-only with their modes', async () => {
    const result = await run(pod, {
      mounts: [
        { volume: 'builds', mountPath: '/builds', readOnly: false },
        { volume: 'job', mountPath: '/podrunner/job', readOnly: true },
        { volume: 'job', mountPath: '/etc/job-file.json', subPath: 'job.json', readOnly: false },
      ],
      ...sh(
        [
          'echo data > /builds/out.txt && cat /builds/out.txt',
          'stat -L -c "%a %n" /podrunner/job/build.sh /podrunner/job/job.json /podrunner/job/nested/deep.txt',
          'sh /podrunner/job/build.sh',
          'cat /etc/job-file.json; echo',
          'touch /podrunner/job/new 2>&1 || echo "write refused"',
          '(echo x > /etc/job-file.json) 2>&1 || echo "subPath write refused"',
        ].join('; '),
      ),
    });
    const lines = result.stdout.split('\n');
    expect(lines.slice(0, 6)).toEqual([
      'data',
      '755 /podrunner/job/build.sh',
      '400 /podrunner/job/job.json',
      '644 /podrunner/job/nested/deep.txt',
      'building',
      '{"id":1}',
    ]);
    expect(lines[6]).toContain('Read-only file system');
    expect(lines[7]).toBe('write refused');
    expect(lines[8]).toContain('Read-only file system');
    expect(lines[9]).toBe('subPath write refused');
  });

  it('shares an emptyDir between containers, FIFOs included (the status hand-off)', async () => {
    const mounts = [{ volume: 'builds', mountPath: '/podrunner/status', readOnly: false }];
    await run(pod, { mounts, ...sh('rm -f /podrunner/status/alive && mkfifo /podrunner/status/alive') });
    const writer = await start(pod, {
      name: 'build',
      mounts,
      ...sh('echo "from build" > /podrunner/status/alive'),
    });
    const reader = await run(pod, { name: 'uploader', mounts, ...sh('cat /podrunner/status/alive') });
    expect(reader.stdout).toBe('from build\n');
    expect((await writer.container.exited).exitCode).toBe(0);
  });

  it('keeps /builds per pod', async () => {
    const other = await runtime().createSandbox(
      sandboxSpec({ volumes: [{ name: 'builds', kind: 'emptyDir' }] }),
    );
    try {
      const mounts = [{ volume: 'builds', mountPath: '/builds', readOnly: false }];
      const marker = `only-in-pod-a-${randomUUID()}`;
      expect((await run(pod, { mounts, ...sh(`touch /builds/${marker} && ls /builds`) })).stdout).toContain(
        marker,
      );
      const inOther = await run(other, {
        mounts,
        ...sh(`ls -A /builds; test -e /builds/${marker} && echo LEAKED; true`),
      });
      expect(inOther.stdout).toBe('');
    } finally {
      await other.destroy();
    }
  });

  it('runs as runAsUser/runAsGroup and creates a missing working directory', async () => {
    const result = await run(pod, {
      runAsUser: 1234,
      runAsGroup: 2345,
      workingDir: `${hostScratch}/workdir/deep`,
      ...sh('echo "$(id -u) $(id -g) $HOME $(pwd)"'),
    });
    expect(result.stdout).toBe(`1234 2345 / ${hostScratch}/workdir/deep\n`);
  });

  it('streams output as it comes, and ends on SIGTERM when the script traps it', async () => {
    const { container, output } = await start(pod, {
      ...sh('trap \'echo "got TERM"; exit 0\' TERM; echo ready; while :; do sleep 1; done'),
    });
    await output.waitFor(/ready/);
    container.signal('SIGTERM');
    const exit = await container.exited;
    expect(exit).toMatchObject({ exitCode: 0, oomKilled: false });
    expect(output.stdout).toBe('ready\ngot TERM\n');
  });

  it('ends a process without a TERM handler with 143, like a container', async () => {
    const { container, output } = await start(pod, { ...sh('echo ready; exec sleep 1000') });
    await output.waitFor(/ready/);
    container.signal('SIGTERM');
    expect(await container.exited).toMatchObject({ exitCode: 143, oomKilled: false });
  });

  it('SIGKILLs a process that does not stop on SIGTERM', async () => {
    const { container, output } = await start(pod, {
      ...sh('trap \'echo "ignoring TERM"\' TERM; echo ready; while :; do sleep 1; done'),
    });
    await output.waitFor(/ready/);
    container.signal('SIGTERM');
    await output.waitFor(/ignoring TERM/);
    container.signal('SIGKILL');
    expect(await container.exited).toMatchObject({ exitCode: 137, signal: 'SIGKILL', oomKilled: false });
  });

  it('kills what is left in the container when its main process exits', async () => {
    const marker = `${Date.now() % 100000}.${Math.floor(Math.random() * 1e6)}`;
    const result = await run(pod, { ...sh(`sleep 3${marker} & echo started; exit 7`) });
    expect(result).toMatchObject({ stdout: 'started\n', exit: { exitCode: 7 } });
    expect(hostProcessesMatching(`sleep 3${marker}`)).toEqual([]);
  });

  it('reports an injected OOM kill as exit 137 with oomKilled', async () => {
    const { container, output } = await start(pod, { ...sh('echo ready; sleep 1000') });
    await output.waitFor(/ready/);
    container.oomKill();
    expect(await container.exited).toMatchObject({ exitCode: 137, oomKilled: true });
  });

  it('returns the termination message, at most its last 4096 bytes', async () => {
    const short = await run(pod, { ...sh('printf \'{"ok":true}\' > /dev/termination-log; exit 1') });
    expect(short.exit).toMatchObject({ exitCode: 1, terminationMessage: '{"ok":true}' });

    const custom = await run(pod, {
      terminationMessagePath: `${hostScratch}/termination/msg`,
      ...sh(`echo custom > ${hostScratch}/termination/msg`),
    });
    expect(custom.exit.terminationMessage).toBe('custom\n');

    const long = await run(pod, {
      image: 'node:22',
      command: [
        'node',
        '-e',
        "require('fs').writeFileSync('/dev/termination-log', 'a'.repeat(5000) + 'END')",
      ],
    });
    expect(long.exit.terminationMessage).toHaveLength(4096);
    expect(long.exit.terminationMessage?.endsWith('aEND')).toBe(true);

    const none = await run(pod, { ...sh('true') });
    expect(none.exit.terminationMessage).toBeUndefined();
  });

  it('fails to start with ContainerStartError when the executable does not exist', async () => {
    const start = pod.start(containerSpec({ command: ['no-such-program'] }), { stdout() {}, stderr() {} });
    await expect(start).rejects.toBeInstanceOf(ContainerStartError);
    await expect(start).rejects.toMatchObject({
      exitCode: 128,
      message: expect.stringContaining('exec: "no-such-program": executable file not found in $PATH'),
    });
    const byPath = await pod
      .start(containerSpec({ command: ['/podrunner/nope'] }), { stdout() {}, stderr() {} })
      .catch((error: unknown) => error);
    expect(byPath).toBeInstanceOf(ContainerStartError);
    expect((byPath as Error).message).toContain('stat /podrunner/nope: no such file or directory');
  });

  it('fails to start with a clear message when a mount point cannot be made', async () => {
    const failure = await pod
      .start(
        containerSpec({ mounts: [{ volume: 'builds', mountPath: '/proc/podrunner-nope', readOnly: false }] }),
        { stdout() {}, stderr() {} },
      )
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ContainerStartError);
    expect((failure as Error).message).toContain('cannot create the mount point /proc/podrunner-nope');
  });
});
