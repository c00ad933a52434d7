// "GitLab" for the helper's integration tests: the embedded GitLab (src/sim/gitlab), with real
// projects, pipelines from a committed `.gitlab-ci.yml`, and a project runner per project whose side
// of the protocol the tests play over HTTP (runner.ts). Everything GitLab decides — the job payload,
// job tokens and when they stop working, dependencies and their archives, cache keys, limits and
// faults — comes from the embedded GitLab itself. (The small fake GitLab these tests started with is
// gone: the embedded one does all it did, see docs/sim-gitlab.md for the faults and the allowlist.)
import { readFileSync } from 'node:fs';
import { type PipelineView, type SimGitlab, startSimGitlab } from '../../../../src/sim/gitlab/server.ts';
import { JobPod, type PodOptions } from './pod.ts';
import { TestProject } from './repos.ts';
import { RunnerSide } from './runner.ts';

/** An artifact GitLab stored for a job, with its bytes. */
export interface StoredUpload {
  type: string;
  format: string;
  filename: string;
  /** When `expire_in` makes it expire; null for never. */
  expireAt: string | null;
  data: Buffer;
}

export interface TargetProject {
  id: number;
  /** `namespace/name`. */
  path: string;
  /** A runner of this project only, so no test takes another test's jobs. */
  runner: RunnerSide;
  runnerToken: string;
  /** Commits files to `main` through GitLab's own API; returns the sha. */
  commit(files: Record<string, string | { content: string; executable?: boolean }>): Promise<string>;
  /** A pipeline for `main` (with pipeline variables). */
  pipeline(variables?: Record<string, string>): Promise<PipelineView>;
  /** Takes the next job (it must be `name`) with the project's runner, and makes its pod. */
  next(name: string, options?: PodOptions): Promise<JobPod>;
}

export interface HelperTarget {
  readonly gitlab: SimGitlab;
  /** `[[runners]] url`. */
  readonly url: string;
  /** A new project with these files on `main` (usually a `.gitlab-ci.yml`). */
  project(
    path: string,
    files: Record<string, string | { content: string; executable?: boolean }>,
  ): Promise<TargetProject>;
  /** A new project with a git working copy that pushes over HTTP (for submodules and symlinks). */
  gitProject(path: string): Promise<{ project: TargetProject; repo: TestProject }>;
  /** The artifacts GitLab stored for a job. */
  artifacts(jobId: number): StoredUpload[];
  stop(): Promise<void>;
}

export async function startTarget(): Promise<HelperTarget> {
  const gitlab = await startSimGitlab({ longPollSeconds: 0 });
  const repos: TestProject[] = [];

  const create = async (fullPath: string): Promise<TargetProject> => {
    const i = fullPath.lastIndexOf('/');
    const view = await gitlab.createProject({ namespace: fullPath.slice(0, i), name: fullPath.slice(i + 1) });
    const runner = gitlab.createRunner({ runnerType: 'project_type', projectId: view.id, runUntagged: true });
    const side = new RunnerSide(gitlab.url, runner.token);
    return {
      id: view.id,
      path: view.pathWithNamespace,
      runner: side,
      runnerToken: runner.token,
      commit: (files) => gitlab.commitFiles(view.id, files),
      pipeline: (variables = {}) =>
        gitlab.createPipeline(
          view.id,
          'main',
          Object.entries(variables).map(([key, value]) => ({ key, value })),
        ),
      next: async (name, options) => new JobPod(await side.next(name), gitlab.url, runner.token, options),
    };
  };

  return {
    gitlab,
    url: gitlab.url,
    project: async (fullPath, files) => {
      const project = await create(fullPath);
      await project.commit(files);
      return project;
    },
    gitProject: async (fullPath) => {
      const project = await create(fullPath);
      const remote = new URL(`${gitlab.url}/${project.path}.git`);
      remote.username = 'root';
      remote.password = gitlab.adminToken;
      const repo = new TestProject(project.path, remote.toString());
      repos.push(repo);
      return { project, repo };
    },
    artifacts: (jobId) =>
      (gitlab.store.jobs.get(jobId)?.artifacts ?? []).map((a) => ({
        type: a.type,
        format: a.format,
        filename: a.filename,
        expireAt: a.expireAt,
        data: readFileSync(a.file),
      })),
    stop: async () => {
      for (const r of repos) r.cleanup();
      await gitlab.close();
    },
  };
}
