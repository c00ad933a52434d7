// The part of GitLab's REST API the demo reads while a pipeline runs: the pipeline, its jobs and their logs,
// with the admin token. Answers are checked at the edge.
import { Agent, request } from 'undici';
import { z } from 'zod';
import type { JobInfo, PipelineApi, PipelineInfo } from './pipeline-follower.ts';

const pipelineSchema = z.object({
  id: z.number().int(),
  status: z.string(),
  created_at: z.string(),
  finished_at: z.string().nullable().optional(),
});

const jobSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  stage: z.string(),
  status: z.string(),
  allow_failure: z.boolean().optional(),
  duration: z.number().nullable().optional(),
  failure_reason: z.string().nullable().optional(),
});

export class GitLabReadError extends Error {
  readonly code = 'gitlab-read-failed';
}

export interface RestPipelineApi extends PipelineApi {
  close(): Promise<void>;
}

export function restPipelineApi(options: {
  url: string;
  token: string;
  projectId: number;
  pipelineId: number;
}): RestPipelineApi {
  const dispatcher = new Agent({ connections: 4 });
  const base = `${options.url.replace(/\/+$/, '')}/api/v4/projects/${options.projectId}`;
  const get = async (path: string) => {
    const res = await request(`${base}${path}`, {
      dispatcher,
      headers: { 'private-token': options.token },
    });
    const body = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode !== 200) {
      throw new GitLabReadError(`GET ${path}: HTTP ${res.statusCode} ${body.toString('utf8').slice(0, 200)}`);
    }
    return body;
  };
  const json = async <T>(path: string, schema: z.ZodType<T>): Promise<T> => {
    const text = (await get(path)).toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new GitLabReadError(`GET ${path}: not JSON: ${text.slice(0, 200)}`);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new GitLabReadError(`GET ${path}: unexpected answer: ${parsed.error.message}`);
    return parsed.data;
  };
  return {
    async pipeline(): Promise<PipelineInfo> {
      const p = await json(`/pipelines/${options.pipelineId}`, pipelineSchema);
      return { id: p.id, status: p.status, createdAt: p.created_at, finishedAt: p.finished_at ?? null };
    },
    async jobs(): Promise<JobInfo[]> {
      const jobs = await json(`/pipelines/${options.pipelineId}/jobs?per_page=100`, z.array(jobSchema));
      return jobs.map((j) => ({
        id: j.id,
        name: j.name,
        stage: j.stage,
        status: j.status,
        allowFailure: j.allow_failure ?? false,
        durationSeconds: j.duration ?? null,
        failureReason: j.failure_reason ?? null,
      }));
    },
    async trace(jobId: number): Promise<Uint8Array> {
      return get(`/jobs/${jobId}/trace`);
    },
    close: () => dispatcher.close(),
  };
}
