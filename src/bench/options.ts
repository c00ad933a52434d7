// `podrunner bench` options: commander hands over strings, this turns them into typed settings or an
// error naming the option and what it expects.
import { z } from 'zod';
import { MANAGER_NODE_OPTIONS } from '../manager/node-options.ts';
import { parseDuration, parseLevels, parseSize } from './units.ts';

export const DEFAULTS = {
  jobs: '2000',
  concurrency: '10,100,500,1000',
  jobDuration: '5s',
  logBytes: '64KiB',
  apiLatency: '0ms',
  gitlabLatency: '0ms',
  executorPlugin: 'kubernetes',
} as const;

const duration = (flag: string) =>
  z.string().transform((s, ctx) => {
    const ms = parseDuration(s);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `${flag}: expected a duration such as 5s, 250ms or 1m30s, got ${JSON.stringify(s)}`,
      });
      return z.NEVER;
    }
    return ms;
  });

export const benchOptionsSchema = z.object({
  jobs: z.string().transform((s, ctx) => {
    const n = Number(s);
    if (!/^\d+$/.test(s.trim()) || n < 1) {
      ctx.addIssue({
        code: 'custom',
        message: `--jobs: expected a positive whole number, got ${JSON.stringify(s)}`,
      });
      return z.NEVER;
    }
    return n;
  }),
  concurrency: z.string().transform((s, ctx) => {
    const levels = parseLevels(s);
    if (!levels) {
      ctx.addIssue({
        code: 'custom',
        message: `--concurrency: expected positive whole numbers separated by commas (e.g. 10,100,500), got ${JSON.stringify(s)}`,
      });
      return z.NEVER;
    }
    return levels;
  }),
  jobDuration: duration('--job-duration'),
  logBytes: z.string().transform((s, ctx) => {
    const n = parseSize(s);
    if (n === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `--log-bytes: expected a size such as 64KiB, 1MiB or 4096, got ${JSON.stringify(s)}`,
      });
      return z.NEVER;
    }
    return n;
  }),
  apiLatency: duration('--api-latency'),
  gitlabLatency: duration('--gitlab-latency'),
  json: z.string().optional(),
  svg: z.string().optional(),
  kubeconfig: z.string().optional(),
  executorPlugin: z.enum(['kubernetes', 'fake'], {
    error: (i) => `--executor-plugin: expected kubernetes or fake, got ${JSON.stringify(i.input)}`,
  }),
  keep: z.boolean().default(false),
  profile: z.string().optional(),
  /** Node flags for the manager process only (NODE_OPTIONS); by default those of the manager image. */
  managerNodeOptions: z.string().default(MANAGER_NODE_OPTIONS),
});

export type BenchOptions = z.output<typeof benchOptionsSchema>;
export type BenchOptionsInput = z.input<typeof benchOptionsSchema>;

export class BenchUsageError extends Error {
  readonly code = 'BENCH_USAGE';
}

export function parseBenchOptions(input: unknown): BenchOptions {
  const r = benchOptionsSchema.safeParse(input);
  if (r.success) {
    if (r.data.executorPlugin === 'fake' && r.data.kubeconfig)
      throw new BenchUsageError(
        '--kubeconfig needs the Kubernetes executor; leave out --executor-plugin fake',
      );
    return r.data;
  }
  throw new BenchUsageError(r.error.issues.map((i) => i.message).join('; '));
}
