import { describe, expect, it } from 'vitest';
import { kubernetesConfigSchema } from '../../../../src/config/schema/kubernetes.ts';
import { RenderError } from '../../../../src/kubernetes/render/errors.ts';
import {
  effectivePullPolicies,
  imageMatches,
  parseJobUser,
  verifyAllowedImage,
} from '../../../../src/kubernetes/render/images.ts';
import { baseInput, fixture, jobVariables, refused, rendered, runnerConfig } from './support.ts';

const config = (input: Record<string, unknown>) => kubernetesConfigSchema.parse(input);

function error(fn: () => unknown): RenderError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RenderError) return e;
    throw e;
  }
  throw new Error('expected a RenderError');
}

describe('image selection', () => {
  it('uses the job image, else the configured one, with public variables expanded', () => {
    const { job, raw } = fixture('job-full.json');
    const full = rendered(baseInput({ job, rawPayload: raw, variables: jobVariables(job) }));
    expect(full.pod.spec!.containers[0]!.image).toBe('registry.example.com/acme/ci/node:22');
    const minimal = rendered(
      baseInput({
        runner: runnerConfig('image = "$CI_REGISTRY/base:1"'),
        variables: [{ key: 'CI_REGISTRY', value: 'reg.example.com', public: true }],
      }),
    );
    expect(minimal.pod.spec!.containers[0]!.image).toBe('reg.example.com/base:1');
  });

  it('fails when neither the job nor the config names an image', () => {
    const e = refused(baseInput({ runner: runnerConfig('') }));
    expect(e.code).toBe('NO_IMAGE');
    expect(e.message).toBe('no image specified and no default set in config');
  });

  it('uses helper_image (expanded) instead of the default helper image for helper and uploader', () => {
    const r = rendered(
      baseInput({
        uploader: true,
        runner: runnerConfig(
          'image = "alpine"\nhelper_image = "mirror.example.com/podrunner/helper:$CI_JOB_STAGE"',
        ),
      }),
    );
    expect(r.pod.spec!.initContainers![0]!.image).toBe('mirror.example.com/podrunner/helper:test');
    expect(r.pod.spec!.containers[1]!.image).toBe('mirror.example.com/podrunner/helper:test');
  });
});

describe('allowed_images and allowed_services', () => {
  it('match with doublestar globs: * within a path segment, ** across', () => {
    expect(imageMatches('registry.example.com/acme/ci/node:22', ['registry.example.com/acme/**'])).toBe(true);
    expect(imageMatches('registry.example.com/acme/ci/node:22', ['registry.example.com/acme/*'])).toBe(false);
    expect(imageMatches('alpine:3.20', ['alpine:*'])).toBe(true);
    expect(imageMatches('ruby:3', ['alpine:*', 'ruby:*'])).toBe(true);
    expect(imageMatches('docker.io/library/.hidden:1', ['docker.io/library/*'])).toBe(true);
  });

  it('allow everything when empty, and always the configured image and the helper image', () => {
    expect(() => verifyAllowedImage('anything', 'images', [], [])).not.toThrow();
    expect(() => verifyAllowedImage('alpine', 'images', ['ruby:*'], ['alpine'])).not.toThrow();
  });

  it('refuse the job image or a service outside the list', () => {
    const { job, raw } = fixture('job-full.json');
    const input = (k8s: string) =>
      baseInput({ job, rawPayload: raw, variables: jobVariables(job), runner: runnerConfig(k8s) });
    const image = refused(input('image = "alpine"\nallowed_images = ["alpine:*", "docker.io/**"]'));
    expect(image.code).toBe('IMAGE_NOT_ALLOWED');
    expect(image.message).toMatch(
      /^The "registry.example.com\/acme\/ci\/node:22" image is not present on list of allowed images: alpine:\*, docker.io\/\*\*/,
    );
    const service = refused(input('image = "alpine"\nallowed_services = ["docker:*"]'));
    expect(service.code).toBe('SERVICE_NOT_ALLOWED');
    expect(service.message).toMatch(/"postgres:16-alpine" image is not present on list of allowed services/);
    expect(() =>
      rendered(input('image = "alpine"\nallowed_services = ["docker:*", "postgres:*"]')),
    ).not.toThrow();
  });
});

