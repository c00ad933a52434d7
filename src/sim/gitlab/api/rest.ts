// The public REST API subset a person or a script uses against GitLab, with `PRIVATE-TOKEN` auth.
import type { ServerResponse } from 'node:http';
import { version } from '../../../version.ts';
import {
  apiError,
  boolParam,
  forbidden,
  notFound,
  paramError,
  type Request,
  type Router,
  readParams,
  sendJson,
  sendText,
  unauthorized,
} from '../http.ts';
import type { Job, Pipeline, PipelineVariable, Project, ProjectVariable, RunnerType } from '../model.ts';
import type { SimStore } from '../store.ts';
import { sendArtifact } from './artifacts.ts';
import {
  jobEntity,
  namespaceEntity,
  pipelineEntity,
  projectEntity,
  runnerDetailEntity,
  runnerEntity,
  userEntity,
  variableEntity,
} from './entities.ts';

const RUNNER_TYPES: RunnerType[] = ['instance_type', 'group_type', 'project_type'];
/** GitLab's rule for maskable values. */
const MASKABLE = /^[a-zA-Z0-9_+=/@:.~-]{8,}$/;

export function privateToken(req: Request): string | undefined {
  const header = req.header('private-token');
  if (header) return header;
  const auth = req.header('authorization');
  if (auth?.toLowerCase().startsWith('bearer ')) return auth.slice(7).trim();
  return req.query.get('private_token') ?? undefined;
}

