import { describe, expect, it } from 'vitest';
import {
  jobSecret,
  jobVariableKey,
  secretOwnerReference,
  serviceVariableKey,
} from '../../../../src/kubernetes/render/secret.ts';
import { baseInput, fixture, jobVariables, refused, rendered, runnerConfig } from './support.ts';

const decode = (data: Record<string, string>, key: string) =>
  Buffer.from(data[key]!, 'base64').toString('utf8');

describe('the job Secret', () => {
  it('is Opaque, named and labelled like the pod, and holds job.json, helper.json and the script files', () => {
    const { job, raw } = fixture('job-full.json');
    const r = rendered(
      baseInput({
        job,
        rawPayload: raw,
        variables: jobVariables(job),
        buildScript: { files: { 'build.sh': '#!/bin/sh\n', 'runtime.sh': 'x' }, command: ['sh'] },
      }),
    );
    const s = r.secret;
    expect(s.type).toBe('Opaque');
    expect(s.immutable).toBe(true);
    expect(s.metadata).toEqual({
      name: r.pod.metadata!.name,
      namespace: 'ci',
      labels: r.pod.metadata!.labels,
    });
    expect(decode(s.data!, 'job.json')).toBe(raw);
    expect(decode(s.data!, 'helper.json')).toBe('{"server_url":"https://gitlab.example.com"}');
    expect(decode(s.data!, 'build.sh')).toBe('#!/bin/sh\n');
    expect(decode(s.data!, 'runtime.sh')).toBe('x');
    expect(Object.keys(s.data!).every((k) => /^[-._a-zA-Z0-9]+$/.test(k))).toBe(true);
  });

  it('uses env.<NAME> and svc.<container>.<NAME> keys, hex for names with other characters', () => {
    expect(jobVariableKey('CI_JOB_ID')).toBe('env.CI_JOB_ID');
    expect(serviceVariableKey('db', 'POSTGRES_DB')).toBe('svc.db.POSTGRES_DB');
    expect(jobVariableKey('A B')).toBe('env-hex.412042');
    expect(serviceVariableKey('db', 'é')).toBe('svc-hex.db.c3a9');
  });

  it('refuses a script file that would collide with a reserved key', () => {
    for (const name of ['job.json', 'env.X', 'svc.db.X', 'bad name']) {
      expect(
        refused(baseInput({ buildScript: { files: { [name]: 'x' }, command: ['sh'] } })).code,
        name,
      ).toBe('SECRET_KEY_CONFLICT');
    }
    expect(() =>
      jobSecret({
        name: 'p',
        namespace: 'n',
        labels: {},
        rawPayload: '{}',
        helperSettings: '{}',
        scriptFiles: { 'build.sh': '' },
        envValues: new Map(),
      }),
    ).not.toThrow();
  });

  it('gets its ownerReference from the created pod', () => {
    expect(secretOwnerReference({ metadata: { name: 'runner-x', uid: 'u-1' } })).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      name: 'runner-x',
      uid: 'u-1',
      blockOwnerDeletion: false,
    });
    expect(() => secretOwnerReference({ metadata: { name: 'runner-x' } })).toThrow(/created pod/);
  });
});

describe('the pull Secret', () => {
  it('holds the registry credentials of the payload and is listed after image_pull_secrets', () => {
    const { job, raw } = fixture('job-full.json');
    const r = rendered(baseInput({ job, rawPayload: raw, variables: jobVariables(job) }));
    const p = r.pullSecret!;
    const name = `${r.pod.metadata!.name}-pull`;
    expect(p.metadata).toEqual({ name, namespace: 'ci', labels: r.pod.metadata!.labels });
    expect(p.type).toBe('kubernetes.io/dockerconfigjson');
    expect(p.immutable).toBe(true);
    expect(JSON.parse(decode(p.data!, '.dockerconfigjson'))).toEqual({
      auths: {
        'registry.example.com': {
          username: 'gitlab-ci-token',
          password: 'glcbt-Vd3hT8qPz6LmW2xRk9Jf',
          auth: Buffer.from('gitlab-ci-token:glcbt-Vd3hT8qPz6LmW2xRk9Jf').toString('base64'),
        },
      },
    });
    expect(r.pod.spec!.imagePullSecrets).toEqual([{ name }]);
  });

  it('adds DOCKER_AUTH_CONFIG entries, which win for the same registry', () => {
    const { job, raw } = fixture('job-full.json');
    const dockerAuth = JSON.stringify({
      auths: {
        'registry.example.com': { auth: 'b3duOnBhc3M=' },
        'quay.io': { username: 'bot', password: 'pw' },
        'ignored.io': { identitytoken: 'x' },
      },
      credHelpers: { 'gcr.io': 'gcloud' },
    });
    const r = rendered(
      baseInput({
        job,
        rawPayload: raw,
        variables: jobVariables(job, [{ key: 'DOCKER_AUTH_CONFIG', value: dockerAuth, masked: true }]),
      }),
    );
    const auths = JSON.parse(decode(r.pullSecret!.data!, '.dockerconfigjson')).auths;
    expect(Object.keys(auths)).toEqual(['registry.example.com', 'quay.io']);
    expect(auths['registry.example.com']).toEqual({ auth: 'b3duOnBhc3M=' });
    expect(auths['quay.io'].auth).toBe(Buffer.from('bot:pw').toString('base64'));
  });

  it('is left out without credentials, and with use_service_account_image_pull_secrets', () => {
    const none = rendered(baseInput());
    expect(none.pullSecret).toBeUndefined();
    expect(none.pod.spec!.imagePullSecrets).toBeUndefined();
    const { job, raw } = fixture('job-full.json');
    const sa = rendered(
      baseInput({
        job,
        rawPayload: raw,
        variables: jobVariables(job),
        runner: runnerConfig(
          'image = "a"\nimage_pull_secrets = ["reg"]\nuse_service_account_image_pull_secrets = true',
        ),
      }),
    );
    expect(sa.pullSecret).toBeUndefined();
    expect(sa.pod.spec!.imagePullSecrets).toBeUndefined();
  });

  it('refuses a DOCKER_AUTH_CONFIG that is not a Docker config', () => {
    const e = refused(baseInput({ variables: [{ key: 'DOCKER_AUTH_CONFIG', value: '{"auths": [' }] }));
    expect(e.code).toBe('DOCKER_AUTH_CONFIG_INVALID');
    expect(
      refused(baseInput({ variables: [{ key: 'DOCKER_AUTH_CONFIG', value: '{"auths": []}' }] })).code,
    ).toBe('DOCKER_AUTH_CONFIG_INVALID');
  });
});
