// A small stand-in for the parts of GitLab the helper talks to, written from gitlab-runner-api.md §5:
// git over smart HTTP (the real `git http-backend`) behind `gitlab-ci-token:<job token>` basic auth,
// and the job-artifacts endpoints (multipart upload with 201/307/403/413/503, download with
// JOB-TOKEN, 302 to "object storage", 401/403/404). Faults can be injected per test.
// Tests use it through `HelperTarget` (target.ts) so they can be re-pointed at the embedded GitLab.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import busboy from 'busboy';

export interface StoredArtifact {
  jobId: number;
  type: string;
  format: string;
  expireIn?: string;
  filename: string;
  data: Buffer;
}

export interface FakeGitLabFaults {
  /** Answer the next N artifact uploads with this status (and a JSON message). */
  uploadStatus?: { status: number; times: number; message?: string; location?: string };
  /** Cut the connection after this many bytes of the next N uploads. */
  dropUploadAfterBytes?: { bytes: number; times: number };
  /** Largest accepted artifact file (413 beyond it). */
  maxArtifactBytes?: number;
  /** Answer the next N git requests with 500. */
  gitFailures?: number;
}

export class FakeGitLab {
  readonly reposDir: string;
  readonly #server: Server;
  url = '';
  /** Job tokens that may clone (`gitlab-ci-token:<token>`) and upload/download artifacts. */
  readonly jobTokens = new Map<string, number>();
  /** Downloadable archives per job id. */
  readonly archives = new Map<number, Buffer>();
  readonly uploads: StoredArtifact[] = [];
  readonly gitRequests: { path: string; authorized: boolean; userAgent?: string }[] = [];
  readonly artifactRequests: { method: string; url: string; headers: IncomingMessage['headers'] }[] = [];
  faults: FakeGitLabFaults = {};
  /** Serve dependency downloads through a 302 to `/object-storage/…` when direct_download=true. */
  objectStorageRedirect = true;

