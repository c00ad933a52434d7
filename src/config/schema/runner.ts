// One `[[runners]]` entry (kubernetes-executor.md §1.2, gitlab-runner-api.md §1): credentials, capacity,
// job-side settings and the executor sub-tables.
import { z } from 'zod';
import { cacheConfigSchema } from './cache.ts';
import { kubernetesConfigSchema } from './kubernetes.ts';
import { goDuration, int, timestamp } from './values.ts';

const labelKey = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{2,64}$/;
const labelValue = /^[a-zA-Z0-9._-]{1,256}$/;

/** `labels`: sent to GitLab in `info.labels` (at most 32, with upstream's key and value rules). */
export const labelsSchema = z
  .record(
    z.string().regex(labelKey, 'label keys are 3-65 characters of [a-zA-Z0-9._-], not starting with . or -'),
    z.string().regex(labelValue, 'label values are 1-256 characters of [a-zA-Z0-9._-]'),
  )
  .refine((m) => Object.keys(m).length <= 32, { message: 'at most 32 labels' });

/** Sections for other executors: accepted so a shared config.toml loads, never used by podrunner. */
const otherExecutorSection = z.record(z.string(), z.unknown()).optional();

export const runnerConfigSchema = z.object({
  name: z.string().default(''),
  url: z.string().min(1, 'the GitLab URL is required'),
  id: int.optional(),
  token: z.string().min(1, 'the runner authentication token is required'),
  token_obtained_at: timestamp.optional(),
  token_expires_at: timestamp.optional(),
  'tls-ca-file': z.string().optional(),
  'tls-cert-file': z.string().optional(),
  'tls-key-file': z.string().optional(),
  executor: z.string().min(1, 'the executor is required (podrunner runs "kubernetes")'),

  /** Jobs this entry may run at once; 0 means no limit. */
  limit: int.min(0).default(0),
  /** Parallel job requests; 0 or less means 1. */
  request_concurrency: int.default(1).transform((v) => (v <= 0 ? 1 : v)),
  strict_check_interval: z.boolean().default(false),
  /** KB; 0 or less means 4096. */
  output_limit: int.default(4096).transform((v) => (v <= 0 ? 4096 : v)),
  unhealthy_requests_limit: int.default(3).transform((v) => (v <= 0 ? 3 : v)),
  /** Milliseconds (a Go duration in the file); default 60m. */
  unhealthy_interval: goDuration.default(3_600_000).transform((v) => (v <= 0 ? 3_600_000 : v)),
  job_status_final_update_retry_limit: int.default(10).transform((v) => (v <= 0 ? 10 : v)),

  labels: labelsSchema.default({}),
  builds_dir: z.string().default(''),
  cache_dir: z.string().default(''),
  clone_url: z.string().default(''),
  environment: z.array(z.string().regex(/^[^=]+=/, 'environment entries are "NAME=value"')).default([]),
  pre_get_sources_script: z.string().default(''),
  post_get_sources_script: z.string().default(''),
  pre_build_script: z.string().default(''),
  post_build_script: z.string().default(''),
  /** Milliseconds; unset means the job timeout. */
  prepare_timeout: goDuration.optional(),
  get_sources_timeout: goDuration.optional(),
  debug_trace_disabled: z.boolean().default(false),
  safe_directory_checkout: z.boolean().default(true),
  clean_git_config: z.boolean().default(true),
  shell: z.string().default('bash'),
  proxy_exec: z.boolean().optional(),
  custom_build_dir: z.object({ enabled: z.boolean().default(true) }).default({ enabled: true }),
  cache: cacheConfigSchema.optional(),
  artifact: z
    .object({ upload_timeout: goDuration.optional(), response_header_timeout: goDuration.optional() })
    .optional(),
  feature_flags: z
    .record(z.string().regex(/^FF_[A-Z0-9_]+$/, 'feature flags are named FF_…'), z.boolean())
    .default({}),
  kubernetes: kubernetesConfigSchema.optional(),

  // Upstream keys that podrunner parses but never uses (other executors, other platforms).
  referees: otherExecutorSection,
  monitoring: otherExecutorSection,
  experimental: otherExecutorSection,
  use_slot_cgroups: z.boolean().optional(),
  slot_cgroup_template: z.string().optional(),
  step_runner_image: z.string().optional(),
  docker: otherExecutorSection,
  machine: otherExecutorSection,
  custom: otherExecutorSection,
  ssh: otherExecutorSection,
  parallels: otherExecutorSection,
  virtualbox: otherExecutorSection,
  instance: otherExecutorSection,
  autoscaler: otherExecutorSection,
});

export type RunnerConfig = z.output<typeof runnerConfigSchema>;
/** The TOML shape of a runner entry before defaults (what `register` writes). */
export type RunnerConfigInput = z.input<typeof runnerConfigSchema>;

export const environmentEntries = (entries: string[]): [string, string][] =>
  entries.map((e) => {
    const i = e.indexOf('=');
    return [e.slice(0, i), e.slice(i + 1)];
  });
