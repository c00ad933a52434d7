// Malformed TOML, wrong types, unknown keys and other mistakes give messages that name the file, line and
// key path; unknown keys only warn.
import { describe, expect, it } from 'vitest';
import { type ConfigIssue, formatIssue, parseConfig } from '../../../src/config/load.ts';

const runner = (extra = '') => `
[[runners]]
  name = "r"
  url = "https://gitlab.example.com"
  token = "glrt-abcdefghijkl"
  executor = "kubernetes"
${extra}`;

function errors(source: string): ConfigIssue[] {
  const r = parseConfig(source, { file: 'config.toml', env: {} });
  if (r.ok) throw new Error('expected the config to be rejected');
  return r.errors;
}

function warnings(source: string): ConfigIssue[] {
  const r = parseConfig(source, { file: 'config.toml', env: {} });
  if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
  return r.warnings;
}

describe('config errors', () => {
  it('malformed TOML: names the line and column', () => {
    const [e] = errors('concurrent = 2\n[[runners]\nurl = "x"\n');
    expect(e).toMatchObject({ code: 'CONFIG_SYNTAX', file: 'config.toml', line: 2 });
    expect(formatIssue(e!)).toMatch(/^config\.toml:2:\d+: invalid TOML: /);
    const [dup] = errors('concurrent = 1\nconcurrent = 2\n');
    expect(dup).toMatchObject({ code: 'CONFIG_SYNTAX', line: 2 });
  });

  it('a wrong type names the key path, the line and the value found', () => {
    const [e] = errors('check_interval = 3\nconcurrent = "ten"\n');
    expect(formatIssue(e!)).toBe('config.toml:2: concurrent: expected a number, got the string "ten"');
  });

  it('nested keys: array indices and sub-tables in the path, the line of the key itself', () => {
    const source = `${runner()}${runner(`  [runners.kubernetes]
    namespace = "ci"
    poll_timeout = "3m"
    [[runners.kubernetes.volumes.host_path]]
      name = "a"
      mount_path = "/a"
    [[runners.kubernetes.volumes.host_path]]
      name = "b"
      read_only = "yes"
`)}`;
    const found = errors(source).map(formatIssue);
    expect(found).toContain(
      'config.toml:15: runners[1].kubernetes.poll_timeout: expected a number, got the string "3m"',
    );
    expect(found).toContain(
      'config.toml:19: runners[1].kubernetes.volumes.host_path[1].mount_path: is required',
    );
    expect(found).toContain(
      'config.toml:21: runners[1].kubernetes.volumes.host_path[1].read_only: expected true or false, got the string "yes"',
    );
  });

  it('reports every error at once', () => {
    expect(
      errors(`concurrent = 0\ncheck_interval = true\n${runner('  limit = -1\n')}`).map((e) => e.path),
    ).toEqual(['concurrent', 'check_interval', 'runners[0].limit']);
  });

  it('value checks: quantities, durations, enums, URLs, required keys', () => {
    const msgs = errors(`${runner(`  unhealthy_interval = "an hour"
  [runners.kubernetes]
    cpu_limit = "lots"
    dns_policy = "sometimes"
`)}
[[runners]]
  url = "gitlab.example.com"
  token = "glrt-other"
  executor = "kubernetes"
[[runners]]
  token = "glrt-third"
  executor = "kubernetes"
`).map(formatIssue);
    expect(msgs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^config\.toml:7: runners\[0\]\.unhealthy_interval: "an hour" is not a duration/,
        ),
        expect.stringMatching(
          /^config\.toml:9: runners\[0\]\.kubernetes\.cpu_limit: "lots" is not a Kubernetes quantity/,
        ),
        expect.stringMatching(
          /^config\.toml:10: runners\[0\]\.kubernetes\.dns_policy: the string "sometimes" is not one of/,
        ),
        'config.toml:16: runners[2].url: is required',
      ]),
    );
    const url = errors(runner().replace('https://gitlab.example.com', 'gitlab.example.com'));
    expect(formatIssue(url[0]!)).toBe(
      'config.toml:4: runners[0].url: "gitlab.example.com" is not an http(s) URL',
    );
    expect(formatIssue(errors('concurrent = 0')[0]!)).toMatch(/concurrent: concurrent must be at least 1/);
  });

  it('the same runner twice is an error', () => {
    const [e] = errors(runner() + runner());
    expect(e).toMatchObject({ path: 'runners[1].token', line: 11 });
  });

  it('unknown keys warn with their path and line, and the rest loads', () => {
    const r = parseConfig(
      `concurrent = 2\nconcurent = 3\n${runner('  lmit = 4\n  [runners.kubernetes]\n    namespce = "x"\n')}`,
      { env: {} },
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.concurrent).toBe(2);
    expect(r.warnings.filter((w) => w.code === 'CONFIG_UNKNOWN_KEY').map(formatIssue)).toEqual([
      'config.toml:2: concurent: unknown key, ignored',
      'config.toml:9: runners[0].lmit: unknown key, ignored',
      'config.toml:11: runners[0].kubernetes.namespce: unknown key, ignored',
    ]);
  });

  it('matches keys case-insensitively like Go, so [runners.cache] type works for Type', () => {
    const r = parseConfig(
      runner(
        '  [runners.cache]\n    type = "s3"\n    [runners.cache.S3]\n      serveraddress = "minio:9000"\n',
      ),
      { env: {} },
    );
    expect(r.ok && r.config.runners[0]?.cache).toMatchObject({
      Type: 's3',
      s3: { ServerAddress: 'minio:9000' },
    });
    expect(r.ok && r.warnings.filter((w) => w.code === 'CONFIG_UNKNOWN_KEY')).toEqual([]);
  });

  it('lists keys it accepts but does not act on yet, and skips runners of other executors', () => {
    const w =
      warnings(`[session_server]\n  listen_address = ":8093"\n${runner('  [runners.kubernetes]\n    namespace = "ci"\n    poll_interval = 5\n')}
[[runners]]
  url = "https://gitlab.example.com"
  token = "glrt-docker"
  executor = "docker"
  [runners.docker]
    image = "alpine"
`);
    const notActed = w.filter((x) => x.code === 'CONFIG_NOT_ACTED_ON').map((x) => x.path);
    expect(notActed).toEqual(
      expect.arrayContaining(['session_server', 'runners[0].kubernetes.poll_interval', 'runners[1].docker']),
    );
    expect(notActed).not.toContain('runners[0].kubernetes.namespace');
    expect(w.find((x) => x.code === 'CONFIG_RUNNER_SKIPPED')).toMatchObject({
      path: 'runners[1].executor',
      line: 16,
    });
  });

  it('expands $VAR in runner URLs', () => {
    const r = parseConfig(runner().replace('https://gitlab.example.com', '$GITLAB_URL/ci'), {
      env: { GITLAB_URL: 'https://git.example.org' },
    });
    expect(r.ok && r.config.runners[0]?.url).toBe('https://git.example.org/ci');
  });
});
