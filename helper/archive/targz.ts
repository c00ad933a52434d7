// tar.gz cache archives (CACHE_COMPRESSION_FORMAT=targz): the same entries as the zip archiver,
// extracted through the same SafeWriter checks.
import { createReadStream } from 'node:fs';
import { readlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { HelperError } from '../errors.ts';
import type { MatchedFile } from '../files/match.ts';
import type { Trace } from '../output/trace.ts';
import type { SafeWriter } from './safe-writer.ts';

export function tarGzStream(wd: string, files: MatchedFile[], trace: Trace): Readable {
  const pack = tar.pack();
  (async () => {
    for (const { rel, stats } of files) {
      const full = path.join(wd, rel);
      const base = { name: rel, mode: stats.mode & 0o7777, mtime: stats.mtime };
      if (stats.isDirectory()) {
        if (rel !== '.') pack.entry({ ...base, type: 'directory' });
      } else if (stats.isSymbolicLink()) {
        pack.entry({ ...base, type: 'symlink', linkname: await readlink(full) });
      } else if (stats.isFile()) {
        const entry = pack.entry({ ...base, type: 'file', size: stats.size });
        await pipeline(createReadStream(full), entry);
      } else {
        trace.log('warning', `File ignored: ${rel}`);
      }
    }
    pack.finalize();
  })().catch((e: unknown) => pack.destroy(e instanceof Error ? e : new Error(String(e))));
  return pack.pipe(createGzip());
}

export async function extractTarGz(file: string, writer: SafeWriter, trace: Trace): Promise<void> {
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      switch (h.type) {
        case 'directory':
          await writer.directory(h.name, h.mode ?? 0o755, h.mtime);
          entry.resume();
          break;
        case 'symlink':
          await writer.symlink(h.name, h.linkname ?? '');
          entry.resume();
          break;
        case 'file':
        case 'contiguous-file':
          await writer.file(h.name, h.mode ?? 0o644, Readable.from(entry), h.mtime);
          break;
        default:
          trace.log('warning', `File ignored: ${JSON.stringify(h.name)}`);
          entry.resume();
      }
    }
  })();
  try {
    await Promise.all([pipeline(createReadStream(file), createGunzip(), extract), done]);
    await writer.finish();
  } catch (error) {
    if (error instanceof HelperError) throw error;
    throw new HelperError('ARCHIVE_INVALID', `corrupt tar.gz archive: ${(error as Error).message}`);
  }
}
