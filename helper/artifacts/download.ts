// The download_artifacts stage: every dependency that has an archive is downloaded and verified
// first, and only then extracted into the project dir — a corrupt or hostile archive leaves the
// project dir untouched and fails the job before its script runs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SafeWriter } from '../archive/safe-writer.ts';
import { extractZip, verifyZip } from '../archive/zip.ts';
import { type JobContext, withStageAttempts } from '../context.ts';
import { HelperError } from '../errors.ts';
import type { HttpClient } from '../http/client.ts';
import { downloadArtifacts } from './api.ts';

export function dependenciesWithArtifacts(ctx: JobContext) {
  return ctx.job.dependencies.filter((d) => (d.artifacts_file?.filename ?? '') !== '');
}

export async function downloadArtifactsWithRetries(ctx: JobContext, http: HttpClient): Promise<void> {
  await withStageAttempts(ctx, ctx.build.artifactDownloadAttempts, () =>
    ctx.trace.stage('download_artifacts', () => downloadAll(ctx, http)),
  );
}

async function downloadAll(ctx: JobContext, http: HttpClient): Promise<void> {
  const { trace } = ctx;
  const deps = dependenciesWithArtifacts(ctx);
  const staging = await mkdtemp(path.join(tmpdir(), 'podrunner-artifacts-'));
  try {
    const files: { name: string; id: number; file: string }[] = [];
    for (const dep of deps) {
      trace.notice(`Downloading artifacts for ${dep.name} (${dep.id})...`);
      const file = path.join(staging, `${dep.id}.zip`);
      await downloadArtifacts(
        http,
        trace,
        {
          serverUrl: ctx.helper.serverUrl,
          jobId: dep.id,
          token: dep.token,
          directDownload: ctx.build.featureFlags.FF_USE_DIRECT_DOWNLOAD,
          target: file,
        },
        { retryMs: ctx.helper.retry.requestMs, meterMs: ctx.build.transferMeterMs, signal: ctx.signal },
      );
      try {
        await verifyZip(file);
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        trace.log('fatal', why);
        throw new HelperError(
          'ARCHIVE_INVALID',
          `the artifacts of ${dep.name} (${dep.id}) cannot be used: ${why}`,
        );
      }
      files.push({ name: dep.name, id: dep.id, file });
    }
    for (const { name, id, file } of files) {
      const writer = new SafeWriter(ctx.projectDir, { owner: ctx.helper.buildOwner });
      try {
        await extractZip(file, writer, trace);
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        trace.log('fatal', why);
        throw new HelperError(
          'ARCHIVE_INVALID',
          `extracting the artifacts of ${name} (${id}) failed: ${why}`,
        );
      }
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
