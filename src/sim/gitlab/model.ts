// The embedded GitLab's records: runners, projects, pipelines and jobs as it keeps them in memory.
// Plain data (serialisable for `--state`), mutated only by `store.ts`.
import type { CiJob } from './ci/model.ts';
import type { JobStatus, PipelineStatus } from './ci/processing.ts';

export type RunnerType = 'instance_type' | 'group_type' | 'project_type';
export type AccessLevel = 'not_protected' | 'ref_protected';

export interface RunnerManager {
  systemId: string;
  createdAt: string;
  contactedAt: string | null;
  version: string | null;
  revision: string | null;
  platform: string | null;
  architecture: string | null;
  executor: string | null;
  features: Record<string, boolean>;
  ipAddress: string | null;
}

export interface Runner {
  id: number;
  token: string;
  tokenExpiresAt: string | null;
  type: RunnerType;
  projectIds: number[];
  description: string;
  tags: string[];
  runUntagged: boolean;
  locked: boolean;
  paused: boolean;
  accessLevel: AccessLevel;
  maximumTimeout: number | null;
  createdAt: string;
  contactedAt: string | null;
  /** The queue value (`X-GitLab-Last-Update`), changed whenever a job it could take is queued. */
  queueValue: string;
  managers: Record<string, RunnerManager>;
}

export interface Namespace {
  id: number;
  name: string;
  path: string;
  fullPath: string;
  kind: 'user' | 'group';
  parentId: number | null;
}

export interface ProjectVariable {
  key: string;
  value: string;
  variableType: 'env_var' | 'file';
  protected: boolean;
  masked: boolean;
  raw: boolean;
  environmentScope: string;
  description: string | null;
}

export interface Project {
  id: number;
  name: string;
  path: string;
  namespaceId: number;
  pathWithNamespace: string;
  description: string;
  defaultBranch: string;
  visibility: 'private' | 'internal' | 'public';
  createdAt: string;
  lastActivityAt: string;
  /** Legacy project registration token. */
  runnersToken: string;
  buildTimeout: number;
  ciDefaultGitDepth: number;
  variables: ProjectVariable[];
  pipelineIidCounter: number;
  /**
   * The CI/CD job token inbound allowlist: projects whose jobs may use their job token here (clone,
   * artifacts). A job's own project is always allowed; GitLab limits the rest to this list.
   */
  jobTokenAllowlist: number[];
}

export interface CommitInfo {
  sha: string;
  title: string;
  message: string;
  authorName: string;
  authorEmail: string;
  authoredDate: string;
  committedDate: string;
}

export interface PipelineVariable {
  key: string;
  value: string;
  variableType: 'env_var' | 'file';
}

export interface Pipeline {
  id: number;
  iid: number;
  projectId: number;
  ref: string;
  tag: boolean;
  sha: string;
  beforeSha: string;
  source: string;
  status: PipelineStatus;
  protectedRef: boolean;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  commit: CommitInfo;
  variables: PipelineVariable[];
  /** Global `variables:` of the YAML. */
  yamlVariables: Array<{ key: string; value: string; raw: boolean }>;
  stages: string[];
  jobIds: number[];
}

export interface StoredArtifact {
  type: string;
  format: string;
  filename: string;
  size: number;
  /** File on disk under the data directory. */
  file: string;
  expireAt: string | null;
}

export interface Job {
  id: number;
  pipelineId: number;
  projectId: number;
  name: string;
  stage: string;
  stageIdx: number;
  /** The job as the YAML describes it, cache keys already resolved. */
  spec: CiJob;
  /** Resolved cache keys (before the protected suffix), one per `spec.cache` entry. */
  cacheKeys: string[];
  status: JobStatus;
  token: string;
  runnerId: number | null;
  runnerSystemId: string | null;
  /** The runner's features when it took the job. */
  runnerFeatures: Record<string, boolean>;
  /** Two-phase commit: handed to a runner, still `pending` until it PUTs `state=running`. */
  awaitingAckSince: string | null;
  twoPhase: boolean;
  createdAt: string;
  queuedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
  failureReason: string | null;
  exitCode: number | null;
  /** `allow_failure`, or its `exit_codes` matched by the reported exit code. */
  allowFailure: boolean;
  retried: boolean;
  retryCount: number;
  coverage: number | null;
  cancelingSince: string | null;
  /** First final PUT that got 202, for the backoff and the 5-minute give-up. */
  finalUpdateSince: string | null;
  finalUpdateAttempts: number;
  traceChecksumMismatch: boolean;
  artifacts: StoredArtifact[];
  timeoutSeconds: number;
}
