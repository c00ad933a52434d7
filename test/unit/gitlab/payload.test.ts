import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jobTimeoutSeconds, parseJobPayload } from '../../../src/gitlab/payload.ts';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../fixtures/gitlab/${name}`, import.meta.url), 'utf8'));

describe('job payload schema', () => {
  it('accepts the GitLab 18 shaped full payload with its services, artifacts and cache', () => {
    const parsed = parseJobPayload(fixture('job-full.json'));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const { job } = parsed;
    expect(job.image?.executor_opts.kubernetes?.user).toBe('1001:1001');
    expect(job.services.map((s) => s.alias)).toEqual(['docker', 'db,postgres']);
    expect(job.artifacts.map((a) => [a.artifact_type, a.artifact_format])).toEqual([
      ['archive', 'zip'],
      ['junit', 'gzip'],
    ]);
    expect(job.artifacts[1]?.untracked).toBe(false);
    expect(job.cache[0]?.fallback_keys).toEqual(['npm-deps-main-protected']);
    expect(job.variables.find((v) => v.key === 'KUBE_CA_PEM')?.file).toBe(true);
    expect(job.dependencies[1]?.artifacts_file).toBeUndefined();
    expect(jobTimeoutSeconds(job)).toBe(5400);
  });

  it('accepts the GitLab 17 shaped minimal payload with null image and artifacts', () => {
    const parsed = parseJobPayload(fixture('job-minimal.json'));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.job.image).toBeNull();
    expect(parsed.job.artifacts).toEqual([]);
  });

  it('names the failing path and keeps the job id and token of a malformed payload', () => {
    const raw = fixture('job-minimal.json') as Record<string, unknown>;
    const broken = { ...raw, git_info: { ...(raw.git_info as object), sha: 42 } };
    const parsed = parseJobPayload(broken);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error).toContain('git_info.sha');
    expect(parsed.jobId).toBe(raw.id);
    expect(parsed.token).toBe(raw.token);
  });

  it('rejects executor_opts keys the runner does not support, like upstream', () => {
    const raw = fixture('job-full.json') as Record<string, unknown>;
    const image = {
      ...(raw.image as object),
      executor_opts: { kubernetes: { user: '1', privileged: true } },
    };
    const parsed = parseJobPayload({ ...raw, image });
    expect(parsed.ok).toBe(false);
  });
});
