// The transport retries composed onto the dispatcher, against a real local server: retried statuses and
// dropped connections, Retry-After and RateLimit-ResetTime, the last answer after the last attempt,
// replayed bodies, and aborts during a backoff.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  backoffMs,
  headerDelayMs,
  isRetryableStatus,
  type RetryInfo,
  retryInterceptor,
} from '../../../src/gitlab/retry-interceptor.ts';

type Step = (req: IncomingMessage, res: ServerResponse, body: string) => void;

let server: Server;
let url: string;
let steps: Step[];
let seen: { at: number; body: string }[];
let agent: Agent;
let retries: RetryInfo[];

beforeEach(async () => {
  steps = [];
  seen = [];
  retries = [];
  server = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    seen.push({ at: Date.now(), body });
    const step = steps.shift() ?? ((_q, r) => r.writeHead(200).end('ok'));
    step(req, res, body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v4/jobs/request`;
  agent = new Agent();
});
afterEach(async () => {
  await agent.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const status =
  (code: number, headers: Record<string, string> = {}): Step =>
  (_q, r) =>
    r.writeHead(code, headers).end(`status ${code}`);
const drop: Step = (req) => req.socket.destroy();

const dispatcher = (policy = {}) =>
  agent.compose(
    retryInterceptor({ minDelayMs: 10, maxDelayMs: 50, onRetry: (i) => retries.push(i), ...policy }),
  );

async function post(d = dispatcher(), signal?: AbortSignal) {
  const res = await request(url, {
    method: 'POST',
    body: '{"token":"t"}',
    headers: { 'content-type': 'application/json' },
    dispatcher: d,
    signal,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

describe('retry interceptor', () => {
  it('retries 500, 502, 503, 504 and 408 and returns the first success, resending the same body', async () => {
    steps.push(status(500), status(502), status(503), status(408));
    expect(await post()).toEqual({ status: 200, text: 'ok' });
    expect(seen).toHaveLength(5);
    expect(new Set(seen.map((s) => s.body))).toEqual(new Set(['{"token":"t"}']));
    expect(retries.map((r) => r.status)).toEqual([500, 502, 503, 408]);
  });

  it('retries a dropped connection', async () => {
    steps.push(drop, drop);
    expect(await post()).toEqual({ status: 200, text: 'ok' });
    expect(retries).toHaveLength(2);
    expect(retries[0]?.error).toMatch(/UND_ERR_SOCKET|ECONNRESET|other side closed/);
  });

  it('gives the caller the last answer after 5 attempts', async () => {
    steps.push(status(503), status(503), status(503), status(503), status(503, { 'x-last': '1' }));
    expect(await post()).toEqual({ status: 503, text: 'status 503' });
    expect(seen).toHaveLength(5);
  });

  it('does not retry other statuses', async () => {
    steps.push(status(400), status(403));
    expect((await post()).status).toBe(400);
    expect((await post()).status).toBe(403);
    expect(retries).toEqual([]);
  });

  it('waits Retry-After on a 429', async () => {
    steps.push(status(429, { 'retry-after': '1' }));
    expect((await post()).status).toBe(200);
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(950);
    expect(retries[0]).toMatchObject({ status: 429, delayMs: 1000 });
  });

  it('prefers RateLimit-ResetTime and caps very long waits', async () => {
    expect(
      headerDelayMs({ 'ratelimit-resettime': new Date(10_000).toUTCString(), 'retry-after': '60' }, 4000),
    ).toBe(6000);
    expect(headerDelayMs({ 'retry-after': new Date(7000).toUTCString() }, 4000)).toBe(3000);
    expect(headerDelayMs({})).toBeUndefined();
    steps.push(status(429, { 'retry-after': '3600' }));
    expect((await post(dispatcher({ maxHeaderDelayMs: 20 }))).status).toBe(200);
    expect(retries[0]?.delayMs).toBe(20);
  });

  it('an abort during a backoff ends the request at once', async () => {
    steps.push(status(503, { 'retry-after': '30' }));
    const controller = new AbortController();
    const started = Date.now();
    let retrying!: () => void;
    const backingOff = new Promise<void>((r) => {
      retrying = r;
    });
    const pending = post(dispatcher({ onRetry: () => retrying() }), controller.signal);
    await backingOff;
    controller.abort();
    await expect(pending).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(seen).toHaveLength(1);
  });

  it('backoff doubles from the minimum up to the maximum', () => {
    const policy = { minDelayMs: 100, maxDelayMs: 60_000 };
    expect(backoffMs(1, policy)).toBeGreaterThanOrEqual(50);
    expect(backoffMs(1, policy)).toBeLessThanOrEqual(100);
    expect(backoffMs(4, policy)).toBeGreaterThanOrEqual(400);
    expect(backoffMs(30, policy)).toBeLessThanOrEqual(60_000);
    expect([408, 429, 500, 502, 503, 504, 512, 599].every(isRetryableStatus)).toBe(true);
    expect([200, 400, 401, 403, 404, 409, 412, 416, 501, 505, 511].some(isRetryableStatus)).toBe(false);
  });
});
