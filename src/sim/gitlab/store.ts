// The embedded GitLab's state and every transition on it: runners, projects, pipelines, the job queue,
// job states (two-phase accept, cancel, retry), traces and artifacts. HTTP handlers and the in-process
// handle both go through this class; it emits `job` and `pipeline` events after each change.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobPayloadInput } from '../../gitlab/payload.ts';
import { parseCiConfig } from './ci/config.ts';
import { parseExpireIn } from './ci/duration.ts';
import type { CiPipelineSpec } from './ci/model.ts';
import { isFinished, pipelineStatus, processPipeline } from './ci/processing.ts';
import {
  blobIds,
  type CommitDetails,
  commitDetails,
  initBareRepository,
  readBlob,
  resolveRef,
  updateRef,
} from './git/repository.ts';
import { ApiError, apiError } from './http.ts';
import type {
  AccessLevel,
  Job,
  Namespace,
  Pipeline,
  PipelineVariable,
  Project,
  ProjectVariable,
  Runner,
  RunnerType,
  StoredArtifact,
} from './model.ts';
import type { Tunables } from './options.ts';
import { buildJobPayload, type DependencyInfo } from './payload.ts';
import { missingFeatures, runnerMatchesJob } from './queue.ts';
import * as tokens from './tokens.ts';
import { TraceLog } from './trace.ts';
import type { RunnerVariable, ServerInfo } from './variables.ts';

export const ADMIN_USER = { id: 1, username: 'root', name: 'Administrator', email: 'admin@example.com' };
export const BLANK_SHA = '0000000000000000000000000000000000000000';

export interface CreateRunnerInput {
  runnerType?: RunnerType;
  projectId?: number;
  description?: string;
  tags?: string[];
  runUntagged?: boolean;
  locked?: boolean;
  paused?: boolean;
  accessLevel?: AccessLevel;
  maximumTimeout?: number | null;
  legacy?: boolean;
}

export interface ManagerInfo {
  systemId: string | undefined;
  version?: string;
  revision?: string;
  platform?: string;
  architecture?: string;
  executor?: string;
  features: Record<string, boolean>;
  ipAddress?: string;
}

export type JobRequestResult =
  | { kind: 'job'; payload: JobPayloadInput; job: Job }
  | { kind: 'none' }
  | { kind: 'conflict' };

export interface SerializedState {
  version: 1;
  counters: Record<string, number>;
  instanceUuid: string;
  registrationToken: string;
  adminTokens: string[];
  runners: Runner[];
  namespaces: Namespace[];
  projects: Project[];
  pipelines: Pipeline[];
  jobs: Job[];
  traces: Record<string, string>;
}

const now = () => new Date().toISOString();

interface CommitPlan {
  spec: CiPipelineSpec;
  commit: CommitDetails;
  cacheKeys: Map<string, string[]>;
}

export class SimStore extends EventEmitter {
  readonly runners = new Map<number, Runner>();
  readonly namespaces = new Map<number, Namespace>();
  readonly projects = new Map<number, Project>();
  readonly pipelines = new Map<number, Pipeline>();
  readonly jobs = new Map<number, Job>();
  readonly traces = new Map<number, TraceLog>();
  readonly adminTokens = new Set<string>();
  registrationToken = tokens.registrationToken();
  instanceUuid: string = tokens.instanceUuid();

  private counters: Record<string, number> = { runner: 0, namespace: 0, project: 0, pipeline: 0, job: 0 };
  private readonly runnersByToken = new Map<string, Runner>();
  private readonly jobsByToken = new Map<string, Job>();
  /** Pending jobs not handed to any runner, by ascending id (GitLab's queue order). */
  private pendingQueue: number[] = [];
  private readonly waiters = new Map<number, Set<() => void>>();
  private held = 0;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly watchedUntil = new Map<number, number>();
  private readonly jobsOfPipeline = new Map<number, Job[]>();
  private readonly plans = new Map<string, CommitPlan>();
  /** Jobs running or canceling (small; counted per project for `job_info`). */
  private readonly active = new Set<number>();
  private onChange: () => void = () => {};

  readonly dataDir: string;
  readonly server: ServerInfo;
  tunables: Tunables;

  constructor(dataDir: string, server: ServerInfo, tunables: Tunables) {
    super();
    this.dataDir = dataDir;
    this.server = server;
    this.tunables = tunables;
    this.setMaxListeners(0);
  }

  /** Called after every mutation (persistence hooks in here). */
  setChangeListener(listener: () => void): void {
    this.onChange = listener;
  }

  private nextId(kind: string): number {
    this.counters[kind] = (this.counters[kind] ?? 0) + 1;
    return this.counters[kind];
  }

  private changed(): void {
    this.onChange();
  }

  // ---- runners -------------------------------------------------------------------------------------

