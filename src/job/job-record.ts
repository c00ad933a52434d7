// What a job pod's Secret carries besides the payload, so that a restarted (or another) manager can
// regenerate the job's trace byte for byte: every fact the manager printed before the first
// container line. Stored under `podrunner.json` in the job Secret (never in the Pod object).
import { z } from 'zod';

export const JOB_RECORD_KEY = 'podrunner.json';

export const jobRecordSchema = z.object({
  version: z.string(),
  revision: z.string(),
  runnerName: z.string(),
  shortToken: z.string(),
  /** The manager that accepted the job (a later manager may finish it). */
  systemId: z.string(),
  hostname: z.string(),
  /** When the accept PUT was answered, in µs since the epoch: the prelude's timestamp. */
  acceptedAtMicros: z.number().int(),
  receivedAtMicros: z.number().int(),
  /** Lines the renderer logged (overwrites applied, warnings), printed in the prelude. */
  renderLog: z.array(z.string()),
  /** The job's output limit in bytes and whether FF_TIMESTAMPS is on: the trace's shape. */
  outputLimitBytes: z.number().int().positive(),
  timestamps: z.boolean(),
  maskAllDefaultTokens: z.boolean(),
  /** Values the trace masks (the Secret already holds them in the script). */
  maskPhrases: z.array(z.string()),
  debugTrace: z.boolean(),
  traceSections: z.boolean(),
  hasUploader: z.boolean(),
  serviceContainers: z.array(z.string()),
  /** The build image as rendered. */
  image: z.string(),
});

export type JobRecord = z.infer<typeof jobRecordSchema>;