function requireAdmin(store: SimStore, req: Request): void {
  const token = privateToken(req);
  if (!token || !store.adminTokens.has(token)) throw unauthorized();
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function requireString(params: Record<string, unknown>, name: string): string {
  const v = str(params[name]);
  if (v === undefined || v === '') throw paramError(`${name} is missing`);
  return v;
}

function tagList(v: unknown): string[] {
  const list = Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(',') : [];
  return list.map((t) => t.trim()).filter((t) => t !== '');
}

function findProject(store: SimStore, req: Request): Project {
  const project = store.findProject(req.params.id ?? '');
  if (!project) throw notFound('Project');
  return project;
}

function findPipeline(store: SimStore, project: Project, id: string | undefined): Pipeline {
  const pipeline = /^\d+$/.test(id ?? '') ? store.pipelines.get(Number(id)) : undefined;
  if (!pipeline || pipeline.projectId !== project.id) throw notFound();
  return pipeline;
}

function findJob(store: SimStore, project: Project, id: string | undefined): Job {
  const job = /^\d+$/.test(id ?? '') ? store.jobs.get(Number(id)) : undefined;
  if (!job || job.projectId !== project.id) throw notFound();
  return job;
}

/** `variables[]` of a pipeline request: `[{key, value, variable_type}]` (JSON or Rack form). */
function pipelineVariables(v: unknown): PipelineVariable[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw paramError('variables is invalid');
  return v.map((item) => {
    if (typeof item !== 'object' || item === null) throw paramError('variables is invalid');
    const { key, value, variable_type: type } = item as Record<string, unknown>;
    if (typeof key !== 'string' || key === '') throw paramError('variables[key] is missing');
    if (type !== undefined && type !== 'env_var' && type !== 'file') {
      throw paramError('variables[variable_type] does not have a valid value');
    }
    return {
      key,
      value: str(value) ?? '',
      variableType: (type ?? 'env_var') as PipelineVariable['variableType'],
    };
  });
}

function statusFilter(req: Request): ((s: string) => boolean) | undefined {
  const scope = req.query.getAll('scope[]').concat(req.query.getAll('scope'));
  const status = req.query.get('status');
  const wanted = status ? [status] : scope;
  return wanted.length > 0 ? (s) => wanted.includes(s) : undefined;
}

function paginate<T>(req: Request, res: ServerResponse, items: T[]): T[] {
  const perPage = Math.min(Math.max(Number(req.query.get('per_page') ?? 20) || 20, 1), 100);
  const page = Math.max(Number(req.query.get('page') ?? 1) || 1, 1);
  res.setHeader('X-Total', String(items.length));
  res.setHeader('X-Page', String(page));
  res.setHeader('X-Per-Page', String(perPage));
  res.setHeader('X-Total-Pages', String(Math.max(1, Math.ceil(items.length / perPage))));
  return items.slice((page - 1) * perPage, page * perPage);
}

export function registerRestApi(router: Router, store: SimStore): void {
  const admin = (handler: (req: Request, res: ServerResponse) => Promise<void> | void) => {
    return async (req: Request, res: ServerResponse) => {
      requireAdmin(store, req);
      await handler(req, res);
    };
  };

  router.add(
    'GET',
    '/api/v4/version',
    admin((_req, res) => {
      sendJson(res, 200, {
        version: store.server.version,
        revision: store.server.revision,
        kas: { enabled: false },
        enterprise: false,
        podrunner_sim: version,
      });
    }),
  );

  router.add(
    'GET',
    '/api/v4/user',
    admin((_req, res) => {
      sendJson(res, 200, { ...userEntity(store.server.baseUrl), email: 'admin@example.com', is_admin: true });
    }),
  );

  // ---- runners ----
  router.add(
    'POST',
    '/api/v4/user/runners',
    admin(async (req, res) => {
      const params = await readParams(req);
      const type = str(params.runner_type);
      if (type === undefined)
        throw paramError('runner_type is missing, runner_type does not have a valid value');
      if (!RUNNER_TYPES.includes(type as RunnerType))
        throw paramError('runner_type does not have a valid value');
      let projectId: number | undefined;
      if (type === 'project_type') {
        const project = store.findProject(str(params.project_id) ?? '');
        if (!project) throw apiError(400, 'Validation failed: Runner must have at least one project');
        projectId = project.id;
      }
      if (type === 'group_type')
        throw apiError(400, 'group runners are not supported by the embedded GitLab');
      const tags = tagList(params.tag_list);
      const runner = store.createRunner({
        runnerType: type as RunnerType,
        ...(projectId !== undefined ? { projectId } : {}),
        description: str(params.description) ?? '',
        tags,
        runUntagged: boolParam(params.run_untagged) ?? tags.length === 0,
        locked: boolParam(params.locked) ?? false,
        paused: boolParam(params.paused) ?? false,
        accessLevel: params.access_level === 'ref_protected' ? 'ref_protected' : 'not_protected',
        maximumTimeout: params.maximum_timeout === undefined ? null : Number(params.maximum_timeout),
      });
      sendJson(res, 201, { id: runner.id, token: runner.token, token_expires_at: runner.tokenExpiresAt });
    }),
  );

  const listRunners = admin((req, res) => {
    sendJson(res, 200, paginate(req, res, [...store.runners.values()].map(runnerEntity)));
  });
  router.add('GET', '/api/v4/runners/all', listRunners);
  router.add('GET', '/api/v4/runners', listRunners);
  const runnerById = (req: Request) => {
    const runner = /^\d+$/.test(req.params.id ?? '') ? store.runners.get(Number(req.params.id)) : undefined;
    if (!runner) throw notFound('Runner');
    return runner;
  };
  router.add(
    'GET',
    '/api/v4/runners/:id',
    admin((req, res) => sendJson(res, 200, runnerDetailEntity(runnerById(req)))),
  );
  router.add(
    'PUT',
    '/api/v4/runners/:id',
    admin(async (req, res) => {
      const runner = runnerById(req);
      const params = await readParams(req);
      const paused =
        boolParam(params.paused) ??
        (boolParam(params.active) === undefined ? undefined : !boolParam(params.active));
      store.updateRunner(runner, {
        ...(paused !== undefined ? { paused } : {}),
        ...(params.tag_list !== undefined ? { tags: tagList(params.tag_list) } : {}),
        ...(boolParam(params.run_untagged) !== undefined
          ? { runUntagged: boolParam(params.run_untagged) }
          : {}),
        ...(str(params.description) !== undefined ? { description: str(params.description) } : {}),
      });
      sendJson(res, 200, runnerDetailEntity(runner));
    }),
  );
  router.add(
    'DELETE',
    '/api/v4/runners/:id',
    admin((req, res) => {
      store.deleteRunner(runnerById(req));
      res.writeHead(204).end();
    }),
  );
  router.add(
    'POST',
    '/api/v4/runners/:id/reset_authentication_token',
    admin((req, res) => {
      const runner = store.resetRunnerToken(runnerById(req));
      sendJson(res, 201, { token: runner.token, token_expires_at: runner.tokenExpiresAt });
    }),
  );

  // ---- groups and projects ----
  router.add(
    'POST',
    '/api/v4/groups',
    admin(async (req, res) => {
      const params = await readParams(req);
      const name = requireString(params, 'name');
      const path = requireString(params, 'path');
      const parent =
        params.parent_id === undefined ? undefined : store.namespaces.get(Number(params.parent_id));
      if (params.parent_id !== undefined && !parent) throw notFound('Parent group');
      const fullPath = parent ? `${parent.fullPath}/${path}` : path;
      if ([...store.namespaces.values()].some((n) => n.fullPath === fullPath)) {
        throw apiError(400, 'Failed to save group {:path=>["has already been taken"]}');
      }
      const ns = store.ensureNamespace(fullPath);
      ns.name = name;
      sendJson(res, 201, namespaceEntity(ns, store.server.baseUrl));
    }),
  );

  router.add(
    'POST',
    '/api/v4/projects',
    admin(async (req, res) => {
      const params = await readParams(req);
      const name = str(params.name);
      const path = str(params.path);
      if (!name && !path) throw paramError('name, path are missing, at least one parameter must be provided');
      let namespace: ReturnType<typeof store.ensureNamespace> | undefined;
      const nsParam = str(params.namespace_id) ?? str(params.namespace_path);
      if (nsParam !== undefined) {
        namespace = /^\d+$/.test(nsParam)
          ? store.namespaces.get(Number(nsParam))
          : [...store.namespaces.values()].find((n) => n.fullPath === nsParam);
        if (!namespace) throw notFound('Namespace');
      }
      const visibility = str(params.visibility);
      const project = await store.createProject({
        name: name ?? (path as string),
        ...(path ? { path } : {}),
        ...(namespace ? { namespace } : {}),
        ...(str(params.description) ? { description: str(params.description) } : {}),
        ...(str(params.default_branch) ? { defaultBranch: str(params.default_branch) } : {}),
        ...(visibility === 'public' || visibility === 'internal' || visibility === 'private'
          ? { visibility }
          : {}),
      });
      if (boolParam(params.initialize_with_readme)) {
        const { commitFiles } = await import('../git/repository.ts');
        await commitFiles(
          store.repoDir(project),
          { 'README.md': `# ${project.name}\n` },
          {
            branch: project.defaultBranch,
            message: 'Initial commit',
            authorName: 'Administrator',
            authorEmail: 'admin@example.com',
          },
        );
      }
      sendJson(res, 201, projectEntity(store, project));
    }),
  );

  router.add(
    'GET',
    '/api/v4/projects',
    admin((req, res) => {
      const items = [...store.projects.values()].map((p) => projectEntity(store, p));
      sendJson(res, 200, paginate(req, res, items));
    }),
  );
  router.add(
    'GET',
    '/api/v4/projects/:id',
    admin((req, res) => sendJson(res, 200, projectEntity(store, findProject(store, req)))),
  );

  // ---- CI/CD job token inbound allowlist ----
  const allowlistTarget = (value: unknown) => {
    const id = str(value);
    if (id === undefined || id === '') throw paramError('target_project_id is missing');
    if (!/^\d+$/.test(id)) throw paramError('target_project_id is invalid');
    const target = store.projects.get(Number(id));
    if (!target) throw notFound('Project');
    return target;
  };
  router.add(
    'GET',
    '/api/v4/projects/:id/job_token_scope/allowlist',
    admin((req, res) => {
      const project = findProject(store, req);
      const items = project.jobTokenAllowlist
        .map((id) => store.projects.get(id))
        .filter((p): p is Project => p !== undefined)
        .map((p) => projectEntity(store, p));
      sendJson(res, 200, paginate(req, res, items));
    }),
  );
  router.add(
    'POST',
    '/api/v4/projects/:id/job_token_scope/allowlist',
    admin(async (req, res) => {
      const project = findProject(store, req);
      const target = allowlistTarget((await readParams(req)).target_project_id);
      if (!store.allowJobToken(project, target)) {
        throw apiError(400, 'Target project is already in the job token scope');
      }
      sendJson(res, 201, { source_project_id: project.id, target_project_id: target.id });
    }),
  );
  router.add(
    'DELETE',
    '/api/v4/projects/:id/job_token_scope/allowlist/:target_project_id',
    admin((req, res) => {
      const project = findProject(store, req);
      const target = allowlistTarget(req.params.target_project_id);
      if (!store.removeJobToken(project, target)) throw notFound();
      res.writeHead(204).end();
    }),
  );

  // ---- CI/CD variables ----
  router.add(
    'GET',
    '/api/v4/projects/:id/variables',
    admin((req, res) => {
      sendJson(res, 200, findProject(store, req).variables.map(variableEntity));
    }),
  );
  router.add(
    'POST',
    '/api/v4/projects/:id/variables',
    admin(async (req, res) => {
      const project = findProject(store, req);
      const params = await readParams(req);
      const key = requireString(params, 'key');
      const value = str(params.value);
      if (value === undefined) throw paramError('value is missing');
      if (!/^[a-zA-Z0-9_]+$/.test(key) || key.length > 255) {
        throw apiError(400, { key: ["can contain only letters, digits and '_'."] });
      }
      const type = str(params.variable_type) ?? 'env_var';
      if (type !== 'env_var' && type !== 'file')
        throw paramError('variable_type does not have a valid value');
      const masked = boolParam(params.masked) ?? false;
      if (masked && !MASKABLE.test(value)) throw apiError(400, { value: ['is invalid'] });
      const variable: ProjectVariable = {
        key,
        value,
        variableType: type,
        protected: boolParam(params.protected) ?? false,
        masked,
        raw: boolParam(params.raw) ?? false,
        environmentScope: str(params.environment_scope) ?? '*',
        description: str(params.description) ?? null,
      };
      sendJson(res, 201, variableEntity(store.setVariable(project, variable)));
    }),
  );
  const findVariable = (project: Project, req: Request) => {
    const v = project.variables.find((x) => x.key === req.params.key);
    if (!v) throw notFound('Variable');
    return v;
  };
  router.add(
    'GET',
    '/api/v4/projects/:id/variables/:key',
    admin((req, res) => {
      sendJson(res, 200, variableEntity(findVariable(findProject(store, req), req)));
    }),
  );
  router.add(
    'PUT',
    '/api/v4/projects/:id/variables/:key',
    admin(async (req, res) => {
      const v = findVariable(findProject(store, req), req);
      const params = await readParams(req);
      const value = str(params.value) ?? v.value;
      const masked = boolParam(params.masked) ?? v.masked;
      if (masked && !MASKABLE.test(value)) throw apiError(400, { value: ['is invalid'] });
      Object.assign(v, {
        value,
        masked,
        protected: boolParam(params.protected) ?? v.protected,
        raw: boolParam(params.raw) ?? v.raw,
        variableType:
          params.variable_type === 'file' || params.variable_type === 'env_var'
            ? params.variable_type
            : v.variableType,
      });
      sendJson(res, 200, variableEntity(v));
    }),
  );
  router.add(
    'DELETE',
    '/api/v4/projects/:id/variables/:key',
    admin((req, res) => {
      const project = findProject(store, req);
      const v = findVariable(project, req);
      project.variables.splice(project.variables.indexOf(v), 1);
      res.writeHead(204).end();
    }),
  );

  // ---- pipelines ----
  router.add(
    'POST',
    '/api/v4/projects/:id/pipeline',
    admin(async (req, res) => {
      const project = findProject(store, req);
      const params = await readParams(req);
      const ref = requireString(params, 'ref');
      const variables = pipelineVariables(params.variables);
      const pipeline = await store.createPipeline(project, ref, { variables, source: 'api' });
      sendJson(res, 201, pipelineEntity(store, pipeline));
    }),
  );
  router.add(
    'GET',
    '/api/v4/projects/:id/pipelines',
    admin((req, res) => {
      const project = findProject(store, req);
      const filter = statusFilter(req);
      const ref = req.query.get('ref');
      const items = [...store.pipelines.values()]
        .filter((p) => p.projectId === project.id && (!filter || filter(p.status)) && (!ref || p.ref === ref))
        .sort((a, b) => b.id - a.id);
      sendJson(
        res,
        200,
        paginate(req, res, items).map((p) => pipelineEntity(store, p)),
      );
    }),
  );
  router.add(
    'GET',
    '/api/v4/projects/:id/pipelines/:pipeline_id',
    admin((req, res) => {
      const project = findProject(store, req);
      sendJson(res, 200, pipelineEntity(store, findPipeline(store, project, req.params.pipeline_id)));
    }),
  );
  router.add(
    'GET',
    '/api/v4/projects/:id/pipelines/:pipeline_id/jobs',
    admin((req, res) => {
      const project = findProject(store, req);
      const pipeline = findPipeline(store, project, req.params.pipeline_id);
      const filter = statusFilter(req);
      const includeRetried = boolParam(req.query.get('include_retried')) ?? false;
      const jobs = store
        .pipelineJobs(pipeline)
        .filter((j) => (includeRetried || !j.retried) && (!filter || filter(j.status)))
        .sort((a, b) => b.id - a.id);
      sendJson(
        res,
        200,
        paginate(req, res, jobs).map((j) => jobEntity(store, j)),
      );
    }),
  );
  router.add(
    'POST',
    '/api/v4/projects/:id/pipelines/:pipeline_id/cancel',
    admin((req, res) => {
      const project = findProject(store, req);
      const pipeline = findPipeline(store, project, req.params.pipeline_id);
      store.cancelPipeline(pipeline);
      sendJson(res, 200, pipelineEntity(store, pipeline));
    }),
  );

  // ---- jobs ----
  router.add(
    'GET',
    '/api/v4/projects/:id/jobs',
    admin((req, res) => {
      const project = findProject(store, req);
      const filter = statusFilter(req);
      const jobs = [...store.jobs.values()]
        .filter((j) => j.projectId === project.id && (!filter || filter(j.status)))
        .sort((a, b) => b.id - a.id);
      sendJson(
        res,
        200,
        paginate(req, res, jobs).map((j) => jobEntity(store, j)),
      );
    }),
  );
  router.add(
    'GET',
    '/api/v4/projects/:id/jobs/:job_id',
    admin((req, res) => {
      const project = findProject(store, req);
      sendJson(res, 200, jobEntity(store, findJob(store, project, req.params.job_id)));
    }),
  );
  router.add(
    'GET',
    '/api/v4/projects/:id/jobs/:job_id/trace',
    admin((req, res) => {
      const project = findProject(store, req);
      const job = findJob(store, project, req.params.job_id);
      store.markWatched(job);
      sendText(res, 200, store.trace(job).bytes());
    }),
  );
  router.add(
    'GET',
    '/api/v4/projects/:id/jobs/:job_id/artifacts',
    admin(async (req, res) => {
      const project = findProject(store, req);
      await sendArtifact(store, findJob(store, project, req.params.job_id), 'archive', res);
    }),
  );
  router.add(
    'POST',
    '/api/v4/projects/:id/jobs/:job_id/cancel',
    admin((req, res) => {
      const project = findProject(store, req);
      const job = findJob(store, project, req.params.job_id);
      store.cancel(job);
      sendJson(res, 201, jobEntity(store, job));
    }),
  );
  router.add(
    'POST',
    '/api/v4/projects/:id/jobs/:job_id/retry',
    admin((req, res) => {
      const project = findProject(store, req);
      const job = findJob(store, project, req.params.job_id);
      if (!store.retryable(job)) throw forbidden('Job is not retryable');
      sendJson(res, 201, jobEntity(store, store.retry(job)));
    }),
  );
  router.add(
    'POST',
    '/api/v4/projects/:id/jobs/:job_id/play',
    admin((req, res) => {
      const project = findProject(store, req);
      const job = findJob(store, project, req.params.job_id);
      if (!store.play(job)) throw apiError(400, 'Unplayable Job');
      sendJson(res, 200, jobEntity(store, job));
    }),
  );
}