describe('pull policies', () => {
  const p = (job: string[], cfg: Record<string, unknown>) =>
    effectivePullPolicies(job as ('always' | 'if-not-present' | 'never')[], config(cfg));

  it("use the job's policies, else the config's, within allowed_pull_policies", () => {
    expect(p([], {})).toEqual([]);
    expect(p([], { pull_policy: ['if-not-present', 'always'] })).toEqual(['IfNotPresent', 'Always']);
    expect(p(['always'], { pull_policy: ['never'], allowed_pull_policies: ['always', 'never'] })).toEqual([
      'Always',
    ]);
    expect(p(['always', 'never'], { allowed_pull_policies: ['never'] })).toEqual(['Never']);
    expect(p([], { allowed_pull_policies: ['always', 'never'] })).toEqual(['Always', 'Never']);
  });

  it('accept a job policy when the config restricts nothing (upstream refuses it, gitlab#479766)', () => {
    expect(p(['if-not-present'], {})).toEqual(['IfNotPresent']);
  });

  it('refuse a job policy outside allowed_pull_policies (which defaults to pull_policy)', () => {
    const e = error(() => p(['if-not-present'], { pull_policy: ['always'] }));
    expect(e.code).toBe('PULL_POLICY_NOT_ALLOWED');
    expect(e.message).toBe(
      'pull_policy ([IfNotPresent]) defined in GitLab pipeline config is not one of the allowed_pull_policies ([Always])',
    );
    expect(
      error(() => p([], { pull_policy: ['if-not-present'], allowed_pull_policies: ['always', 'never'] }))
        .message,
    ).toMatch(/defined in Runner config is not one/);
  });

  it('put the policy of the current attempt on each container and list the rest for retries', () => {
    const { job, raw } = fixture('job-full.json');
    const input = baseInput({
      job,
      rawPayload: raw,
      variables: jobVariables(job),
      runner: runnerConfig(
        'image = "alpine"\npull_policy = ["always", "if-not-present"]\nallowed_pull_policies = ["always", "if-not-present"]',
      ),
    });
    const first = rendered(input);
    expect(first.pullPolicies).toEqual({
      helper: ['IfNotPresent'],
      build: ['IfNotPresent'],
      docker: ['Always', 'IfNotPresent'],
      db: ['IfNotPresent'],
    });
    expect(first.pod.spec!.initContainers![1]!.imagePullPolicy).toBe('Always');
    const retry = rendered({ ...input, pullAttempts: { docker: 1 } });
    expect(retry.pod.spec!.initContainers![1]!.imagePullPolicy).toBe('IfNotPresent');
    expect(refused({ ...input, pullAttempts: { docker: 2 } }).code).toBe('INVALID_INPUT');
  });
});

describe('image:kubernetes:user', () => {
  const cfg = (users: string[], groups: string[] = []) =>
    config({ allowed_users: users, allowed_groups: groups });

  it('allows any non-root id when the lists are empty, root only when listed', () => {
    expect(parseJobUser('1001:1001', cfg([]))).toEqual({ uid: 1001, gid: 1001 });
    expect(parseJobUser('1001', cfg([]))).toEqual({ uid: 1001 });
    expect(error(() => parseJobUser('0', cfg([]))).message).toBe(
      'validating UID: user "0" is not in the allowed list: []',
    );
    expect(parseJobUser('0:0', cfg(['0'], ['00']))).toEqual({ uid: 0, gid: 0 });
  });

  it('refuses ids outside a non-empty list and ids that are not numbers', () => {
    expect(error(() => parseJobUser('1002', cfg(['1000', '1001']))).code).toBe('USER_NOT_ALLOWED');
    expect(error(() => parseJobUser('1000:5', cfg(['1000'], ['1000']))).message).toBe(
      'validating GID: group "5" is not in the allowed list: [1000]',
    );
    expect(error(() => parseJobUser('nobody', cfg([]))).message).toMatch(/failed to parse UID/);
  });

  it('sets the build container user, never the helper', () => {
    const { job, raw } = fixture('job-full.json');
    const r = rendered(baseInput({ job, rawPayload: raw, variables: jobVariables(job) }));
    expect(r.pod.spec!.containers[0]!.securityContext).toMatchObject({ runAsUser: 1001, runAsGroup: 1001 });
    expect(r.pod.spec!.initContainers![0]!.securityContext?.runAsUser).toBeUndefined();
  });
});
