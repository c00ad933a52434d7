// The one-line JSON results podrunner's containers write to their termination log
// (docs/pod-contract.md), read back from the pod status. A container killed before writing leaves
// none; a garbled one is treated the same way.
import { z } from 'zod';

export const helperResultSchema = z.union([
  z.object({ ok: z.literal(true) }),
  z.object({
    ok: z.literal(false),
    stage: z.string().default('get_sources'),
    error: z.string().default('the helper failed'),
    failure_reason: z.string().default('runner_system_failure'),
  }),
]);

export const buildResultSchema = z.object({
  exit_code: z.number().int(),
  timed_out: z.boolean().default(false),
  canceled: z.boolean().default(false),
});

export const uploaderResultSchema = z.union([
  z.object({ ok: z.literal(true), uploaded: z.number().int().default(0) }),
  z.object({ ok: z.literal(false), error: z.string().default('the upload failed') }),
]);

export type HelperResult = z.infer<typeof helperResultSchema>;
export type BuildResult = z.infer<typeof buildResultSchema>;
export type UploaderResult = z.infer<typeof uploaderResultSchema>;

/** Parses the last JSON line of a termination message; undefined when there is none or it is garbled. */
export function parseTermination<T>(schema: z.ZodType<T>, message: string | undefined): T | undefined {
  if (!message) return undefined;
  const lines = message.trim().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]?.trim();
    if (!line?.startsWith('{')) continue;
    try {
      const parsed = schema.safeParse(JSON.parse(line));
      if (parsed.success) return parsed.data;
    } catch {
      // not JSON: keep looking
    }
  }
  return undefined;
}
