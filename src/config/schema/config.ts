// The whole config.toml: global keys, `[session_server]` and the `[[runners]]` list (kubernetes-executor.md §1.1).
import { z } from 'zod';
import { labelsSchema, runnerConfigSchema } from './runner.ts';
import { goDuration, int } from './values.ts';

export const logLevels = ['panic', 'fatal', 'error', 'warn', 'warning', 'info', 'debug', 'trace'] as const;

export const configSchema = z.object({
  /** Jobs running at once across all runners; must be at least 1. */
  concurrent: int.min(1, 'concurrent must be at least 1 (0 would never run a job)').default(1),
  /** Seconds between job requests of one runner entry; 0 or less means 3. */
  check_interval: int.default(3).transform((v) => (v <= 0 ? 3 : v)),
  log_level: z.enum(logLevels).optional(),
  log_format: z.enum(['runner', 'text', 'json']).optional(),
  listen_address: z.string().optional(),
  /** Seconds; 0 or less means 30. */
  shutdown_timeout: int.default(30).transform((v) => (v <= 0 ? 30 : v)),
  /** Milliseconds (a Go duration in the file); default 15m. */
  connection_max_age: goDuration.default(900_000),
  sentry_dsn: z.string().optional(),
  user: z.string().optional(),
  labels: labelsSchema.default({}),
  session_server: z
    .object({
      listen_address: z.string().optional(),
      advertise_address: z.string().optional(),
      session_timeout: int.default(1800),
    })
    .optional(),
  experimental: z.record(z.string(), z.unknown()).optional(),
  machine: z.record(z.string(), z.unknown()).optional(),
  runners: z.array(runnerConfigSchema).default([]),
});

export type PodrunnerConfig = z.output<typeof configSchema>;
