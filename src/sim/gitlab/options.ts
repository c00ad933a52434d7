// The embedded GitLab's knobs: protocol timings other helpers' tests tune, limits, and injected faults.
// Defaults are GitLab's own (Workhorse long polling 50 s, trace interval 60 s / 3 s watched, 100 MB
// limits). A JSON config file (`--config`) and `PUT /-/sim/config` take the same shape.
import { z } from 'zod';

export const faultKindSchema = z.enum(['429', '500', '502', '503', 'drop']);
export type FaultKind = z.infer<typeof faultKindSchema>;

/** Endpoint names, as gitlab-runner's metrics call them where it has one. */
export const faultEndpointSchema = z.enum([
  'request_job',
  'update_job',
  'patch_trace',
  'artifacts_upload',
  'artifacts_download',
  'runners',
  'api',
  'git',
  'any',
]);
export type FaultEndpoint = z.infer<typeof faultEndpointSchema>;

export const faultRuleSchema = z
  .object({
    endpoint: faultEndpointSchema.default('any'),
    kind: faultKindSchema,
    /** Probability per matching request (0..1). */
    rate: z.number().min(0).max(1).optional(),
    /** Or: the next N matching requests, deterministically. */
    times: z.number().int().min(1).optional(),
    /** Or: every Nth matching request (the Nth, the 2Nth, …), deterministically and for good. */
    every: z.number().int().min(1).optional(),
    /**
     * GitLab handles the request first, then its answer is lost: the connection closes before the answer
     * (`drop`), or a proxy in front answers with the status instead (5xx). The runner cannot tell whether
     * its request took effect.
     */
    afterHandling: z.boolean().default(false),
    /** `Retry-After` on 429 answers (seconds). */
    retryAfter: z.number().int().min(0).default(60),
    /**
     * `drop` only: read this many bytes of the request body first, then close the connection without
     * an answer — a proxy or network cut in the middle of an upload. A body that ends sooner is cut at
     * its end. Nothing of the request reaches GitLab.
     */
    afterBytes: z.number().int().min(0).optional(),
  })
  .refine((r) => r.rate !== undefined || r.times !== undefined || r.every !== undefined, {
    message: 'a fault rule needs rate, times or every',
  })
  .refine((r) => r.afterBytes === undefined || r.kind === 'drop', {
    message: 'afterBytes applies to drop faults only',
  });
export type FaultRule = z.infer<typeof faultRuleSchema>;
export type FaultRuleInput = z.input<typeof faultRuleSchema>;

export const tunablesSchema = z.object({
  /** Workhorse long polling of `POST /jobs/request`; 0 answers at once. */
  longPollSeconds: z.number().min(0).default(50),
  /** `X-GitLab-Trace-Update-Interval` on PATCH while nobody watches the job. */
  traceUpdateIntervalSeconds: z.number().int().min(1).default(60),
  /** … and while someone watches it (a `GET …/jobs/:id/trace` in the last `watchWindowSeconds`). */
  watchedTraceUpdateIntervalSeconds: z.number().int().min(1).default(3),
  watchWindowSeconds: z.number().min(0).default(10),
  /** Treat every job as watched (3 s interval). */
  alwaysWatched: z.boolean().default(false),
  /** A final PUT with a checksum is answered 202 until the stored trace matches it (live-trace GitLab). */
  acceptFinalUpdates: z.boolean().default(true),
  /** Answer this many 202s to every final PUT even when the trace is already complete. */
  finalUpdateMinAccepts: z.number().int().min(0).default(0),
  /** After this long in 202, GitLab gives up waiting for the trace and finalises. */
  finalUpdateMaxWaitSeconds: z.number().min(0).default(300),
  /** `canceling` turns into `canceled` after this long without a final update from the runner. */
  cancelGraceSeconds: z.number().min(0).default(60),
  /** Two-phase commit (runner advertises `two_phase_job_commit`). */
  twoPhaseCommit: z.boolean().default(true),
  /** A job handed out but not accepted within this time goes back to the queue. */
  twoPhaseAckTimeoutSeconds: z.number().min(0).default(300),
  artifactMaxBytes: z
    .number()
    .int()
    .min(0)
    .default(100 * 1024 * 1024),
  traceMaxBytes: z
    .number()
    .int()
    .min(0)
    .default(100 * 1024 * 1024),
  /**
   * Artifacts in object storage (`proxy_download: false`): a runner's download with
   * `direct_download=true` gets a 302 to a pre-signed URL on the object store's own origin.
   */
  objectStorage: z.boolean().default(false),
  /** Legacy registration tokens (`POST /runners`); GitLab ≥ 17.0 disables them by default (410). */
  allowRegistrationToken: z.boolean().default(false),
  /** Create a pipeline for every pushed branch or tag, as GitLab does. */
  pipelineOnPush: z.boolean().default(false),
  /** GitLab's migrations backoff: every runner endpoint answers 429 + `Retry-After: 60`. */
  migrationsRunning: z.boolean().default(false),
  faults: z.array(faultRuleSchema).default([]),
  /** Every request waits this long before it is handled: a GitLab far away (`podrunner bench --gitlab-latency`). */
  responseDelayMs: z.number().min(0).default(0),
});
export type Tunables = z.infer<typeof tunablesSchema>;
export type TunablesInput = z.input<typeof tunablesSchema>;

export const tunablesPatchSchema = tunablesSchema.partial();

export function defaultTunables(input: TunablesInput = {}): Tunables {
  return tunablesSchema.parse(input);
}
