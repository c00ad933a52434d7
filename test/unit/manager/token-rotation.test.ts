// Automatic token rotation at 75% of the token's lifetime: reset with GitLab, new token in config.toml.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { GitLabClient } from '../../../src/gitlab/client.ts';
import { GitLabConnections } from '../../../src/gitlab/connections.ts';
import { rotationDue, TokenRotator } from '../../../src/manager/token-rotation.ts';
import { FakeGitLab } from '../../support/fake-gitlab.ts';

let gitlab: FakeGitLab;
let dir: string;
let connections: GitLabConnections;

beforeEach(async () => {
  gitlab = await FakeGitLab.start();
  dir = mkdtempSync(join(tmpdir(), 'podrunner-rotate-'));
  connections = new GitLabConnections({ retry: { maxAttempts: 1 } });
});
afterEach(async () => {
  await connections.close();
  await gitlab.close();
  rmSync(dir, { recursive: true, force: true });
});

const toml = (token: string, obtained: Date, expires: string, flags = '') => `concurrent = 1
# a comment that a rewrite loses, as upstream's does
[[runners]]
  name = "rotating"
  url = "${gitlab.url}"
  token = "${token}"
  token_obtained_at = ${obtained.toISOString()}
  token_expires_at = ${expires}
  executor = "kubernetes"
${flags}`;

function config(text: string) {
  const r = parseConfig(text, { env: {} });
  if (!r.ok) throw new Error(r.errors[0]?.message);
  return r.config;
}

describe('token rotation', () => {
  it('is due at 75% of the lifetime, never for tokens without expiry or with the feature flag', () => {
    const obtained = new Date('2025-01-01T00:00:00Z');
    const [r] = config(toml('glrt-x', obtained, '2025-01-05T00:00:00Z')).runners;
    expect(rotationDue(r!)).toBe(Date.parse('2025-01-04T00:00:00Z'));
    expect(rotationDue(config(toml('glrt-x', obtained, '0001-01-01T00:00:00Z')).runners[0]!)).toBeUndefined();
    const off = config(
      toml(
        'glrt-x',
        obtained,
        '2025-01-05T00:00:00Z',
        '  [runners.feature_flags]\n    FF_DISABLE_AUTOMATIC_TOKEN_ROTATION = true\n',
      ),
    );
    expect(rotationDue(off.runners[0]!)).toBeUndefined();
  });

  it('resets a due token and writes the new one into config.toml', async () => {
    gitlab.addRunner('glrt-oldoldoldold');
    const path = join(dir, 'config.toml');
    const now = Date.now();
    writeFileSync(
      path,
      toml('glrt-oldoldoldold', new Date(now - 30_000), new Date(now + 5_000).toISOString()),
    );
    let rotated!: () => void;
    const done = new Promise<void>((r) => {
      rotated = r;
    });
    const rotator = new TokenRotator({
      configPath: path,
      log: pino({ level: 'silent' }),
      clientFor: (runner) =>
        new GitLabClient({ url: runner.url, dispatcher: connections.dispatcherFor(runner.url) }),
      onRotated: () => rotated(),
    });
    rotator.update(config(readFileSync(path, 'utf8')));
    await done;
    rotator.close();
    const after = config(readFileSync(path, 'utf8')).runners[0]!;
    expect(after.token).toMatch(/^glrt-/);
    expect(after.token).not.toBe('glrt-oldoldoldold');
    expect(gitlab.runners.has(after.token)).toBe(true);
    expect(gitlab.runners.has('glrt-oldoldoldold')).toBe(false);
    expect(after.token_expires_at).toBeUndefined();
    expect(after.token_obtained_at!.getTime()).toBeGreaterThanOrEqual(Math.floor(now / 1000) * 1000);
  });
});
