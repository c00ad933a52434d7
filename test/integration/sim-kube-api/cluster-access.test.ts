// The manager's cluster access against the embedded API server: a kubeconfig it reads itself (token
// user, HTTPS with the cluster's CA), and one it hands to client-node (an exec credential plugin).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadClusterAccess } from '../../../src/kubernetes/cluster-access.ts';
import { KubeCluster } from '../../../src/kubernetes/kube-cluster.ts';
import { type SimKube, startSimKube } from '../../../src/sim/kube/cluster.ts';

const run = promisify(execFile);
let dir: string;
let sim: SimKube;
let caPem: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cluster-access-it-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  await run('openssl', [
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1'],
    ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
  ]);
  caPem = await readFile(cert);
  sim = await startSimKube({ tls: { cert: caPem, key: await readFile(key) } });
});
afterAll(async () => {
  await sim?.close();
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(name: string, cluster: Record<string, unknown>, user: Record<string, unknown>) {
  const path = join(dir, name);
  await writeFile(
    path,
    stringify({
      'current-context': 'sim',
      clusters: [{ name: 'sim', cluster: { server: sim.url, ...cluster } }],
      users: [{ name: 'sim', user }],
      contexts: [{ name: 'sim', context: { cluster: 'sim', user: 'sim', namespace: 'default' } }],
    }),
  );
  return path;
}

function clusterOf(kubeconfig: string) {
  const access = loadClusterAccess({ kubeconfig }, { env: {} });
  const cluster = new KubeCluster(access, { qps: 100, burst: 100, retry: { limit: 1, backoffMaxMs: 500 } });
  return { access, cluster };
}

describe('cluster access against the embedded API server', () => {
  it('reads a token kubeconfig itself and verifies the server with its CA', async () => {
    const path = await writeConfig(
      'direct',
      { 'certificate-authority-data': caPem.toString('base64') },
      { token: 'secret-token' },
    );
    const { access, cluster } = clusterOf(path);
    try {
      expect(access.via).toBe('direct');
      expect((await cluster.serverVersion()).major).toBeGreaterThanOrEqual(1);
      expect((await cluster.listPods('default', 'a=b')).items).toEqual([]);
    } finally {
      await cluster.close();
    }
  });

  it('refuses a server whose certificate the kubeconfig CA did not sign', async () => {
    const path = await writeConfig('no-ca', {}, { token: 'secret-token' });
    const { cluster } = clusterOf(path);
    try {
      await expect(cluster.listPods('default', 'a=b')).rejects.toThrow(/unreachable/);
    } finally {
      await cluster.close();
    }
  });

  it('hands an exec credential plugin to client-node, which runs it', async () => {
    const marker = join(dir, 'plugin-ran');
    const plugin = join(dir, 'plugin.sh');
    await writeFile(
      plugin,
      `#!/bin/sh\ntouch '${marker}'\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-plugin"}}'\n`,
    );
    await chmod(plugin, 0o755);
    const path = await writeConfig(
      'exec',
      { 'certificate-authority-data': caPem.toString('base64') },
      { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' } },
    );
    const { access, cluster } = clusterOf(path);
    try {
      expect(access.via).toBe('client-node');
      expect(access.namespace).toBe('default');
      expect((await cluster.listPods('default', 'a=b')).items).toEqual([]);
      expect(existsSync(marker)).toBe(true);
    } finally {
      await cluster.close();
    }
  });
});
