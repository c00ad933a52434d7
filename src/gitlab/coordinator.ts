// What a running job needs from GitLab: state updates and incremental trace (gitlab-runner-api.md §3–4).
// The undici client implements it; the trace sender and the job runner depend only on this interface,
// so tests can put a fake coordinator behind them.

/** The server's job status as carried by the `Job-Status` header. */
export type RemoteJobStatus =
  | 'running'
  | 'canceling'
  | 'canceled'
  | 'failed'
  | 'success'
  | 'pending'
  | string;

export type FinalJobState = 'success' | 'failed';

export interface JobUpdate {
  state: 'running' | FinalJobState;
  failureReason?: string;
  exitCode?: number;
  /** `crc32:%08x` of every byte written to the trace, and their count; omitted on the accept PUT. */
  output?: { checksum: string; bytesize: number };
}

/**
 * The answer to `PUT /jobs/:id`, interpreted in upstream's order (§3.3):
 * - `abort`: 403, 404, or `Job-Status: canceled|failed` — stop now, send nothing more;
 * - `ok`: 200 (`cancelRequested` when `Job-Status: canceling`);
 * - `accepted`: 202 — repeat the same final PUT after `retryAfterSeconds`;
 * - `trace-reset`: 412 — resend the whole trace from offset 0, then retry;
 * - `failed`: transport error or any other status — retry later.
 */
export type JobUpdateResult =
  | { kind: 'ok'; cancelRequested: boolean; jobStatus?: RemoteJobStatus }
  | { kind: 'accepted'; retryAfterSeconds: number }
  | { kind: 'trace-reset' }
  | { kind: 'abort'; status: number; jobStatus?: RemoteJobStatus }
  | { kind: 'failed'; status?: number; error: string };

/**
 * The answer to `PATCH /jobs/:id/trace` (§4.3):
 * - `accepted`: 202 — the server now holds `serverLength` bytes; `updateIntervalSeconds` from
 *   `X-GitLab-Trace-Update-Interval`; `cancelRequested` when `Job-Status: canceling`;
 * - `range-mismatch`: 416 — resume at `serverLength` (from the `Range` header, 0 when missing);
 * - `abort`: 403 or `Job-Status: canceled|failed`;
 * - `not-found`: 404 — do not advance, try again next tick;
 * - `failed`: transport error or any other status.
 */
export type TracePatchResult =
  | {
      kind: 'accepted';
      serverLength: number;
      updateIntervalSeconds?: number;
      cancelRequested: boolean;
      jobStatus?: RemoteJobStatus;
    }
  | { kind: 'range-mismatch'; serverLength: number }
  | { kind: 'abort'; status: number; jobStatus?: RemoteJobStatus }
  | { kind: 'not-found' }
  | { kind: 'failed'; status?: number; error: string };

export interface JobCoordinator {
  updateJob(jobId: number, jobToken: string, update: JobUpdate): Promise<JobUpdateResult>;
  /** `offset` is the byte offset of `chunk` in the trace; `Content-Range: offset-(offset+len-1)`. */
  patchTrace(
    jobId: number,
    jobToken: string,
    offset: number,
    chunk: Uint8Array,
    debugTrace: boolean,
  ): Promise<TracePatchResult>;
}
