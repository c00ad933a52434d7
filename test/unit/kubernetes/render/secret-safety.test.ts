// The Pod object carries no variable value, job token or credential (architecture.md §2): services get
// their environment by reference into the job Secret, the build container runs the script from the
// Secret volume, helper and uploader read job.json/helper.json. Rendered with the full fixture job and
// a config that sets every key the renderer acts on.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { baseInput, fixture, jobVariables, rendered, richRunner } from './support.ts';

const dockerAuthConfig = JSON.stringify({
  auths: { 'quay.io': { username: 'dac-user', password: 'dac-password-77' } },
});

function render(nativeSidecars: boolean) {
  const { job, raw } = fixture('job-full.json');
  const variables = jobVariables(job, [
    { key: 'PUBLIC_MARKER', value: 'pub-marker-4f1a9c', public: true },
    { key: 'PROJECT_SECRET', value: 'proj-secret-9d2c71', public: false, masked: true },
    { key: 'GROUP_SETTING', value: 'group-setting-5e8b', public: false },
    { key: 'DOCKER_AUTH_CONFIG', value: dockerAuthConfig, public: false, masked: true },
    { key: 'RUNNER_SECRET', value: 'runner-env-secret-value', public: true },
    {
      key: 'CI_SERVER_TLS_CA_FILE',
      value: '-----BEGIN CERTIFICATE-----\nMIIrunnerCA\n-----END CERTIFICATE-----',
      public: true,
      file: true,
    },
    { key: 'KUBERNETES_POD_ANNOTATIONS_1', value: 'example.com/ticket=CI-123', public: true },
  ]);
  const helperSettings = JSON.stringify({
    server_url: 'https://gitlab.example.com',
    cache: { s3: { access_key: 'cache-access-key-id', secret_key: 'cache-secret-key-value' } },
  });
  const r = rendered(
    baseInput({
      job,
      rawPayload: raw,
      variables,
      runner: richRunner(),
      helperSettings,
      uploader: true,
      nativeSidecars,
    }),
  );
  return { r, job, variables };
}

const containers = (pod: V1Pod): V1Container[] => [
  ...(pod.spec!.initContainers ?? []),
  ...pod.spec!.containers,
];

describe.each([true, false])('secret safety (native sidecars: %s)', (native) => {
  const { r, job, variables } = render(native);
  const podText = JSON.stringify(r.pod);

  it('holds no token, password, credential or secret variable value anywhere in the Pod', () => {
    const secrets = [
      job.token,
      ...job.dependencies.map((d) => d.token),
      ...job.credentials.flatMap((c) => [
        c.password,
        Buffer.from(`${c.username}:${c.password}`).toString('base64'),
      ]),
      ...variables.filter((v) => v.masked || !v.public).map((v) => v.value),
      ...job.services.flatMap((s) => s.variables.map((v) => v.value)).filter((v) => v.length > 0),
      'config-svc-pass',
      'runner-env-secret-value',
      'pub-marker-4f1a9c',
      'MIIrunnerCA',
      'dac-user',
      'dac-password-77',
      'cache-access-key-id',
      'cache-secret-key-value',
      'gitlab-ci-token:',
    ];
    expect(secrets).toContain('glcbt-Vd3hT8qPz6LmW2xRk9Jf');
    expect(secrets).toContain('ci-only-pass');
    expect(secrets).toContain('s3cr3t-Deploy_Token.9Xq');
    for (const s of secrets)
      expect(podText.includes(s), `found ${JSON.stringify(s.slice(0, 40))} in the Pod`).toBe(false);
    expect(podText).not.toMatch(/glcbt-/);
  });

  it('holds no variable value outside the labels, annotations, images and mount paths derived from job and config', () => {
    const derived = [
      ...Object.values(r.pod.metadata!.labels!),
      ...Object.values(r.pod.metadata!.annotations!),
      ...containers(r.pod).flatMap((c) => [c.image!, ...(c.volumeMounts ?? []).map((m) => m.mountPath)]),
    ];
    const leaked = variables
      .filter((v) => !v.key.startsWith('KUBERNETES_') && v.value.length >= 6)
      .filter((v) => !derived.some((d) => d.includes(v.value)))
      .filter((v) => podText.includes(v.value))
      .map((v) => v.key);
    expect(leaked).toEqual([]);
  });

  it('passes service environment only by reference into the job Secret', () => {
    const name = r.pod.metadata!.name!;
    let refs = 0;
    for (const c of containers(r.pod)) {
      expect(c.envFrom, c.name).toBeUndefined();
      for (const e of c.env ?? []) {
        expect(e.value, `${c.name}/${e.name}`).toBeUndefined();
        expect(e.valueFrom?.secretKeyRef?.name).toBe(name);
        expect(r.secret.data![e.valueFrom!.secretKeyRef!.key]).toBeDefined();
        refs++;
      }
    }
    expect(refs).toBeGreaterThan(20);
    for (const c of ['helper', 'build', 'uploader']) {
      expect(containers(r.pod).find((x) => x.name === c)!.env, c).toBeUndefined();
    }
  });

  it('keeps what it hides in the Secrets instead', () => {
    const secretText = Object.values(r.secret.data!)
      .map((v) => Buffer.from(v, 'base64').toString('utf8'))
      .join('\n');
    for (const s of [
      'glcbt-Vd3hT8qPz6LmW2xRk9Jf',
      'ci-only-pass',
      'config-svc-pass',
      'pub-marker-4f1a9c',
      'cache-secret-key-value',
    ]) {
      expect(secretText).toContain(s);
    }
    const pull = Buffer.from(r.pullSecret!.data!['.dockerconfigjson']!, 'base64').toString('utf8');
    expect(pull).toContain('dac-password-77');
    expect(r.log.join('\n')).toMatch(/refers to \$DEPLOY_API_TOKEN, which is not public/);
  });
});
