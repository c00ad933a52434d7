import { describe, expect, it } from 'vitest';
import { parseCiConfig } from '../../../src/sim/gitlab/ci/config.ts';
import { parseDuration } from '../../../src/sim/gitlab/ci/duration.ts';
import type { CiPipelineSpec } from '../../../src/sim/gitlab/ci/model.ts';
import { requiredRunnerFeatures } from '../../../src/sim/gitlab/ci/model.ts';

function ok(yaml: string): CiPipelineSpec {
  const result = parseCiConfig(yaml);
  if (!result.ok) throw new Error(result.errors.join('; '));
  return result.spec;
}

function errors(yaml: string): string[] {
  const result = parseCiConfig(yaml);
  if (result.ok) throw new Error('expected an error');
  return result.errors;
}

describe('.gitlab-ci.yml → pipeline model', () => {
  it('orders jobs by stage, adds .pre/.post, and defaults the stage to test', () => {
    const spec = ok(`
stages: [build, test, deploy]
deploy: { stage: deploy, script: [./deploy] }
unit: { script: [npm test] }
compile: { stage: build, script: make }
`);
    expect(spec.stages).toEqual(['.pre', 'build', 'test', 'deploy', '.post']);
    expect(spec.jobs.map((j) => [j.name, j.stage])).toEqual([
      ['compile', 'build'],
      ['unit', 'test'],
      ['deploy', 'deploy'],
    ]);
    expect(spec.jobs[0]?.script).toEqual(['make']);
  });

  it('applies default: and the deprecated globals, job keys winning', () => {
    const spec = ok(`
image: ruby:3
before_script: [global-before]
default:
  image: { name: node:22, entrypoint: [""], kubernetes: { user: 1001 }, pull_policy: if-not-present }
  services: [postgres:16]
  after_script: [cleanup]
  tags: [k8s]
  timeout: 1h 30m
  retry: 2
a: { script: [a] }
b:
  image: alpine
  before_script: []
  tags: []
  script: [b]
`);
    const [a, b] = spec.jobs;
    expect(a?.image).toEqual({
      name: 'node:22',
      entrypoint: [''],
      pullPolicy: ['if-not-present'],
      executorOpts: { kubernetes: { user: 1001 } },
      ports: [],
    });
    expect(a?.beforeScript).toEqual(['global-before']);
    expect(a?.afterScript).toEqual(['cleanup']);
    expect(a?.services.map((s) => s.name)).toEqual(['postgres:16']);
    expect(a?.tags).toEqual(['k8s']);
    expect(a?.timeoutSeconds).toBe(5400);
    expect(a?.retry).toEqual({ max: 2, when: ['always'], exitCodes: null });
    expect(b?.image?.name).toBe('alpine');
    expect(b?.beforeScript).toEqual([]);
    expect(b?.tags).toEqual([]);
  });

  it('parses services, artifacts, caches, needs and variables', () => {
    const spec = ok(`
variables:
  GLOBAL: one
  LITERAL: { value: "$HOME/x", expand: false }
  NUM: 3
build:
  stage: build
  script: [make]
  services:
    - name: docker:27-dind
      alias: docker
      command: ["--tls=false"]
      variables: { DOCKER_TLS_CERTDIR: "" }
  variables: { JOB: two }
  artifacts:
    name: out
    paths: [dist/]
    exclude: ["dist/**/*.map"]
    untracked: false
    when: always
    expire_in: 1 week
    reports:
      junit: [reports/junit.xml]
      coverage_report: { coverage_format: cobertura, path: cov.xml }
  cache:
    - key: { files: [package-lock.json], prefix: npm }
      paths: [.npm/]
      policy: pull
      fallback_keys: [npm-main]
    - paths: [vendor/]
test:
  needs: [{ job: build, artifacts: false }]
  dependencies: [build]
  script:
    - [echo nested, [echo deeper]]
  allow_failure: { exit_codes: [3, 4] }
  when: always
`);
    expect(spec.variables).toEqual([
      { key: 'GLOBAL', value: 'one', raw: false },
      { key: 'LITERAL', value: '$HOME/x', raw: true },
      { key: 'NUM', value: '3', raw: false },
    ]);
    const build = spec.jobs[0];
    expect(build?.services[0]).toMatchObject({
      name: 'docker:27-dind',
      alias: 'docker',
      command: ['--tls=false'],
      variables: [{ key: 'DOCKER_TLS_CERTDIR', value: '' }],
    });
    expect(build?.artifacts).toEqual({
      name: 'out',
      paths: ['dist/'],
      exclude: ['dist/**/*.map'],
      untracked: false,
      when: 'always',
      expireIn: '1 week',
      reports: [
        { type: 'junit', paths: ['reports/junit.xml'] },
        { type: 'cobertura', paths: ['cov.xml'] },
      ],
    });
    expect(build?.cache[0]?.key).toEqual({ kind: 'files', files: ['package-lock.json'], prefix: 'npm' });
    expect(build?.cache[1]?.key).toBeNull();
    expect(requiredRunnerFeatures(build as NonNullable<typeof build>)).toEqual([
      'upload_multiple_artifacts',
      'artifacts_exclude',
      'fallback_cache_keys',
    ]);
    const test = spec.jobs[1];
    expect(test?.needs).toEqual([{ job: 'build', artifacts: false, optional: false }]);
    expect(test?.script).toEqual(['echo nested', 'echo deeper']);
    expect(test?.allowFailureExitCodes).toEqual([3, 4]);
    expect(test?.when).toBe('always');
    expect(requiredRunnerFeatures(test as NonNullable<typeof test>)).toEqual(['return_exit_code']);
  });

  it('takes hooks:pre_get_sources_script from default: or the job, the job replacing it whole', () => {
    const spec = ok(`
default:
  hooks: { pre_get_sources_script: [git config --global http.postBuffer 524288000] }
inherits: { script: [x] }
own: { script: [y], hooks: { pre_get_sources_script: echo own } }
none: { script: [z], hooks: {} }
`);
    expect(spec.jobs.map((j) => [j.name, j.hooks])).toEqual([
      [
        'inherits',
        [{ name: 'pre_get_sources_script', script: ['git config --global http.postBuffer 524288000'] }],
      ],
      ['own', [{ name: 'pre_get_sources_script', script: ['echo own'] }]],
      ['none', []],
    ]);
    expect(errors('a: { script: [x], hooks: { post_get_sources_script: [y] } }\n')).toEqual([
      'jobs:a:hooks config contains unknown keys: post_get_sources_script',
    ]);
    expect(errors('a: { script: [x], hooks: [y] }\n')).toEqual(['jobs:a:hooks config should be a hash']);
  });

  it('resolves YAML anchors and merge keys', () => {
    const spec = ok(`
.base: &base
  image: alpine
  tags: [small]
a:
  <<: *base
  script: [a]
`);
    expect(spec.jobs).toHaveLength(1);
    expect(spec.jobs[0]?.image?.name).toBe('alpine');
    expect(spec.jobs[0]?.tags).toEqual(['small']);
  });

  it('resolves extends: deep-merging hashes, replacing arrays, bases in order', () => {
    const spec = ok(`
.base:
  image: alpine
  variables: { A: a, B: b }
  script: [base]
.other:
  extends: .base
  tags: [k8s]
  variables: { B: other }
test:
  extends: [.other]
  variables: { C: c }
  script: [mine]
`);
    const job = spec.jobs[0];
    expect(job?.image?.name).toBe('alpine');
    expect(job?.tags).toEqual(['k8s']);
    expect(job?.script).toEqual(['mine']);
    expect(job?.variables.map((v) => `${v.key}=${v.value}`)).toEqual(['A=a', 'B=other', 'C=c']);
  });

  it.each([
    ['build:\n  script: [x]\n  foo: 1\n', 'jobs:build config contains unknown keys: foo'],
    [
      'build:\n  script: [x]\n  rules: [{ if: "$CI" }]\n',
      'jobs:build config uses keywords the embedded GitLab does not support: rules',
    ],
    [
      'include: other.yml\nbuild: { script: [x] }\n',
      'root config uses keywords the embedded GitLab does not support: include',
    ],
    [
      'build: { image: alpine }\n',
      'jobs:build config should implement the script:, run:, or trigger: keyword',
    ],
    ['.hidden: { script: [x] }\n', 'jobs config should contain at least one visible job'],
    [
      'build: { stage: nope, script: [x] }\n',
      'build job: chosen stage nope does not exist; available stages are .pre, build, test, deploy, .post',
    ],
    ['test: { needs: [build], script: [x] }\n', 'test job: undefined need: build'],
    [
      'a: { stage: build, needs: [b], script: [x] }\nb: { stage: test, script: [x] }\n',
      'a job: need b is not defined in current or prior stages',
    ],
    [
      'a: { needs: [b], script: [x] }\nb: { needs: [a], script: [x] }\n',
      'The pipeline has circular dependencies',
    ],
    ['a: { dependencies: [zzz], script: [x] }\n', 'a job: undefined dependency: zzz'],
    [
      'a: { stage: build, script: [x] }\nb: { needs: [], dependencies: [a], script: [x] }\n',
      'jobs:b dependencies the a should be part of needs',
    ],
    [
      'a: { when: sometimes, script: [x] }\n',
      'jobs:a when should be one of: on_success, on_failure, always, manual, delayed',
    ],
    [
      'a: { script: [x], cache: { key: "a/b" } }\n',
      'jobs:a:cache:key config cannot contain the "/" character',
    ],
    ['a: { script: [x], retry: 5 }\n', 'jobs:a:retry config must be between 0 and 2'],
    [
      'a: { script: [x], artifacts: { reports: { bogus: x.json } } }\n',
      'jobs:a:artifacts:reports config contains unknown keys: bogus',
    ],
    ['[1, 2]\n', 'Invalid configuration format'],
    ['a: { extends: .nope, script: [x] }\n', 'a: unknown keys in `extends` (.nope)'],
    [
      '.a: { extends: .b }\n.b: { extends: .a }\nc: { extends: .a, script: [x] }\n',
      '.a: circular dependency detected in `extends`',
    ],
    ['', 'Please provide content of .gitlab-ci.yml'],
  ])('rejects %j like GitLab lint', (yaml, message) => {
    expect(errors(yaml)).toEqual([message]);
  });

  it('reports YAML syntax errors and custom tags', () => {
    expect(errors('a: [unclosed\n')[0]).toMatch(/^\(<unknown>\): /);
    expect(errors('a:\n  script: !reference [.x, script]\n')[0]).toBe(
      '!reference tags are not supported by the embedded GitLab',
    );
  });
});

describe('durations', () => {
  it.each([
    ['3600', 3600],
    ['90 minutes', 5400],
    ['1h 30m', 5400],
    ['1h30m', 5400],
    ['2 days', 172_800],
    ['1 week', 604_800],
    ['3 hours and 5 minutes', 11_100],
  ])('%s → %d s', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it('rejects nonsense', () => {
    expect(parseDuration('soon')).toBeNull();
    expect(parseDuration('5 fortnights')).toBeNull();
  });
});
