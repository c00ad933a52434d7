// Artifact upload (multipart `file`, what Workhorse accepts from the runner's helper) and download.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import busboy from 'busboy';
import { formatForArtifactType } from '../ci/reports.ts';
import { apiError, paramError, type Request } from '../http.ts';
import type { Job, StoredArtifact } from '../model.ts';
import type { SimStore } from '../store.ts';

const FORMATS = ['zip', 'gzip', 'raw'];

function tooLarge() {
  return apiError(413, '413 Request Entity Too Large');
}

interface Received {
  file: string;
  filename: string;
  size: number;
  fields: Record<string, string>;
  oversize: boolean;
}

/** Streams the `file` part to disk, counting bytes; keeps draining (and discarding) past the limit. */
function receiveMultipart(req: Request, target: string, limit: number): Promise<Received | null> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.raw.headers, limits: { files: 1, fields: 50 } });
    } catch {
      reject(paramError('file is missing'));
      return;
    }
    const fields: Record<string, string> = {};
    let received: Received | null = null;
    let writing: Promise<void> = Promise.resolve();
    bb.on('field', (name, value) => {
      fields[name] = value;
    });
    bb.on('file', (name, stream, info) => {
      if (name !== 'file' || received) {
        stream.resume();
        return;
      }
      const entry: Received = {
        file: target,
        filename: info.filename ?? 'artifacts',
        size: 0,
        fields,
        oversize: false,
      };
      received = entry;
      const out = createWriteStream(target);
      writing = new Promise((done, fail) => {
        out.on('finish', () => done());
        out.on('error', fail);
      });
      stream.on('data', (chunk: Buffer) => {
        entry.size += chunk.length;
        if (entry.size > limit) entry.oversize = true;
        if (!entry.oversize) out.write(chunk);
      });
      stream.on('end', () => out.end());
    });
    bb.on('error', (error) => reject(error));
    bb.on('close', () => {
      writing.then(() => resolve(received), reject);
    });
    req.raw.pipe(bb);
  });
}

export async function receiveArtifact(
  store: SimStore,
  job: Job,
  req: Request,
  res: ServerResponse,
): Promise<void> {
  const limit = store.tunables.artifactMaxBytes;
  const declared = Number(req.header('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit + 64 * 1024) {
    res.setHeader('Connection', 'close');
    throw tooLarge();
  }
  if (!(req.header('content-type') ?? '').toLowerCase().startsWith('multipart/form-data')) {
    throw paramError('file is missing');
  }
  const dir = store.artifactsDir();
  await mkdir(dir, { recursive: true });
  const target = join(dir, `${job.id}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
  let received: Received | null;
  try {
    received = await receiveMultipart(req, target, limit);
  } catch (error) {
    await rm(target, { force: true });
    if (error instanceof Error && 'status' in error) throw error;
    throw paramError('file is missing');
  }
  const param = (name: string) => req.query.get(name) ?? received?.fields[name];
  const discard = async () => rm(target, { force: true });
  if (!received) {
    await discard();
    throw paramError('file is missing');
  }
  if (received.oversize) {
    await discard();
    throw tooLarge();
  }
  const type = param('artifact_type') ?? 'archive';
  const format = param('artifact_format') ?? 'zip';
  const expected = formatForArtifactType(type);
  if (expected === undefined) {
    await discard();
    throw paramError('artifact_type does not have a valid value');
  }
  if (!FORMATS.includes(format)) {
    await discard();
    throw paramError('artifact_format does not have a valid value');
  }
  if (format !== expected) {
    await discard();
    throw apiError(400, `Invalid artifact format ${format} for ${type}; expected ${expected}`);
  }
  if (type === 'dotenv' && !(await validDotenv(target))) {
    await discard();
    throw apiError(400, 'Invalid Format');
  }
  const size = (await stat(target)).size;
  store.storeArtifact(
    job,
    { type, format, filename: received.filename, size, file: target },
    param('expire_in'),
  );
  res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': 3 });
  res.end('201');
}

/** A dotenv report (gzip members of `KEY=VALUE` lines) as GitLab parses it. */
async function validDotenv(file: string): Promise<boolean> {
  try {
    const text = gunzipSync(await readFile(file)).toString('utf8');
    return text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .every((l) => /^[a-zA-Z_][a-zA-Z0-9_]*=/.test(l));
  } catch {
    return false;
  }
}

/** A job's stored artifact of `type` (the archive only while it has not expired); else 404. */
export function findArtifact(store: SimStore, job: Job, type: string): StoredArtifact {
  const artifact = type === 'archive' ? store.archiveOf(job) : job.artifacts.find((a) => a.type === type);
  if (!artifact) throw apiError(404, '404 Not Found');
  return artifact;
}

export async function sendArtifact(
  store: SimStore,
  job: Job,
  type: string,
  res: ServerResponse,
): Promise<void> {
  const artifact = findArtifact(store, job, type);
  const size = (await stat(artifact.file).catch(() => null))?.size;
  if (size === undefined) throw apiError(404, '404 Not Found');
  const name = encodeURIComponent(artifact.filename);
  res.writeHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': size,
    'Content-Disposition': `attachment; filename="${artifact.filename.replace(/"/g, '')}"; filename*=UTF-8''${name}`,
    'Content-Transfer-Encoding': 'binary',
  });
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(artifact.file);
    stream.on('error', reject);
    res.on('close', resolve);
    stream.pipe(res);
  });
}
