// The image table: what runs for podrunner's helper image, node, busybox and the service kits.
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkoutRoot, createProcessRuntime } from '../../../src/sim/kube/process/process-runtime.ts';
import { ImagePullError } from '../../../src/sim/kube/runtime.ts';
import { run, sandboxSpec, sh, start, unsupportedReason, useRuntime } from './support.ts';

describe.skipIf(unsupportedReason)('process mode: images', () => {
  const runtime = useRuntime();

  it("runs podrunner's helper image as this checkout's helper program with Node >= 22", async () => {
    const sandbox = await runtime().createSandbox(sandboxSpec());
    try {
      const result = await run(sandbox, {
        image: 'ghcr.io/podrunner/helper:0.1.0',
        ...sh('command -v podrunner-helper; readlink -f "$(command -v podrunner-helper)"; node --version'),
      });
      expect(result.exit.exitCode).toBe(0);
      const [found, target, nodeVersion] = result.stdout.trim().split('\n');
      expect(found).toMatch(/\/podrunner-helper$/);
      expect(target).toBe(realpathSync(join(checkoutRoot, 'bin', 'podrunner-helper.js')));
      expect(Number(nodeVersion?.match(/^v(\d+)\./)?.[1])).toBeGreaterThanOrEqual(22);
    } finally {
      await sandbox.destroy();
    }
  });

  it('maps node:* to a Node >= 22 and busybox:* to busybox', async () => {
    const sandbox = await runtime().createSandbox(sandboxSpec());
    try {
      const node = await run(sandbox, {
        image: 'docker.io/library/node:22-alpine',
        command: ['node', '--version'],
      });
      expect(Number(node.stdout.match(/^v(\d+)\./)?.[1])).toBeGreaterThanOrEqual(22);
      if (existsSync('/usr/bin/busybox') || existsSync('/bin/busybox')) {
        const busybox = await run(sandbox, {
          image: 'busybox:1.36',
          ...sh('readlink -f "$(command -v wget)"'),
        });
        expect(busybox.stdout).toMatch(/busybox\n$/);
      }
    } finally {
      await sandbox.destroy();
    }
  });

  it('runs nginx as a service sidecar the build container reaches on localhost', async () => {
    const sandbox = await runtime().createSandbox(sandboxSpec());
    try {
      const service = await start(sandbox, { name: 'svc-0', image: 'nginx:1.27-alpine' });
      await service.output.waitFor(/listening/);
      expect(await sandbox.probeTcp(80, 1000)).toBe(true);
      const client = await run(sandbox, { name: 'build', ...sh('wget -qO- http://localhost/') });
      expect(client.stdout).toContain('Welcome to nginx!');
      await service.output.waitFor(/"GET \/ HTTP\/1.1" 200/);
      service.container.signal('SIGTERM');
      expect((await service.container.exited).exitCode).toBe(0);
    } finally {
      await sandbox.destroy();
    }
  });

  it('runs docker:dind as a Docker API stub on 2375 that passes a startup probe and answers /_ping', async () => {
    const sandbox = await runtime().createSandbox(
      sandboxSpec({ hostAliases: [{ ip: '127.0.0.1', hostnames: ['docker'] }] }),
    );
    try {
      const dind = await start(sandbox, {
        name: 'docker',
        image: 'docker:27-dind',
        privileged: true,
        ports: [2375],
      });
      // As the kubelet gates the next container on a sidecar's startup probe: probe until it passes.
      let probes = 0;
      while (!(await sandbox.probeTcp(2375, 1000))) {
        expect(++probes).toBeLessThan(100);
        await new Promise((resolve) => setTimeout(resolve, 100)); // the probe period
      }
      await dind.output.waitFor(/API listen on \[::\]:2375/);
      const client = await run(sandbox, {
        name: 'build',
        image: 'docker:27',
        ...sh('wget -qO- http://docker:2375/_ping; echo; wget -qO- http://docker:2375/v1.45/version'),
      });
      const [ping, version] = client.stdout.split('\n');
      expect(ping).toBe('OK');
      expect(JSON.parse(version ?? '{}')).toMatchObject({ ApiVersion: '1.45', Os: 'linux' });
      dind.container.signal('SIGTERM');
      expect((await dind.container.exited).exitCode).toBe(0);
    } finally {
      await sandbox.destroy();
    }
  });

  it('reports images as present, and a table entry with pullError as a pull failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podrunner-image-table-'));
    const file = join(dir, 'images.yaml');
    writeFileSync(
      file,
      [
        'images:',
        '  - match: "registry.invalid/**"',
        '    pullError: \'failed to resolve reference "registry.invalid/x:1": not found\'',
        '  - match: ["postgres:*", "**/postgres:*"]',
        '    cmd: ["sh", "-c", "echo postgres stand-in"]',
        '    ports: [5432]',
      ].join('\n'),
    );
    const custom = createProcessRuntime({ imageTable: file });
    try {
      expect(await custom.pullImage('alpine:3', 'IfNotPresent')).toEqual({ alreadyPresent: false });
      expect(await custom.pullImage('alpine:3', 'Always')).toEqual({ alreadyPresent: true });
      expect(await custom.pullImage('anything:1', 'Never')).toEqual({ alreadyPresent: true });
      await expect(custom.pullImage('registry.invalid/x:1', 'IfNotPresent')).rejects.toBeInstanceOf(
        ImagePullError,
      );
      expect(custom.describeImage('postgres:16').config).toMatchObject({
        cmd: ['sh', '-c', 'echo postgres stand-in'],
        ports: [5432],
      });
      const sandbox = await custom.createSandbox(sandboxSpec());
      const result = await run(sandbox, { image: 'docker.io/library/postgres:16' });
      expect(result.stdout).toBe('postgres stand-in\n');
      await sandbox.destroy();
    } finally {
      await custom.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects an invalid image table file with the path of the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'podrunner-image-table-'));
    try {
      const file = join(dir, 'images.json');
      writeFileSync(file, JSON.stringify({ images: [{ match: 'x:*', cmd: 'not-a-list' }] }));
      expect(() => createProcessRuntime({ imageTable: file })).toThrow(
        expect.objectContaining({
          code: 'image-table-invalid',
          message: expect.stringContaining('images.0.cmd'),
        }),
      );
      writeFileSync(file, 'images: [unclosed');
      expect(() => createProcessRuntime({ imageTable: file })).toThrow(
        expect.objectContaining({
          code: 'image-table-invalid',
          message: expect.stringContaining('not YAML or JSON'),
        }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
