// A small GitLab coordinator for the manager's unit tests, written from gitlab-runner-api.md §2–4 and the
// fixtures: a job queue with two-phase commit, `X-GitLab-Last-Update`, trace patches with 416, final
// updates, token reset, and a per-request fault hook (any status answer, or a dropped connection). Tests
// stage payloads and failures here that the embedded GitLab (src/sim/gitlab) does not produce on purpose,
// and inspect every request; everything else runs against the embedded GitLab
// (test/integration/manager). It records the most jobs running at once and the requests it saw.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { crc32 } from 'node:zlib';

export type JobState = 'queued' | 'pending' | 'running' | 'canceling' | 'success' | 'failed' | 'canceled';

export interface FakeJob {
  id: number;
  token: string;
  state: JobState;
  payload: Record<string, unknown>;
  trace: Buffer;
  failureReason?: string;
  exitCode?: number;
  checksum?: string;
  runnerToken?: string;
  assignments: number;
  finalUpdates: number;
}

export type Fault = { status: number; headers?: Record<string, string>; body?: string } | 'drop' | undefined;

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

type Json = (status: number, body: unknown, headers?: Record<string, string>) => boolean;
type Empty = (status: number, headers?: Record<string, string>) => boolean;

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/gitlab/job-minimal.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

const finalStates = new Set<JobState>(['success', 'failed', 'canceled']);
const hex = () => randomBytes(16).toString('hex');

export class FakeGitLab extends EventEmitter {
  readonly server: Server;
  url = '';
  port = 0;
  readonly runners = new Map<string, { id: number; paused: boolean; queueValue: string }>();
  readonly jobs = new Map<number, FakeJob>();
  readonly queue: number[] = [];
  readonly requests: RecordedRequest[] = [];
  /** Consulted for every request before normal handling. */
  fault: (req: RecordedRequest) => Fault = () => undefined;
  maxRunning = 0;
  private nextJobId = 1000;
  private nextRunnerId = 1;
  private readonly sockets = new Set<Socket>();

