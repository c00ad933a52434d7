// Shared inputs for the renderer tests: the GitLab fixtures, config.toml snippets and a complete
// RenderJobInput that a test changes only where it looks.
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../../../src/config/load.ts';
import type { RunnerConfig } from '../../../../src/config/schema/runner.ts';
import { type JobPayload, parseJobPayload } from '../../../../src/gitlab/payload.ts';
import { isRenderError, type RenderError } from '../../../../src/kubernetes/render/errors.ts';
import {
  type RenderedJob,
  type RenderJobInput,
  renderJob,
} from '../../../../src/kubernetes/render/render-job.ts';
import type { RenderVariable } from '../../../../src/kubernetes/render/variables.ts';

export function fixture(name: 'job-full.json' | 'job-minimal.json'): { job: JobPayload; raw: string } {
  const raw = readFileSync(new URL(`../../../fixtures/gitlab/${name}`, import.meta.url), 'utf8');
  const parsed = parseJobPayload(JSON.parse(raw));
  if (!parsed.ok) throw new Error(parsed.error);
  return { job: parsed.job, raw };
}

/** A `[[runners]]` entry with `kubernetes` holding the given TOML lines (and `runner` extra runner keys). */
export function runnerConfig(kubernetes = '', runner = ''): RunnerConfig {
  const source = [
    '[[runners]]',
    '  name = "k8s-test"',
    '  url = "https://gitlab.example.com"',
    '  token = "glrt-t3_abcdefghijklmnop"',
    '  executor = "kubernetes"',
    runner,
    '  [runners.kubernetes]',
    kubernetes,
  ].join('\n');
  const loaded = parseConfig(source, { env: {} });
  if (!loaded.ok) throw new Error(loaded.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return loaded.config.runners[0]!;
}

/** The payload's variables plus the runner-side ones `src/scripts` adds (a subset). */
export function jobVariables(job: JobPayload, extra: RenderVariable[] = []): RenderVariable[] {
  const projectDir = `/builds/${job.job_info.project_full_path ?? 'group/project'}`;
  return [
    { key: 'CI_BUILDS_DIR', value: '/builds', public: true },
    { key: 'CI_PROJECT_DIR', value: projectDir, public: true },
    { key: 'CI_CONCURRENT_ID', value: '3', public: true },
    ...job.variables,
    { key: 'RUNNER_TEMP_PROJECT_DIR', value: `${projectDir}.tmp`, public: true },
    ...extra,
  ];
}

export function baseInput(overrides: Partial<RenderJobInput> = {}): RenderJobInput {
  const { job, raw } = fixture('job-minimal.json');
  return {
    job,
    rawPayload: raw,
    runner: runnerConfig('image = "alpine:3.20"'),
    variables: jobVariables(job),
    buildScript: {
      files: { 'build.sh': '#!/bin/sh\necho build\n' },
      command: ['sh', '-c', 'exec sh /podrunner/job/build.sh'],
    },
    helperSettings: '{"server_url":"https://gitlab.example.com"}',
    namespace: 'ci',
    managerSystemId: 's_0123456789ab',
    runnerShortToken: 'abcdefghi',
    projectSlot: 0,
    randomSuffix: 'x7k2m9qa',
    acceptedAt: '2026-05-01T10:00:00.123456Z',
    version: '0.1.0',
    defaultHelperImage: 'ghcr.io/podrunner/helper:0.1.0',
    nativeSidecars: true,
    uploader: false,
    ...overrides,
  };
}

export function rendered(input: RenderJobInput): RenderedJob {
  const result = renderJob(input);
  if (isRenderError(result)) throw new Error(`${result.code}: ${result.message}`);
  return result;
}

export function refused(input: RenderJobInput): RenderError {
  const result = renderJob(input);
  if (!isRenderError(result)) throw new Error('expected a RenderError');
  return result;
}

/** A `[[runners]]` entry that sets every key the renderer acts on (the "maximal" config). */
export function richRunner(): RunnerConfig {
  return runnerConfig(
    [
      'image = "alpine:3.20"',
      'helper_image = "registry.example.com/podrunner/helper:0.1.0"',
      'pull_policy = ["if-not-present", "always"]',
      'allowed_pull_policies = ["if-not-present", "always"]',
      'allowed_images = ["registry.example.com/**", "alpine:*"]',
      'allowed_services = ["docker:*", "postgres:*", "redis:*"]',
      'image_pull_secrets = ["registry-cred"]',
      'namespace_overwrite_allowed = "^ci-"',
      'service_account = "ci-job"',
      'service_account_overwrite_allowed = "^ci-"',
      'cpu_request = "500m"',
      'cpu_limit = "2"',
      'cpu_limit_overwrite_max_allowed = "4"',
      'memory_request = "512Mi"',
      'memory_limit = "2Gi"',
      'memory_limit_overwrite_max_allowed = "8Gi"',
      'ephemeral_storage_request = "1Gi"',
      'ephemeral_storage_limit = "10Gi"',
      'helper_cpu_request = "100m"',
      'helper_memory_request = "300Mi"',
      'helper_memory_limit = "512Mi"',
      'service_cpu_limit = "1"',
      'service_memory_limit = "1Gi"',
      'service_memory_limit_overwrite_max_allowed = "2Gi"',
      'pod_cpu_limit = "8"',
      'privileged = true',
      'allow_privilege_escalation = true',
      'cap_add = ["SYS_TIME"]',
      'cap_drop = ["MKNOD"]',
      'allowed_users = ["1001"]',
      'allowed_groups = ["1001"]',
      'runtime_class_name = "runc"',
      'automount_service_account_token = false',
      'scheduler_name = "ci-scheduler"',
      'priority_class_name = "ci-low"',
      'node_selector_overwrite_allowed = ".*"',
      'node_tolerations_overwrite_allowed = ".*"',
      'pod_labels_overwrite_allowed = ".*"',
      'pod_annotations_overwrite_allowed = ".*"',
      'dns_policy = "none"',
      'pod_termination_grace_period_seconds = 600',
      '[runners.kubernetes.node_selector]',
      '  "kubernetes.io/os" = "linux"',
      '[runners.kubernetes.node_tolerations]',
      '  "dedicated=ci" = "NoSchedule"',
      '[runners.kubernetes.pod_labels]',
      '  team = "platform"',
      '  leak = "$DEPLOY_API_TOKEN"',
      '[runners.kubernetes.pod_annotations]',
      '  "example.com/job" = "$CI_JOB_NAME"',
      '  "example.com/secret" = "$CI_REGISTRY_PASSWORD"',
      '[runners.kubernetes.pod_security_context]',
      '  fs_group = 1001',
      '  supplemental_groups = [2000]',
      '  [runners.kubernetes.pod_security_context.seccomp_profile]',
      '    type = "RuntimeDefault"',
      '[runners.kubernetes.build_container_security_context]',
      '  read_only_root_filesystem = false',
      '  proc_mount = "default"',
      '  selinux_type = "container_t"',
      '[runners.kubernetes.helper_container_security_context]',
      '  run_as_user = 59417',
      '  run_as_non_root = true',
      '  [runners.kubernetes.helper_container_security_context.app_armor_profile]',
      '    type = "RuntimeDefault"',
      '[runners.kubernetes.service_container_security_context]',
      '  privileged = true',
      '[runners.kubernetes.affinity.node_affinity.required_during_scheduling_ignored_during_execution]',
      '  [[runners.kubernetes.affinity.node_affinity.required_during_scheduling_ignored_during_execution.node_selector_terms]]',
      '    [[runners.kubernetes.affinity.node_affinity.required_during_scheduling_ignored_during_execution.node_selector_terms.match_expressions]]',
      '      key = "kubernetes.io/arch"',
      '      operator = "In"',
      '      values = ["amd64", "arm64"]',
      '[[runners.kubernetes.affinity.pod_anti_affinity.preferred_during_scheduling_ignored_during_execution]]',
      '  weight = 10',
      '  [runners.kubernetes.affinity.pod_anti_affinity.preferred_during_scheduling_ignored_during_execution.pod_affinity_term]',
      '    topology_key = "kubernetes.io/hostname"',
      '    [runners.kubernetes.affinity.pod_anti_affinity.preferred_during_scheduling_ignored_during_execution.pod_affinity_term.label_selector.match_labels]',
      '      team = "platform"',
      '[runners.kubernetes.dns_config]',
      '  nameservers = ["10.0.0.10"]',
      '  searches = ["ci.svc.cluster.local"]',
      '  [[runners.kubernetes.dns_config.options]]',
      '    name = "ndots"',
      '    value = "2"',
      '[[runners.kubernetes.host_aliases]]',
      '  ip = "10.1.2.3"',
      '  hostnames = ["mirror.internal"]',
      '[runners.kubernetes.container_lifecycle.pre_stop.exec]',
      '  command = ["sh", "-c", "sleep 1"]',
      '[[runners.kubernetes.services]]',
      '  name = "redis:7"',
      '  alias = "cache"',
      '  environment = ["REDIS_PASSWORD=config-svc-pass"]',
      '[[runners.kubernetes.volumes.host_path]]',
      '  name = "docker-certs"',
      '  mount_path = "/certs"',
      '  host_path = "/srv/certs"',
      '  read_only = true',
      '[[runners.kubernetes.volumes.pvc]]',
      '  name = "cache-$CI_CONCURRENT_ID"',
      '  mount_path = "/cache"',
      '[[runners.kubernetes.volumes.config_map]]',
      '  name = "ci-settings"',
      '  mount_path = "/etc/ci"',
      '  items = { "settings.xml" = "settings.xml" }',
      '[[runners.kubernetes.volumes.secret]]',
      '  name = "deploy-keys"',
      '  mount_path = "/keys"',
      '  read_only = true',
      '[[runners.kubernetes.volumes.empty_dir]]',
      '  name = "scratch"',
      '  mount_path = "/scratch"',
      '  medium = "Memory"',
      '  size_limit = "1Gi"',
      '[[runners.kubernetes.volumes.csi]]',
      '  name = "vault"',
      '  mount_path = "/mnt/vault"',
      '  driver = "secrets-store.csi.k8s.io"',
      '  read_only = true',
      '  volume_attributes = { secretProviderClass = "ci" }',
      '[[runners.kubernetes.volumes.nfs]]',
      '  name = "shared"',
      '  mount_path = "/mnt/shared"',
      '  server = "nfs.example.com"',
      '  path = "/exports/ci"',
      '[[runners.kubernetes.pod_spec]]',
      '  name = "hostname"',
      '  patch = "hostname: ci-job"',
      '  patch_type = "merge"',
      '[[runners.kubernetes.pod_spec]]',
      '  name = "build-env"',
      '  patch = "containers:\\n  - name: build\\n    workingDir: /builds"',
    ].join('\n'),
    [
      '  environment = ["RUNNER_SECRET=runner-env-secret-value", "LANG=C.UTF-8"]',
      '  [runners.feature_flags]',
      '    FF_USE_ADVANCED_POD_SPEC_CONFIGURATION = true',
      '  [runners.cache]',
      '    Type = "s3"',
      '    [runners.cache.s3]',
      '      ServerAddress = "minio.example.com"',
      '      AccessKey = "cache-access-key-id"',
      '      SecretKey = "cache-secret-key-value"',
      '      BucketName = "runner-cache"',
    ].join('\n'),
  );
}
