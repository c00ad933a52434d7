import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { kubeconfigYaml, writeKubeconfig } from '../../../src/sim/kube/kubeconfig.ts';

describe('kubeconfig', () => {
  it('describes one plain-HTTP cluster that client-node accepts', () => {
    const text = kubeconfigYaml({ server: 'http://127.0.0.1:6443', namespace: 'ci' });
    expect(parse(text)).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'podrunner-sim',
          cluster: { server: 'http://127.0.0.1:6443', 'insecure-skip-tls-verify': true },
        },
      ],
      users: [{ name: 'podrunner-sim', user: { token: 'podrunner-sim' } }],
      contexts: [
        {
          name: 'podrunner-sim',
          context: { cluster: 'podrunner-sim', user: 'podrunner-sim', namespace: 'ci' },
        },
      ],
      'current-context': 'podrunner-sim',
      preferences: {},
    });
    const kc = new KubeConfig();
    kc.loadFromString(text);
    expect(kc.getCurrentCluster()).toMatchObject({ server: 'http://127.0.0.1:6443', skipTLSVerify: true });
    expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe('ci');
  });

  it('is written readable by the owner only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubeconfig-'));
    try {
      const path = join(dir, 'nested', 'kubeconfig');
      await writeKubeconfig(path, { server: 'http://127.0.0.1:1' });
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect(await readFile(path, 'utf8')).toContain('http://127.0.0.1:1');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
