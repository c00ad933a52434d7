// The upload_artifacts_on_success / upload_artifacts_on_failure stage: every artifact of the payload
// whose `when` fits the build's outcome is archived (zip, gzip or raw) and streamed to GitLab.
// An upload that fails ends the stage with an error and fails the job, as upstream.

import type { JobArtifact } from '../../src/gitlab/payload.ts';
import { gzipStream, rawStream } from '../archive/gzip-raw.ts';
import { zipStream } from '../archive/zip.ts';
import type { JobContext } from '../context.ts';
import { HelperError } from '../errors.ts';
import { matchFiles } from '../files/match.ts';
import type { HttpClient } from '../http/client.ts';
import { uploadArtifact } from './api.ts';

export function artifactsFor(artifacts: JobArtifact[], success: boolean): JobArtifact[] {
  return artifacts.filter((a) => {
    const when = a.when ?? 'on_success';
    const wanted = success
      ? when === 'on_success' || when === 'always'
      : when === 'on_failure' || when === 'always';
    return wanted && (a.paths.length > 0 || a.untracked || a.exclude.length > 0);
  });
}

/** `filepath.Base` of the name (default `artifacts`; `default` for an unusable name) + the format's extension. */
export function artifactFilename(name: string | null | undefined, format: string): string {
  let base = (name ?? '') === '' ? 'artifacts' : (name!.replace(/\/+$/, '').split('/').pop() ?? '');
  if (base === '' || base === '.') base = 'default';
  if (format === 'zip') return `${base}.zip`;
  if (format === 'gzip') return `${base}.gz`;
  return base;
}

/** Returns how many archives were uploaded; throws on the first failed upload. */
export async function uploadArtifactsStage(
  ctx: JobContext,
  http: HttpClient,
  success: boolean,
): Promise<number> {
  const wanted = artifactsFor(ctx.job.artifacts, success);
  if (wanted.length === 0) return 0;
  let uploaded = 0;
  await ctx.trace.stage(success ? 'upload_artifacts_on_success' : 'upload_artifacts_on_failure', async () => {
    for (const artifact of wanted) {
      if (await uploadOne(ctx, http, artifact)) uploaded++;
    }
  });
  return uploaded;
}

async function uploadOne(ctx: JobContext, http: HttpClient, artifact: JobArtifact): Promise<boolean> {
  const { trace, vars, projectDir } = ctx;
  trace.notice('Uploading artifacts...');
  const files = await matchFiles({
    wd: projectDir,
    paths: artifact.paths.map((p) => vars.expand(p)),
    exclude: artifact.exclude.map((p) => vars.expand(p)),
    untracked: artifact.untracked,
    trace,
  });
  if (files.length === 0) {
    trace.log('error', 'No files to upload');
    return false;
  }
  const format = artifact.artifact_format;
  const filename = artifactFilename(
    artifact.name === null || artifact.name === undefined ? null : vars.expand(artifact.name),
    format,
  );
  const body = () => {
    if (format === 'gzip') return gzipStream(projectDir, files, trace);
    if (format === 'raw') return rawStream(projectDir, files);
    if (format !== 'zip')
      throw new HelperError('ARCHIVE_FAILED', `unsupported artifact format ${JSON.stringify(format)}`);
    return zipStream(projectDir, files, trace);
  };
  try {
    await uploadArtifact(
      http,
      trace,
      {
        serverUrl: ctx.helper.serverUrl,
        jobId: ctx.job.id,
        token: ctx.job.token,
        filename,
        type: artifact.artifact_type,
        format,
        expireIn: artifact.expire_in,
        body,
      },
      { retryMs: ctx.helper.retry.requestMs, meterMs: ctx.build.transferMeterMs, signal: ctx.signal },
    );
  } catch (error) {
    trace.log('fatal', error instanceof Error ? error.message : String(error));
    throw error;
  }
  return true;
}
