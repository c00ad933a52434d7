// Object storage for job artifacts, as a GitLab with consolidated object storage and
// `proxy_download: false` has it: the runner API answers an artifacts download that asks for
// `direct_download=true` with a 302 to a short-lived pre-signed URL on the store's own origin (another
// port of the same host), and the store serves the file only for a valid signature. It keeps the
// names of the headers each request carried, so tests can check that no job token followed the
// redirect to another host.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';

export interface ObjectStorageRequest {
  method: string;
  path: string;
  status: number;
  /** Names of the request's headers (lower case), never their values. */
  headers: string[];
}

const BUCKET = 'artifacts';
const EXPIRES_SECONDS = 300;
const LOG_LIMIT = 1000;

export class ObjectStorage {
  readonly requests: ObjectStorageRequest[] = [];
  url = '';
  readonly #server: Server;
  readonly #secret = randomBytes(32);
  readonly #dir: string;

  private constructor(dir: string) {
    this.#dir = dir;
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch(() => {
        if (!res.headersSent) xmlError(res, 500, 'InternalError', 'We encountered an internal error.');
        else res.destroy();
      });
    });
  }

  /** Listens on `host`, port 0; URLs use `publicHost` (the host name runners reach GitLab by). */
  static async start(dir: string, host: string, publicHost: string): Promise<ObjectStorage> {
    const store = new ObjectStorage(dir);
    await new Promise<void>((resolve, reject) => {
      store.#server.once('error', reject);
      store.#server.listen(0, host, () => resolve());
    });
    store.url = `http://${publicHost}:${(store.#server.address() as AddressInfo).port}`;
    return store;
  }

  /** A pre-signed GET URL for a stored artifact file, valid for five minutes. */
  presign(file: string, now = new Date()): string {
    const path = `/${BUCKET}/${encodeURIComponent(basename(file))}`;
    const date = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const query = new URLSearchParams({ 'X-Amz-Date': date, 'X-Amz-Expires': String(EXPIRES_SECONDS) });
    query.set('X-Amz-Signature', this.#sign(path, date, String(EXPIRES_SECONDS)));
    return `${this.url}${path}?${query}`;
  }

  #sign(path: string, date: string, expires: string): string {
    return createHmac('sha256', this.#secret).update(`GET\n${path}\n${date}\n${expires}`).digest('hex');
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume();
    const url = new URL(req.url ?? '/', 'http://object-storage.invalid');
    const method = req.method ?? 'GET';
    const record = (status: number) => {
      if (this.requests.length >= LOG_LIMIT) this.requests.shift();
      this.requests.push({ method, path: url.pathname, status, headers: Object.keys(req.headers) });
    };
    if (method !== 'GET' && method !== 'HEAD') {
      record(405);
      return xmlError(res, 405, 'MethodNotAllowed', 'The specified method is not allowed.');
    }
    const date = url.searchParams.get('X-Amz-Date') ?? '';
    const expires = url.searchParams.get('X-Amz-Expires') ?? '';
    const signature = Buffer.from(url.searchParams.get('X-Amz-Signature') ?? '', 'hex');
    const expected = Buffer.from(this.#sign(url.pathname, date, expires), 'hex');
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
      record(403);
      return xmlError(
        res,
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match.',
      );
    }
    const issued = Date.parse(
      `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
    );
    if (!(Date.now() <= issued + Number(expires) * 1000)) {
      record(403);
      return xmlError(res, 403, 'AccessDenied', 'Request has expired');
    }
    const name = decodeURIComponent(url.pathname.slice(BUCKET.length + 2));
    const size = name.includes('/') ? undefined : (await stat(join(this.#dir, name)).catch(() => null))?.size;
    if (size === undefined) {
      record(404);
      return xmlError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    }
    record(200);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size });
    if (method === 'HEAD') {
      res.end();
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const stream = createReadStream(join(this.#dir, name));
      stream.on('error', reject);
      res.on('close', resolve);
      stream.pipe(res);
    });
  }
}

function xmlError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'Content-Type': 'application/xml' });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  );
}
