// A tiny stand-in for the GitLab administrator API the bootstrap uses, on 127.0.0.1 (port 0).
// It records every request and can pretend to be booting (502) or to lack the admin token (401).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeGitlabOptions {
  adminToken: string;
  /** Answer 502 to this many requests first, as GitLab's nginx does while Rails boots. */
  bootingRequests?: number;
  /** Answer 401 to GET /api/v4/user this many times (the token is created after reconfigure). */
  unknownTokenRequests?: number;
  isAdmin?: boolean;
  rootPassword?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  form: Record<string, string>;
}

export interface FakeGitlab {
  url: string;
  requests: RecordedRequest[];
  runners: { id: number; token: string; form: Record<string, string> }[];
  close(): Promise<void>;
}

export async function startFakeGitlab(options: FakeGitlabOptions): Promise<FakeGitlab> {
  const requests: RecordedRequest[] = [];
  const runners: FakeGitlab['runners'] = [];
  let booting = options.bootingRequests ?? 0;
  let unknown = options.unknownTokenRequests ?? 0;
  const oauthToken = 'oauth-access-token-1';

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
      const path = (req.url ?? '').split('?')[0] ?? '';
      requests.push({ method: req.method ?? '', path, headers: req.headers, form });
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (booting > 0) {
        booting--;
        res.writeHead(502, { 'content-type': 'text/html' });
        return res.end('<html>502 Bad Gateway</html>');
      }
      const admin =
        req.headers['private-token'] === options.adminToken ||
        req.headers.authorization === `Bearer ${oauthToken}`;
      if (req.method === 'GET' && path === '/api/v4/user') {
        if (!admin || unknown-- > 0) return json(401, { message: '401 Unauthorized' });
        return json(200, { id: 1, username: 'root', is_admin: options.isAdmin ?? true });
      }
      if (req.method === 'POST' && path === '/oauth/token') {
        if (
          form.grant_type === 'password' &&
          form.username === 'root' &&
          form.password === options.rootPassword
        ) {
          return json(200, { access_token: oauthToken, token_type: 'Bearer', expires_in: 7200 });
        }
        return json(400, { error: 'invalid_grant' });
      }
      if (req.method === 'POST' && path === '/api/v4/user/runners') {
        if (!admin) return json(401, { message: '401 Unauthorized' });
        if (form.runner_type !== 'instance_type') return json(400, { error: 'runner_type is invalid' });
        const runner = { id: runners.length + 1, token: `glrt-fake-${runners.length + 1}`, form };
        runners.push(runner);
        return json(201, { id: runner.id, token: runner.token, token_expires_at: null });
      }
      if (req.method === 'POST' && path === '/api/v4/runners/verify') {
        const known = runners.find((r) => r.token === form.token);
        return known
          ? json(200, { id: known.id, token: known.token, token_expires_at: null })
          : json(403, {});
      }
      json(404, { message: '404 Not Found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    runners,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
