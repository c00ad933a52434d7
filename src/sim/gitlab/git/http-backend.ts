// Git over HTTP at `/<namespace>/<project>.git/…`: `git http-backend` run as a CGI program behind the
// node:http server, with GitLab's authentication: pushes need the admin token as password (any user
// name); clones also accept `gitlab-ci-token:<job token>` of a running job of that project, or of a
// project on its job token allowlist.
import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Project } from '../model.ts';
import type { SimStore } from '../store.ts';
import { listRefs } from './repository.ts';

const GIT_PATH = /^\/(.+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack|HEAD|objects\/.+)$/;

export interface GitRoute {
  repoPath: string;
  rest: string;
}

export function matchGitPath(path: string): GitRoute | null {
  const m = GIT_PATH.exec(path);
  return m ? { repoPath: m[1] as string, rest: m[2] as string } : null;
}

const ACCESS_DENIED =
  "HTTP Basic: Access denied. If a password was provided for Git authentication, the password was incorrect or you're required to use a token instead of a password. If a token was provided, it was either incorrect, expired, or improperly scoped.\n";

function deny(res: ServerResponse): void {
  res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="GitLab"', 'Content-Type': 'text/plain' });
  res.end(ACCESS_DENIED);
}

function basicCredentials(req: IncomingMessage): { user: string; password: string } | null {
  const header = req.headers.authorization;
  if (!header?.toLowerCase().startsWith('basic ')) return null;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i === -1) return null;
  return { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

type Access = 'read' | 'write';

/** `ok`, or how to refuse: `deny` (401, bad or no credentials), `notfound` (404), `forbidden` (403). */
function authorize(
  store: SimStore,
  project: Project | undefined,
  req: IncomingMessage,
  access: Access,
): 'ok' | 'deny' | 'notfound' | 'forbidden' {
  const creds = basicCredentials(req);
  if (!creds) return project?.visibility === 'public' && access === 'read' ? 'ok' : 'deny';
  if (store.adminTokens.has(creds.password)) return project ? 'ok' : 'notfound';
  if (creds.user === 'gitlab-ci-token') {
    const job = store.jobByToken(creds.password);
    if (!job || !store.isProcessingOnRunner(job)) return 'deny';
    if (!project) return 'notfound';
    if (!store.jobTokenAllows(job, project)) return 'notfound';
    return access === 'read' ? 'ok' : 'forbidden';
  }
  return 'deny';
}

export async function handleGit(
  store: SimStore,
  route: GitRoute,
  req: IncomingMessage,
  res: ServerResponse,
  query: string,
): Promise<void> {
  const project = store.findProjectByRepoPath(route.repoPath);
  const service = new URLSearchParams(query).get('service');
  const write = route.rest === 'git-receive-pack' || service === 'git-receive-pack';
  const verdict = authorize(store, project, req, write ? 'write' : 'read');
  if (verdict === 'deny') return deny(res);
  if (verdict === 'notfound' || !project) {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end("The project you were looking for could not be found or you don't have permission to view it.\n");
    return;
  }
  if (verdict === 'forbidden') {
    res.writeHead(403, { 'Content-Type': 'text/plain' });
    res.end('You are not allowed to push code to this project.\n');
    return;
  }
  const repoDir = store.repoDir(project);
  const before = route.rest === 'git-receive-pack' ? await listRefs(repoDir) : null;
  await runCgi(
    req,
    res,
    {
      GIT_PROJECT_ROOT: join(store.dataDir, 'repositories'),
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: `/${project.pathWithNamespace}.git/${route.rest}`,
      REMOTE_USER: basicCredentials(req)?.user ?? 'anonymous',
    },
    query,
  );
  if (before) {
    const after = await listRefs(repoDir);
    store.emit('push', project, before, after);
  }
}

function runCgi(
  req: IncomingMessage,
  res: ServerResponse,
  env: Record<string, string>,
  query: string,
): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        ...env,
        REQUEST_METHOD: req.method ?? 'GET',
        QUERY_STRING: query,
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
        ...(req.headers['content-encoding']
          ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] }
          : {}),
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
        REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
        SERVER_PROTOCOL: 'HTTP/1.1',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let headerBuf = Buffer.alloc(0);
    let headersDone = false;
    const stderr: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => stderr.push(b));
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      headerBuf = Buffer.concat([headerBuf, chunk]);
      let end = headerBuf.indexOf('\r\n\r\n');
      let sepLen = 4;
      if (end === -1) {
        end = headerBuf.indexOf('\n\n');
        sepLen = 2;
      }
      if (end === -1) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of headerBuf.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i === -1) continue;
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      const rest = headerBuf.subarray(end + sepLen);
      if (rest.length > 0) res.write(rest);
    });
    child.on('error', () => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('git http-backend failed\n');
      resolve();
    });
    child.on('close', () => {
      if (!headersDone && !res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`git http-backend: ${Buffer.concat(stderr).toString().trim()}\n`);
      } else res.end();
      resolve();
    });
    child.stdin.on('error', () => {});
    req.pipe(child.stdin);
  });
}
