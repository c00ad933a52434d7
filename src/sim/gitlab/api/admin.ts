// Controls of the stand-in itself, under `/-/sim/` (a path GitLab does not use): tunables, faults,
// the "someone is watching this job" switch, and a summary. Admin token required, except health.
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import {
  ApiError,
  notFound,
  type Request,
  type Router,
  readParams,
  sendJson,
  unauthorized,
} from '../http.ts';
import { faultRuleSchema, tunablesPatchSchema, tunablesSchema } from '../options.ts';
import type { SimStore } from '../store.ts';
import { privateToken } from './rest.ts';

function zodMessage(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

export function registerAdminApi(router: Router, store: SimStore): void {
  const admin = (handler: (req: Request, res: ServerResponse) => Promise<void> | void) => {
    return async (req: Request, res: ServerResponse) => {
      const token = privateToken(req);
      if (!token || !store.adminTokens.has(token)) throw unauthorized();
      await handler(req, res);
    };
  };

  router.add('GET', '/-/sim/health', (_req, res) => sendJson(res, 200, { status: 'ok' }));

  router.add(
    'GET',
    '/-/sim/config',
    admin((_req, res) => sendJson(res, 200, store.tunables)),
  );

  router.add(
    'PUT',
    '/-/sim/config',
    admin(async (req, res) => {
      const patch = tunablesPatchSchema.safeParse(await readParams(req));
      if (!patch.success) throw new ApiError(400, { message: zodMessage(patch.error) });
      store.tunables = tunablesSchema.parse({ ...store.tunables, ...patch.data });
      sendJson(res, 200, store.tunables);
    }),
  );

  router.add(
    'PUT',
    '/-/sim/faults',
    admin(async (req, res) => {
      const params = await readParams(req);
      const rules = z.array(faultRuleSchema).safeParse(params.faults);
      if (!rules.success) throw new ApiError(400, { message: zodMessage(rules.error) });
      store.tunables = { ...store.tunables, faults: rules.data };
      sendJson(res, 200, { faults: store.tunables.faults });
    }),
  );

  router.add(
    'POST',
    '/-/sim/jobs/:id/watch',
    admin((req, res) => {
      const job = store.jobs.get(Number(req.params.id));
      if (!job) throw notFound('Job');
      store.markWatched(job);
      sendJson(res, 200, { id: job.id, watched: true });
    }),
  );

  router.add(
    'GET',
    '/-/sim/stats',
    admin((_req, res) => {
      const jobs: Record<string, number> = {};
      for (const job of store.jobs.values()) jobs[job.status] = (jobs[job.status] ?? 0) + 1;
      sendJson(res, 200, {
        runners: store.runners.size,
        projects: store.projects.size,
        pipelines: store.pipelines.size,
        jobs,
        pending_queue: store.pendingCount(),
        held_job_requests: store.heldPolls(),
      });
    }),
  );
}