  private constructor() {
    super();
    this.setMaxListeners(0);
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(): Promise<FakeGitLab> {
    const g = new FakeGitLab();
    await g.listen(0);
    return g;
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        this.url = `http://127.0.0.1:${this.port}`;
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  addRunner(token: string, options: { paused?: boolean } = {}): void {
    this.runners.set(token, { id: this.nextRunnerId++, paused: options.paused ?? false, queueValue: hex() });
  }

  /** Queues a job; `variables` are added to the payload's variables. */
  enqueue(
    options: {
      variables?: Record<string, string>;
      payload?: (p: Record<string, unknown>) => Record<string, unknown>;
    } = {},
  ): number {
    const id = this.nextJobId++;
    const token = `glcbt-job${id}${hex().slice(0, 8)}`;
    let payload: Record<string, unknown> = {
      ...structuredClone(fixture),
      id,
      token,
      job_info: { ...(fixture.job_info as object), id },
      variables: [
        ...((fixture.variables as unknown[]) ?? []),
        ...Object.entries(options.variables ?? {}).map(([key, value]) => ({
          key,
          value,
          public: true,
          masked: false,
        })),
      ],
    };
    if (options.payload) payload = options.payload(payload);
    this.jobs.set(id, {
      id,
      token,
      state: 'queued',
      payload,
      trace: Buffer.alloc(0),
      assignments: 0,
      finalUpdates: 0,
    });
    this.queue.push(id);
    for (const r of this.runners.values()) r.queueValue = hex();
    this.changed();
    return id;
  }

  /** Job requests (parsed bodies) seen so far. */
  jobRequests(token?: string): RecordedRequest[] {
    return this.requests.filter(
      (r) => r.path.endsWith('/jobs/request') && (token === undefined || JSON.parse(r.body).token === token),
    );
  }

  get running(): number {
    let n = 0;
    for (const j of this.jobs.values())
      if (j.state === 'pending' || j.state === 'running' || j.state === 'canceling') n++;
    return n;
  }

  get finished(): FakeJob[] {
    return [...this.jobs.values()].filter((j) => finalStates.has(j.state));
  }

  /** Resolves when `predicate` holds, checked at every state change. */
  waitFor(predicate: () => boolean, timeoutMs = 30_000, what = 'condition'): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('change', check);
        reject(new Error(`fake GitLab: timed out waiting for ${what}`));
      }, timeoutMs);
      const check = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.off('change', check);
        resolve();
      };
      this.on('change', check);
    });
  }

  private changed(): void {
    this.maxRunning = Math.max(this.maxRunning, this.running);
    this.emit('change');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://x');
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      headers: req.headers,
      body: raw.toString('utf8'),
      at: Date.now(),
    };
    this.requests.push(rec);
    this.emit('change');
    const fault = this.fault(rec);
    if (fault === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault) {
      res
        .writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers })
        .end(fault.body ?? JSON.stringify({ message: `${fault.status}` }));
      return;
    }
    const json: Json = (status, body, headers = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
      return true;
    };
    const empty: Empty = (status, headers = {}) => {
      res.writeHead(status, headers).end();
      return true;
    };
    let body: Record<string, unknown> = {};
    if ((req.headers['content-type'] ?? '').startsWith('application/json') && raw.length > 0)
      body = JSON.parse(raw.toString('utf8'));
    const p = url.pathname.replace(/^\/api\/v4\//, '');
    const m = /^jobs\/(\d+)(\/trace)?$/.exec(p);
    try {
      if (req.method === 'POST' && p === 'runners/reset_authentication_token') this.reset(body, json);
      else if (req.method === 'POST' && p === 'jobs/request') this.requestJob(body, json, empty);
      else if (req.method === 'PUT' && m && !m[2]) this.updateJob(Number(m[1]), body, req, json);
      else if (req.method === 'PATCH' && m?.[2]) this.patchTrace(Number(m[1]), raw, req, json, empty);
      else json(404, { message: '404 Not Found' });
    } finally {
      this.changed();
    }
  }

  private reset(body: Record<string, unknown>, json: Json): boolean {
    const old = typeof body.token === 'string' ? this.runners.get(body.token) : undefined;
    if (!old) return json(403, { message: '403 Forbidden' });
    const token = `glrt-${hex().slice(0, 20)}`;
    this.runners.delete(body.token as string);
    this.runners.set(token, old);
    return json(201, { token, token_expires_at: null });
  }

  private requestJob(body: Record<string, unknown>, json: Json, empty: Empty): boolean {
    if (typeof body.token !== 'string') return json(400, { error: 'token is missing' });
    const runner = this.runners.get(body.token);
    if (!runner) return json(403, { message: '403 Forbidden' });
    if (runner.paused) return empty(204, { 'X-GitLab-Last-Update': runner.queueValue });
    const pick = () =>
      this.queue.findIndex((id) => {
        const j = this.jobs.get(id)!;
        return j.runnerToken === undefined || j.runnerToken === body.token;
      });
    if (body.last_update === runner.queueValue || pick() === -1)
      return empty(204, { 'X-GitLab-Last-Update': runner.queueValue });
    const index = pick();
    const [id] = this.queue.splice(index, 1);
    const job = this.jobs.get(id!)!;
    job.state = 'pending';
    job.assignments++;
    job.runnerToken = body.token;
    return json(201, job.payload);
  }

  private updateJob(id: number, body: Record<string, unknown>, req: IncomingMessage, json: Json): boolean {
    const job = this.jobs.get(id);
    const token = body.token ?? req.headers['job-token'];
    if (!job || token !== job.token) return json(403, { message: '403 Forbidden' });
    const status = { 'Job-Status': job.state };
    if (finalStates.has(job.state) || job.state === 'queued') {
      return json(
        403,
        { message: '403 Forbidden - Job is not processing on runner' },
        { 'Job-Status': job.state },
      );
    }
    const state = body.state;
    // Two-phase commit (gitlab-runner-api.md §2.6): `pending` keeps a handed-out job alive; once accepted, 409.
    if (state === 'pending')
      return json(job.state === 'pending' ? 200 : 409, String(job.state === 'pending' ? 200 : 409), status);
    if (state === 'running') {
      if (job.state === 'pending') job.state = 'running';
      return json(200, '200', { 'Job-Status': job.state });
    }
    if (state === 'success' || state === 'failed') {
      if (job.state === 'pending') return json(400, { message: '400 Bad request' }, status);
      job.finalUpdates++;
      job.state = job.state === 'canceling' ? 'canceled' : state;
      if (state === 'failed')
        job.failureReason = typeof body.failure_reason === 'string' ? body.failure_reason : 'unknown_failure';
      if (typeof body.exit_code === 'number') job.exitCode = body.exit_code;
      const output = body.output as { checksum?: string } | undefined;
      if (output?.checksum) job.checksum = output.checksum;
      return json(200, '200', { 'Job-Status': job.state });
    }
    return json(400, { message: '400 Bad request' }, status);
  }

  private patchTrace(id: number, raw: Buffer, req: IncomingMessage, json: Json, empty: Empty): boolean {
    const job = this.jobs.get(id);
    if (!job || req.headers['job-token'] !== job.token) return json(403, { message: '403 Forbidden' });
    // A job waiting for the two-phase accept counts as processing on the runner, as in GitLab.
    if (!(job.state === 'running' || job.state === 'canceling' || job.state === 'pending')) {
      return json(
        403,
        { message: '403 Forbidden - Job is not processing on runner' },
        { 'Job-Status': job.state },
      );
    }
    const range = req.headers['content-range'];
    if (typeof range !== 'string') return json(400, { message: 'Missing header Content-Range' });
    const start = Number(range.split('-')[0]);
    if (start !== job.trace.length) return empty(416, { Range: `0-${job.trace.length}` });
    job.trace = Buffer.concat([job.trace, raw]);
    return empty(202, {
      'Job-Status': job.state,
      Range: `0-${job.trace.length}`,
      'X-GitLab-Trace-Update-Interval': '1',
    });
  }

  static checksumOf(job: FakeJob): string {
    return `crc32:${(crc32(job.trace) >>> 0).toString(16).padStart(8, '0')}`;
  }
}