  createRunner(input: CreateRunnerInput): Runner {
    const type = input.runnerType ?? 'instance_type';
    const runner: Runner = {
      id: this.nextId('runner'),
      token: input.legacy ? tokens.legacyRunnerToken() : tokens.runnerToken(),
      tokenExpiresAt: null,
      type,
      projectIds: input.projectId !== undefined ? [input.projectId] : [],
      description: input.description ?? '',
      tags: input.tags ?? [],
      runUntagged: input.runUntagged ?? (input.tags ?? []).length === 0,
      locked: input.locked ?? type !== 'instance_type',
      paused: input.paused ?? false,
      accessLevel: input.accessLevel ?? 'not_protected',
      maximumTimeout: input.maximumTimeout ?? null,
      createdAt: now(),
      contactedAt: null,
      queueValue: tokens.queueValue(),
      managers: {},
    };
    this.runners.set(runner.id, runner);
    this.runnersByToken.set(runner.token, runner);
    this.changed();
    return runner;
  }

  runnerByToken(token: string): Runner | undefined {
    const runner = this.runnersByToken.get(token);
    if (runner?.tokenExpiresAt && Date.parse(runner.tokenExpiresAt) <= Date.now()) return undefined;
    return runner;
  }

  deleteRunner(runner: Runner): void {
    this.runners.delete(runner.id);
    this.runnersByToken.delete(runner.token);
    this.wake(runner.id);
    this.changed();
  }

  resetRunnerToken(runner: Runner): Runner {
    this.runnersByToken.delete(runner.token);
    runner.token = runner.token.startsWith('glrtr-') ? tokens.legacyRunnerToken() : tokens.runnerToken();
    this.runnersByToken.set(runner.token, runner);
    this.changed();
    return runner;
  }

  updateRunner(
    runner: Runner,
    patch: Partial<Pick<Runner, 'paused' | 'tags' | 'runUntagged' | 'description'>>,
  ): void {
    Object.assign(runner, patch);
    this.tick(runner);
    this.changed();
  }

  /** Every authenticated runner request heartbeats the runner and its manager (`system_id`). */
  heartbeat(runner: Runner, info: ManagerInfo): void {
    const t = now();
    runner.contactedAt = t;
    const systemId = info.systemId ?? '<legacy>';
    const manager = runner.managers[systemId] ?? {
      systemId,
      createdAt: t,
      contactedAt: null,
      version: null,
      revision: null,
      platform: null,
      architecture: null,
      executor: null,
      features: {},
      ipAddress: null,
    };
    manager.contactedAt = t;
    if (info.version !== undefined) manager.version = info.version;
    if (info.revision !== undefined) manager.revision = info.revision;
    if (info.platform !== undefined) manager.platform = info.platform;
    if (info.architecture !== undefined) manager.architecture = info.architecture;
    if (info.executor !== undefined) manager.executor = info.executor;
    if (Object.keys(info.features).length > 0) manager.features = info.features;
    if (info.ipAddress !== undefined) manager.ipAddress = info.ipAddress;
    runner.managers[systemId] = manager;
  }

  // ---- long polling --------------------------------------------------------------------------------

  /** A new queue value for the runner, waking its long-polling requests. */
  tick(runner: Runner): void {
    runner.queueValue = tokens.queueValue();
    this.wake(runner.id);
  }

  private wake(runnerId: number): void {
    const set = this.waiters.get(runnerId);
    if (!set) return;
    this.waiters.delete(runnerId);
    for (const fn of set) fn();
  }

