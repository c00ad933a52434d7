// The config.toml examples of upstream's Kubernetes executor docs (rewritten as fixtures from the key list)
// load and give the documented values and defaults.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ConfigLoad, parseConfig } from '../../../src/config/load.ts';
import type { PodrunnerConfig } from '../../../src/config/schema/config.ts';

const load = (name: string): ConfigLoad =>
  parseConfig(readFileSync(new URL(`../../fixtures/config/${name}`, import.meta.url), 'utf8'), {
    file: name,
    env: {},
  });

function ok(name: string): PodrunnerConfig {
  const r = load(name);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  expect(r.warnings.filter((w) => w.code === 'CONFIG_UNKNOWN_KEY')).toEqual([]);
  return r.config;
}

describe('config.toml fixtures', () => {
  it('basic: global keys, runner capacity and the common [runners.kubernetes] keys', () => {
    const c = ok('kubernetes-basic.toml');
    expect(c).toMatchObject({
      concurrent: 4,
      check_interval: 10,
      log_level: 'warning',
      listen_address: ':9252',
      shutdown_timeout: 120,
    });
    const r = c.runners[0]!;
    expect(r).toMatchObject({
      name: 'k8s-eu1',
      id: 4711,
      executor: 'kubernetes',
      limit: 3,
      request_concurrency: 2,
    });
    expect(r.token_obtained_at?.toISOString()).toBe('2025-03-01T09:30:00.000Z');
    const k = r.kubernetes!;
    expect(k).toMatchObject({
      host: 'https://kube.example.com:6443',
      namespace: 'ci-jobs',
      namespace_overwrite_allowed: 'ci-.*',
      image: 'alpine:3.20',
      privileged: true,
      cpu_request: '500m',
      cpu_limit: '2',
      memory_request: '512Mi',
      memory_limit: '2Gi',
      memory_limit_overwrite_max_allowed: '8Gi',
      helper_cpu_request: '100m',
      helper_memory_limit: '256Mi',
      service_cpu_limit: '1',
      ephemeral_storage_limit: '10Gi',
      poll_interval: 5,
      poll_timeout: 3600,
      service_account: 'ci-job',
      pull_policy: ['if-not-present', 'always'],
      image_pull_secrets: ['registry-cred'],
      node_selector: { 'kubernetes.io/arch': 'amd64', 'kubernetes.io/os': 'linux' },
      pod_labels: { team: 'platform' },
      pod_annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' },
    });
    expect(k.cpu_limit_overwrite_max_allowed).toBeUndefined();
  });

  it('applies upstream defaults to what the file leaves out', () => {
    const r = ok('kubernetes-basic.toml').runners[0]!;
    expect(r).toMatchObject({
      output_limit: 4096,
      unhealthy_requests_limit: 3,
      unhealthy_interval: 3_600_000,
      job_status_final_update_retry_limit: 10,
      strict_check_interval: false,
      shell: 'bash',
      safe_directory_checkout: true,
      custom_build_dir: { enabled: true },
    });
    expect(r.kubernetes).toMatchObject({
      retry_limit: 5,
      retry_backoff_max: 2000,
      cleanup_resources_timeout: 300_000,
      print_pod_warning_events: true,
      helper_image_flavor: 'alpine',
      pod_disruption_budget: false,
      resource_availability_check_max_attempts: 0,
      namespace_per_job: false,
      allowed_images: [],
      services: [],
    });
    expect(r.kubernetes?.volumes.host_path).toEqual([]);
  });

  it('volumes: every volume type with its fields', () => {
    const v = ok('kubernetes-volumes.toml').runners[0]!.kubernetes!.volumes;
    expect(v.host_path).toEqual([
      {
        name: 'docker-socket',
        mount_path: '/var/run/docker.sock',
        read_only: true,
        host_path: '/var/run/docker.sock',
      },
      {
        name: 'shared-tmp',
        mount_path: '/tmp/shared',
        read_only: false,
        mount_propagation: 'HostToContainer',
      },
    ]);
    expect(v.pvc).toEqual([
      { name: 'cache-$CI_CONCURRENT_ID', mount_path: '/cache', sub_path: 'runner', read_only: false },
    ]);
    expect(v.config_map[0]).toMatchObject({
      name: 'ci-settings',
      read_only: true,
      items: { 'settings.xml': 'maven/settings.xml' },
    });
    expect(v.secret[0]).toMatchObject({
      name: 'deploy-keys',
      mount_path: '/keys',
      items: { id_ed25519: 'id_ed25519' },
    });
    expect(v.empty_dir[0]).toEqual({
      name: 'scratch',
      mount_path: '/scratch',
      medium: 'Memory',
      size_limit: '1Gi',
    });
    expect(v.csi[0]).toMatchObject({
      driver: 'secrets-store.csi.k8s.io',
      fs_type: 'ext4',
      read_only: true,
      volume_attributes: { secretProviderClass: 'vault-ci' },
    });
    expect(v.nfs[0]).toEqual({
      name: 'artifacts',
      mount_path: '/mnt/artifacts',
      server: 'nfs.example.com',
      path: '/exports/ci',
      read_only: false,
    });
  });

  it('security: pod and container security contexts, capabilities, allowlists', () => {
    const k = ok('kubernetes-security.toml').runners[0]!.kubernetes!;
    expect(k.pod_security_context).toEqual({
      run_as_non_root: true,
      run_as_user: 1000,
      run_as_group: 1000,
      fs_group: 2000,
      supplemental_groups: [3000, 4000],
      seccomp_profile: { type: 'RuntimeDefault' },
    });
    expect(k.build_container_security_context).toEqual({
      read_only_root_filesystem: false,
      proc_mount: 'default',
      capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] },
    });
    expect(k.helper_container_security_context?.app_armor_profile).toEqual({
      type: 'Localhost',
      localhost_profile: 'ci-helper',
    });
    expect(k.service_container_security_context?.privileged).toBe(true);
    expect(k.init_permissions_container_security_context?.run_as_user).toBe(0);
    expect(k).toMatchObject({
      allow_privilege_escalation: false,
      cap_add: ['SYS_TIME'],
      cap_drop: ['NET_RAW', 'MKNOD'],
      allowed_users: ['1000', '1001'],
      allowed_groups: ['1000'],
      runtime_class_name: 'gvisor',
      automount_service_account_token: false,
    });
    expect(k.privileged).toBeUndefined();
  });

  it('scheduling: selectors, tolerations, affinities, DNS, host aliases, lifecycle hooks', () => {
    const c = ok('kubernetes-scheduling.toml');
    expect(c.check_interval).toBe(1);
    const k = c.runners[0]!.kubernetes!;
    expect(k.node_tolerations).toEqual({ 'dedicated=ci': 'NoSchedule', spot: 'NoExecute' });
    const na = k.affinity?.node_affinity;
    expect(na?.preferred_during_scheduling_ignored_during_execution?.[0]).toEqual({
      weight: 100,
      preference: {
        match_expressions: [
          { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['eu-west-1a', 'eu-west-1b'] },
        ],
      },
    });
    expect(
      na?.required_during_scheduling_ignored_during_execution?.node_selector_terms[0]?.match_expressions?.[0]
        ?.values,
    ).toEqual(['amd64']);
    const anti = k.affinity?.pod_anti_affinity?.preferred_during_scheduling_ignored_during_execution?.[0];
    expect(anti?.pod_affinity_term.topology_key).toBe('kubernetes.io/hostname');
    expect(anti?.pod_affinity_term.label_selector?.match_labels).toEqual({
      'job.runner.gitlab.com/pod': 'heavy',
    });
    expect(k.dns_policy).toBe('none');
    expect(k.dns_config).toEqual({
      nameservers: ['10.0.0.10'],
      searches: ['ci.svc.cluster.local'],
      options: [{ name: 'ndots', value: '2' }, { name: 'single-request-reopen' }],
    });
    expect(k.host_aliases).toEqual([{ ip: '10.1.2.3', hostnames: ['registry.internal', 'mirror.internal'] }]);
    expect(k.container_lifecycle?.pre_stop?.exec?.command).toEqual(['sh', '-c', 'sleep 5']);
    expect(k.container_lifecycle?.post_start?.http_get).toEqual({
      port: 8080,
      path: '/ready',
      scheme: 'HTTP',
    });
    expect(k).toMatchObject({
      scheduler_name: 'ci-scheduler',
      priority_class_name: 'ci-low',
      node_selector_overwrite_allowed: '.*',
    });
  });

  it('services, cache, job-side settings, feature flags and the session server', () => {
    const c = ok('kubernetes-services-cache.toml');
    expect(c.session_server).toEqual({
      listen_address: '[::]:8093',
      advertise_address: 'runner.example.com:8093',
      session_timeout: 600,
    });
    expect(c.connection_max_age).toBe(600_000);
    const r = c.runners[0]!;
    expect(r.environment).toEqual(['DOCKER_TLS_CERTDIR=', 'DOCKER_HOST=tcp://docker:2375']);
    expect(r.pre_get_sources_script).toBe('echo before clone');
    expect(r.pre_build_script).toBe('export PATH=/opt/tools:$PATH\necho "FOO=bar" > .env\n');
    expect(r).toMatchObject({
      output_limit: 16384,
      unhealthy_requests_limit: 5,
      unhealthy_interval: 150_000,
      job_status_final_update_retry_limit: 4,
    });
    expect(r.feature_flags).toEqual({ FF_USE_POD_ACTIVE_DEADLINE_SECONDS: true, FF_TIMESTAMPS: false });
    expect(r.cache).toMatchObject({ Type: 's3', Path: 'ci-cache', Shared: true, MaxUploadedArchiveSize: 0 });
    expect(r.cache?.s3).toMatchObject({
      ServerAddress: 'minio.example.com:9000',
      AccessKey: 'minio',
      SecretKey: 'minio-secret',
      BucketName: 'runner-cache',
      BucketLocation: 'us-east-1',
      Insecure: true,
      DualStack: true,
      AuthenticationType: '',
    });
    const k = r.kubernetes!;
    expect(k.services).toEqual([
      { name: 'docker:27-dind', alias: 'docker,dind', command: ['--tls=false'] },
      { name: 'postgres:16', environment: ['POSTGRES_PASSWORD=ci'] },
    ]);
    expect(k.pod_spec[0]).toMatchObject({ name: 'hostname', patch_type: 'merge' });
    expect(k.pod_spec[0]?.patch).toContain('hostname: "ci-job"');
  });

  it('the Helm chart rendering: zero values mean the defaults, empty sections are fine', () => {
    const c = ok('chart-default.toml');
    expect(c).toMatchObject({
      concurrent: 10,
      check_interval: 3,
      shutdown_timeout: 30,
      listen_address: ':9252',
    });
    const r = c.runners[0]!;
    expect(r.token_expires_at?.getUTCFullYear()).toBe(1);
    expect(r.kubernetes).toMatchObject({
      image: 'alpine',
      namespace: 'gitlab-runner',
      terminationGracePeriodSeconds: 30,
    });
    expect(r.cache?.s3).toMatchObject({ DualStack: true, Insecure: false });
    expect(r.kubernetes?.pod_security_context).toEqual({});
  });

  it('an empty file is a valid config with upstream defaults', () => {
    const r = parseConfig('');
    expect(r.ok && r.config).toMatchObject({
      concurrent: 1,
      check_interval: 3,
      shutdown_timeout: 30,
      connection_max_age: 900_000,
      runners: [],
    });
  });
});
