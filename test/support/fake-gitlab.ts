// A small GitLab coordinator for the manager's tests, written from gitlab-runner-api.md §1–4 and the
// fixtures: runner register/verify/unregister, a job queue with two-phase commit, `X-GitLab-Last-Update`,
// optional long polling, trace patches with 416, final updates with optional 202s, and fault injection
// (status answers, dropped connections, going away). It records what the tests assert on: the most jobs
// running at once, idle capacity while jobs wait, double assignments, unfinished jobs.
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
  remaining202: number;
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
  readonly registrationTokens = new Set<string>();
  registrationDisabled = false;
  readonly managers = new Set<string>();
  readonly jobs = new Map<number, FakeJob>();
  readonly queue: number[] = [];
  readonly requests: RecordedRequest[] = [];
  /** Consulted for every request before normal handling. */
  fault: (req: RecordedRequest) => Fault = () => undefined;
  /** Hold job requests up to this long when there is nothing new (Workhorse long polling); 0: answer at once. */
  longPollMs = 0;
  /** Final updates answered 202 this many times per job before 200. */
  final202 = 0;
  /** For idle tracking: how many jobs the manager may run at once. */
  capacity = Number.POSITIVE_INFINITY;
  maxRunning = 0;
  maxIdleWhileWaitingMs = 0;
  private idleSince: number | undefined;
  private nextJobId = 1000;
  private nextRunnerId = 1;
  private readonly sockets = new Set<Socket>();
  private readonly waitingPolls = new Set<() => void>();

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

  /** Stops accepting connections and drops the open ones (connection refused), for `ms`. */
  async goAway(ms: number): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
    await new Promise((r) => setTimeout(r, ms));
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    for (const wake of this.waitingPolls) wake();
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
      remaining202: this.final202,
    });
    this.queue.push(id);
    for (const r of this.runners.values()) r.queueValue = hex();
    for (const wake of [...this.waitingPolls]) wake();
    this.changed();
    return id;
  }

  get pollsWaiting(): number {
    return this.waitingPolls.size;
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

  /** Closes an open idle period (call at the end of a test). */
  settleIdle(): void {
    if (this.idleSince !== undefined) {
      this.maxIdleWhileWaitingMs = Math.max(this.maxIdleWhileWaitingMs, Date.now() - this.idleSince);
      this.idleSince = Date.now();
    }
  }

  private changed(): void {
    const running = this.running;
    this.maxRunning = Math.max(this.maxRunning, running);
    const idle = this.queue.length > 0 && running < this.capacity;
    if (idle && this.idleSince === undefined) this.idleSince = Date.now();
    if (!idle && this.idleSince !== undefined) {
      this.maxIdleWhileWaitingMs = Math.max(this.maxIdleWhileWaitingMs, Date.now() - this.idleSince);
      this.idleSince = undefined;
    }
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
      if (req.method === 'POST' && p === 'runners') this.register(body, json);
      else if (req.method === 'POST' && p === 'runners/verify') this.verify(body, json);
      else if (req.method === 'DELETE' && p === 'runners') this.deleteRunner(body, json, empty);
      else if (req.method === 'DELETE' && p === 'runners/managers') this.deleteManager(body, json, empty);
      else if (req.method === 'POST' && p === 'runners/reset_authentication_token') this.reset(body, json);
      else if (req.method === 'POST' && p === 'jobs/request') await this.requestJob(body, json, empty, res);
      else if (req.method === 'PUT' && m && !m[2]) this.updateJob(Number(m[1]), body, req, json);
      else if (req.method === 'PATCH' && m?.[2]) this.patchTrace(Number(m[1]), raw, req, json, empty);
      else json(404, { message: '404 Not Found' });
    } finally {
      this.changed();
    }
  }

  private register(body: Record<string, unknown>, json: Json): boolean {
    if (typeof body.token !== 'string') return json(400, { error: 'token is missing' });
    if (this.registrationDisabled) return json(410, { message: '410 Gone - runner registration disallowed' });
    if (!this.registrationTokens.has(body.token))
      return json(403, { message: '403 Forbidden - invalid token supplied' });
    const token = `glrtr-${hex().slice(0, 20)}`;
    this.addRunner(token);
    return json(201, { id: this.runners.get(token)!.id, token, token_expires_at: null });
  }

  private verify(body: Record<string, unknown>, json: Json): boolean {
    if (typeof body.token !== 'string') return json(400, { error: 'token is missing' });
    const r = this.runners.get(body.token);
    if (!r) return json(403, { message: '403 Forbidden' });
    if (typeof body.system_id === 'string') this.managers.add(`${body.token}|${body.system_id}`);
    return json(200, { id: r.id, token: body.token, token_expires_at: null });
  }

  private deleteRunner(body: Record<string, unknown>, json: Json, empty: Empty): boolean {
    if (typeof body.token !== 'string') return json(400, { error: 'token is missing' });
    if (!this.runners.delete(body.token)) return json(403, { message: '403 Forbidden' });
    return empty(204);
  }

  private deleteManager(body: Record<string, unknown>, json: Json, empty: Empty): boolean {
    if (typeof body.token !== 'string' || typeof body.system_id !== 'string')
      return json(400, { error: 'token is missing' });
    if (!this.runners.has(body.token)) return json(403, { message: '403 Forbidden' });
    if (!this.managers.delete(`${body.token}|${body.system_id}`))
      return json(404, { message: '404 Runner manager not found Not Found' });
    return empty(204);
  }

  private reset(body: Record<string, unknown>, json: Json): boolean {
    const old = typeof body.token === 'string' ? this.runners.get(body.token) : undefined;
    if (!old) return json(403, { message: '403 Forbidden' });
    const token = `glrt-${hex().slice(0, 20)}`;
    this.runners.delete(body.token as string);
    this.runners.set(token, old);
    return json(201, { token, token_expires_at: null });
  }

  private async requestJob(
    body: Record<string, unknown>,
    json: Json,
    empty: Empty,
    res: ServerResponse,
  ): Promise<boolean> {
    if (typeof body.token !== 'string') return json(400, { error: 'token is missing' });
    const runner = this.runners.get(body.token);
    if (!runner) return json(403, { message: '403 Forbidden' });
    if (runner.paused) return empty(204, { 'X-GitLab-Last-Update': runner.queueValue });
    const pick = () =>
      this.queue.findIndex((id) => {
        const j = this.jobs.get(id)!;
        return j.runnerToken === undefined || j.runnerToken === body.token;
      });
    if (body.last_update === runner.queueValue || pick() === -1) {
      if (this.longPollMs > 0 && body.last_update) {
        const changed = await new Promise<boolean>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            this.waitingPolls.delete(wake);
            resolve(true);
          };
          const timer = setTimeout(() => {
            this.waitingPolls.delete(wake);
            resolve(false);
          }, this.longPollMs);
          this.waitingPolls.add(wake);
          this.emit('change');
          res.on('close', wake);
        });
        void changed;
        return empty(204, { 'Gitlab-Ci-Builds-Polling': 'yes' });
      }
      return empty(204, { 'X-GitLab-Last-Update': runner.queueValue });
    }
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
    if (state === 'running') {
      if (job.state === 'pending') job.state = 'running';
      return json(200, '200', { 'Job-Status': job.state });
    }
    if (state === 'success' || state === 'failed') {
      if (job.state === 'pending') return json(400, { message: '400 Bad request' }, status);
      if (job.remaining202 > 0 && body.checksum) {
        job.remaining202--;
        return json(202, '202', { ...status, 'X-GitLab-Trace-Update-Interval': '1' });
      }
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

  /** Cancels a job as a user would (graceful cancel: `canceling`). */
  cancel(id: number): void {
    const job = this.jobs.get(id)!;
    if (job.state === 'running' || job.state === 'pending') job.state = 'canceling';
    this.changed();
  }

  static checksumOf(job: FakeJob): string {
    return `crc32:${(crc32(job.trace) >>> 0).toString(16).padStart(8, '0')}`;
  }
}