  /** Resolves `true` when the runner's queue value changes, `false` after `seconds`. */
  waitForQueueChange(runner: Runner, seconds: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      let set = this.waiters.get(runner.id);
      if (!set) {
        set = new Set();
        this.waiters.set(runner.id, set);
      }
      let settled = false;
      const done = (changed: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.waiters.get(runner.id)?.delete(wakeUp);
        this.held -= 1;
        this.emit('long-poll', this.held);
        resolve(changed);
      };
      const wakeUp = () => done(true);
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), seconds * 1000);
      set.add(wakeUp);
      signal.addEventListener('abort', onAbort);
      this.held += 1;
      this.emit('long-poll', this.held);
    });
  }

  /** Job requests Workhorse holds right now (long polls); a `long-poll` event carries each change. */
  heldPolls(): number {
    return this.held;
  }

  // ---- namespaces and projects ----------------------------------------------------------------------

  ensureNamespace(fullPath: string): Namespace {
    const existing = [...this.namespaces.values()].find((n) => n.fullPath === fullPath);
    if (existing) return existing;
    const parts = fullPath.split('/');
    const path = parts.pop() as string;
    const parent = parts.length > 0 ? this.ensureNamespace(parts.join('/')) : null;
    const ns: Namespace = {
      id: this.nextId('namespace'),
      name: path,
      path,
      fullPath,
      kind: fullPath === ADMIN_USER.username ? 'user' : 'group',
      parentId: parent?.id ?? null,
    };
    this.namespaces.set(ns.id, ns);
    this.changed();
    return ns;
  }

  rootNamespace(ns: Namespace): Namespace {
    let current = ns;
    while (current.parentId !== null) {
      const parent = this.namespaces.get(current.parentId);
      if (!parent) break;
      current = parent;
    }
    return current;
  }

  repoDir(project: Project): string {
    return join(this.dataDir, 'repositories', `${project.pathWithNamespace}.git`);
  }

  async createProject(input: {
    name: string;
    path?: string;
    namespace?: Namespace;
    description?: string;
    defaultBranch?: string;
    visibility?: Project['visibility'];
  }): Promise<Project> {
    const namespace = input.namespace ?? this.ensureNamespace(ADMIN_USER.username);
    const path =
      input.path ??
      input.name
        .trim()
        .toLowerCase()
        .replace(/[^a-z0-9_.-]+/g, '-')
        .replace(/^-+|-+$/g, '');
    if (!/^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$/.test(path) || path.endsWith('.git') || path.endsWith('.atom')) {
      throw apiError(400, {
        path: [
          "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'",
        ],
      });
    }
    const pathWithNamespace = `${namespace.fullPath}/${path}`;
    const taken = [...this.projects.values()].some(
      (p) => p.pathWithNamespace.toLowerCase() === pathWithNamespace.toLowerCase(),
    );
    if (taken) {
      throw apiError(400, {
        project_namespace_name: ['has already been taken'],
        name: ['has already been taken'],
        path: ['has already been taken'],
      });
    }
    const t = now();
    const project: Project = {
      id: this.nextId('project'),
      name: input.name,
      path,
      namespaceId: namespace.id,
      pathWithNamespace,
      description: input.description ?? '',
      defaultBranch: input.defaultBranch ?? 'main',
      visibility: input.visibility ?? 'private',
      createdAt: t,
      lastActivityAt: t,
      runnersToken: tokens.registrationToken(),
      buildTimeout: 3600,
      ciDefaultGitDepth: 20,
      variables: [],
      pipelineIidCounter: 0,
      jobTokenAllowlist: [],
    };
    await mkdir(join(this.dataDir, 'repositories', namespace.fullPath), { recursive: true });
    await initBareRepository(this.repoDir(project), project.defaultBranch);
    this.projects.set(project.id, project);
    this.changed();
    return project;
  }

  /** By numeric id or URL-decoded `namespace/path`, as GitLab's `:id`. */
  findProject(idOrPath: string | number): Project | undefined {
    if (typeof idOrPath === 'number' || /^\d+$/.test(idOrPath)) return this.projects.get(Number(idOrPath));
    const wanted = idOrPath.toLowerCase();
    return [...this.projects.values()].find((p) => p.pathWithNamespace.toLowerCase() === wanted);
  }

  findProjectByRepoPath(repoPath: string): Project | undefined {
    return this.findProject(repoPath.replace(/\.git$/, ''));
  }

  /** Whether `job`'s token may be used on `project`: its own project, or one allowlisting it. */
  jobTokenAllows(job: Job, project: Project): boolean {
    return job.projectId === project.id || project.jobTokenAllowlist.includes(job.projectId);
  }

  /** Adds `source` to `project`'s job token inbound allowlist; false when it is there already. */
  allowJobToken(project: Project, source: Project): boolean {
    if (project.jobTokenAllowlist.includes(source.id)) return false;
    project.jobTokenAllowlist.push(source.id);
    this.changed();
    return true;
  }

  removeJobToken(project: Project, source: Project): boolean {
    const i = project.jobTokenAllowlist.indexOf(source.id);
    if (i === -1) return false;
    project.jobTokenAllowlist.splice(i, 1);
    this.changed();
    return true;
  }

  setVariable(project: Project, variable: ProjectVariable): ProjectVariable {
    const scope = variable.environmentScope;
    if (project.variables.some((v) => v.key === variable.key && v.environmentScope === scope)) {
      throw apiError(400, { key: [`(${variable.key}) has already been taken`] });
    }
    project.variables.push(variable);
    this.changed();
    return variable;
  }

  // ---- pipelines ------------------------------------------------------------------------------------

  /**
   * Creates a pipeline for `ref` from the commit's `.gitlab-ci.yml`. Errors are GitLab's
   * `{"message": {"base": [...]}}` 400 answers.
   */
  async createPipeline(
    project: Project,
    ref: string,
    options: { variables?: PipelineVariable[]; source?: string; beforeSha?: string } = {},
  ): Promise<Pipeline> {
    const repo = this.repoDir(project);
    const resolved = await resolveRef(repo, ref);
    if (!resolved) throw apiError(400, { base: ['Reference not found'] });
    const { spec, commit, cacheKeys } = await this.commitPlan(project, resolved.sha);

    const t = now();
    project.pipelineIidCounter += 1;
    const title = commit.message.split('\n')[0] ?? '';
    const pipeline: Pipeline = {
      id: this.nextId('pipeline'),
      iid: project.pipelineIidCounter,
      projectId: project.id,
      ref,
      tag: resolved.tag,
      sha: resolved.sha,
      beforeSha: options.beforeSha ?? BLANK_SHA,
      source: options.source ?? 'api',
      status: 'created',
      protectedRef: !resolved.tag && ref === project.defaultBranch,
      createdAt: t,
      updatedAt: t,
      startedAt: null,
      finishedAt: null,
      commit: {
        sha: resolved.sha,
        title,
        message: commit.message,
        authorName: commit.authorName,
        authorEmail: commit.authorEmail,
        authoredDate: commit.authoredDate,
        committedDate: commit.committedDate,
      },
      variables: options.variables ?? [],
      yamlVariables: spec.variables,
      stages: spec.stages,
      jobIds: [],
    };
    await updateRef(repo, `refs/pipelines/${pipeline.id}`, resolved.sha);
    this.pipelines.set(pipeline.id, pipeline);
    for (const jobSpec of spec.jobs) {
      this.addJob(pipeline, jobSpec, cacheKeys.get(jobSpec.name) ?? [], 0);
    }
    project.lastActivityAt = t;
    this.process(pipeline);
    return pipeline;
  }

  /**
   * What a commit's pipeline consists of: the parsed `.gitlab-ci.yml`, commit details and resolved
   * `cache:key:files` keys. Cached per commit (commits never change), so repeated pipelines of one
   * commit (the benchmark) cost one `git` call for the ref and one for `refs/pipelines/<id>`.
   */
  private async commitPlan(project: Project, sha: string): Promise<CommitPlan> {
    const key = `${project.id}:${sha}`;
    const cached = this.plans.get(key);
    if (cached) return cached;
    const repo = this.repoDir(project);
    const yamlText = await readBlob(repo, sha, '.gitlab-ci.yml');
    if (yamlText === null) throw apiError(400, { base: ['Missing CI config file'] });
    const parsed = parseCiConfig(yamlText.toString('utf8'));
    if (!parsed.ok) throw apiError(400, { base: parsed.errors });
    const spec = parsed.spec;
    const commit = await commitDetails(repo, sha);
    const cacheKeys = new Map<string, string[]>();
    for (const job of spec.jobs) {
      const keys: string[] = [];
      for (const [index, cache] of job.cache.entries()) {
        if (!cache.key) keys.push('default');
        else if (cache.key.kind === 'string') keys.push(cache.key.value);
        else {
          const ids = [...new Set(await blobIds(repo, sha, cache.key.files))].sort();
          const digest = ids.length > 0 ? sha1Hex(ids.join('-')) : 'default';
          keys.push([cache.key.prefix ?? String(index), digest].filter((x) => x !== '').join('-'));
        }
      }
      cacheKeys.set(job.name, keys);
    }
    const plan = { spec, commit, cacheKeys };
    if (this.plans.size > 1000) this.plans.clear();
    this.plans.set(key, plan);
    return plan;
  }

  private addJob(pipeline: Pipeline, spec: Job['spec'], cacheKeys: string[], retryCount: number): Job {
    const t = now();
    const job: Job = {
      id: this.nextId('job'),
      pipelineId: pipeline.id,
      projectId: pipeline.projectId,
      name: spec.name,
      stage: spec.stage,
      stageIdx: pipeline.stages.indexOf(spec.stage),
      spec,
      cacheKeys,
      status: 'created',
      token: tokens.jobToken(),
      runnerId: null,
      runnerSystemId: null,
      runnerFeatures: {},
      awaitingAckSince: null,
      twoPhase: false,
      createdAt: t,
      queuedAt: null,
      startedAt: null,
      finishedAt: null,
      updatedAt: t,
      failureReason: null,
      exitCode: null,
      allowFailure: spec.allowFailure,
      retried: false,
      retryCount,
      coverage: null,
      cancelingSince: null,
      finalUpdateSince: null,
      finalUpdateAttempts: 0,
      traceChecksumMismatch: false,
      artifacts: [],
      timeoutSeconds: spec.timeoutSeconds ?? 3600,
    };
    this.jobs.set(job.id, job);
    this.jobsByToken.set(job.token, job);
    this.traces.set(job.id, new TraceLog());
    pipeline.jobIds.push(job.id);
    return job;
  }

  /** The pipeline's jobs in creation order (a shared array: do not modify). */
  pipelineJobs(pipeline: Pipeline): readonly Job[] {
    let jobs = this.jobsOfPipeline.get(pipeline.id);
    if (!jobs || jobs.length !== pipeline.jobIds.length) {
      jobs = pipeline.jobIds.map((id) => this.jobs.get(id)).filter((j): j is Job => j !== undefined);
      this.jobsOfPipeline.set(pipeline.id, jobs);
    }
    return jobs;
  }

  /** Runs GitLab's processing: decides waiting jobs, queues them, updates the pipeline status. */
  process(pipeline: Pipeline): void {
    const jobs = this.pipelineJobs(pipeline);
    if (!jobs.some((j) => j.status === 'created' && !j.retried)) {
      this.updatePipelineStatus(pipeline, jobs);
      return;
    }
    const decisions = processPipeline(
      jobs.map((j) => ({
        id: j.id,
        name: j.name,
        stageIdx: j.stageIdx,
        needs: j.spec.needs === null ? null : j.spec.needs.map((n) => n.job),
        when: j.spec.when,
        allowFailure: j.allowFailure,
        status: j.status,
        retried: j.retried,
      })),
    );
    for (const d of decisions) {
      const job = this.jobs.get(d.id);
      if (!job) continue;
      if (d.status === 'pending') this.enqueue(job);
      else this.setStatus(job, d.status);
    }
    this.updatePipelineStatus(pipeline, jobs);
  }

  private updatePipelineStatus(pipeline: Pipeline, jobs: readonly Job[] = this.pipelineJobs(pipeline)): void {
    const status = pipelineStatus(jobs);
    const t = now();
    if (status === 'running' && !pipeline.startedAt) pipeline.startedAt = t;
    const finished = ['success', 'failed', 'canceled', 'skipped'].includes(status);
    pipeline.finishedAt = finished ? (pipeline.finishedAt ?? t) : null;
    if (pipeline.status !== status) {
      pipeline.status = status;
      pipeline.updatedAt = t;
      this.emit('pipeline', pipeline);
    }
    this.changed();
  }

  // ---- the queue ------------------------------------------------------------------------------------

  private enqueue(job: Job): void {
    const t = now();
    job.status = 'pending';
    job.queuedAt = t;
    job.updatedAt = t;
    job.runnerId = null;
    job.runnerSystemId = null;
    job.awaitingAckSince = null;
    const queue = this.pendingQueue;
    let lo = 0;
    let hi = queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((queue[mid] as number) < job.id) lo = mid + 1;
      else hi = mid;
    }
    if (queue[lo] !== job.id) queue.splice(lo, 0, job.id);
    const pipeline = this.pipelines.get(job.pipelineId);
    if (pipeline)
      for (const runner of this.runners.values())
        if (runnerMatchesJob(runner, job, pipeline)) this.tick(runner);
    this.emit('job', job);
  }

  private dequeue(job: Job): void {
    const i = this.pendingQueue.indexOf(job.id);
    if (i !== -1) this.pendingQueue.splice(i, 1);
  }

  pendingCount(): number {
    return this.pendingQueue.length;
  }

  /**
   * GitLab's `RegisterJobService`: walks the queue, drops jobs the runner cannot support, and assigns
   * the first that is still free after the (simulated) database round trip. A job taken by a concurrent
   * request meanwhile is a conflict; if nothing else was found the answer is 409.
   */
  async requestJob(runner: Runner, manager: ManagerInfo): Promise<JobRequestResult> {
    const matching: Job[] = [];
    for (const id of this.pendingQueue) {
      const job = this.jobs.get(id);
      const pipeline = job && this.pipelines.get(job.pipelineId);
      if (job && pipeline && runnerMatchesJob(runner, job, pipeline)) matching.push(job);
    }
    let conflict = false;
    for (const [depth, job] of matching.entries()) {
      if (job.status !== 'pending' || job.runnerId !== null) {
        conflict = true;
        continue;
      }
      if (missingFeatures(job, manager.features).length > 0) {
        this.dequeue(job);
        this.drop(job, 'runner_unsupported');
        continue;
      }
      if (this.hasExpiredDependency(job)) {
        this.dequeue(job);
        this.drop(job, 'missing_dependency_failure');
        continue;
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (job.status !== 'pending' || job.runnerId !== null) {
        conflict = true;
        continue;
      }
      this.assign(job, runner, manager);
      const payload = this.payloadFor(job, runner, { queueSize: matching.length, queueDepth: depth });
      return { kind: 'job', payload, job };
    }
    return conflict ? { kind: 'conflict' } : { kind: 'none' };
  }

  private assign(job: Job, runner: Runner, manager: ManagerInfo): void {
    this.dequeue(job);
    const t = now();
    job.runnerId = runner.id;
    job.runnerSystemId = manager.systemId ?? '<legacy>';
    job.runnerFeatures = { ...manager.features };
    job.updatedAt = t;
    job.timeoutSeconds = Math.min(
      job.spec.timeoutSeconds ?? this.projects.get(job.projectId)?.buildTimeout ?? 3600,
      runner.maximumTimeout ?? Number.POSITIVE_INFINITY,
    );
    job.twoPhase = this.tunables.twoPhaseCommit && manager.features.two_phase_job_commit === true;
    if (job.twoPhase) {
      job.awaitingAckSince = t;
      this.schedule(`ack:${job.id}`, this.tunables.twoPhaseAckTimeoutSeconds, () => {
        if (job.status === 'pending' && job.awaitingAckSince) this.enqueue(job);
      });
      this.emit('job', job);
    } else {
      this.start(job);
    }
    this.changed();
  }

  private start(job: Job): void {
    job.awaitingAckSince = null;
    job.startedAt = now();
    this.clearTimer(`ack:${job.id}`);
    this.setStatus(job, 'running');
    const pipeline = this.pipelines.get(job.pipelineId);
    if (pipeline) this.updatePipelineStatus(pipeline);
  }

  payloadFor(job: Job, runner: Runner, queue = { queueSize: 0, queueDepth: 0 }): JobPayloadInput {
    const pipeline = this.pipelines.get(job.pipelineId) as Pipeline;
    const project = this.projects.get(job.projectId) as Project;
    const namespace = this.namespaces.get(project.namespaceId) as Namespace;
    const root = this.rootNamespace(namespace);
    const projectVariables: RunnerVariable[] = project.variables
      .filter((v) => !v.protected || pipeline.protectedRef)
      .map((v) => ({
        key: v.key,
        value: v.value,
        public: false,
        masked: v.masked,
        ...(v.variableType === 'file' ? { file: true as const } : {}),
        ...(v.raw ? { raw: true as const } : {}),
      }));
    const pipelineVariables: RunnerVariable[] = pipeline.variables.map((v) => ({
      key: v.key,
      value: v.value,
      public: false,
      masked: false,
      ...(v.variableType === 'file' ? { file: true as const } : {}),
    }));
    let running = 0;
    for (const id of this.active) if (this.jobs.get(id)?.projectId === project.id) running += 1;
    return buildJobPayload({
      server: this.server,
      project,
      namespacePath: namespace.fullPath,
      rootNamespacePath: root.fullPath,
      pipeline,
      job,
      runner,
      user: ADMIN_USER,
      dependencies: this.dependenciesOf(job),
      projectVariables,
      pipelineVariables,
      timeInQueueSeconds: job.queuedAt ? Math.floor((Date.now() - Date.parse(job.queuedAt)) / 1000) : null,
      queueSize: queue.queueSize,
      queueDepth: queue.queueDepth,
      namespaceId: namespace.id,
      rootNamespaceId: root.id,
      instanceUuid: this.instanceUuid,
      runningOnInstanceRunners: running,
    });
  }

  /** `dependencies:` if given, else the `needs` with artifacts, else every job of earlier stages. */
  dependenciesOf(job: Job): DependencyInfo[] {
    const pipeline = this.pipelines.get(job.pipelineId);
    if (!pipeline) return [];
    const names =
      job.spec.dependencies ?? job.spec.needs?.filter((n) => n.artifacts).map((n) => n.job) ?? null;
    if (names?.length === 0) return [];
    const latest = new Map<string, Job>();
    for (const id of pipeline.jobIds) {
      const j = this.jobs.get(id);
      if (!j || j.retried) continue;
      if (names ? names.includes(j.name) : j.stageIdx < job.stageIdx) latest.set(j.name, j);
    }
    return (names ?? [...latest.keys()])
      .map((n) => latest.get(n))
      .filter((j): j is Job => j !== undefined)
      .map((j) => {
        const archive = this.archiveOf(j);
        return {
          id: j.id,
          name: j.name,
          archive: archive ? { filename: archive.filename, size: archive.size } : null,
        };
      });
  }

  /** A dependency whose archive existed but has expired: GitLab fails the job instead of sending it. */
  private hasExpiredDependency(job: Job): boolean {
    return this.dependenciesOf(job).some((d) => {
      const dep = this.jobs.get(d.id);
      return d.archive === null && dep?.artifacts.some((a) => a.type === 'archive') === true;
    });
  }

  archiveOf(job: Job): StoredArtifact | undefined {
    const a = job.artifacts.find((x) => x.type === 'archive');
    if (!a) return undefined;
    if (a.expireAt && Date.parse(a.expireAt) <= Date.now()) return undefined;
    return a;
  }

  // ---- job state ------------------------------------------------------------------------------------

  jobByToken(token: string): Job | undefined {
    return this.jobsByToken.get(token);
  }

  /** Running, canceling, or handed out and waiting for the two-phase accept. */
  isProcessingOnRunner(job: Job): boolean {
    return (
      job.status === 'running' ||
      job.status === 'canceling' ||
      (job.status === 'pending' && job.awaitingAckSince !== null)
    );
  }

  private setStatus(job: Job, status: Job['status']): void {
    job.status = status;
    job.updatedAt = now();
    if (status === 'running' || status === 'canceling') this.active.add(job.id);
    else this.active.delete(job.id);
    if (isFinished(status)) {
      job.finishedAt = job.finishedAt ?? job.updatedAt;
      this.clearTimer(`ack:${job.id}`);
      this.clearTimer(`cancel:${job.id}`);
      this.watchedUntil.delete(job.id);
    }
    this.emit('job', job);
    this.changed();
  }

  /** Two-phase accept: the runner PUT `state=running` for a job waiting for it. */
  accept(job: Job): void {
    this.start(job);
  }

  touch(job: Job): void {
    job.updatedAt = now();
  }

  /** A job GitLab fails itself (unsupported runner, trace too large, timeouts). */
  drop(job: Job, reason: string): void {
    this.dequeue(job);
    job.failureReason = reason;
    this.setStatus(job, 'failed');
    const pipeline = this.pipelines.get(job.pipelineId);
    if (pipeline) this.process(pipeline);
  }

  /** The runner's final update. A `canceling` job becomes `canceled` whatever it reports. */
  finish(job: Job, state: 'success' | 'failed', failureReason?: string, exitCode?: number): void {
    job.exitCode = exitCode ?? null;
    if (job.status === 'canceling') {
      this.setStatus(job, 'canceled');
    } else if (state === 'success') {
      job.failureReason = null;
      if (job.spec.coverageRegex)
        job.coverage = extractCoverage(this.traces.get(job.id), job.spec.coverageRegex);
      this.setStatus(job, 'success');
    } else {
      job.failureReason = failureReason ?? 'unknown_failure';
      const codes = job.spec.allowFailureExitCodes;
      job.allowFailure =
        job.spec.allowFailure || (codes !== null && exitCode !== undefined && codes.includes(exitCode));
      this.setStatus(job, 'failed');
      const retry = job.spec.retry;
      const reasonMatches =
        retry && (retry.when.includes('always') || retry.when.includes(job.failureReason));
      const codeMatches = !retry?.exitCodes || (exitCode !== undefined && retry.exitCodes.includes(exitCode));
      if (retry && job.retryCount < retry.max && reasonMatches && codeMatches) {
        this.retry(job);
        return;
      }
    }
    const pipeline = this.pipelines.get(job.pipelineId);
    if (pipeline) this.process(pipeline);
  }

  /** User cancel: graceful (`canceling`) when the runner advertised `cancel_gracefully`. */
  cancel(job: Job): boolean {
    switch (job.status) {
      case 'created':
      case 'pending':
      case 'manual':
        this.dequeue(job);
        this.setStatus(job, 'canceled');
        break;
      case 'running':
        if (job.runnerFeatures.cancel_gracefully) {
          job.cancelingSince = now();
          this.setStatus(job, 'canceling');
          this.schedule(`cancel:${job.id}`, this.tunables.cancelGraceSeconds, () => {
            if (job.status === 'canceling') {
              this.setStatus(job, 'canceled');
              const p = this.pipelines.get(job.pipelineId);
              if (p) this.process(p);
            }
          });
        } else {
          this.setStatus(job, 'canceled');
        }
        break;
      default:
        return false;
    }
    const pipeline = this.pipelines.get(job.pipelineId);
    if (pipeline) this.process(pipeline);
    return true;
  }

  /** Cancels every job of the pipeline that has not finished (waiting ones become `canceled` too). */
  cancelPipeline(pipeline: Pipeline): void {
    for (const job of this.pipelineJobs(pipeline)) {
      if (job.retried) continue;
      if (job.status === 'created' || job.status === 'pending' || job.status === 'manual') {
        this.dequeue(job);
        this.setStatus(job, 'canceled');
      }
    }
    for (const job of this.pipelineJobs(pipeline))
      if (!job.retried && job.status === 'running') this.cancel(job);
    this.process(pipeline);
  }

  retryable(job: Job): boolean {
    return !job.retried && (job.status === 'failed' || job.status === 'canceled' || job.status === 'success');
  }

  /** A new job in the old one's place; jobs skipped because of it wait again. */
  retry(job: Job): Job {
    const pipeline = this.pipelines.get(job.pipelineId) as Pipeline;
    job.retried = true;
    const fresh = this.addJob(pipeline, job.spec, job.cacheKeys, job.retryCount + 1);
    for (const other of this.pipelineJobs(pipeline)) {
      if (other.retried || other.status !== 'skipped' || other.id === fresh.id) continue;
      const dependsOn =
        other.spec.needs === null
          ? other.stageIdx > job.stageIdx
          : other.spec.needs.some((n) => n.job === job.name);
      if (dependsOn) {
        other.status = 'created';
        other.finishedAt = null;
      }
    }
    this.changed();
    this.process(pipeline);
    return fresh;
  }

  play(job: Job): boolean {
    if (job.status !== 'manual') return false;
    this.enqueue(job);
    const pipeline = this.pipelines.get(job.pipelineId);
    if (pipeline) this.process(pipeline);
    return true;
  }

  // ---- traces ---------------------------------------------------------------------------------------

  trace(job: Job): TraceLog {
    let log = this.traces.get(job.id);
    if (!log) {
      log = new TraceLog();
      this.traces.set(job.id, log);
    }
    return log;
  }

  markWatched(job: Job): void {
    this.watchedUntil.set(job.id, Date.now() + this.tunables.watchWindowSeconds * 1000);
  }

  isWatched(job: Job): boolean {
    if (this.tunables.alwaysWatched) return true;
    return (this.watchedUntil.get(job.id) ?? 0) > Date.now();
  }

  traceUpdateInterval(job: Job): number {
    return this.isWatched(job)
      ? this.tunables.watchedTraceUpdateIntervalSeconds
      : this.tunables.traceUpdateIntervalSeconds;
  }

  // ---- artifacts ------------------------------------------------------------------------------------

  artifactsDir(): string {
    return join(this.dataDir, 'artifacts');
  }

  storeArtifact(
    job: Job,
    artifact: Omit<StoredArtifact, 'expireAt'>,
    expireIn: string | undefined,
  ): StoredArtifact {
    let expireAt: string | null = null;
    const parsed = expireIn ? parseExpireIn(expireIn) : undefined;
    if (parsed && 'seconds' in parsed) expireAt = new Date(Date.now() + parsed.seconds * 1000).toISOString();
    const stored: StoredArtifact = { ...artifact, expireAt };
    const old = job.artifacts.findIndex((a) => a.type === artifact.type);
    if (old !== -1) {
      const previous = job.artifacts[old] as StoredArtifact;
      if (previous.file !== stored.file) void rm(previous.file, { force: true });
      job.artifacts.splice(old, 1, stored);
    } else job.artifacts.push(stored);
    this.changed();
    this.emit('job', job);
    return stored;
  }

  // ---- timers and lifecycle -------------------------------------------------------------------------

  private schedule(key: string, seconds: number, fn: () => void): void {
    this.clearTimer(key);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      fn();
    }, seconds * 1000);
    timer.unref();
    this.timers.set(key, timer);
  }

  private clearTimer(key: string): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const runnerId of [...this.waiters.keys()]) this.wake(runnerId);
  }

  serialize(): SerializedState {
    const traces: Record<string, string> = {};
    for (const [id, log] of this.traces) if (log.length > 0) traces[id] = log.bytes().toString('base64');
    return {
      version: 1,
      counters: { ...this.counters },
      instanceUuid: this.instanceUuid,
      registrationToken: this.registrationToken,
      adminTokens: [...this.adminTokens],
      runners: [...this.runners.values()],
      namespaces: [...this.namespaces.values()],
      projects: [...this.projects.values()],
      pipelines: [...this.pipelines.values()],
      jobs: [...this.jobs.values()],
      traces,
    };
  }

  restore(state: SerializedState): void {
    this.counters = { ...state.counters };
    this.instanceUuid = state.instanceUuid;
    this.registrationToken = state.registrationToken;
    for (const t of state.adminTokens) this.adminTokens.add(t);
    for (const r of state.runners) {
      this.runners.set(r.id, r);
      this.runnersByToken.set(r.token, r);
    }
    for (const n of state.namespaces) this.namespaces.set(n.id, n);
    for (const p of state.projects)
      this.projects.set(p.id, { ...p, jobTokenAllowlist: p.jobTokenAllowlist ?? [] });
    for (const p of state.pipelines) this.pipelines.set(p.id, p);
    for (const j of state.jobs) {
      this.jobs.set(j.id, j);
      this.jobsByToken.set(j.token, j);
      this.traces.set(j.id, TraceLog.from(Buffer.from(state.traces[j.id] ?? '', 'base64')));
    }
    const pending = [...this.jobs.values()].filter(
      (j) => j.status === 'pending' && j.awaitingAckSince === null,
    );
    this.pendingQueue = pending.map((j) => j.id).sort((a, b) => a - b);
    for (const job of this.jobs.values()) {
      if (job.status === 'running' || job.status === 'canceling') this.active.add(job.id);
      if (job.status === 'pending' && job.awaitingAckSince) {
        this.schedule(`ack:${job.id}`, this.tunables.twoPhaseAckTimeoutSeconds, () => {
          if (job.status === 'pending' && job.awaitingAckSince) this.enqueue(job);
        });
      }
      if (job.status === 'canceling') {
        this.schedule(`cancel:${job.id}`, this.tunables.cancelGraceSeconds, () => {
          if (job.status === 'canceling') this.setStatus(job, 'canceled');
        });
      }
    }
  }
}

function sha1Hex(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

function extractCoverage(log: TraceLog | undefined, regex: string): number | null {
  if (!log) return null;
  try {
    const re = new RegExp(regex, 'gm');
    let last: string | null = null;
    for (const m of log.bytes().toString('utf8').matchAll(re)) last = m[0];
    const number = last?.match(/\d+(\.\d+)?/);
    return number ? Number(number[0]) : null;
  } catch {
    return null;
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}
