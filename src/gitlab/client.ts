// The GitLab runner-API client (gitlab-runner-api.md §0–4): one correct request per call, with the headers,
// bodies and status interpretation of upstream. Transport retries live in the dispatcher
// (retry-interceptor.ts); loops over calls (polling, the final update) live with their callers.
import { randomUUID } from 'node:crypto';
import { type Dispatcher, request } from 'undici';
import { z } from 'zod';
import type {
  JobCoordinator,
  JobUpdate,
  JobUpdateResult,
  RemoteJobStatus,
  TracePatchResult,
} from './coordinator.ts';
import { type RunnerInfo, runnerInfo, userAgent } from './runner-info.ts';
import { shortToken } from './tokens.ts';

export type ApiEndpoint =
  | 'register_runner'
  | 'verify_runner'
  | 'unregister_runner'
  | 'unregister_manager'
  | 'reset_token'
  | 'request_job'
  | 'update_job'
  | 'patch_trace'
  | 'discovery';

export interface ApiCall {
  endpoint: ApiEndpoint;
  method: string;
  /** HTTP status, or `error` for a transport failure. */
  status: number | 'error';
  durationSeconds: number;
  /** Short token of the runner (or of the job's runner for job calls, when known). */
  runner: string;
}

export interface GitLabClientOptions {
  /** The runner entry's `url`. */
  url: string;
  dispatcher: Dispatcher;
  systemId?: string;
  info?: RunnerInfo;
  /** Short token for metrics of job endpoints (which carry only the job token). */
  runnerShortToken?: string;
  onCall?: (call: ApiCall) => void;
  /** Bodies above this are refused; a job payload is far smaller. */
  maxResponseBytes?: number;
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  requestId: string;
}

type CallOutcome = { ok: true; res: RawResponse } | { ok: false; error: string; aborted: boolean };

/** `url` with trailing `/` and `/ci` removed, plus `/api/v4/` (upstream's `fixCIURL`). */
export function apiBase(url: string): string {
  return `${url.replace(/\/+$/, '').replace(/\/ci$/, '')}/api/v4/`;
}

const headerValue = (h: RawResponse['headers'], name: string): string | undefined => {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};

const isJson = (res: RawResponse) =>
  /^application\/json\b/i.test(headerValue(res.headers, 'content-type') ?? '');

function parseJsonBody(res: RawResponse): { ok: true; value: unknown } | { ok: false; error: string } {
  if (!isJson(res)) {
    return {
      ok: false,
      error: `expected application/json, got ${headerValue(res.headers, 'content-type') ?? 'no Content-Type'}`,
    };
  }
  try {
    return { ok: true, value: JSON.parse(res.body) };
  } catch (err) {
    return { ok: false, error: `undecodable JSON: ${(err as Error).message}` };
  }
}

/** The `message` of a GitLab error body, else the raw body (cut short). */
export function errorMessage(res: RawResponse): string {
  try {
    const v = JSON.parse(res.body) as { message?: unknown; error?: unknown };
    const m = v.message ?? v.error;
    if (typeof m === 'string') return m;
    if (m !== undefined) return JSON.stringify(m);
  } catch {
    // not JSON
  }
  return res.body.slice(0, 200) || `HTTP ${res.status}`;
}

const runnerTokenResponse = z.object({
  id: z.number().int().optional(),
  token: z.string().min(1),
  token_expires_at: z.string().nullish(),
});

export type RunnerTokenResult =
  | { kind: 'ok'; id?: number; token?: string; tokenExpiresAt?: Date | null }
  | { kind: 'forbidden'; status: number; message: string }
  | { kind: 'gone'; status: number; message: string }
  | { kind: 'not-found'; status: number; message: string }
  | { kind: 'rejected'; status: number; message: string }
  | { kind: 'unreachable'; error: string };

export type JobRequestResult =
  | { kind: 'job'; payload: unknown; raw: string }
  /** `longPolled`: Workhorse held the request (`Gitlab-Ci-Builds-Polling: yes`, no `X-GitLab-Last-Update`). */
  | { kind: 'no-job'; lastUpdate?: string; longPolled?: boolean }
  | { kind: 'forbidden'; message: string }
  | { kind: 'conflict' }
  | { kind: 'unavailable' }
  | { kind: 'failed'; status?: number; error: string }
  | { kind: 'aborted' };

