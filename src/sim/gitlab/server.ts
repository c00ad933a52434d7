// `startSimGitlab(options)`: the embedded GitLab as an HTTP server plus a programmatic handle for tests,
// the demo and the benchmark. One node:http server serves the runner API, the REST API, git over HTTP
// and the `/-/sim/` controls.
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerAdminApi } from './api/admin.ts';
import { registerRestApi } from './api/rest.ts';
import { registerRunnerApi } from './api/runner.ts';
import type { JobStatus, PipelineStatus } from './ci/processing.ts';
import { classifyEndpoint, FaultInjector, isRunnerEndpoint } from './faults.ts';
import { handleGit, matchGitPath } from './git/http-backend.ts';
import { commitFiles } from './git/repository.ts';
import { ApiError, apiError, type Request, Router, sendError, sendJson, sendText } from './http.ts';
import type { Job, Pipeline, Project } from './model.ts';
import { ObjectStorage, type ObjectStorageRequest } from './object-storage.ts';
import {
  type FaultEndpoint,
  type FaultKind,
  type FaultRule,
  type FaultRuleInput,
  faultRuleSchema,
  type Tunables,
  type TunablesInput,
  tunablesSchema,
} from './options.ts';
import { loadState, StateWriter } from './persistence.ts';
import { ADMIN_USER, BLANK_SHA, type CreateRunnerInput, SimStore } from './store.ts';
import * as tokens from './tokens.ts';

export const SIM_GITLAB_VERSION = '18.11.0';
export const SIM_GITLAB_REVISION = 'podrunner-sim';

export interface StartSimGitlabOptions extends TunablesInput {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** The URL jobs and clone URLs use; default `http://<host>:<port>`. */
  externalUrl?: string;
  /** Default: a fresh `glpat-…` token. */
  adminToken?: string;
  /** Written with the admin token (mode 0600) once listening. */
  adminTokenFile?: string;
  /** Persist state to this JSON file (debounced) and reload it at start. */
  statePath?: string;
  /** Repositories and artifacts; default `<statePath>.data`, or a temporary directory removed on close. */
  dataDir?: string;
  log?: (line: string) => void;
}

export interface JobView {
  id: number;
  name: string;
  stage: string;
  status: JobStatus;
  pipelineId: number;
  projectId: number;
  token: string;
  runnerId: number | null;
  failureReason: string | null;
  exitCode: number | null;
  allowFailure: boolean;
  retried: boolean;
  coverage: number | null;
  traceLength: number;
  startedAt: string | null;
  finishedAt: string | null;
  artifacts: Array<{ type: string; format: string; filename: string; size: number }>;
}

/** One HTTP request as GitLab saw it (`on('request')`), emitted when its connection is done with it. */
export interface RequestRecord {
  method: string;
  path: string;
  endpoint: FaultEndpoint;
  /** The request's `X-Request-Id` (a runner keeps it across its transport retries), else GitLab's own. */
  requestId: string;
  /** The status answered, or `null` when the connection closed without an answer. */
  status: number | null;
  /** The injected fault, if one hit this request. */
  fault?: FaultKind;
  afterHandling?: boolean;
  /** Epoch milliseconds. */
  receivedAt: number;
  endedAt: number;
}

export interface PipelineView {
  id: number;
  projectId: number;
  ref: string;
  sha: string;
  status: PipelineStatus;
  jobs: JobView[];
}

export interface ProjectView {
  id: number;
  pathWithNamespace: string;
  defaultBranch: string;
  /** Clone URL without credentials. */
  httpUrl: string;
}

