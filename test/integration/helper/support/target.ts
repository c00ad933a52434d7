// What the helper's integration tests need from "GitLab". Today it is the small fake in
// fake-gitlab.ts; after the embedded GitLab (src/sim/gitlab) is merged, implement this interface on
// top of it (projects = its hosted repositories, job tokens = tokens of its running jobs, artifact
// inspection = its artifacts store) and every test in this folder runs against it unchanged.
import { FakeGitLab, type FakeGitLabFaults, type StoredArtifact } from './fake-gitlab.ts';
import { TestProject } from './repos.ts';

export interface HelperTarget {
  /** Base URL of GitLab (`[[runners]] url`), also the host of the repositories. */
  readonly url: string;
  /** A hosted repository `path` (e.g. `group/app`) with a working copy to commit from. */
  createProject(path: string): TestProject;
  /** A job token that git and the artifacts API accept for job `jobId`. */
  newJobToken(jobId: number): string;
  /** Artifact uploads received for a job. */
  uploadsFor(jobId: number): StoredArtifact[];
  /** Put raw bytes as a job's downloadable artifacts archive (for hostile/corrupt archives). */
  setArchive(jobId: number, data: Buffer): void;
  gitRequestCount(projectPath: string): number;
  failNextGitRequests(count: number): void;
  setFaults(faults: FakeGitLabFaults): void;
  stop(): Promise<void>;
}

export async function startTarget(): Promise<HelperTarget> {
  const gitlab = await FakeGitLab.start();
  return {
    url: gitlab.url,
    createProject: (p) => new TestProject(gitlab.reposDir, p),
    newJobToken: (id) => gitlab.newJobToken(id),
    uploadsFor: (id) => gitlab.uploads.filter((u) => u.jobId === id),
    setArchive: (id, data) => gitlab.archives.set(id, data),
    gitRequestCount: (p) => gitlab.gitRequests.filter((r) => r.path.startsWith(`/${p}.git`)).length,
    failNextGitRequests: (n) => {
      gitlab.faults.gitFailures = n;
    },
    setFaults: (faults) => {
      gitlab.faults = faults;
    },
    stop: () => gitlab.stop(),
  };
}
