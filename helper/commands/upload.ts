// `podrunner-helper upload`, the `uploader` container: waits until the build container has ended,
// decides success or failure from build.exit (none = killed = failure), saves the cache and uploads
// the artifacts whose `when` fits. The first SIGTERM (a cancel deletes the pod with a grace period) is
// ignored so on_failure/always artifacts still reach GitLab; a second one stops waiting.
import { artifactsFor, uploadArtifactsStage } from '../artifacts/upload.ts';
import { saveCacheStage } from '../cache/save.ts';
import { createBackend } from '../cache/storage.ts';
import type { UploaderTermination } from '../contract.ts';
import { errorMessage } from '../errors.ts';
import { HttpClient } from '../http/client.ts';
import type { TextSink } from '../output/trace.ts';
import { onSigterm } from '../signals.ts';
import { waitForBuild } from '../status/build-watch.ts';
import { writeTermination } from '../status/termination.ts';
import { type CommandOptions, createContext, readInputs, terminationLogOf } from './inputs.ts';

export async function uploadCommand(
  options: CommandOptions & { pollMs?: number },
  sink: TextSink,
): Promise<number> {
  const abort = new AbortController();
  const sigterm = onSigterm((count) => {
    if (count >= 2) abort.abort();
  });
  if (sigterm.count >= 2) abort.abort();
  try {
    let inputs: Awaited<ReturnType<typeof readInputs>>;
    try {
      inputs = await readInputs(options);
    } catch (error) {
      sink.write(`\x1b[31;1mERROR: ${errorMessage(error)}\x1b[0;m\n`);
      writeTermination(terminationLogOf(options), { ok: false, error: errorMessage(error) });
      return 1;
    }
    const ctx = createContext(inputs, sink, abort.signal);
    const outcome = await waitForBuild(ctx.helper.statusDir, {
      pollMs: options.pollMs,
      signal: abort.signal,
    });
    const http = new HttpClient({
      caPem: ctx.helper.tlsCaPem,
      caFile: ctx.helper.tlsCaFile,
      userAgent: ctx.helper.userAgent,
      vars: ctx.vars,
      headersTimeoutMs: ctx.helper.artifactResponseHeaderTimeoutSeconds * 1000,
      bodyTimeoutMs: ctx.helper.artifactUploadTimeoutSeconds * 1000,
    });
    let result: UploaderTermination;
    try {
      const backend = createBackend(ctx.helper.cache, {
        http,
        trace: ctx.trace,
        retryMs: ctx.helper.retry.requestMs,
        meterMs: ctx.build.transferMeterMs,
        signal: abort.signal,
      });
      await saveCacheStage(ctx, backend, outcome.success);
      const uploaded = artifactsFor(ctx.job.artifacts, outcome.success).length
        ? await uploadArtifactsStage(ctx, http, outcome.success)
        : 0;
      result = { ok: true, uploaded };
    } catch (error) {
      result = { ok: false, error: ctx.trace.mask(errorMessage(error)) };
    } finally {
      await http.close().catch(() => undefined);
    }
    writeTermination(ctx.helper.terminationLog, result);
    return result.ok ? 0 : 1;
  } finally {
    sigterm.off();
  }
}
