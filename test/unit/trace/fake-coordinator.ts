// A JobCoordinator with GitLab's trace semantics (append at the stored length, 416 otherwise) whose
// answers a test can script one call at a time.
import type {
  JobCoordinator,
  JobUpdate,
  JobUpdateResult,
  RemoteJobStatus,
  TracePatchResult,
} from '../../../src/gitlab/coordinator.ts';

export interface PatchCall {
  offset: number;
  length: number;
  contentRange: string;
  debugTrace: boolean;
  at: number;
}

export interface UpdateCall {
  update: JobUpdate;
  at: number;
}

export class FakeCoordinator implements JobCoordinator {
  trace: Buffer = Buffer.alloc(0);
  patches: PatchCall[] = [];
  updates: UpdateCall[] = [];
  jobStatus: RemoteJobStatus = 'running';
  updateIntervalSeconds: number | undefined = undefined;
  /** Answers used (and removed) before the default behaviour. */
  scriptedPatches: TracePatchResult[] = [];
  scriptedUpdates: JobUpdateResult[] = [];
  private readonly now: () => number;

  constructor(now: () => number = () => 0) {
    this.now = now;
  }

  async patchTrace(
    _jobId: number,
    _jobToken: string,
    offset: number,
    chunk: Uint8Array,
    debugTrace: boolean,
  ): Promise<TracePatchResult> {
    this.patches.push({
      offset,
      length: chunk.length,
      contentRange: `${offset}-${offset + chunk.length - 1}`,
      debugTrace,
      at: this.now(),
    });
    const scripted = this.scriptedPatches.shift();
    if (scripted) return scripted;
    if (this.jobStatus === 'canceled' || this.jobStatus === 'failed') {
      return { kind: 'abort', status: 403, jobStatus: this.jobStatus };
    }
    if (offset !== this.trace.length) return { kind: 'range-mismatch', serverLength: this.trace.length };
    this.trace = Buffer.concat([this.trace, chunk]);
    return {
      kind: 'accepted',
      serverLength: this.trace.length,
      ...(this.updateIntervalSeconds ? { updateIntervalSeconds: this.updateIntervalSeconds } : {}),
      cancelRequested: this.jobStatus === 'canceling',
      jobStatus: this.jobStatus,
    };
  }

  async updateJob(_jobId: number, _jobToken: string, update: JobUpdate): Promise<JobUpdateResult> {
    this.updates.push({ update: structuredClone(update), at: this.now() });
    const scripted = this.scriptedUpdates.shift();
    if (scripted) return scripted;
    if (this.jobStatus === 'canceled' || this.jobStatus === 'failed') {
      return { kind: 'abort', status: 403, jobStatus: this.jobStatus };
    }
    return { kind: 'ok', cancelRequested: this.jobStatus === 'canceling', jobStatus: this.jobStatus };
  }
}
