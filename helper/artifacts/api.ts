// GitLab's job-artifacts endpoints as the helper binary uses them (gitlab-runner-api.md §5.1, §5.2):
// a streamed multipart upload with upstream's retry rules, and a download that follows the
// object-storage redirect without carrying the job token to another host.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sleep } from '../context.ts';
import { errorMessage, HelperError } from '../errors.ts';
import { gitlabMessage, type HttpClient, shortenToken, statusText } from '../http/client.ts';
import { type Trace, TransferMeter } from '../output/trace.ts';

/** upstream's `fixCIURL`: no trailing slash, no trailing `/ci`, then `/api/v4/`. */
export function apiBase(serverUrl: string): string {
  let url = serverUrl.replace(/\/+$/, '');
  if (url.endsWith('/ci')) url = url.slice(0, -3);
  return `${url}/api/v4`;
}

export interface UploadRequest {
  serverUrl: string;
  jobId: number;
  token: string;
  filename: string;
  type: string;
  format: string;
  expireIn?: string | null;
  /** Called for every try: the archive is made again for each one, as upstream does. */
  body: () => Readable;
}

const DEFAULT_TRIES = 3;
const UNAVAILABLE_TRIES = 6;

export async function uploadArtifact(
  http: HttpClient,
  trace: Trace,
  req: UploadRequest,
  options: { retryMs: number; meterMs: number; signal?: AbortSignal },
): Promise<void> {
  let base = req.serverUrl;
  const query = new URLSearchParams();
  if (req.expireIn) query.set('expire_in', req.expireIn);
  if (req.format) query.set('artifact_format', req.format);
  if (req.type) query.set('artifact_type', req.type);
  const prefix = req.type
    ? `Uploading artifacts as ${JSON.stringify(req.type)} to coordinator...`
    : 'Uploading artifacts to coordinator...';
  const fields = (status?: number): Record<string, string | number> => ({
    id: req.jobId,
    token: shortenToken(req.token),
    ...(status === undefined ? {} : { responseStatus: statusText(status) }),
  });

  for (let tries = 1; ; tries++) {
    const boundary = randomBytes(30).toString('hex');
    const meter = new TransferMeter(trace, 'Uploading artifacts', { intervalMs: options.meterMs });
    const url = `${apiBase(base)}/jobs/${req.jobId}/artifacts?${query.toString()}`;
    let retryable: 'default' | 'unavailable' | undefined;
    let lastError: string;
    const archive: { error?: unknown } = {};
    try {
      const res = await http.send('POST', url, {
        headers: { 'job-token': req.token, 'content-type': `multipart/form-data; boundary=${boundary}` },
        body: Readable.from(multipart(boundary, req.filename, req.body(), meter, archive)),
        signal: options.signal,
      });
      const message = await gitlabMessage(res);
      meter.done();
      switch (res.status) {
        case 201:
          trace.log('info', `${prefix} ${message}`, fields(res.status));
          return;
        case 307: {
          const location = res.headers.location;
          if (!location) {
            trace.log('error', `${prefix} ${message} empty location`, {
              ...fields(res.status),
              status: res.status,
            });
            retryable = 'default';
            lastError = `${statusText(res.status)} without a Location header`;
            break;
          }
          const target = new URL(location, url);
          base = `${target.protocol}//${target.host}`;
          trace.log('info', 'Upload request redirected', { location, 'new-url': base });
          retryable = 'default';
          lastError = 'request redirected';
          break;
        }
        case 403:
          trace.log('error', `${prefix} ${message}`, { ...fields(res.status), status: res.status });
          throw new HelperError(
            'ARTIFACT_UPLOAD_FAILED',
            `uploading artifacts failed: GitLab answered ${statusText(res.status)} (${message}): the job token was refused or the job is no longer running`,
          );
        case 413:
          trace.log('error', `${prefix} ${message}`, { ...fields(res.status), status: res.status });
          throw new HelperError(
            'ARTIFACT_TOO_LARGE',
            `too large: the artifacts archive ${JSON.stringify(req.filename)} is larger than GitLab accepts (${message}): the limit is the instance's or project's "Maximum artifacts size"; upload fewer files or ask an administrator to raise it`,
          );
        case 503:
          trace.log('error', `${prefix} ${message}`, { ...fields(res.status), status: res.status });
          retryable = 'unavailable';
          lastError = `GitLab answered ${statusText(res.status)} (${message})`;
          break;
        default:
          trace.log('warning', `${prefix} ${message}`, { ...fields(res.status), status: res.status });
          retryable = 'default';
          lastError = `GitLab answered ${statusText(res.status)} (${message})`;
      }
    } catch (error) {
      if (error instanceof HelperError) throw error;
      if (archive.error !== undefined) {
        throw new HelperError(
          'ARCHIVE_FAILED',
          `creating the artifacts archive failed: ${errorMessage(archive.error)}`,
        );
      }
      lastError = `the connection failed during the upload (${errorMessage(error)})`;
      trace.log('error', `${prefix} error`, { ...fields(), error: errorMessage(error) });
      retryable = 'default';
    }
    const maxTries = retryable === 'unavailable' ? UNAVAILABLE_TRIES : DEFAULT_TRIES;
    if (tries >= maxTries || options.signal?.aborted) {
      throw new HelperError(
        'ARTIFACT_UPLOAD_FAILED',
        `uploading artifacts failed after ${tries} tries: ${lastError}`,
      );
    }
    trace.log('warning', 'Retrying...', { context: 'artifacts-uploader', error: lastError });
    await sleep(options.retryMs, options.signal);
  }
}

