// The runner API (`/api/v4/runners*`, `/api/v4/jobs*`), answered as GitLab 17/18 answers it
// (gitlab-runner-api.md §1–§5): status codes, headers and bodies of `test/fixtures/gitlab`.
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import {
  apiError,
  BodyTooLarge,
  forbidden,
  paramError,
  type Request,
  type Router,
  readBody,
  readParams,
  sendEmpty,
  sendJson,
  sendText,
} from '../http.ts';
import type { Job, Runner } from '../model.ts';
import { finalUpdateBackoff } from '../queue.ts';
import type { ManagerInfo, SimStore } from '../store.ts';
import { TraceLog } from '../trace.ts';
import { findArtifact, receiveArtifact, sendArtifact } from './artifacts.ts';

const infoSchema = z
  .object({
    name: z.string().optional(),
    version: z.string().optional(),
    revision: z.string().optional(),
    platform: z.string().optional(),
    architecture: z.string().optional(),
    executor: z.string().optional(),
    shell: z.string().optional(),
    features: z.record(z.string(), z.boolean()).nullish(),
    config: z.unknown().optional(),
    labels: z.record(z.string(), z.string()).nullish(),
  })
  .passthrough();

const jobRequestSchema = z.object({
  token: z.string(),
  system_id: z.string().optional(),
  last_update: z.string().optional(),
  info: infoSchema.nullish(),
  session: z.unknown().optional(),
});

const updateJobSchema = z.object({
  token: z.string().optional(),
  state: z.string().optional(),
  failure_reason: z.string().optional(),
  exit_code: z.number().int().optional(),
  checksum: z.string().optional(),
  output: z
    .object({ checksum: z.string().optional(), bytesize: z.number().int().min(0).optional() })
    .nullish(),
  info: infoSchema.nullish(),
});

const registerSchema = z.object({
  token: z.string(),
  description: z.string().optional(),
  maintenance_note: z.string().optional(),
  maintainer_note: z.string().optional(),
  tag_list: z.union([z.string(), z.array(z.string())]).optional(),
  run_untagged: z.union([z.boolean(), z.string()]).optional(),
  locked: z.union([z.boolean(), z.string()]).optional(),
  paused: z.union([z.boolean(), z.string()]).optional(),
  active: z.union([z.boolean(), z.string()]).optional(),
  access_level: z.enum(['not_protected', 'ref_protected']).optional(),
  maximum_timeout: z.number().int().optional(),
  info: infoSchema.nullish(),
});

/** Grape's 400 for a missing or invalid parameter, naming it. */
function validate<T>(schema: z.ZodType<T>, params: Record<string, unknown>): T {
  const result = schema.safeParse(params);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const name = issue?.path.join('][') ?? 'params';
  if (issue && issue.code === 'invalid_type' && params[String(issue.path[0])] === undefined) {
    throw paramError(`${name} is missing`);
  }
  if (issue?.code === 'invalid_value') throw paramError(`${name} does not have a valid value`);
  throw paramError(`${name} is invalid`);
}

const flag = (v: unknown, fallback: boolean) => (v === undefined ? fallback : v === true || v === 'true');

function tokenExpiry(runner: Runner) {
  return { id: runner.id, token: runner.token, token_expires_at: runner.tokenExpiresAt };
}

function authenticateRunner(store: SimStore, token: string): Runner {
  const runner = store.runnerByToken(token);
  if (!runner) throw forbidden();
  return runner;
}

function managerInfo(
  req: Request,
  systemId: string | undefined,
  info: z.infer<typeof infoSchema> | null | undefined,
): ManagerInfo {
  const forwarded = req.header('x-forwarded-for')?.split(',')[0]?.trim();
  return {
    systemId,
    version: info?.version,
    revision: info?.revision,
    platform: info?.platform,
    architecture: info?.architecture,
    executor: info?.executor,
    features: info?.features ?? {},
    ipAddress: forwarded ?? req.raw.socket.remoteAddress,
  };
}

/**
 * The job named by `:id` and authenticated by its token (body/query `token`, else `JOB-TOKEN`). A job
 * that is not running answers 403 with `Job-Status` (plain `403 Forbidden` on artifact uploads).
 */
function authenticateJob(store: SimStore, req: Request, bodyToken: unknown, plain = false): Job {
  if (!/^\d+$/.test(req.params.id ?? '')) throw paramError('id is invalid');
  const token = typeof bodyToken === 'string' && bodyToken !== '' ? bodyToken : req.header('job-token');
  const job = store.jobs.get(Number(req.params.id));
  if (!job || !token || job.token !== token) throw forbidden();
  if (!store.isProcessingOnRunner(job)) {
    throw plain ? forbidden() : forbidden('Job is not processing on runner', { 'Job-Status': job.status });
  }
  const runner = job.runnerId === null ? undefined : store.runners.get(job.runnerId);
  if (runner) runner.contactedAt = new Date().toISOString();
  return job;
}

/** Ruby's `String#to_i`: leading digits, else 0. */
function rubyToI(text: string): number {
  const m = /^\s*[+-]?\d+/.exec(text);
  return m ? Number.parseInt(m[0], 10) : 0;
}

