// Injected API faults, seen through real clients: each must look like the same failure on a real cluster.
import { CoreV1Api, Watch } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApiFaults, apiFaultsSchema } from '../../../src/sim/kube/api/faults.ts';
import { kubeConfigFrom } from './client-node.ts';
import { condition, running, ScriptedKubelet, startCluster, type TestCluster } from './harness.ts';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function withFaults(api: unknown): Promise<TestCluster> {
  cluster = await startCluster({ faults: { api: apiFaultsSchema.parse(api) as ApiFaults } });
  return cluster;
}

describe('injected API faults', () => {
  it('429: plain-text body with Retry-After; kubectl retries, then reports TooManyRequests', async () => {
    const c = await withFaults({
      errors: [{ code: 429, rate: 1, resources: ['secrets'], retryAfterSeconds: 0 }],
    });
    const res = await fetch(`${c.sim.url}/api/v1/namespaces/default/secrets`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('0');
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toBe('Too many requests, please try again later.\n');
    const out = await c.kubectl(['get', 'secrets']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(
      'Error from server (TooManyRequests): the server has received too many requests and has asked us to try again later',
    );
    // other resources are unaffected
    expect((await c.kubectl(['get', 'pods'])).code).toBe(0);
  });

  it('429 as a Status (format: status): TooManyRequests with retryAfterSeconds', async () => {
    const c = await withFaults({
      errors: [{ code: 429, rate: 1, resources: ['configmaps'], retryAfterSeconds: 2, format: 'status' }],
    });
    const core = kubeConfigFrom(c.kubeconfigPath).makeApiClient(CoreV1Api);
    const err = await core.listNamespacedConfigMap({ namespace: 'default' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 429, headers: { 'retry-after': '2' } });
    expect(JSON.parse((err as { body: string }).body)).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Too many requests: please try again later',
      reason: 'TooManyRequests',
      details: { retryAfterSeconds: 2 },
      code: 429,
    });
  });

  it('500 and 503: Status objects kubectl prints as InternalError / ServiceUnavailable', async () => {
    const c = await withFaults({
      errors: [
        { code: 500, rate: 1, verbs: ['list'], resources: ['configmaps'] },
        { code: 503, rate: 1, verbs: ['get'], resources: ['configmaps'] },
      ],
    });
    const res = await fetch(`${c.sim.url}/api/v1/namespaces/default/configmaps`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Internal error occurred: etcdserver: request timed out',
      reason: 'InternalError',
      details: { causes: [{ message: 'etcdserver: request timed out' }] },
      code: 500,
    });
    const list = await c.kubectl(['get', 'configmaps']);
    expect(list.stderr).toContain(
      'Error from server (InternalError): Internal error occurred: etcdserver: request timed out',
    );
    const get = await c.kubectl(['get', 'configmap', 'kube-root-ca.crt']);
    expect(get.stderr).toContain(
      'Error from server (ServiceUnavailable): the server is currently unable to handle the request',
    );
  });

  it('timeout: a 504 Timeout Status after the delay; hang: no answer until the client gives up', async () => {
    const c = await withFaults({
      errors: [
        { code: 'timeout', rate: 1, verbs: ['get'], resources: ['secrets'], delayMs: 200 },
        { code: 'hang', rate: 1, verbs: ['list'], resources: ['secrets'] },
      ],
    });
    const started = Date.now();
    const res = await fetch(`${c.sim.url}/api/v1/namespaces/default/secrets/x`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({
      reason: 'Timeout',
      message: 'Timeout: request did not complete within requested timeout - context deadline exceeded',
      code: 504,
    });
    const hung = await c.kubectl(['get', 'secrets', '--request-timeout=1s']);
    expect(hung.code).toBe(1);
    expect(hung.stderr).toMatch(/Client\.Timeout exceeded|context deadline exceeded/);
  });

  it('errors chosen by a pod annotation hit requests about that pod only', async () => {
    const c = await withFaults({});
    const pod = (name: string, annotations: Record<string, string>) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, annotations },
        spec: { containers: [{ name: 'c', image: 'x' }] },
      });
    expect(
      (
        await c.kubectl(
          ['create', '-f', '-'],
          pod('flaky', {
            'sim.podrunner.dev/api-error-code': '500',
            'sim.podrunner.dev/api-error-verbs': 'get',
          }),
        )
      ).code,
    ).toBe(0);
    expect((await c.kubectl(['create', '-f', '-'], pod('fine', {}))).code).toBe(0);
    const core = kubeConfigFrom(c.kubeconfigPath).makeApiClient(CoreV1Api);
    await expect(core.readNamespacedPod({ namespace: 'default', name: 'flaky' })).rejects.toMatchObject({
      code: 500,
    });
    await expect(core.readNamespacedPod({ namespace: 'default', name: 'fine' })).resolves.toBeTruthy();
    expect((await core.listNamespacedPod({ namespace: 'default' })).items).toHaveLength(2);
    expect((await c.kubectl(['delete', 'pod', 'flaky'])).code).toBe(0);
  });

  it('watches: ended by the server after each event, and 410 Expired on resume', async () => {
    const c = await withFaults({ watch: { dropRate: 1 } });
    const kc = kubeConfigFrom(c.kubeconfigPath);
    const list = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default' });
    const types: string[] = [];
    const done = new Promise<unknown>((resolve) => {
      void new Watch(kc).watch(
        '/api/v1/namespaces/default/pods',
        { resourceVersion: list.metadata?.resourceVersion },
        (type) => types.push(type),
        resolve,
      );
    });
    await c.kubectl(['run', 'a', '--image=x']);
    expect(await done).toBeNull();
    expect(types).toEqual(['ADDED']);
    await kc.close();

    const expiring = await startCluster({
      faults: { api: apiFaultsSchema.parse({ watch: { expireRate: 1 } }) },
    });
    try {
      const res = await fetch(
        `${expiring.sim.url}/api/v1/namespaces/default/pods?watch=true&resourceVersion=1`,
      );
      expect(res.status).toBe(200);
      const lines = (await res.text())
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; object: { code: number; reason: string } });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        type: 'ERROR',
        object: { kind: 'Status', code: 410, reason: 'Expired' },
      });
      const out = await expiring.kubectl(['get', 'pods', '-w', '--request-timeout=5s']);
      // kubectl lists, then watches from the list's resourceVersion: it prints the ERROR event's Status
      // and the command ends
      expect(out.code).toBe(0);
      expect(out.stdout).toMatch(
        /^STATUS\s+REASON\s+MESSAGE\nFailure\s+Expired\s+too old resource version: \d+ \(\d+\)\n$/m,
      );
    } finally {
      await expiring.close();
    }
  });

  it('log streams dropped mid-way: a clean end (kubectl exits 0 early) or a reset connection', async () => {
    const c = await withFaults({});
    const kubelet = new ScriptedKubelet(c.sim.store);
    const make = async (name: string, mode: 'end' | 'reset') => {
      const body = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name,
          annotations: {
            'sim.podrunner.dev/log-drop-after-bytes': '10',
            'sim.podrunner.dev/log-drop-mode': mode,
          },
        },
        spec: { containers: [{ name: 'build', image: 'x' }] },
      };
      expect((await c.kubectl(['create', '-f', '-'], JSON.stringify(body))).code).toBe(0);
      kubelet.bind('default', name);
      kubelet.status('default', name, {
        phase: 'Running',
        containerStatuses: [running('build', true)],
        conditions: [condition('Ready', 'True')],
      });
      const log = kubelet.log('default', name, 'build');
      log.write('stdout', Buffer.from('0123456789abcdef\nmore\n'), new Date());
      return log;
    };
    await make('drop-end', 'end');
    const ended = await c.kubectl(['logs', '-f', 'drop-end']);
    expect(ended).toMatchObject({ code: 0, stdout: '0123456789' });
    await make('drop-reset', 'reset');
    const res = await fetch(`${c.sim.url}/api/v1/namespaces/default/pods/drop-reset/log?follow=true`);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    kubelet.stop();
  });
});