export interface SimGitlab {
  /** Base URL, e.g. `http://127.0.0.1:41234` (what runners use as `url`). */
  readonly url: string;
  readonly adminToken: string;
  /** Instance registration token for legacy `POST /runners` (needs `allowRegistrationToken`). */
  readonly registrationToken: string;
  readonly tunables: Tunables;
  readonly store: SimStore;
  /** The artifacts' object store (used with the `objectStorage` tunable): its URL and the requests it got. */
  readonly objectStorage: { readonly url: string; readonly requests: readonly ObjectStorageRequest[] };
  configure(patch: Partial<Tunables>): Tunables;
  setFaults(faults: FaultRuleInput[]): void;
  createRunner(input?: CreateRunnerInput): { id: number; token: string };
  createProject(input: {
    name: string;
    path?: string;
    namespace?: string;
    defaultBranch?: string;
  }): Promise<ProjectView>;
  /** Commits files to a branch (default: the project's default branch); returns the commit sha. */
  commitFiles(
    projectId: number,
    files: Record<string, string | Buffer | { content: string | Buffer; executable?: boolean }>,
    options?: { branch?: string; message?: string; replace?: boolean },
  ): Promise<string>;
  /**
   * Puts `fromProjectId` on `projectId`'s CI/CD job token inbound allowlist: jobs of that project may
   * then clone this one (submodules) and fetch its artifacts with their job token.
   */
  allowJobTokenAccess(projectId: number, fromProjectId: number): void;
  setVariable(
    projectId: number,
    variable: {
      key: string;
      value: string;
      masked?: boolean;
      protected?: boolean;
      file?: boolean;
      raw?: boolean;
    },
  ): void;
  createPipeline(
    projectId: number,
    ref?: string,
    variables?: Array<{ key: string; value: string; variableType?: 'env_var' | 'file' }>,
  ): Promise<PipelineView>;
  pipeline(id: number): PipelineView | undefined;
  job(id: number): JobView | undefined;
  trace(jobId: number): string;
  traceBytes(jobId: number): Buffer;
  cancelJob(jobId: number): boolean;
  retryJob(jobId: number): JobView;
  playJob(jobId: number): boolean;
  /** Marks a job as watched (3 s trace interval) for the watch window. */
  watchJob(jobId: number): void;
  /** Resolves when the pipeline reaches a finished status (or one of `statuses`). */
  waitForPipeline(
    id: number,
    options?: { timeoutMs?: number; statuses?: PipelineStatus[] },
  ): Promise<PipelineView>;
  /** Resolves when `predicate` holds for the job. */
  waitForJob(
    id: number,
    predicate: (job: JobView) => boolean,
    options?: { timeoutMs?: number },
  ): Promise<JobView>;
  on(event: 'job', listener: (job: JobView) => void): () => void;
  on(event: 'pipeline', listener: (pipeline: PipelineView) => void): () => void;
  on(event: 'request', listener: (request: RequestRecord) => void): () => void;
  close(): Promise<void>;
}

function jobView(store: SimStore, job: Job): JobView {
  return {
    id: job.id,
    name: job.name,
    stage: job.stage,
    status: job.status,
    pipelineId: job.pipelineId,
    projectId: job.projectId,
    token: job.token,
    runnerId: job.runnerId,
    failureReason: job.failureReason,
    exitCode: job.exitCode,
    allowFailure: job.allowFailure,
    retried: job.retried,
    coverage: job.coverage,
    traceLength: store.trace(job).length,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    artifacts: job.artifacts.map((a) => ({
      type: a.type,
      format: a.format,
      filename: a.filename,
      size: a.size,
    })),
  };
}

function pipelineView(store: SimStore, pipeline: Pipeline): PipelineView {
  return {
    id: pipeline.id,
    projectId: pipeline.projectId,
    ref: pipeline.ref,
    sha: pipeline.sha,
    status: pipeline.status,
    jobs: store.pipelineJobs(pipeline).map((j) => jobView(store, j)),
  };
}

function projectView(store: SimStore, project: Project): ProjectView {
  return {
    id: project.id,
    pathWithNamespace: project.pathWithNamespace,
    defaultBranch: project.defaultBranch,
    httpUrl: `${store.server.baseUrl}/${project.pathWithNamespace}.git`,
  };
}

/** Reads `bytes` of the request body (or all of a shorter one), then closes the connection unanswered. */
function cutAfter(req: IncomingMessage, bytes: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const cut = () => {
      req.socket.destroy();
      resolve();
    };
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen >= bytes) cut();
    });
    req.on('end', cut);
    req.on('close', () => resolve());
  });
}