  private constructor(reposDir: string) {
    this.reposDir = reposDir;
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error));
      });
    });
  }

  static async start(): Promise<FakeGitLab> {
    const dir = await mkdtemp(path.join(tmpdir(), 'fake-gitlab-'));
    const gitlab = new FakeGitLab(dir);
    await new Promise<void>((resolve) => gitlab.#server.listen(0, '127.0.0.1', resolve));
    gitlab.url = `http://127.0.0.1:${(gitlab.#server.address() as AddressInfo).port}`;
    return gitlab;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await rm(this.reposDir, { recursive: true, force: true });
  }

  /** A new job token that GitLab accepts for `jobId`. */
  newJobToken(jobId: number): string {
    const token = `glcbt-${randomBytes(12).toString('hex')}`;
    this.jobTokens.set(token, jobId);
    return token;
  }

  repoUrl(project: string, token: string): string {
    const u = new URL(`${this.url}/${project}.git`);
    u.username = 'gitlab-ci-token';
    u.password = token;
    return u.toString();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const artifacts = /^\/api\/v4\/jobs\/(\d+)\/artifacts$/.exec(url.pathname);
    if (artifacts) {
      this.artifactRequests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      const jobId = Number(artifacts[1]);
      if (req.method === 'POST') return this.#upload(jobId, url, req, res);
      if (req.method === 'GET') return this.#download(jobId, url, req, res);
    }
    const stored = /^\/object-storage\/(\d+)$/.exec(url.pathname);
    if (stored && req.method === 'GET') {
      const data = this.archives.get(Number(stored[1]));
      if (!data || url.searchParams.get('sig') !== 'ok') return json(res, 403, { message: 'AccessDenied' });
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': data.length });
      res.end(data);
      return;
    }
    if (/\.git\//.test(url.pathname)) return this.#git(url, req, res);
    json(res, 404, { message: '404 Not Found' });
  }

  #jobForToken(req: IncomingMessage): number | undefined {
    const token = req.headers['job-token'];
    return typeof token === 'string' ? this.jobTokens.get(token) : undefined;
  }

  async #upload(jobId: number, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.#jobForToken(req) !== jobId) {
      req.resume();
      return json(res, 403, { message: '403 Forbidden' });
    }
    const forced = this.faults.uploadStatus;
    if (forced && forced.times > 0) {
      forced.times--;
      req.resume();
      const headers: Record<string, string> = {};
      if (forced.location) headers.location = forced.location;
      return json(res, forced.status, { message: forced.message ?? `${forced.status}` }, headers);
    }
    const drop = this.faults.dropUploadAfterBytes;
    if (drop && drop.times > 0) {
      drop.times--;
      let seen = 0;
      await new Promise<void>((resolve) => {
        req.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen >= drop.bytes) {
            req.socket.destroy();
            resolve();
          }
        });
        req.on('end', () => {
          req.socket.destroy();
          resolve();
        });
        req.on('close', () => resolve());
      });
      return;
    }
    const limit = this.faults.maxArtifactBytes ?? Number.POSITIVE_INFINITY;
    const parts: { name: string; filename: string; data: Buffer }[] = [];
    let tooLarge = false;
    await new Promise<void>((resolve, reject) => {
      const bb = busboy({ headers: req.headers });
      bb.on('file', (name, stream, info) => {
        const chunks: Buffer[] = [];
        let size = 0;
        stream.on('data', (c: Buffer) => {
          size += c.length;
          if (size > limit) tooLarge = true;
          else chunks.push(c);
        });
        stream.on('end', () =>
          parts.push({ name, filename: info.filename ?? '', data: Buffer.concat(chunks) }),
        );
      });
      bb.on('close', () => resolve());
      bb.on('error', reject);
      req.pipe(bb);
    });
    if (tooLarge) return json(res, 413, { message: '413 Request Entity Too Large' });
    const files = parts.filter((p) => p.name === 'file');
    if (files.length !== 1) return json(res, 400, { message: '400 Bad request - file is missing' });
    const file = files[0]!;
    const stored: StoredArtifact = {
      jobId,
      type: url.searchParams.get('artifact_type') ?? 'archive',
      format: url.searchParams.get('artifact_format') ?? 'zip',
      expireIn: url.searchParams.get('expire_in') ?? undefined,
      filename: file.filename,
      data: file.data,
    };
    this.uploads.push(stored);
    if (stored.type === 'archive') this.archives.set(jobId, file.data);
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end('201');
  }

  async #download(jobId: number, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const token = req.headers['job-token'];
    if (typeof token !== 'string' || !this.jobTokens.has(token))
      return json(res, 401, { message: '401 Unauthorized' });
    const data = this.archives.get(jobId);
    if (!data) return json(res, 404, { message: '404 Not Found' });
    if (url.searchParams.get('direct_download') === 'true' && this.objectStorageRedirect) {
      res.writeHead(302, { location: `${this.url}/object-storage/${jobId}?sig=ok` });
      res.end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-disposition': 'attachment; filename="artifacts.zip"',
      'content-length': data.length,
    });
    res.end(data);
  }

  async #git(url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const auth = req.headers.authorization;
    let authorized = false;
    if (auth?.startsWith('Basic ')) {
      const [user, ...rest] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      authorized = user === 'gitlab-ci-token' && this.jobTokens.has(rest.join(':'));
    }
    this.gitRequests.push({ path: url.pathname, authorized, userAgent: req.headers['user-agent'] });
    if (!authorized) {
      req.resume();
      res.writeHead(401, { 'www-authenticate': 'Basic realm="GitLab"', 'content-type': 'text/plain' });
      res.end('HTTP Basic: Access denied\n');
      return;
    }
    if ((this.faults.gitFailures ?? 0) > 0) {
      this.faults.gitFailures = (this.faults.gitFailures ?? 1) - 1;
      req.resume();
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('Internal Server Error\n');
      return;
    }
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: this.reposDir,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        REMOTE_USER: 'gitlab-ci-token',
        REMOTE_ADDR: '127.0.0.1',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    req.pipe(child.stdin);
    let headerDone = false;
    let buffered = Buffer.alloc(0);
    child.stdout.on('data', (chunk: Buffer) => {
      if (headerDone) {
        res.write(chunk);
        return;
      }
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      headerDone = true;
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of buffered.subarray(0, end).toString().split('\r\n')) {
        const i = line.indexOf(':');
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      res.write(buffered.subarray(end + 4));
    });
    await new Promise<void>((resolve) => child.on('close', () => resolve()));
    if (!headerDone) res.writeHead(500);
    res.end();
  }
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
