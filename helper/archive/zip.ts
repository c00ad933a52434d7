// ZIP archives as upstream's archiver writes them (helpers/archives/zip_create.go): paths relative to
// the project dir, Unix mode and file type in the external attributes, symlinks stored as their
// target text, directories as `name/` entries, file data deflated, modification times kept.
// Reading validates the whole archive (names, types, sizes, CRC-32) before anything is extracted.
import { createReadStream } from 'node:fs';
import { readlink } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { HelperError } from '../errors.ts';
import type { MatchedFile } from '../files/match.ts';
import type { Trace } from '../output/trace.ts';
import { checkEntryName, type SafeWriter } from './safe-writer.ts';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;

function gitWarning(trace: Trace, files: MatchedFile[], operation: string): void {
  if (files.some((f) => f.rel === '.git' || f.rel.startsWith('.git/'))) {
    trace.log('warning', `Part of .git directory is on the list of files to ${operation}`);
    trace.log('warning', 'This may introduce unexpected problems');
  }
}

/** A readable ZIP of `files` (relative to `wd`); produced as it is read, so it can be streamed. */
export function zipStream(wd: string, files: MatchedFile[], trace: Trace): Readable {
  gitWarning(trace, files, 'archive');
  const zip = new yazl.ZipFile();
  const out = new PassThrough();
  zip.outputStream.on('error', (e) => out.destroy(e));
  zip.outputStream.pipe(out);
  zip.on('error', (e: Error) => out.destroy(e));
  (async () => {
    for (const { rel, stats } of files) {
      const full = path.join(wd, rel);
      const options = { mtime: stats.mtime, mode: stats.mode & 0xffff };
      if (stats.isDirectory()) {
        if (rel !== '.') zip.addEmptyDirectory(rel, options);
      } else if (stats.isSymbolicLink()) {
        zip.addBuffer(Buffer.from(await readlink(full)), rel, { ...options, compress: false });
      } else if (stats.isFile()) {
        zip.addReadStreamLazy(rel, { ...options, size: stats.size, compress: true }, (cb) => {
          const stream = createReadStream(full);
          stream.once('error', (e) => out.destroy(e));
          cb(null, stream);
        });
      } else {
        trace.log('warning', `File ignored: ${rel}`);
      }
    }
    zip.end();
  })().catch((e: unknown) => out.destroy(e instanceof Error ? e : new Error(String(e))));
  return out;
}

interface ZipEntryInfo {
  name: string;
  kind: 'file' | 'directory' | 'symlink' | 'other';
  mode: number;
  mtime: Date;
  size: number;
}

function entryInfo(entry: yauzl.Entry): ZipEntryInfo {
  const unixMode = (entry.externalFileAttributes >>> 16) & 0xffff;
  const madeByUnix = entry.versionMadeBy >> 8 === 3;
  const isDirName = entry.fileName.endsWith('/');
  let kind: ZipEntryInfo['kind'];
  let mode = unixMode & 0o7777;
  if (madeByUnix && unixMode !== 0) {
    const type = unixMode & S_IFMT;
    kind =
      type === S_IFDIR
        ? 'directory'
        : type === S_IFLNK
          ? 'symlink'
          : type === S_IFREG || type === 0
            ? isDirName
              ? 'directory'
              : 'file'
            : 'other';
  } else {
    kind = isDirName ? 'directory' : 'file';
    mode = isDirName ? 0o755 : 0o644;
  }
  return { name: entry.fileName, kind, mode, mtime: entry.getLastModDate(), size: entry.uncompressedSize };
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true }, (err, zip) =>
      err || !zip ? reject(corrupt(err)) : resolve(zip),
    );
  });
}