/** The answer of an injected 429 or 5xx fault (a `drop` has none). */
function sendFaultAnswer(res: ServerResponse, fault: FaultRule): void {
  if (fault.kind === 'drop') return;
  if (fault.kind === '429') {
    sendJson(
      res,
      429,
      { message: 'This endpoint has been requested too many times. Try again later.' },
      { 'Retry-After': String(fault.retryAfter) },
    );
    return;
  }
  const text = {
    '500': '500 Internal Server Error',
    '502': '502 Bad Gateway',
    '503': '503 Service Unavailable',
  }[fault.kind];
  sendJson(res, Number(fault.kind), { message: text });
}

/**
 * An `afterHandling` fault: the request is handled as usual, but whatever GitLab answers is lost on the
 * way back. The first write of the answer closes the connection (`drop`) or sends the fault's answer
 * instead; the rest of the handler's answer goes nowhere.
 */
function loseAnswer(req: IncomingMessage, res: ServerResponse, fault: FaultRule): void {
  const original = { writeHead: res.writeHead, write: res.write, end: res.end };
  let lost = false;
  const intercept = () => {
    if (lost) return;
    lost = true;
    if (fault.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    Object.assign(res, original);
    for (const name of res.getHeaderNames()) if (name !== 'x-request-id') res.removeHeader(name);
    sendFaultAnswer(res, fault);
    Object.assign(res, swallow);
  };
  const swallow = {
    writeHead: (() => {
      intercept();
      return res;
    }) as unknown as ServerResponse['writeHead'],
    write: (() => {
      intercept();
      return true;
    }) as unknown as ServerResponse['write'],
    end: (() => {
      intercept();
      return res;
    }) as unknown as ServerResponse['end'],
  };
  Object.assign(res, swallow);
}

const FINISHED_PIPELINE: PipelineStatus[] = ['success', 'failed', 'canceled', 'skipped'];

export async function startSimGitlab(options: StartSimGitlabOptions = {}): Promise<SimGitlab> {
  const {
    host = '127.0.0.1',
    port = 0,
    externalUrl,
    adminToken: givenToken,
    adminTokenFile,
    statePath,
    dataDir: givenDataDir,
    log = () => {},
    ...tunableInput
  } = options;
  const tunables = tunablesSchema.parse(tunableInput);
  const ownsDataDir = !givenDataDir && !statePath;
  const dataDir =
    givenDataDir ??
    (statePath ? `${statePath}.data` : await mkdtemp(join(tmpdir(), 'podrunner-sim-gitlab-')));
  const server = { baseUrl: 'http://127.0.0.1', version: SIM_GITLAB_VERSION, revision: SIM_GITLAB_REVISION };
  const store = new SimStore(dataDir, server, tunables);

  if (statePath) {
    const saved = await loadState(statePath);
    if (saved) store.restore(saved);
  }
  const adminToken = givenToken ?? [...store.adminTokens][0] ?? tokens.personalAccessToken();
  store.adminTokens.add(adminToken);
  const writer = statePath ? new StateWriter(store, statePath) : null;
  if (writer) store.setChangeListener(() => writer.schedule());

  const router = new Router();
  // Started once the address is known (its URLs use the host name runners reach GitLab by).
  let objectStorage: ObjectStorage | undefined;
  registerRunnerApi(router, store, (file) => objectStorage?.presign(file));
  registerRestApi(router, store);
  registerAdminApi(router, store);
  const faults = new FaultInjector();

  store.on('push', (project: Project, before: Map<string, string>, after: Map<string, string>) => {
    if (!store.tunables.pipelineOnPush) return;
    for (const [ref, sha] of after) {
      if (before.get(ref) === sha) continue;
      const name = ref.replace(/^refs\/(heads|tags)\//, '');
      store
        .createPipeline(project, name, { source: 'push', beforeSha: before.get(ref) ?? BLANK_SHA })
        .catch((error: unknown) =>
          log(`pipeline on push for ${project.pathWithNamespace} ${name}: ${String(error)}`),
        );
    }
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = req.headers['x-request-id'];
    res.setHeader(
      'X-Request-Id',
      typeof requestId === 'string' && /^[\w-]{1,128}$/.test(requestId)
        ? requestId
        : randomUUID().replace(/-/g, ''),
    );
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const endpoint = classifyEndpoint(method, path);
    const delay = store.tunables.responseDelayMs;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    if (store.tunables.migrationsRunning && isRunnerEndpoint(endpoint)) {
      req.resume();
      sendJson(
        res,
        429,
        { message: 'Executing database migrations. Please retry later.' },
        { 'Retry-After': '60' },
      );
      return;
    }
    const fault = faults.pick(store.tunables.faults, endpoint);
    const receivedAt = Date.now();
    res.on('close', () => {
      const record: RequestRecord = {
        method,
        path,
        endpoint,
        requestId: String(res.getHeader('X-Request-Id')),
        status: res.headersSent ? res.statusCode : null,
        ...(fault ? { fault: fault.kind, afterHandling: fault.afterHandling } : {}),
        receivedAt,
        endedAt: Date.now(),
      };
      store.emit('request', record);
    });
    if (fault && !fault.afterHandling) {
      if (fault.kind === 'drop') {
        if (fault.afterBytes) await cutAfter(req, fault.afterBytes);
        else req.socket.destroy();
        return;
      }
      req.resume();
      sendFaultAnswer(res, fault);
      return;
    }
    if (fault) loseAnswer(req, res, fault);
    const git = matchGitPath(path);
    if (git && !path.startsWith('/api/') && !path.startsWith('/-/')) {
      await handleGit(store, git, req, res, url.search.slice(1));
      return;
    }
    const match = router.match(method, path);
    if (match === undefined) {
      req.resume();
      if (path.startsWith('/api/')) sendJson(res, 404, { error: '404 Not Found' });
      else sendText(res, 404, 'Not Found\n');
      return;
    }
    if (match === null) {
      req.resume();
      sendJson(res, 405, { error: '405 Not Allowed' });
      return;
    }
    const request: Request = {
      raw: req,
      method,
      path,
      query: url.searchParams,
      params: match.params,
      header: (name) => {
        const v = req.headers[name.toLowerCase()];
        return Array.isArray(v) ? v[0] : v;
      },
    };
    await match.handler(request, res);
  }

  const http = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      if (!req.complete) req.resume();
      if (error instanceof ApiError) sendError(res, error);
      else {
        log(
          `internal error on ${req.method} ${req.url}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
        sendError(res, apiError(500, '500 Internal Server Error'));
      }
    });
  });
  http.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  server.baseUrl = (externalUrl ?? `http://${hostForUrl}:${address.port}`).replace(/\/+$/, '');
  await mkdir(store.artifactsDir(), { recursive: true });
  const storage = await ObjectStorage.start(store.artifactsDir(), host, new URL(server.baseUrl).hostname);
  objectStorage = storage;
  if (adminTokenFile) await writeFile(adminTokenFile, `${adminToken}\n`, { mode: 0o600 });
  log(`embedded GitLab listening on ${server.baseUrl}`);

  const requireProject = (id: number) => {
    const p = store.projects.get(id);
    if (!p) throw new Error(`no project ${id}`);
    return p;
  };
  const requireJob = (id: number) => {
    const j = store.jobs.get(id);
    if (!j) throw new Error(`no job ${id}`);
    return j;
  };

  let closed = false;
  const sim: SimGitlab = {
    url: server.baseUrl,
    adminToken,
    get registrationToken() {
      return store.registrationToken;
    },
    get tunables() {
      return store.tunables;
    },
    store,
    objectStorage: storage,
    configure(patch) {
      store.tunables = tunablesSchema.parse({ ...store.tunables, ...patch });
      return store.tunables;
    },
    setFaults(rules) {
      store.tunables = { ...store.tunables, faults: rules.map((r) => faultRuleSchema.parse(r)) };
    },
    createRunner(input = {}) {
      const runner = store.createRunner(input);
      return { id: runner.id, token: runner.token };
    },
    async createProject(input) {
      const project = await store.createProject({
        name: input.name,
        ...(input.path ? { path: input.path } : {}),
        ...(input.namespace ? { namespace: store.ensureNamespace(input.namespace) } : {}),
        ...(input.defaultBranch ? { defaultBranch: input.defaultBranch } : {}),
      });
      return projectView(store, project);
    },
    async commitFiles(projectId, files, opts = {}) {
      const project = requireProject(projectId);
      return await commitFiles(store.repoDir(project), files, {
        branch: opts.branch ?? project.defaultBranch,
        message: opts.message ?? 'Update files',
        authorName: ADMIN_USER.name,
        authorEmail: ADMIN_USER.email,
        ...(opts.replace !== undefined ? { replace: opts.replace } : {}),
      });
    },
    allowJobTokenAccess(projectId, fromProjectId) {
      store.allowJobToken(requireProject(projectId), requireProject(fromProjectId));
    },
    setVariable(projectId, v) {
      store.setVariable(requireProject(projectId), {
        key: v.key,
        value: v.value,
        variableType: v.file ? 'file' : 'env_var',
        protected: v.protected ?? false,
        masked: v.masked ?? false,
        raw: v.raw ?? false,
        environmentScope: '*',
        description: null,
      });
    },
    async createPipeline(projectId, ref, variables = []) {
      const project = requireProject(projectId);
      const pipeline = await store.createPipeline(project, ref ?? project.defaultBranch, {
        source: 'api',
        variables: variables.map((v) => ({
          key: v.key,
          value: v.value,
          variableType: v.variableType ?? 'env_var',
        })),
      });
      return pipelineView(store, pipeline);
    },
    pipeline(id) {
      const p = store.pipelines.get(id);
      return p ? pipelineView(store, p) : undefined;
    },
    job(id) {
      const j = store.jobs.get(id);
      return j ? jobView(store, j) : undefined;
    },
    trace(jobId) {
      return store.trace(requireJob(jobId)).bytes().toString('utf8');
    },
    traceBytes(jobId) {
      return Buffer.from(store.trace(requireJob(jobId)).bytes());
    },
    cancelJob(jobId) {
      return store.cancel(requireJob(jobId));
    },
    retryJob(jobId) {
      const job = requireJob(jobId);
      if (!store.retryable(job)) throw new Error(`job ${jobId} is not retryable (${job.status})`);
      return jobView(store, store.retry(job));
    },
    playJob(jobId) {
      return store.play(requireJob(jobId));
    },
    watchJob(jobId) {
      store.markWatched(requireJob(jobId));
    },
    waitForPipeline(id, opts = {}) {
      const wanted = opts.statuses ?? FINISHED_PIPELINE;
      return waitFor(
        () => {
          const p = store.pipelines.get(id);
          return p && wanted.includes(p.status) ? pipelineView(store, p) : undefined;
        },
        opts.timeoutMs ?? 60_000,
        `pipeline ${id} to reach ${wanted.join('|')}`,
      );
    },
    waitForJob(id, predicate, opts = {}) {
      return waitFor(
        () => {
          const j = store.jobs.get(id);
          if (!j) return undefined;
          const view = jobView(store, j);
          return predicate(view) ? view : undefined;
        },
        opts.timeoutMs ?? 60_000,
        `job ${id}`,
      );
    },
    on(event: 'job' | 'pipeline' | 'request', listener: (value: never) => void) {
      const wrapped =
        event === 'job'
          ? (job: Job) => (listener as (v: JobView) => void)(jobView(store, job))
          : event === 'pipeline'
            ? (pipeline: Pipeline) => (listener as (v: PipelineView) => void)(pipelineView(store, pipeline))
            : (listener as (v: RequestRecord) => void);
      store.on(event, wrapped);
      return () => store.off(event, wrapped);
    },
    async close() {
      if (closed) return;
      closed = true;
      store.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await storage.close();
      if (writer) await writer.close();
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };

  /** Re-checks `probe` on every store event until it yields a value, or rejects after the timeout. */
  function waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const first = probe();
      if (first !== undefined) {
        resolve(first);
        return;
      }
      const check = () => {
        const value = probe();
        if (value === undefined) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        store.off('job', check);
        store.off('pipeline', check);
        store.off('trace', check);
      };
      store.on('job', check);
      store.on('pipeline', check);
      store.on('trace', check);
    });
  }

  return sim;
}
