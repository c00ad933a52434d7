// The report formats (gitlab-runner-api.md §5.3): `gzip` = one gzip member per file, concatenated,
// each carrying the file's path in its header name (upstream's gziplegacy archiver); `raw` = the one
// matched file as it is.
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { crc32, createDeflateRaw } from 'node:zlib';
import { HelperError } from '../errors.ts';
import type { MatchedFile } from '../files/match.ts';
import type { Trace } from '../output/trace.ts';

function gzipHeader(name: string, mtime: Date): Buffer {
  const fixed = Buffer.alloc(10);
  fixed[0] = 0x1f;
  fixed[1] = 0x8b;
  fixed[2] = 8; // deflate
  fixed[3] = 0x08; // FNAME
  fixed.writeUInt32LE(Math.max(0, Math.floor(mtime.getTime() / 1000)) >>> 0, 4);
  fixed[8] = 0;
  fixed[9] = 255; // unknown OS, as Go's gzip writer
  return Buffer.concat([fixed, Buffer.from(name, 'latin1'), Buffer.from([0])]);
}

async function* gzipMembers(wd: string, files: MatchedFile[]): AsyncGenerator<Buffer> {
  for (const { rel, stats } of files) {
    const deflate = createDeflateRaw();
    let crc = 0;
    let size = 0;
    const source = createReadStream(path.join(wd, rel));
    source.on('data', (chunk) => {
      const b = chunk as Buffer;
      crc = crc32(b, crc);
      size += b.length;
    });
    source.on('error', (e) => deflate.destroy(e));
    source.pipe(deflate);
    yield gzipHeader(rel, stats.mtime);
    for await (const chunk of deflate) yield chunk as Buffer;
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc >>> 0, 0);
    trailer.writeUInt32LE(size >>> 0, 4);
    yield trailer;
  }
}

export function gzipStream(wd: string, files: MatchedFile[], trace: Trace): Readable {
  const regular = files.filter((f) => {
    if (f.stats.isFile()) return true;
    if (!f.stats.isDirectory()) trace.log('warning', `File ignored: ${f.rel}`);
    return false;
  });
  return Readable.from(gzipMembers(wd, regular));
}

export function rawStream(wd: string, files: MatchedFile[]): Readable {
  const regular = files.filter((f) => f.stats.isFile());
  if (regular.length !== 1) {
    throw new HelperError(
      'ARCHIVE_FAILED',
      `the raw artifact format needs exactly one file, ${regular.length} matched (${regular
        .slice(0, 5)
        .map((f) => f.rel)
        .join(', ')})`,
    );
  }
  return createReadStream(path.join(wd, regular[0]!.rel));
}
