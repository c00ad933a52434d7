import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../src/config/load.ts';
import { baseInput, refused, rendered, runnerConfig } from './support.ts';

function volumesRunner() {
  const text = readFileSync(
    new URL('../../../fixtures/config/kubernetes-volumes.toml', import.meta.url),
    'utf8',
  );
  const loaded = parseConfig(text, { env: {} });
  if (!loaded.ok) throw new Error('fixture does not load');
  const runner = loaded.config.runners[0]!;
  return { ...runner, kubernetes: { ...runner.kubernetes!, image: 'alpine' } };
}

describe('pod volumes', () => {
  it("have the contract's builds, job Secret and status volumes", () => {
    const r = rendered(baseInput({ uploader: true }));
    const spec = r.pod.spec!;
    const name = r.pod.metadata!.name!;
    expect(spec.volumes).toEqual([
      { name: 'builds', emptyDir: {} },
      {
        name: 'podrunner-job',
        secret: {
          secretName: name,
          items: [
            { key: 'job.json', path: 'job.json' },
            { key: 'helper.json', path: 'helper.json' },
            { key: 'build.sh', path: 'build.sh' },
          ],
        },
      },
      { name: 'podrunner-status', emptyDir: {} },
    ]);
    const mounts = [
      { name: 'builds', mountPath: '/builds' },
      { name: 'podrunner-job', mountPath: '/podrunner/job', readOnly: true },
      { name: 'podrunner-status', mountPath: '/podrunner/status' },
    ];
    expect(spec.initContainers![0]!.volumeMounts).toEqual(mounts);
    expect(spec.containers[0]!.volumeMounts).toEqual(mounts);
    expect(spec.containers[1]!.volumeMounts).toEqual(mounts);
  });

  it('mount the builds volume at builds_dir', () => {
    const r = rendered(baseInput({ runner: runnerConfig('image = "a"', 'builds_dir = "/ci/builds"') }));
    expect(r.pod.spec!.containers[0]!.volumeMounts![0]).toEqual({ name: 'builds', mountPath: '/ci/builds' });
  });

  it('render every configured volume type, mounted in every container, services without the job Secret', () => {
    const r = rendered(
      baseInput({
        runner: volumesRunner(),
        variables: [{ key: 'CI_CONCURRENT_ID', value: '3', public: true }],
      }),
    );
    const spec = r.pod.spec!;
    expect(spec.volumes).toEqual([
      { name: 'docker-socket', hostPath: { path: '/var/run/docker.sock' } },
      { name: 'shared-tmp', hostPath: { path: '/tmp/shared' } },
      {
        name: 'deploy-keys',
        secret: { secretName: 'deploy-keys', items: [{ key: 'id_ed25519', path: 'id_ed25519' }] },
      },
      { name: 'cache-3', persistentVolumeClaim: { claimName: 'cache-3' } },
      {
        name: 'ci-settings',
        configMap: { name: 'ci-settings', items: [{ key: 'settings.xml', path: 'maven/settings.xml' }] },
      },
      { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } },
      {
        name: 'secrets-store',
        csi: {
          driver: 'secrets-store.csi.k8s.io',
          readOnly: true,
          fsType: 'ext4',
          volumeAttributes: { secretProviderClass: 'vault-ci' },
        },
      },
      { name: 'artifacts', nfs: { server: 'nfs.example.com', path: '/exports/ci' } },
      { name: 'builds', emptyDir: {} },
      { name: 'podrunner-job', secret: { secretName: r.pod.metadata!.name!, items: expect.any(Array) } },
      { name: 'podrunner-status', emptyDir: {} },
    ]);
    const configured = [
      { name: 'docker-socket', mountPath: '/var/run/docker.sock', readOnly: true },
      { name: 'shared-tmp', mountPath: '/tmp/shared', mountPropagation: 'HostToContainer' },
      { name: 'deploy-keys', mountPath: '/keys', readOnly: true },
      { name: 'cache-3', mountPath: '/cache', subPath: 'runner' },
      { name: 'ci-settings', mountPath: '/etc/ci', readOnly: true },
      { name: 'scratch', mountPath: '/scratch' },
      { name: 'secrets-store', mountPath: '/mnt/secrets', readOnly: true },
      { name: 'artifacts', mountPath: '/mnt/artifacts' },
    ];
    expect(spec.containers[0]!.volumeMounts!.slice(3)).toEqual(configured);
    expect(spec.initContainers![0]!.volumeMounts!.slice(3)).toEqual(configured);
  });

  it('give services the builds volume and the configured ones, never the job Secret', () => {
    const r = rendered(
      baseInput({
        runner: runnerConfig(
          'image = "a"\n[[runners.kubernetes.services]]\nname = "redis:7"\n[[runners.kubernetes.volumes.empty_dir]]\nname = "x"\nmount_path = "/x"',
        ),
      }),
    );
    expect(r.pod.spec!.initContainers![1]!.volumeMounts).toEqual([
      { name: 'builds', mountPath: '/builds' },
      { name: 'x', mountPath: '/x' },
    ]);
  });

  it('drop the builds emptyDir when a configured volume is mounted at builds_dir', () => {
    const r = rendered(
      baseInput({
        runner: runnerConfig(
          'image = "a"\n[[runners.kubernetes.volumes.pvc]]\nname = "repo-pvc"\nmount_path = "/builds"',
        ),
      }),
    );
    expect(r.pod.spec!.volumes!.map((v) => v.name)).toEqual([
      'repo-pvc',
      'podrunner-job',
      'podrunner-status',
    ]);
    expect(r.pod.spec!.containers[0]!.volumeMounts![0]).toEqual({
      name: 'podrunner-job',
      mountPath: '/podrunner/job',
      readOnly: true,
    });
  });

  it('refuse a configured volume named like one of the pod’s own', () => {
    const e = refused(
      baseInput({
        runner: runnerConfig(
          'image = "a"\n[[runners.kubernetes.volumes.empty_dir]]\nname = "builds"\nmount_path = "/b"',
        ),
      }),
    );
    expect(e.code).toBe('VOLUME_NAME_CONFLICT');
  });

  it('warn about and skip an emptyDir size_limit that is not a quantity; never expand non-public variables', () => {
    const r = rendered(
      baseInput({
        runner: runnerConfig(
          'image = "a"\n[[runners.kubernetes.volumes.empty_dir]]\nname = "x"\nmount_path = "/x/$TOKEN"\nsize_limit = "lots"',
        ),
        variables: [{ key: 'TOKEN', value: 'hush', public: false }],
      }),
    );
    expect(r.pod.spec!.volumes![0]).toEqual({ name: 'x', emptyDir: {} });
    expect(r.pod.spec!.containers[0]!.volumeMounts![3]!.mountPath).toBe('/x/');
    expect(r.log.join('\n')).toMatch(/invalid limit quantity "lots"/);
  });
});
