import { describe, expect, it } from 'vitest';
import { isProtectedKey, jobUrl, sanitizeLabel } from '../../../../src/kubernetes/render/labels.ts';
import { baseInput, fixture, jobVariables, refused, rendered, runnerConfig } from './support.ts';

describe('pod labels', () => {
  it("carry upstream's labels (sanitised) and podrunner's runner and manager labels", () => {
    const { job, raw } = fixture('job-full.json');
    const r = rendered(
      baseInput({
        job,
        rawPayload: raw,
        variables: jobVariables(job, [
          { key: 'CI_PROJECT_NAMESPACE', value: 'acme/platform', public: true },
          { key: 'CI_PROJECT_ROOT_NAMESPACE', value: 'acme', public: true },
        ]),
      }),
    );
    expect(r.pod.metadata?.labels).toEqual({
      pod: 'runner-abcdefghi-project-812-concurrent-0',
      'project.runner.gitlab.com/id': '812',
      'project.runner.gitlab.com/namespace-id': '57',
      'project.runner.gitlab.com/name': 'web-app',
      'project.runner.gitlab.com/namespace': 'acme_platform',
      'project.runner.gitlab.com/root-namespace': 'acme',
      'project.runner.gitlab.com/root-namespace-id': '12',
      'job.runner.gitlab.com/pod': 'runner-abcdefghi-project-812-concurrent-0',
      'manager.runner.gitlab.com/name': 'k8s-test',
      'manager.runner.gitlab.com/id-short': 'abcdefghi',
      'podrunner.dev/runner': 'abcdefghi',
      'podrunner.dev/manager': 's_0123456789ab',
    });
    expect(r.secret.metadata?.labels).toEqual(r.pod.metadata?.labels);
  });

  it('sanitise like upstream: other characters become _, punctuation trimmed, at most 63', () => {
    expect(sanitizeLabel('my project/é')).toBe('my_project');
    expect(sanitizeLabel('-._ok._-')).toBe('ok');
    expect(sanitizeLabel(`${'a'.repeat(62)}.b`)).toBe('a'.repeat(62));
    expect(sanitizeLabel('x'.repeat(70))).toHaveLength(63);
  });

  it('add pod_labels with public variables expanded, never into the protected namespaces', () => {
    const r = rendered(
      baseInput({
        runner: runnerConfig(
          [
            'image = "alpine"',
            '[runners.kubernetes.pod_labels]',
            '  team = "platform"',
            '  "example.com/job" = "$CI_JOB_NAME job"',
            '  secret = "x$CI_JOB_TOKEN"',
            '  "project.runner.gitlab.com/id" = "999"',
            '  "podrunner.dev/manager" = "someone-else"',
          ].join('\n'),
        ),
      }),
    );
    const labels = r.pod.metadata!.labels!;
    expect(labels.team).toBe('platform');
    expect(labels['example.com/job']).toBe('hello_job');
    expect(labels.secret).toBe('x');
    expect(labels['project.runner.gitlab.com/id']).toBe('731');
    expect(labels['podrunner.dev/manager']).toBe('s_0123456789ab');
    expect(r.log.join('\n')).toMatch(/pod label "secret" refers to \$CI_JOB_TOKEN, which is not public/);
    expect(r.log.join('\n')).toMatch(/Not setting pod label "project.runner.gitlab.com\/id"/);
  });

  it('refuse a label key the API server would refuse', () => {
    const e = refused(
      baseInput({ runner: runnerConfig('image = "a"\n[runners.kubernetes.pod_labels]\n"bad key" = "x"') }),
    );
    expect(e.code).toBe('INVALID_METADATA_KEY');
    expect(e.message).toMatch(/pod label key "bad key"/);
  });

  it('protect runner.gitlab.com and podrunner.dev keys, case-insensitively, with any subdomain', () => {
    expect(isProtectedKey('job.runner.gitlab.com/x')).toBe(true);
    expect(isProtectedKey('Runner.GitLab.com')).toBe(true);
    expect(isProtectedKey('podrunner.dev/anything')).toBe(true);
    expect(isProtectedKey('notrunner.gitlab.com/x')).toBe(false);
    expect(isProtectedKey('example.com/runner')).toBe(false);
  });
});

describe('pod annotations', () => {
  it("carry upstream's job annotations and podrunner's version and acceptance time", () => {
    const { job, raw } = fixture('job-full.json');
    const r = rendered(baseInput({ job, rawPayload: raw, variables: jobVariables(job) }));
    expect(r.pod.metadata?.annotations).toEqual({
      'job.runner.gitlab.com/id': '90342',
      'job.runner.gitlab.com/url': 'https://gitlab.example.com/acme/platform/web-app/-/jobs/90342',
      'job.runner.gitlab.com/sha': 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3',
      'job.runner.gitlab.com/before_sha': '7b52009b64fd0a2a49e6d8a939753077792b0554',
      'job.runner.gitlab.com/ref': 'main',
      'job.runner.gitlab.com/name': 'integration-test',
      'job.runner.gitlab.com/timeout': '1h30m0s',
      'project.runner.gitlab.com/id': '812',
      'podrunner.dev/version': '0.1.0',
      'podrunner.dev/accepted-at': '2026-05-01T10:00:00.123456Z',
    });
  });

  it('take pod_annotations (which may replace job.runner.gitlab.com ones, not podrunner.dev ones)', () => {
    const r = rendered(
      baseInput({
        runner: runnerConfig(
          [
            'image = "alpine"',
            '[runners.kubernetes.pod_annotations]',
            '  "cluster-autoscaler.kubernetes.io/safe-to-evict" = "false"',
            '  "job.runner.gitlab.com/name" = "renamed $CI_JOB_STAGE"',
            '  "podrunner.dev/version" = "9"',
          ].join('\n'),
        ),
      }),
    );
    const a = r.pod.metadata!.annotations!;
    expect(a['cluster-autoscaler.kubernetes.io/safe-to-evict']).toBe('false');
    expect(a['job.runner.gitlab.com/name']).toBe('renamed test');
    expect(a['podrunner.dev/version']).toBe('0.1.0');
  });

  it('give the job URL without the credentials of the clone URL', () => {
    const { job } = fixture('job-minimal.json');
    expect(jobUrl(job)).toBe('https://gitlab.example.com/acme/demo/-/jobs/90211');
  });
});