async function* multipart(
  boundary: string,
  filename: string,
  data: Readable,
  meter: TransferMeter,
  archive: { error?: unknown },
): AsyncGenerator<Buffer> {
  const safeName = filename.replaceAll('"', '%22').replaceAll('\r', '').replaceAll('\n', '');
  yield Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${safeName}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  try {
    for await (const chunk of data) {
      const b = chunk as Buffer;
      meter.add(b.length);
      yield b;
    }
  } catch (error) {
    archive.error = error;
    throw error;
  } finally {
    data.destroy();
  }
  yield Buffer.from(`\r\n--${boundary}--\r\n`);
}

export interface DownloadRequest {
  serverUrl: string;
  jobId: number;
  token: string;
  directDownload: boolean;
  target: string;
}

/** Downloads one dependency's archive to `target`; retries twice, 1 s apart, like upstream. */
export async function downloadArtifacts(
  http: HttpClient,
  trace: Trace,
  req: DownloadRequest,
  options: { retryMs: number; meterMs: number; signal?: AbortSignal },
): Promise<void> {
  const retries = 2;
  let lastError = '';
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) {
      trace.log('warning', 'Retrying...', { error: lastError });
      await sleep(options.retryMs, options.signal);
    }
    const query = req.directDownload && attempt === 0 ? '?direct_download=true' : '';
    const url = `${apiBase(req.serverUrl)}/jobs/${req.jobId}/artifacts${query}`;
    const fields: Record<string, string | number> = { id: req.jobId, token: shortenToken(req.token) };
    try {
      const res = await http.send('GET', url, {
        headers: { 'job-token': req.token },
        follow: true,
        dropOnCrossOrigin: ['job-token'],
        signal: options.signal,
      });
      Object.assign(fields, { responseStatus: statusText(res.status), host: new URL(res.url).host });
      if (res.status === 200) {
        const total = Number(res.headers['content-length']);
        const meter = new TransferMeter(trace, 'Downloading artifacts', {
          total: Number.isFinite(total) && total > 0 ? total : undefined,
          intervalMs: options.meterMs,
        });
        res.body.on('data', (d: Buffer) => meter.add(d.length));
        await pipeline(res.body, createWriteStream(req.target));
        meter.done();
        trace.log('info', 'Downloading artifacts from coordinator... ok', fields);
        return;
      }
      const message = await gitlabMessage(res);
      if (res.status === 401 || res.status === 403) {
        trace.log(
          'error',
          `Downloading artifacts from coordinator... ${res.status === 401 ? 'unauthorized' : 'forbidden'}`,
          {
            ...fields,
            status: message,
          },
        );
        throw new HelperError(
          'ARTIFACT_FORBIDDEN',
          `downloading the artifacts of job ${req.jobId} failed: GitLab answered ${statusText(res.status)} (${message}): the token may not read that job's artifacts`,
        );
      }
      if (res.status === 404) {
        trace.log('error', 'Downloading artifacts from coordinator... not found', fields);
        throw new HelperError(
          'ARTIFACT_NOT_FOUND',
          `downloading the artifacts of job ${req.jobId} failed: GitLab answered 404 Not Found (the artifacts expired or were erased)`,
        );
      }
      trace.log('warning', 'Downloading artifacts from coordinator... failed', {
        ...fields,
        status: message,
      });
      lastError = `GitLab answered ${statusText(res.status)} (${message})`;
    } catch (error) {
      if (error instanceof HelperError) throw error;
      lastError = `the connection failed during the download (${errorMessage(error)})`;
      trace.log('error', 'Downloading artifacts from coordinator... error', {
        ...fields,
        error: errorMessage(error),
      });
    }
  }
  throw new HelperError(
    'ARTIFACT_DOWNLOAD_FAILED',
    `downloading the artifacts of job ${req.jobId} failed: ${lastError}`,
  );
}
