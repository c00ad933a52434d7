// Without root: the same isolation inside an unprivileged user namespace (run here as `nobody`).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findExecutable } from '../../../src/sim/kube/process/host-tools.ts';

const fixture = join(import.meta.dirname, 'fixtures', 'user-namespace-child.ts');
const setpriv = findExecutable('setpriv') ?? 'setpriv';
const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups', '--'];

const skipReason = (() => {
  if (process.getuid?.() !== 0) return 'needs root to start a process as nobody';
  if (spawnSync(setpriv, [...asNobody, 'test', '-r', fixture]).status !== 0) {
    return `nobody cannot read this checkout (${fixture})`;
  }
  const userns = spawnSync(setpriv, [...asNobody, 'unshare', '--user', '--map-root-user', '--net', 'true']);
  if (userns.status !== 0) return `unprivileged user namespaces are disabled: ${userns.stderr}`;
  return undefined;
})();

/** Runs a command as nobody; resolves with its stdout. */
function runAsNobody(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(setpriv, [...asNobody, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${out}`))));
  });
}

describe.skipIf(skipReason)('process mode without root', () => {
  it('isolates pods in a user namespace and names the mount points it cannot create', async () => {
    const server = http.createServer((_req, res) => res.end('hello nobody'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const work = mkdtempSync(join(tmpdir(), 'podrunner-userns-'));
    chmodSync(work, 0o777);
    try {
      const port = (server.address() as AddressInfo).port;
      const output = await runAsNobody([
        'env',
        `TMPDIR=${work}`,
        'HOME=/',
        process.execPath,
        fixture,
        String(port),
        join(work, 'mnt'),
      ]);
      const result = JSON.parse(output);
      expect(result.error).toBeUndefined();
      expect(result.isolation).toBe('user');
      expect(result.pod.exit).toMatchObject({ exitCode: 0, terminationMessage: 'done\n' });
      expect(result.pod.stdout).toBe(`${result.pod.name}\nx\nhello nobody`);
      expect(result.missingMountPoint).toContain('cannot create the mount point /podrunner-userns-');
    } finally {
      server.closeAllConnections();
      server.close();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