/** `presignArtifact`: a pre-signed object-storage URL for a stored artifact file (`objectStorage` tunable). */
export function registerRunnerApi(
  router: Router,
  store: SimStore,
  presignArtifact: (file: string) => string | undefined = () => undefined,
): void {
  router.add('POST', '/api/v4/runners/verify', async (req, res) => {
    const params = await readParams(req);
    const body = validate(z.object({ token: z.string(), system_id: z.string().optional() }), params);
    const runner = authenticateRunner(store, body.token);
    store.heartbeat(runner, { systemId: body.system_id, features: {} });
    sendJson(res, 200, tokenExpiry(runner));
  });

  router.add('POST', '/api/v4/runners', async (req, res) => {
    const params = await readParams(req);
    const body = validate(registerSchema, params);
    const project = [...store.projects.values()].find((p) => p.runnersToken === body.token);
    if (body.token !== store.registrationToken && !project) throw forbidden('invalid token supplied');
    if (!store.tunables.allowRegistrationToken)
      throw apiError(410, '410 Gone - runner registration disallowed');
    if (body.paused !== undefined && body.active !== undefined) {
      throw paramError('paused, active are mutually exclusive');
    }
    const tags = typeof body.tag_list === 'string' ? body.tag_list.split(',') : (body.tag_list ?? []);
    const runner = store.createRunner({
      legacy: true,
      runnerType: project ? 'project_type' : 'instance_type',
      ...(project ? { projectId: project.id } : {}),
      description: body.description ?? '',
      tags: tags.map((t) => t.trim()).filter((t) => t !== ''),
      runUntagged: flag(body.run_untagged, true),
      locked: flag(body.locked, true),
      paused: body.paused !== undefined ? flag(body.paused, false) : !flag(body.active, true),
      accessLevel: body.access_level ?? 'not_protected',
      maximumTimeout: body.maximum_timeout ?? null,
    });
    sendJson(res, 201, tokenExpiry(runner));
  });

  router.add('DELETE', '/api/v4/runners', async (req, res) => {
    const body = validate(z.object({ token: z.string() }), await readParams(req));
    const runner = authenticateRunner(store, body.token);
    store.deleteRunner(runner);
    sendEmpty(res, 204);
  });

  router.add('DELETE', '/api/v4/runners/managers', async (req, res) => {
    const body = validate(z.object({ token: z.string(), system_id: z.string() }), await readParams(req));
    const runner = authenticateRunner(store, body.token);
    if (!runner.managers[body.system_id]) throw apiError(404, '404 Runner manager not found Not Found');
    delete runner.managers[body.system_id];
    sendEmpty(res, 204);
  });

  router.add('POST', '/api/v4/runners/reset_authentication_token', async (req, res) => {
    const body = validate(z.object({ token: z.string() }), await readParams(req));
    const runner = store.resetRunnerToken(authenticateRunner(store, body.token));
    sendJson(res, 201, { token: runner.token, token_expires_at: runner.tokenExpiresAt });
  });

  router.add('GET', '/api/v4/runners/router/discovery', (req) => {
    const token = req.header('runner-token');
    if (!token || !store.runnerByToken(token)) throw forbidden();
    throw apiError(501, 'Job Router is not available');
  });

  router.add('POST', '/api/v4/jobs/request', async (req, res) => {
    // Workhorse refuses job requests over 32 KiB.
    const params = await readParams(req, 32 * 1024);
    const longPoll = store.tunables.longPollSeconds;
    const pollingHeader: Record<string, string> = longPoll > 0 ? { 'Gitlab-Ci-Builds-Polling': 'yes' } : {};
    // Workhorse: with a token and a last_update it watches the runner's queue value instead of asking Rails.
    if (
      longPoll > 0 &&
      typeof params.token === 'string' &&
      typeof params.last_update === 'string' &&
      params.last_update !== ''
    ) {
      const watched = store.runnerByToken(params.token);
      if (watched && watched.queueValue === params.last_update) {
        const abort = new AbortController();
        const onClose = () => abort.abort();
        res.on('close', onClose);
        await store.waitForQueueChange(watched, longPoll, abort.signal);
        res.off('close', onClose);
        if (!res.writableEnded && !res.destroyed) sendEmpty(res, 204, pollingHeader);
        return;
      }
    }
    const body = validate(jobRequestSchema, params);
    const runner = authenticateRunner(store, body.token);
    store.heartbeat(runner, managerInfo(req, body.system_id, body.info));
    const current = runner.queueValue;
    if (runner.paused || body.last_update === current) {
      sendEmpty(res, 204, { ...pollingHeader, 'X-GitLab-Last-Update': current });
      return;
    }
    const result = await store.requestJob(runner, managerInfo(req, body.system_id, body.info));
    if (result.kind === 'job') {
      sendJson(res, 201, result.payload, pollingHeader);
    } else if (result.kind === 'conflict') {
      throw apiError(409, '409 Conflict', pollingHeader);
    } else {
      sendEmpty(res, 204, { ...pollingHeader, 'X-GitLab-Last-Update': current });
    }
  });

  router.add('PUT', '/api/v4/jobs/:id', async (req, res) => {
    const params = await readParams(req);
    if (params.token === undefined && !req.header('job-token')) throw paramError('token is missing');
    const job = authenticateJob(store, req, params.token);
    const parsed = updateJobSchema.safeParse(params);
    const answer = (status: number, headers: Record<string, string> = {}) =>
      sendText(res, status, String(status), { 'Job-Status': job.status, ...headers });
    if (!parsed.success) {
      answer(400);
      return;
    }
    const body = parsed.data;
    store.touch(job);

    if (job.awaitingAckSince !== null && job.status === 'pending') {
      if (body.state === 'pending') answer(200);
      else if (body.state === 'running') {
        store.accept(job);
        answer(200);
      } else answer(400);
      return;
    }
    if (body.state === 'pending') {
      answer(job.twoPhase ? 409 : 400);
      return;
    }
    if (body.state === 'running') {
      answer(200);
      return;
    }
    if (body.state !== 'success' && body.state !== 'failed') {
      answer(400);
      return;
    }
    const checksum = body.output?.checksum ?? body.checksum;
    const bytesize = body.output?.bytesize;
    const tunables = store.tunables;
    if (tunables.acceptFinalUpdates && checksum) {
      const trace = store.trace(job);
      const now = Date.now();
      job.finalUpdateSince = job.finalUpdateSince ?? new Date(now).toISOString();
      job.finalUpdateAttempts += 1;
      const elapsed = (now - Date.parse(job.finalUpdateSince)) / 1000;
      const complete = bytesize !== undefined ? trace.length >= bytesize : trace.checksum === checksum;
      const extraRound = job.finalUpdateAttempts <= tunables.finalUpdateMinAccepts;
      if ((!complete || extraRound) && elapsed < tunables.finalUpdateMaxWaitSeconds) {
        answer(202, { 'X-GitLab-Trace-Update-Interval': String(finalUpdateBackoff(elapsed)) });
        return;
      }
      job.traceChecksumMismatch = trace.checksum !== checksum;
    }
    store.finish(job, body.state, body.failure_reason, body.exit_code);
    answer(200);
  });

  router.add('PATCH', '/api/v4/jobs/:id/trace', async (req, res) => {
    const job = authenticateJob(store, req, req.query.get('token'));
    const range = req.header('content-range');
    if (range === undefined) throw apiError(400, '400 Missing header Content-Range');
    const limit = store.tunables.traceMaxBytes;
    let data: Buffer;
    try {
      data = await readBody(req.raw, limit + 1);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error;
      store.drop(job, 'trace_size_exceeded');
      throw forbidden();
    }
    const start = rubyToI(range.split('-')[0] ?? '');
    const trace = store.trace(job);
    if (start + data.length > limit) {
      store.drop(job, 'trace_size_exceeded');
      throw forbidden();
    }
    if (start !== trace.length) {
      throw apiError(416, '416 Range Not Satisfiable', { Range: `0-${trace.length}` });
    }
    const project = store.projects.get(job.projectId);
    trace.append(TraceLog.hide(TraceLog.hide(data, job.token), project?.runnersToken ?? ''));
    store.touch(job);
    store.emit('trace', job, data.length);
    sendEmpty(res, 202, {
      'Job-Status': job.status,
      Range: `0-${trace.length}`,
      'X-GitLab-Trace-Update-Interval': String(store.traceUpdateInterval(job)),
    });
  });

  router.add('POST', '/api/v4/jobs/:id/artifacts', async (req, res) => {
    const job = authenticateJob(store, req, req.query.get('token'), true);
    await receiveArtifact(store, job, req, res);
  });

  router.add('POST', '/api/v4/jobs/:id/artifacts/authorize', () => {
    // Workhorse's own call; a runner never makes it.
    throw forbidden();
  });

  router.add('GET', '/api/v4/jobs/:id/artifacts', async (req, res: ServerResponse) => {
    const token = req.header('job-token') ?? req.query.get('job_token') ?? req.query.get('token');
    const tokenJob = token ? store.jobByToken(token) : undefined;
    if (!tokenJob || !store.isProcessingOnRunner(tokenJob)) throw apiError(401, '401 Unauthorized');
    const target = /^\d+$/.test(req.params.id ?? '') ? store.jobs.get(Number(req.params.id)) : undefined;
    const targetProject = target && store.projects.get(target.projectId);
    if (!target || !targetProject || !store.jobTokenAllows(tokenJob, targetProject)) throw forbidden();
    const type = req.query.get('artifact_type') ?? 'archive';
    const location =
      store.tunables.objectStorage && req.query.get('direct_download') === 'true'
        ? presignArtifact(findArtifact(store, target, type).file)
        : undefined;
    if (location) {
      res.writeHead(302, { Location: location, 'Content-Length': 0 });
      res.end();
      return;
    }
    await sendArtifact(store, target, type, res);
  });
}
