// `podrunner sim kube` as a user runs it, `startSimKube`'s composition with injected kubelet and runtime
// factories, and HTTPS with a certificate.
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type KubeletFactory, startSimKube } from '../../../src/sim/kube/cluster.ts';
import type { ContainerRuntime } from '../../../src/sim/kube/runtime.ts';
import { kubeConfigFrom } from './client-node.ts';

const run = promisify(execFile);
const cli = join(import.meta.dirname, '..', '..', '..', 'bin', 'podrunner.js');
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sim-kube-cmd-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function kubectl(kubeconfig: string, args: string[]) {
  return run('/usr/bin/kubectl', args, {
    env: { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: kubeconfig },
  });
}

function startCli(args: string[]): {
  child: ChildProcessWithoutNullStreams;
  url: Promise<string>;
  output: () => string;
} {
  const child = spawn(process.execPath, [cli, 'sim', 'kube', ...args], {
    env: { ...process.env, HOME: dir },
  });
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      const m = /serving (http\S+)/.exec(output);
      if (m) resolve(m[1]!);
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('close', (code) => reject(new Error(`exited ${code}: ${output}`)));
  });
  return { child, url, output: () => output };
}

describe('podrunner sim kube', () => {
  it('serves until stopped, with the kubeconfig, namespaces and faults it was given', async () => {
    const kubeconfig = join(dir, 'kc', 'config');
    await writeFile(
      join(dir, 'faults.yaml'),
      'api:\n  errors:\n    - { code: 500, rate: 1, resources: [secrets] }\nkubelet: { schedulingDelay: 0 }\n',
    );
    const sim = startCli([
      '--listen',
      '127.0.0.1:0',
      '--kubeconfig',
      kubeconfig,
      '--mode',
      'virtual',
      '--faults',
      join(dir, 'faults.yaml'),
      '--namespace',
      'ci',
      '--node-name',
      'sim-1',
    ]);
    const url = await sim.url;
    expect(sim.output()).toContain(`kubeconfig: ${kubeconfig}`);
    const config = parse(await readFile(kubeconfig, 'utf8')) as {
      clusters: { cluster: { server: string } }[];
    };
    expect(config.clusters[0]?.cluster.server).toBe(url);
    expect((await kubectl(kubeconfig, ['get', 'ns', 'ci', '-o', 'name'])).stdout).toBe('namespace/ci\n');
    const nodes = await kubectl(kubeconfig, ['get', 'nodes', '-o', 'wide', '--no-headers']);
    expect(nodes.stdout).toMatch(
      /^sim-1\s+Ready\s+<none>\s+\S+\s+v1\.32\.2\s+127\.0\.0\.1\s+.*podrunner-sim:\/\/virtual\n$/,
    );
    await expect(kubectl(kubeconfig, ['get', 'secrets'])).rejects.toMatchObject({
      stderr: expect.stringContaining('Error from server (InternalError)'),
    });
    const exited = new Promise<number | null>((resolve) => sim.child.on('close', resolve));
    sim.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(sim.output()).toContain('podrunner sim kube: stopping');
  });

  it('refuses a bad faults file, naming the file and the problem', async () => {
    await writeFile(join(dir, 'bad.yaml'), 'api:\n  errors:\n    - { code: 418, rate: 1 }\n');
    const result = await run(
      process.execPath,
      [cli, 'sim', 'kube', '--listen', '127.0.0.1:0', '--faults', join(dir, 'bad.yaml')],
      { env: { ...process.env, HOME: dir } },
    ).catch((e: { code: number; stderr: string }) => e);
    expect(result).toMatchObject({
      code: 2,
      stderr: expect.stringContaining(`${join(dir, 'bad.yaml')}: invalid faults: api.errors.0.code`),
    });
    await writeFile(join(dir, 'bad-kubelet.yaml'), 'kubelet: { anything: true }\n');
    const badKubelet = await run(
      process.execPath,
      [cli, 'sim', 'kube', '--listen', '127.0.0.1:0', '--faults', join(dir, 'bad-kubelet.yaml')],
      { env: { ...process.env, HOME: dir } },
    ).catch((e: { code: number; stderr: string }) => e);
    expect(badKubelet).toMatchObject({
      code: 2,
      stderr: expect.stringContaining(
        `${join(dir, 'bad-kubelet.yaml')}: invalid faults: kubelet: Unrecognized key`,
      ),
    });
    const badListen = await run(process.execPath, [cli, 'sim', 'kube', '--listen', 'nope'], {
      env: { ...process.env, HOME: dir },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(badListen).toMatchObject({ code: 1, stderr: expect.stringContaining('expected HOST:PORT') });
  });
});

describe('startSimKube', () => {
  it('starts the kubelet from its factory with the store, the runtime and its options, and stops both', async () => {
    const calls: string[] = [];
    const runtime: ContainerRuntime = {
      mode: 'virtual',
      pullImage: async () => ({ alreadyPresent: true }),
      createSandbox: async () => {
        throw new Error('not used');
      },
      close: async () => {
        calls.push('runtime.close');
      },
    };
    let received: Parameters<KubeletFactory> | undefined;
    const sim = await startSimKube({
      runtime: () => runtime,
      kubelet: (...args) => {
        received = args;
        return {
          stop: async () => {
            calls.push('kubelet.stop');
          },
        };
      },
      faults: { kubelet: { pullErrors: 1 } },
      api: { nodeName: 'node-x' },
    });
    expect(received?.[0]).toBe(sim.store);
    expect(received?.[1]).toBe(runtime);
    expect(received?.[2]).toEqual({ nodeName: 'node-x', faults: { pullErrors: 1 } });
    expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await sim.close();
    expect(calls).toEqual(['kubelet.stop', 'runtime.close']);
  });

  it('serves HTTPS with a given certificate, which clients accept through the kubeconfig', async () => {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    const kubeconfigPath = join(dir, 'kubeconfig');
    const sim = await startSimKube({
      kubeconfigPath,
      tls: { cert: await readFile(cert), key: await readFile(key) },
    });
    try {
      expect(sim.url).toMatch(/^https:\/\//);
      expect((await kubectl(kubeconfigPath, ['get', 'ns', 'default', '-o', 'name'])).stdout).toBe(
        'namespace/default\n',
      );
      const kc = kubeConfigFrom(kubeconfigPath);
      expect((await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default' })).items).toEqual(
        [],
      );
      await kc.close();
      const ca = sim.api.registry.store.get('configmaps', 'default', 'kube-root-ca.crt')?.obj as unknown as {
        data: Record<string, string>;
      };
      expect(ca.data['ca.crt']).toContain('BEGIN CERTIFICATE');
    } finally {
      await sim.close();
    }
  });
});
