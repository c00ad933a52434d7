// Each pod has its own network and UTS namespaces: localhost is shared by the pod's containers only,
// `hostname` is the pod's, /etc/hosts is the kubelet's, and host services stay reachable.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeletHostsFile } from '../../../src/sim/kube/process/hosts-file.ts';
import { createProcessRuntime } from '../../../src/sim/kube/process/process-runtime.ts';
import { run, sandboxSpec, sh, start, unsupportedReason, useRuntime } from './support.ts';

const node = (script: string) => ({ image: 'node:22', command: ['node', '-e', script] });

describe.skipIf(unsupportedReason)('process mode: pod network', () => {
  const runtime = useRuntime();
  let hostServer: http.Server;
  let hostPort: number;

  beforeAll(async () => {
    hostServer = http.createServer((req, res) => res.end(`host says hi to ${req.url}`));
    await new Promise<void>((resolve) => hostServer.listen(0, '127.0.0.1', resolve));
    hostPort = (hostServer.address() as AddressInfo).port;
  });
  afterAll(async () => {
    hostServer.closeAllConnections();
    await new Promise((resolve) => hostServer.close(resolve));
  });

  it('lets two containers of a pod talk over 127.0.0.1 while another pod uses the same port', async () => {
    // The port the host already listens on: inside pods it is free for a container that declares it.
    const port = hostPort;
    const server = (who: string) =>
      node(
        `require('net').createServer((s) => s.end(${JSON.stringify(who)})).listen(${port}, '127.0.0.1', () => console.log('listening'))`,
      );
    const client = node(
      `require('net').connect(${port}, '127.0.0.1').on('data', (d) => process.stdout.write(d)).on('error', (e) => { console.error(e.message); process.exit(1); })`,
    );
    const [a, b] = await Promise.all([
      runtime().createSandbox(sandboxSpec()),
      runtime().createSandbox(sandboxSpec()),
    ]);
    try {
      const serverA = await start(a, { name: 'server', ports: [port], ...server('pod A') });
      const serverB = await start(b, { name: 'server', ports: [port], ...server('pod B') });
      await Promise.all([serverA.output.waitFor(/listening/), serverB.output.waitFor(/listening/)]);

      const [fromA, fromB] = await Promise.all([
        run(a, { name: 'client', ...client }),
        run(b, { name: 'client', ...client }),
      ]);
      expect(fromA).toMatchObject({ stdout: 'pod A', exit: { exitCode: 0 } });
      expect(fromB).toMatchObject({ stdout: 'pod B', exit: { exitCode: 0 } });

      serverA.container.signal('SIGKILL');
      serverB.container.signal('SIGKILL');
      await Promise.all([serverA.container.exited, serverB.container.exited]);
    } finally {
      await Promise.all([a.destroy(), b.destroy()]);
    }
  });

  it('sets the hostname and writes /etc/hosts the way the kubelet does', async () => {
    const spec = sandboxSpec({
      name: 'runner-abc-project-1-concurrent-0',
      hostname: 'runner-abc-project-1-concurrent-0',
      hostAliases: [
        { ip: '127.0.0.1', hostnames: ['docker', 'db'] },
        { ip: '10.1.2.3', hostnames: ['gitlab.example.com'] },
      ],
    });
    const sandbox = await runtime().createSandbox(spec);
    try {
      const result = await run(
        sandbox,
        sh('hostname; cat /proc/sys/kernel/hostname; echo "$HOSTNAME"; cat /etc/hosts'),
      );
      expect(result.exit.exitCode).toBe(0);
      const expectedHosts = kubeletHostsFile([sandbox.podIP], spec.hostname, spec.hostAliases);
      expect(expectedHosts).toContain('\n# Entries added by HostAliases.\n127.0.0.1\tdocker\tdb\n');
      const name = spec.hostname;
      expect(result.stdout).toBe(`${name}\n${name}\n${name}\n${expectedHosts}`);
      expect(sandbox.podIP).toMatch(/^10\.\d+\.\d+\.\d+$/);
    } finally {
      await sandbox.destroy();
    }
  });

  it('gives every pod its own IP', async () => {
    const [a, b] = await Promise.all([
      runtime().createSandbox(sandboxSpec()),
      runtime().createSandbox(sandboxSpec()),
    ]);
    try {
      expect(a.podIP).not.toBe(b.podIP);
      const result = await run(a, sh('ip -4 -o addr show dev lo'));
      expect(result.stdout).toContain(`inet ${a.podIP}/32`);
      expect(result.stdout).not.toContain(b.podIP);
    } finally {
      await Promise.all([a.destroy(), b.destroy()]);
    }
  });

  it('reaches HTTP servers on the host at 127.0.0.1, localhost and host aliases', async () => {
    const sandbox = await runtime().createSandbox(
      sandboxSpec({ hostAliases: [{ ip: '127.0.0.1', hostnames: ['gitlab'] }] }),
    );
    try {
      const viaWget = await run(
        sandbox,
        sh(`wget -qO- http://127.0.0.1:${hostPort}/a && echo && wget -qO- http://gitlab:${hostPort}/b`),
      );
      expect(viaWget.stdout).toBe('host says hi to /a\nhost says hi to /b');
      const viaNode = await run(sandbox, {
        image: 'node:22',
        command: [
          'node',
          '-e',
          `fetch('http://localhost:${hostPort}/c').then((r) => r.text()).then(console.log)`,
        ],
      });
      expect(viaNode.stdout).toBe('host says hi to /c\n');
    } finally {
      await sandbox.destroy();
    }
  });

  it('relays only the host ports it is told to with `hostPorts`', async () => {
    const fetchHost = sh(`wget -qO- http://127.0.0.1:${hostPort}/x || echo unreachable`);
    for (const [hostPorts, expected] of [
      ['none', 'unreachable\n'],
      [[hostPort], 'host says hi to /x'],
    ] as const) {
      const custom = createProcessRuntime({ hostPorts: hostPorts === 'none' ? 'none' : [...hostPorts] });
      try {
        const sandbox = await custom.createSandbox(sandboxSpec());
        expect((await run(sandbox, fetchHost)).stdout).toBe(expected);
        await sandbox.destroy();
      } finally {
        await custom.close();
      }
    }
  });

  it('probes TCP ports on the pod IP from inside the pod', async () => {
    const sandbox = await runtime().createSandbox(sandboxSpec());
    try {
      expect(await sandbox.probeTcp(8080, 1000)).toBe(false);
      const { container, output } = await start(sandbox, {
        ports: [8080],
        ...node(`require('net').createServer().listen(8080, () => console.log('listening'))`),
      });
      await output.waitFor(/listening/);
      expect(await sandbox.probeTcp(8080, 1000)).toBe(true);
      // The host relays are on 127.0.0.1 only: the probe does not see host ports.
      expect(await sandbox.probeTcp(hostPort, 1000)).toBe(false);
      container.signal('SIGKILL');
      await container.exited;
    } finally {
      await sandbox.destroy();
    }
  });
});
