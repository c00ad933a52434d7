import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ManagerMetrics } from '../../../src/metrics/registry.ts';
import { type MetricsServer, parseListenAddress, startMetricsServer } from '../../../src/metrics/server.ts';

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('listen address', () => {
  it.each([
    [':9252', { host: undefined, port: 9252 }],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
    ['localhost', { host: 'localhost', port: 9252 }],
    ['[::1]:9000', { host: '::1', port: 9000 }],
    ['[::]', { host: '::', port: 9252 }],
    ['9100', { host: undefined, port: 9100 }],
  ])('%s', (address, expected) => {
    expect(parseListenAddress(address)).toEqual(expected);
  });
});

describe('metrics server', () => {
  it('serves /metrics, /healthz, /readyz (503 until ready) and /debug/jobs/list', async () => {
    const metrics = new ManagerMetrics({ defaultMetrics: false });
    metrics.concurrent.set(7);
    let ready = false;
    server = await startMetricsServer('127.0.0.1:0', metrics.registry, {
      readiness: () => ({ ready, reason: ready ? 'ready' : 'GitLab has not answered yet' }),
      jobList: () => ['id=1 runner=abc state=running'],
    });
    const get = async (path: string, method: 'GET' | 'HEAD' | 'POST' = 'GET') => {
      const res = await request(`${server!.url}${path}`, { method });
      return { status: res.statusCode, text: await res.body.text(), type: res.headers['content-type'] };
    };
    expect(await get('/metrics')).toMatchObject({
      status: 200,
      text: expect.stringContaining('gitlab_runner_concurrent 7'),
    });
    expect((await get('/metrics')).text).toContain('gitlab_runner_version_info{name="podrunner"');
    expect(await get('/healthz')).toMatchObject({ status: 200, text: 'ok\n' });
    expect(await get('/readyz')).toMatchObject({ status: 503, text: 'GitLab has not answered yet\n' });
    ready = true;
    expect((await get('/readyz')).status).toBe(200);
    expect((await get('/debug/jobs/list')).text).toBe('id=1 runner=abc state=running\n');
    expect(await get('/healthz', 'HEAD')).toMatchObject({ status: 200, text: '' });
    expect((await get('/metrics', 'POST')).status).toBe(405);
    expect((await get('/nope')).status).toBe(404);
  });

  it('fails clearly when the address is taken', async () => {
    const metrics = new ManagerMetrics({ defaultMetrics: false });
    const health = { readiness: () => ({ ready: true, reason: '' }), jobList: () => [] };
    server = await startMetricsServer('127.0.0.1:0', metrics.registry, health);
    const port = new URL(server.url).port;
    await expect(startMetricsServer(`127.0.0.1:${port}`, metrics.registry, health)).rejects.toThrow(
      /EADDRINUSE/,
    );
  });
});