export interface RegisterRequest {
  token: string;
  description?: string;
  maintenance_note?: string;
  tag_list?: string;
  run_untagged: boolean;
  locked: boolean;
  access_level?: 'not_protected' | 'ref_protected';
  maximum_timeout?: number;
  paused: boolean;
}

export class GitLabClient implements JobCoordinator {
  readonly base: string;
  private readonly options: GitLabClientOptions;
  private readonly info: RunnerInfo;

  constructor(options: GitLabClientOptions) {
    this.options = options;
    this.base = apiBase(options.url);
    this.info = options.info ?? runnerInfo();
  }

  private async call(
    endpoint: ApiEndpoint,
    method: Dispatcher.HttpMethod,
    path: string,
    init: {
      json?: unknown;
      body?: Uint8Array;
      headers?: Record<string, string>;
      acceptJson?: boolean;
      signal?: AbortSignal | undefined;
      runner: string;
    },
  ): Promise<CallOutcome> {
    const requestId = randomUUID().replaceAll('-', '');
    const headers: Record<string, string> = {
      'user-agent': userAgent,
      'x-request-id': requestId,
      ...(init.acceptJson ? { accept: 'application/json' } : {}),
      ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    };
    const started = performance.now();
    const report = (status: number | 'error') =>
      this.options.onCall?.({
        endpoint,
        method,
        status,
        durationSeconds: (performance.now() - started) / 1000,
        runner: init.runner,
      });
    try {
      const res = await request(new URL(path, this.base), {
        dispatcher: this.options.dispatcher,
        method,
        headers,
        body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
        signal: init.signal,
      });
      const limit = this.options.maxResponseBytes ?? 64 * 1024 * 1024;
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > limit) {
          res.body.destroy();
          report(res.statusCode);
          return { ok: false, error: `response larger than ${limit} bytes`, aborted: false };
        }
        chunks.push(chunk as Buffer);
      }
      report(res.statusCode);
      return {
        ok: true,
        res: {
          status: res.statusCode,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          requestId: (headerValue(res.headers, 'x-request-id') ?? requestId) as string,
        },
      };
    } catch (err) {
      report('error');
      const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
      const aborted =
        init.signal?.aborted === true || e.name === 'AbortError' || e.code === 'UND_ERR_ABORTED';
      const code = e.code ?? e.cause?.code;
      return { ok: false, error: code ? `${code}: ${e.message}` : e.message, aborted };
    }
  }

  private tokenResult(outcome: CallOutcome, success: number): RunnerTokenResult {
    if (!outcome.ok) return { kind: 'unreachable', error: outcome.error };
    const { res } = outcome;
    if (res.status === success) {
      if (res.body.trim() === '' || !isJson(res)) return { kind: 'ok' };
      const parsed = parseJsonBody(res);
      const body = parsed.ok ? runnerTokenResponse.safeParse(parsed.value) : undefined;
      if (!body?.success) return { kind: 'ok' };
      const expires = body.data.token_expires_at ? new Date(body.data.token_expires_at) : null;
      return {
        kind: 'ok',
        ...(body.data.id !== undefined ? { id: body.data.id } : {}),
        token: body.data.token,
        tokenExpiresAt: expires && !Number.isNaN(expires.getTime()) ? expires : null,
      };
    }
    const message = errorMessage(res);
    if (res.status === 403) return { kind: 'forbidden', status: 403, message };
    if (res.status === 410) return { kind: 'gone', status: 410, message };
    if (res.status === 404) return { kind: 'not-found', status: 404, message };
    return { kind: 'rejected', status: res.status, message };
  }

  /** `POST /runners` with a registration token (legacy workflow, §1.3). */
  async registerRunner(req: RegisterRequest): Promise<RunnerTokenResult> {
    const body = {
      ...req,
      info: runnerInfo({ withExecutor: false }),
    };
    const outcome = await this.call('register_runner', 'POST', 'runners', {
      json: body,
      acceptJson: true,
      headers: { 'runner-token': req.token },
      runner: shortToken(req.token),
    });
    return this.tokenResult(outcome, 201);
  }

  /** `POST /runners/verify` (§1.4): 200 means the token is valid. */
  async verifyRunner(token: string, systemId?: string): Promise<RunnerTokenResult> {
    const outcome = await this.call('verify_runner', 'POST', 'runners/verify', {
      json: { token, ...(systemId ? { system_id: systemId } : {}) },
      acceptJson: true,
      headers: { 'runner-token': token },
      runner: shortToken(token),
    });
    return this.tokenResult(outcome, 200);
  }

  /** `DELETE /runners` (§1.5), for tokens from the legacy registration. */
  async unregisterRunner(token: string): Promise<RunnerTokenResult> {
    const outcome = await this.call('unregister_runner', 'DELETE', 'runners', {
      json: { token },
      headers: { 'runner-token': token },
      runner: shortToken(token),
    });
    return this.tokenResult(outcome, 204);
  }

  /** `DELETE /runners/managers` (§1.5), for `glrt-` tokens: removes only this manager. */
  async unregisterManager(token: string, systemId: string): Promise<RunnerTokenResult> {
    const outcome = await this.call('unregister_manager', 'DELETE', 'runners/managers', {
      json: { token, system_id: systemId },
      headers: { 'runner-token': token },
      runner: shortToken(token),
    });
    return this.tokenResult(outcome, 204);
  }

  /** `POST /runners/reset_authentication_token` (§1.6). */
  async resetToken(token: string): Promise<RunnerTokenResult> {
    const outcome = await this.call('reset_token', 'POST', 'runners/reset_authentication_token', {
      json: { token },
      acceptJson: true,
      headers: { 'runner-token': token },
      runner: shortToken(token),
    });
    return this.tokenResult(outcome, 201);
  }

  /** `GET /runners/router/discovery` (§1.7): the Job Router's URL, or `unavailable` (501) on GitLabs without it. */
  async discoverRouter(
    token: string,
  ): Promise<
    | { kind: 'ok'; serverUrl: string }
    | { kind: 'unavailable' }
    | { kind: 'forbidden' }
    | { kind: 'failed'; status?: number; error: string }
  > {
    const outcome = await this.call('discovery', 'GET', 'runners/router/discovery', {
      acceptJson: true,
      headers: { 'runner-token': token },
      runner: shortToken(token),
    });
    if (!outcome.ok) return { kind: 'failed', error: outcome.error };
    const { res } = outcome;
    if (res.status === 501) return { kind: 'unavailable' };
    if (res.status === 403) return { kind: 'forbidden' };
    if (res.status === 200) {
      const parsed = parseJsonBody(res);
      const body = parsed.ok
        ? z.object({ server_url: z.string().min(1) }).safeParse(parsed.value)
        : undefined;
      if (body?.success) return { kind: 'ok', serverUrl: body.data.server_url };
      return { kind: 'failed', status: 200, error: parsed.ok ? 'no server_url in the answer' : parsed.error };
    }
    return { kind: 'failed', status: res.status, error: `HTTP ${res.status}: ${errorMessage(res)}` };
  }

  /** `POST /jobs/request` (§2). The caller validates a job's payload. */
  async requestJob(
    req: { token: string; lastUpdate?: string | undefined; info?: RunnerInfo },
    signal?: AbortSignal,
  ): Promise<JobRequestResult> {
    const body = {
      info: req.info ?? this.info,
      token: req.token,
      ...(this.options.systemId ? { system_id: this.options.systemId } : {}),
      ...(req.lastUpdate ? { last_update: req.lastUpdate } : {}),
    };
    const outcome = await this.call('request_job', 'POST', 'jobs/request', {
      json: body,
      acceptJson: true,
      headers: { 'runner-token': req.token },
      signal,
      runner: shortToken(req.token),
    });
    if (!outcome.ok) return outcome.aborted ? { kind: 'aborted' } : { kind: 'failed', error: outcome.error };
    const { res } = outcome;
    switch (res.status) {
      case 201: {
        const parsed = parseJsonBody(res);
        if (!parsed.ok)
          return { kind: 'failed', status: 201, error: `job request answered 201 but ${parsed.error}` };
        return { kind: 'job', payload: parsed.value, raw: res.body };
      }
      case 204: {
        const lastUpdate = headerValue(res.headers, 'x-gitlab-last-update');
        if (lastUpdate) return { kind: 'no-job', lastUpdate };
        const polled = /^yes$/i.test(headerValue(res.headers, 'gitlab-ci-builds-polling') ?? '');
        return polled ? { kind: 'no-job', longPolled: true } : { kind: 'no-job' };
      }
      case 403:
        return { kind: 'forbidden', message: errorMessage(res) };
      case 409:
        return { kind: 'conflict' };
      case 503:
        return { kind: 'unavailable' };
      default:
        return { kind: 'failed', status: res.status, error: `HTTP ${res.status}: ${errorMessage(res)}` };
    }
  }

  /** `PUT /jobs/:id` (§3), interpreted in upstream's order (§3.3). */
  async updateJob(jobId: number, jobToken: string, update: JobUpdate): Promise<JobUpdateResult> {
    const output = update.output ?? {};
    const body = {
      info: this.info,
      token: jobToken,
      state: update.state,
      ...(update.state === 'failed' && update.failureReason ? { failure_reason: update.failureReason } : {}),
      ...(update.output?.checksum ? { checksum: update.output.checksum } : {}),
      output: {
        ...('checksum' in output && output.checksum ? { checksum: output.checksum } : {}),
        ...('bytesize' in output && output.bytesize ? { bytesize: output.bytesize } : {}),
      },
      ...(update.exitCode ? { exit_code: update.exitCode } : {}),
    };
    const outcome = await this.call('update_job', 'PUT', `jobs/${jobId}`, {
      json: body,
      headers: { 'job-token': jobToken },
      runner: this.options.runnerShortToken ?? '',
    });
    if (!outcome.ok) return { kind: 'failed', error: outcome.error };
    const { res } = outcome;
    const jobStatus = headerValue(res.headers, 'job-status') as RemoteJobStatus | undefined;
    const withStatus = jobStatus ? { jobStatus } : {};
    if (jobStatus === 'canceled' || jobStatus === 'failed' || res.status === 403) {
      return { kind: 'abort', status: res.status, ...withStatus };
    }
    if (res.status === 200) return { kind: 'ok', cancelRequested: jobStatus === 'canceling', ...withStatus };
    if (res.status === 202) {
      const interval = Number(headerValue(res.headers, 'x-gitlab-trace-update-interval'));
      return {
        kind: 'accepted',
        retryAfterSeconds: Number.isFinite(interval) && interval > 0 ? interval : 3,
      };
    }
    if (res.status === 412) return { kind: 'trace-reset' };
    if (res.status === 404) return { kind: 'abort', status: 404, ...withStatus };
    return { kind: 'failed', status: res.status, error: `HTTP ${res.status}: ${errorMessage(res)}` };
  }

  /** `PATCH /jobs/:id/trace` (§4). */
  async patchTrace(
    jobId: number,
    jobToken: string,
    offset: number,
    chunk: Uint8Array,
    debugTrace: boolean,
  ): Promise<TracePatchResult> {
    const outcome = await this.call('patch_trace', 'PATCH', `jobs/${jobId}/trace?debug_trace=${debugTrace}`, {
      body: chunk,
      headers: {
        'job-token': jobToken,
        'content-type': 'text/plain',
        'content-range': `${offset}-${offset + chunk.length - 1}`,
      },
      runner: this.options.runnerShortToken ?? '',
    });
    if (!outcome.ok) return { kind: 'failed', error: outcome.error };
    const { res } = outcome;
    const jobStatus = headerValue(res.headers, 'job-status') as RemoteJobStatus | undefined;
    const withStatus = jobStatus ? { jobStatus } : {};
    const rangeEnd = (() => {
      const m = /^\s*\d+-(\d+)\s*$/.exec(headerValue(res.headers, 'range') ?? '');
      return m ? Number(m[1]) : undefined;
    })();
    if (jobStatus === 'canceled' || jobStatus === 'failed' || res.status === 403) {
      return { kind: 'abort', status: res.status, ...withStatus };
    }
    if (res.status === 202) {
      const interval = Number(headerValue(res.headers, 'x-gitlab-trace-update-interval'));
      return {
        kind: 'accepted',
        serverLength: rangeEnd ?? offset + chunk.length,
        ...(Number.isFinite(interval) && interval > 0 ? { updateIntervalSeconds: interval } : {}),
        cancelRequested: jobStatus === 'canceling',
        ...withStatus,
      };
    }
    if (res.status === 416) return { kind: 'range-mismatch', serverLength: rangeEnd ?? 0 };
    if (res.status === 404) return { kind: 'not-found' };
    return { kind: 'failed', status: res.status, error: `HTTP ${res.status}: ${errorMessage(res)}` };
  }
}