function corrupt(err: unknown): HelperError {
  if (err instanceof HelperError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const escaping = /^(invalid relative path|absolute path|invalid characters in fileName): (.*)$/.exec(
    message,
  );
  if (escaping) {
    const why = escaping[1] === 'absolute path' ? 'is an absolute path' : 'escapes the target directory';
    return new HelperError('ARCHIVE_INVALID', `archive entry ${JSON.stringify(escaping[2])} ${why}`);
  }
  return new HelperError('ARCHIVE_INVALID', `corrupt zip archive: ${message}`);
}

/** Iterates the entries; `onEntry` may read the entry's data through `open`. */
async function eachEntry(
  zip: yauzl.ZipFile,
  onEntry: (entry: yauzl.Entry, open: () => Promise<Readable>) => Promise<void>,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      reject(corrupt(e));
    };
    zip.on('error', fail);
    zip.on('end', () => resolve());
    zip.on('entry', (entry: yauzl.Entry) => {
      const open = () =>
        new Promise<Readable>((res, rej) =>
          zip.openReadStream(entry, (err, stream) => (err || !stream ? rej(corrupt(err)) : res(stream))),
        );
      onEntry(entry, open).then(
        () => zip.readEntry(),
        (e: unknown) => fail(e),
      );
    });
    zip.readEntry();
  });
}

/** Checks the CRC-32 of the data passing through. */
function crcCheck(entry: yauzl.Entry): Transform {
  let crc = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      crc = crc32(chunk, crc);
      cb(null, chunk);
    },
    flush(cb) {
      if (crc >>> 0 !== entry.crc32 >>> 0) cb(corrupt(new Error(`CRC-32 mismatch in ${entry.fileName}`)));
      else cb();
    },
  });
}

async function drain(stream: Readable): Promise<void> {
  for await (const _ of stream) {
    // reading is the check
  }
}

export interface ZipSummary {
  entries: number;
  files: number;
  bytes: number;
}

/** Reads the whole archive once: names, types and every entry's data and CRC-32. Writes nothing. */
export async function verifyZip(file: string): Promise<ZipSummary> {
  const zip = await openZip(file);
  const summary: ZipSummary = { entries: 0, files: 0, bytes: 0 };
  try {
    await eachEntry(zip, async (entry, open) => {
      const info = entryInfo(entry);
      checkEntryName(info.name);
      summary.entries++;
      if (info.kind === 'directory' || info.kind === 'other') return;
      if (info.kind === 'symlink' && info.size > 4096) {
        throw new HelperError(
          'ARCHIVE_INVALID',
          `archive entry ${JSON.stringify(info.name)} is an oversized symlink`,
        );
      }
      if (info.kind === 'file') {
        summary.files++;
        summary.bytes += info.size;
      }
      await drain((await open()).pipe(crcCheck(entry)));
    });
  } finally {
    zip.close();
  }
  return summary;
}

/** Extracts a verified archive through a SafeWriter. */
export async function extractZip(file: string, writer: SafeWriter, trace: Trace): Promise<void> {
  const zip = await openZip(file);
  let gitWarned = false;
  try {
    await eachEntry(zip, async (entry, open) => {
      const info = entryInfo(entry);
      const name = checkEntryName(info.name);
      if (!gitWarned && (name === '.git' || name.startsWith('.git/'))) {
        gitWarned = true;
        trace.log('warning', 'Part of .git directory is on the list of files to extract');
        trace.log('warning', 'This may introduce unexpected problems');
      }
      switch (info.kind) {
        case 'directory':
          await writer.directory(name, info.mode || 0o755, info.mtime);
          return;
        case 'symlink': {
          const chunks: Buffer[] = [];
          for await (const c of (await open()).pipe(crcCheck(entry))) chunks.push(c as Buffer);
          await writer.symlink(name, Buffer.concat(chunks).toString());
          return;
        }
        case 'file':
          await writer.file(name, info.mode || 0o644, (await open()).pipe(crcCheck(entry)), info.mtime);
          return;
        default:
          trace.log('warning', `File ignored: ${JSON.stringify(name)}`);
      }
    });
    await writer.finish();
  } finally {
    zip.close();
  }
}
