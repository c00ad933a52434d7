import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type ClusterAccess, loadClusterAccess } from '../../../src/kubernetes/cluster-access.ts';

let dir: string;
const opened: ClusterAccess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cluster-access-'));
});
afterEach(async () => {
  for (const a of opened.splice(0)) await a.close();
  rmSync(dir, { recursive: true, force: true });
});

function track(a: ClusterAccess): ClusterAccess {
  opened.push(a);
  return a;
}

function kubeconfig(
  name: string,
  doc: { cluster: Record<string, unknown>; user?: Record<string, unknown>; namespace?: string },
) {
  const path = join(dir, name);
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'ctx',
      clusters: [{ name: 'c', cluster: doc.cluster }],
      users: [{ name: 'u', user: doc.user ?? {} }],
      contexts: [
        {
          name: 'ctx',
          context: { cluster: 'c', user: 'u', ...(doc.namespace ? { namespace: doc.namespace } : {}) },
        },
      ],
    }),
  );
  return path;
}

describe('loadClusterAccess', () => {
  it('uses config.toml host and bearer_token directly', async () => {
    const a = track(loadClusterAccess({ host: 'http://127.0.0.1:6443/', bearer_token: 'tok' }, { env: {} }));
    expect(a.via).toBe('direct');
    const r = await a.prepare('GET', '/api/v1/namespaces/x/pods', {
      watch: true,
      labelSelector: 'a=b',
      limit: undefined,
    });
    expect(r.url.toString()).toBe(
      'http://127.0.0.1:6443/api/v1/namespaces/x/pods?watch=true&labelSelector=a%3Db',
    );
    expect(r.headers).toEqual({ authorization: 'Bearer tok' });
  });

  it('reads a token kubeconfig (server, namespace, token, insecure) without client-node', async () => {
    const path = kubeconfig('config', {
      cluster: { server: 'https://k.example:6443', 'insecure-skip-tls-verify': true },
      user: { token: 'abc' },
      namespace: 'ci',
    });
    const a = track(loadClusterAccess({ kubeconfig: path }, { env: {} }));
    expect(a.via).toBe('direct');
    expect(a.namespace).toBe('ci');
    const r = await a.prepare('POST', '/api/v1/namespaces/ci/pods');
    expect(r.url.origin).toBe('https://k.example:6443');
    expect(r.headers.authorization).toBe('Bearer abc');
  });

  it('follows KUBECONFIG lists like kubectl: missing files skipped, the first definition wins', async () => {
    const first = kubeconfig('first', { cluster: { server: 'http://127.0.0.1:1' }, user: { token: 'one' } });
    const second = join(dir, 'second');
    writeFileSync(
      second,
      stringify({
        'current-context': 'other',
        clusters: [{ name: 'c', cluster: { server: 'http://127.0.0.1:2' } }],
        users: [],
        contexts: [{ name: 'other', context: { cluster: 'c' } }],
      }),
    );
    const a = track(
      loadClusterAccess(
        {},
        { env: { KUBECONFIG: [join(dir, 'missing'), first, second].join(':') }, home: dir },
      ),
    );
    const r = await a.prepare('GET', '/version');
    expect(r.url.toString()).toBe('http://127.0.0.1:1/version');
    expect(r.headers.authorization).toBe('Bearer one');
  });

  it('resolves tokenFile and certificate paths relative to the kubeconfig', async () => {
    mkdirSync(join(dir, 'creds'));
    writeFileSync(join(dir, 'creds', 'token'), 'from-file\n');
    const path = kubeconfig('config', {
      cluster: { server: 'http://127.0.0.1:3' },
      user: { tokenFile: 'creds/token' },
    });
    const a = track(loadClusterAccess({ kubeconfig: path }, { env: {} }));
    expect((await a.prepare('GET', '/api')).headers.authorization).toBe('Bearer from-file');
  });

  it('uses the in-cluster service account when there is no host and no KUBECONFIG', async () => {
    writeFileSync(join(dir, 'token'), 'sa-token');
    writeFileSync(join(dir, 'namespace'), 'runners\n');
    writeFileSync(join(dir, 'ca.crt'), 'not really a certificate');
    const a = track(
      loadClusterAccess(
        {},
        {
          env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
          serviceAccountDir: dir,
        },
      ),
    );
    expect(a.namespace).toBe('runners');
    const r = await a.prepare('GET', '/api');
    expect(r.url.toString()).toBe('https://[fd00::1]/api');
    expect(r.headers.authorization).toBe('Bearer sa-token');
  });

  it('hands exec plugins and auth providers to client-node', () => {
    const path = kubeconfig('config', {
      cluster: { server: 'https://k.example' },
      user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'get-token' } },
      namespace: 'ns',
    });
    const a = track(loadClusterAccess({ kubeconfig: path }, { env: {} }));
    expect(a.via).toBe('client-node');
    expect(a.namespace).toBe('ns');
    const proxied = kubeconfig('proxied', {
      cluster: { server: 'https://k.example', 'proxy-url': 'http://proxy:3128' },
      user: { token: 't' },
    });
    expect(track(loadClusterAccess({ kubeconfig: proxied }, { env: {} })).via).toBe('client-node');
    // an HTTPS_PROXY in the environment is not a kubeconfig proxy (client-node ignores it too)
    const plain = kubeconfig('plain', { cluster: { server: 'https://k.example' }, user: { token: 't' } });
    expect(track(loadClusterAccess({ kubeconfig: plain }, { env: { HTTPS_PROXY: 'http://p:1' } })).via).toBe(
      'direct',
    );
  });

  it('names what is wrong in a bad kubeconfig', () => {
    const path = join(dir, 'bad');
    writeFileSync(path, 'clusters: 12\n');
    expect(() => loadClusterAccess({ kubeconfig: path }, { env: {} })).toThrow(/kubeconfig .*bad: clusters/);
    const noContext = kubeconfig('nocontext', { cluster: { server: 'http://127.0.0.1:4' } });
    expect(() => loadClusterAccess({ kubeconfig: noContext, context: 'nope' }, { env: {} })).toThrow(
      /no context named "nope"/,
    );
    expect(() => loadClusterAccess({ host: 'ftp://x' }, { env: {} })).toThrow(/must be http/);
  });
});
