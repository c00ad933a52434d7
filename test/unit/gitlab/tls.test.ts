// TLS to GitLab: tls-ca-file / tls-cert-file / tls-key-file, the certs directory convention, and a real
// HTTPS server that requires a client certificate.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitLabClient } from '../../../src/gitlab/client.ts';
import { GitLabConnections } from '../../../src/gitlab/connections.ts';
import { readTlsMaterial, resolveTlsFiles } from '../../../src/gitlab/tls.ts';

const tls = (name: string) => fileURLToPath(new URL(`../../fixtures/tls/${name}`, import.meta.url));

let server: Server;
let url: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'podrunner-tls-'));
  const pem = readTlsMaterial({
    caFile: tls('ca.crt'),
    certFile: tls('server.crt'),
    keyFile: tls('server.key'),
  });
  server = createServer({ ...pem, requestCert: true, rejectUnauthorized: true }, (_req, res) => {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ id: 1, token: 'glrt-x', token_expires_at: null }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

async function verify(files: Parameters<GitLabConnections['dispatcherFor']>[1], problems: string[] = []) {
  const connections = new GitLabConnections({
    retry: { maxAttempts: 1 },
    onTlsProblem: (p) => problems.push(p),
  });
  try {
    return await new GitLabClient({ url, dispatcher: connections.dispatcherFor(url, files) }).verifyRunner(
      'glrt-x',
    );
  } finally {
    await connections.close();
  }
}

describe('TLS to GitLab', () => {
  it('connects with the CA file and a client certificate', async () => {
    expect(
      await verify({ caFile: tls('ca.crt'), certFile: tls('client.crt'), keyFile: tls('client.key') }),
    ).toMatchObject({ kind: 'ok' });
  });

  it('fails without the CA, and without the client certificate', async () => {
    expect(await verify({ certFile: tls('client.crt'), keyFile: tls('client.key') })).toMatchObject({
      kind: 'unreachable',
    });
    expect(await verify({ caFile: tls('ca.crt') })).toMatchObject({ kind: 'unreachable' });
  });

  it('finds <host>.crt, <host>.auth.crt and <host>.auth.key in the certs directory; explicit files win', async () => {
    copyFileSync(tls('ca.crt'), join(dir, '127.0.0.1.crt'));
    copyFileSync(tls('client.crt'), join(dir, '127.0.0.1.auth.crt'));
    copyFileSync(tls('client.key'), join(dir, '127.0.0.1.auth.key'));
    const files = resolveTlsFiles(url, {}, dir);
    expect(files).toEqual({
      caFile: join(dir, '127.0.0.1.crt'),
      certFile: join(dir, '127.0.0.1.auth.crt'),
      keyFile: join(dir, '127.0.0.1.auth.key'),
    });
    expect(resolveTlsFiles(url, { caFile: '/explicit.pem' }, dir).caFile).toBe('/explicit.pem');
    expect(resolveTlsFiles('https://other.example.com', {}, dir)).toEqual({});
    expect(await verify(files)).toMatchObject({ kind: 'ok' });
  });

  it('reports unreadable files and a certificate without its key instead of failing', async () => {
    const problems: string[] = [];
    const res = await verify({ caFile: join(dir, 'missing.crt'), certFile: tls('client.crt') }, problems);
    expect(res.kind).toBe('unreachable');
    expect(problems).toEqual([
      expect.stringContaining('cannot read tls-ca-file'),
      expect.stringContaining('needs both tls-cert-file and tls-key-file'),
    ]);
  });
});
