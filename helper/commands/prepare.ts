// `podrunner-helper prepare`, the `helper` init container: get sources, restore cache, download
// dependency artifacts, then create the `build.alive` FIFO and report through the termination message.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lchown, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { dependenciesWithArtifacts, downloadArtifactsWithRetries } from '../artifacts/download.ts';
import { restoreCacheWithRetries } from '../cache/restore.ts';
import { createBackend } from '../cache/storage.ts';
import type { JobContext } from '../context.ts';
import type { HelperTermination } from '../contract.ts';
import { errorMessage, failureReasonFor, HelperError } from '../errors.ts';
import { HttpClient } from '../http/client.ts';
import type { TextSink } from '../output/trace.ts';
import { getSourcesWithRetries } from '../sources/get-sources.ts';
import { STATUS_FILES } from '../status/build-watch.ts';
import { writeTermination } from '../status/termination.ts';
import { type CommandOptions, createContext, readInputs, terminationLogOf } from './inputs.ts';

type Stage = Exclude<HelperTermination, { ok: true }>['stage'];

export async function prepareCommand(options: CommandOptions, sink: TextSink): Promise<number> {
  let inputs: Awaited<ReturnType<typeof readInputs>>;
  try {
    inputs = await readInputs(options);
  } catch (error) {
    sink.write(`\x1b[31;1mERROR: ${errorMessage(error)}\x1b[0;m\n`);
    writeTermination(terminationLogOf(options), {
      ok: false,
      stage: 'prepare',
      error: errorMessage(error),
      failure_reason: 'runner_system_failure',
    });
    return 1;
  }
  // Upstream's helper runs with umask 0000 so a build container running as another user can use
  // every file; with a known build user the files are handed over instead.
  if (!inputs.helper.buildOwner) process.umask(0);
  const ctx = createContext(inputs, sink);
  const result = await runPrepare(ctx);
  writeTermination(ctx.helper.terminationLog, result);
  return result.ok ? 0 : 1;
}

export async function runPrepare(ctx: JobContext): Promise<HelperTermination> {
  let stage: Stage = 'get_sources';
  const http = new HttpClient({
    caPem: ctx.helper.tlsCaPem,
    caFile: ctx.helper.tlsCaFile,
    userAgent: ctx.helper.userAgent,
    vars: ctx.vars,
  });
  try {
    await getSourcesWithRetries(ctx);
    stage = 'restore_cache';
    const backend = createBackend(ctx.helper.cache, {
      http,
      trace: ctx.trace,
      retryMs: ctx.helper.retry.requestMs,
      meterMs: ctx.build.transferMeterMs,
      signal: ctx.signal,
    });
    await restoreCacheWithRetries(ctx, backend);
    stage = 'download_artifacts';
    if (dependenciesWithArtifacts(ctx).length > 0) await downloadArtifactsWithRetries(ctx, http);
    stage = 'prepare';
    if (ctx.helper.buildOwner) await handOver(ctx, ctx.helper.buildOwner);
    await makeAliveFifo(ctx.helper.statusDir);
    return { ok: true };
  } catch (error) {
    const message = ctx.trace.mask(errorMessage(error));
    const printed = error instanceof HelperError && /^(ARCHIVE|ARTIFACT)_/.test(error.code);
    if (!printed) ctx.trace.log('error', message);
    return { ok: false, stage, error: message, failure_reason: failureReasonFor(error) };
  } finally {
    await http.close().catch(() => undefined);
  }
}

/** `mkfifo -m 0666 build.alive`: the build container may run as any user. */
export async function makeAliveFifo(statusDir: string): Promise<void> {
  await mkdir(statusDir, { recursive: true });
  const fifo = path.join(statusDir, STATUS_FILES.alive);
  if (existsSync(fifo)) await rm(fifo, { force: true });
  await new Promise<void>((resolve, reject) => {
    const child = spawn('mkfifo', ['-m', '0666', fifo], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', (e) => reject(new HelperError('IO_FAILED', `mkfifo ${fifo}: ${e.message}`)));
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new HelperError('IO_FAILED', `mkfifo ${fifo}: ${err.trim() || `exit code ${code}`}`)),
    );
  });
}

/** Hands the project dir to the build user (upstream: FF_DISABLE_UMASK_FOR_KUBERNETES_EXECUTOR's chown). */
async function handOver(ctx: JobContext, owner: { uid: number; gid: number }): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const walk = async (p: string): Promise<void> => {
    await lchown(p, owner.uid, owner.gid).catch(() => undefined);
    const entries = await readdir(p, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const child = path.join(p, e.name);
      if (e.isDirectory()) await walk(child);
      else await lchown(child, owner.uid, owner.gid).catch(() => undefined);
    }
  };
  if (existsSync(ctx.projectDir)) await walk(ctx.projectDir);
}
