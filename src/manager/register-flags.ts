// The flags and environment variables `podrunner register` reads into a `[[runners]]` entry, with
// gitlab-runner's names (kubernetes-executor.md §1.7): `--kubernetes-<key>` / `KUBERNETES_<KEY>` for every
// scalar `[runners.kubernetes]` key, `--cache-…` / `CACHE_…` for the cache, `RUNNER_…` for runner keys.
// Kept free of heavy imports: the command definitions are built from it at every `podrunner` start.

/** `list`: comma-separated in env, or the flag repeated; `multi`: the flag repeated, env is one item. */
export type FlagKind = 'string' | 'int' | 'bool' | 'list' | 'multi';

export interface FlagSpec {
  /** Where the value goes inside the `[[runners]]` entry. */
  path: readonly string[];
  /** Long flag name without the dashes. */
  flag: string;
  env?: string;
  kind: FlagKind;
  description: string;
}

const runner = (
  key: string,
  flag: string,
  env: string | undefined,
  kind: FlagKind,
  description: string,
): FlagSpec => ({
  path: [key],
  flag,
  ...(env ? { env } : {}),
  kind,
  description,
});

export const runnerFlags: FlagSpec[] = [
  runner(
    'limit',
    'limit',
    'RUNNER_LIMIT',
    'int',
    'maximum number of jobs this runner runs at once (0: no limit)',
  ),
  runner('output_limit', 'output-limit', 'RUNNER_OUTPUT_LIMIT', 'int', 'maximum job log size in KB'),
  runner(
    'request_concurrency',
    'request-concurrency',
    'RUNNER_REQUEST_CONCURRENCY',
    'int',
    'parallel job requests',
  ),
  runner('builds_dir', 'builds-dir', 'RUNNER_BUILDS_DIR', 'string', 'directory of the checkouts'),
  runner('cache_dir', 'cache-dir', 'RUNNER_CACHE_DIR', 'string', 'directory of the local cache'),
  runner('clone_url', 'clone-url', 'CLONE_URL', 'string', 'overrides the URL git clones from'),
  runner('environment', 'env', 'RUNNER_ENV', 'multi', 'NAME=value added to every job (repeatable)'),
  runner(
    'pre_get_sources_script',
    'pre-get-sources-script',
    'RUNNER_PRE_GET_SOURCES_SCRIPT',
    'string',
    'runs before the sources are fetched',
  ),
  runner(
    'post_get_sources_script',
    'post-get-sources-script',
    'RUNNER_POST_GET_SOURCES_SCRIPT',
    'string',
    'runs after the sources are fetched',
  ),
  runner(
    'pre_build_script',
    'pre-build-script',
    'RUNNER_PRE_BUILD_SCRIPT',
    'string',
    'runs before the job script',
  ),
  runner(
    'post_build_script',
    'post-build-script',
    'RUNNER_POST_BUILD_SCRIPT',
    'string',
    'runs after the job script',
  ),
  runner('shell', 'shell', 'RUNNER_SHELL', 'string', 'shell of the job scripts'),
  runner(
    'debug_trace_disabled',
    'debug-trace-disabled',
    'RUNNER_DEBUG_TRACE_DISABLED',
    'bool',
    'refuse CI_DEBUG_TRACE',
  ),
  runner('tls-ca-file', 'tls-ca-file', 'CI_SERVER_TLS_CA_FILE', 'string', 'CA certificates of GitLab (PEM)'),
  runner(
    'tls-cert-file',
    'tls-cert-file',
    'CI_SERVER_TLS_CERT_FILE',
    'string',
    'client certificate for GitLab (PEM)',
  ),
  runner('tls-key-file', 'tls-key-file', 'CI_SERVER_TLS_KEY_FILE', 'string', 'client key for GitLab (PEM)'),
];

type Kind = FlagKind;
/** Scalar `[runners.kubernetes]` keys (tables such as volumes and affinity come from --template-config). */
const kubernetesKeys: [string, Kind][] = [
  ['host', 'string'],
  ['context', 'string'],
  ['cert_file', 'string'],
  ['key_file', 'string'],
  ['ca_file', 'string'],
  ['bearer_token', 'string'],
  ['bearer_token_overwrite_allowed', 'bool'],
  ['retry_limit', 'int'],
  ['retry_backoff_max', 'int'],
  ['namespace', 'string'],
  ['namespace_overwrite_allowed', 'string'],
  ['namespace_per_job', 'bool'],
  ['image', 'string'],
  ['pull_policy', 'list'],
  ['allowed_pull_policies', 'list'],
  ['allowed_images', 'list'],
  ['allowed_services', 'list'],
  ['image_pull_secrets', 'list'],
  ['use_service_account_image_pull_secrets', 'bool'],
  ...(['', 'helper_', 'service_'] as const).flatMap((c) =>
    (['cpu', 'memory', 'ephemeral_storage'] as const).flatMap((r) =>
      (['request', 'limit'] as const).flatMap((b): [string, Kind][] => [
        [`${c}${r}_${b}`, 'string'],
        [`${c}${r}_${b}_overwrite_max_allowed`, 'string'],
      ]),
    ),
  ),
  ...(['cpu', 'memory'] as const).flatMap((r) =>
    (['request', 'limit'] as const).flatMap((b): [string, Kind][] => [
      [`pod_${r}_${b}`, 'string'],
      [`pod_${r}_${b}_overwrite_max_allowed`, 'string'],
    ]),
  ),
  ['helper_image', 'string'],
  ['helper_image_flavor', 'string'],
  ['helper_image_autoset_arch_and_os', 'bool'],
  ['privileged', 'bool'],
  ['allow_privilege_escalation', 'bool'],
  ['cap_add', 'list'],
  ['cap_drop', 'list'],
  ['allowed_users', 'list'],
  ['allowed_groups', 'list'],
  ['runtime_class_name', 'string'],
  ['automount_service_account_token', 'bool'],
  ['node_selector_overwrite_allowed', 'string'],
  ['node_tolerations_overwrite_allowed', 'string'],
  ['scheduler_name', 'string'],
  ['priority_class_name', 'string'],
  ['pod_labels_overwrite_allowed', 'string'],
  ['pod_annotations_overwrite_allowed', 'string'],
  ['service_account', 'string'],
  ['service_account_overwrite_allowed', 'string'],
  ['resource_availability_check_max_attempts', 'int'],
  ['dns_policy', 'string'],
  ['poll_interval', 'int'],
  ['poll_timeout', 'int'],
  ['pod_termination_grace_period_seconds', 'int'],
  ['cleanup_grace_period_seconds', 'int'],
  ['cleanup_resources_timeout', 'string'],
  ['logs_base_dir', 'string'],
  ['scripts_base_dir', 'string'],
  ['print_pod_warning_events', 'bool'],
  ['pod_disruption_budget', 'bool'],
];

const kubernetesEnvExceptions: Record<string, string> = {
  context: 'KUBECTL_CONTEXT',
  retry_limit: 'KUBERNETES_REQUEST_RETRY_LIMIT',
  retry_backoff_max: 'KUBERNETES_REQUEST_RETRY_BACKOFF_MAX',
};

export const kubernetesFlags: FlagSpec[] = kubernetesKeys.map(([key, kind]) => ({
  path: ['kubernetes', key],
  flag: `kubernetes-${key.replaceAll('_', '-')}`,
  env: kubernetesEnvExceptions[key] ?? `KUBERNETES_${key.toUpperCase()}`,
  kind,
  description: `[runners.kubernetes] ${key}`,
}));

const cache = (path: string[], flag: string, env: string, kind: Kind): FlagSpec => ({
  path: ['cache', ...path],
  flag,
  env,
  kind,
  description: `[runners.cache${path.length > 1 ? `.${path[0]}` : ''}] ${path[path.length - 1]}`,
});

export const cacheFlags: FlagSpec[] = [
  cache(['Type'], 'cache-type', 'CACHE_TYPE', 'string'),
  cache(['Path'], 'cache-path', 'CACHE_PATH', 'string'),
  cache(['Shared'], 'cache-shared', 'CACHE_SHARED', 'bool'),
  cache(
    ['MaxUploadedArchiveSize'],
    'cache-max_uploaded_archive_size',
    'CACHE_MAXIMUM_UPLOADED_ARCHIVE_SIZE',
    'int',
  ),
  cache(['s3', 'ServerAddress'], 'cache-s3-server-address', 'CACHE_S3_SERVER_ADDRESS', 'string'),
  cache(['s3', 'AccessKey'], 'cache-s3-access-key', 'CACHE_S3_ACCESS_KEY', 'string'),
  cache(['s3', 'SecretKey'], 'cache-s3-secret-key', 'CACHE_S3_SECRET_KEY', 'string'),
  cache(['s3', 'SessionToken'], 'cache-s3-session-token', 'CACHE_S3_SESSION_TOKEN', 'string'),
  cache(['s3', 'BucketName'], 'cache-s3-bucket-name', 'CACHE_S3_BUCKET_NAME', 'string'),
  cache(['s3', 'BucketLocation'], 'cache-s3-bucket-location', 'CACHE_S3_BUCKET_LOCATION', 'string'),
  cache(['s3', 'Insecure'], 'cache-s3-insecure', 'CACHE_S3_INSECURE', 'bool'),
  cache(
    ['s3', 'AuthenticationType'],
    'cache-s3-authentication_type',
    'CACHE_S3_AUTHENTICATION_TYPE',
    'string',
  ),
  cache(
    ['s3', 'ServerSideEncryption'],
    'cache-s3-server-side-encryption',
    'CACHE_S3_SERVER_SIDE_ENCRYPTION',
    'string',
  ),
  cache(
    ['s3', 'ServerSideEncryptionKeyID'],
    'cache-s3-server-side-encryption-key-id',
    'CACHE_S3_SERVER_SIDE_ENCRYPTION_KEY_ID',
    'string',
  ),
  cache(['s3', 'DualStack'], 'cache-s3-dual-stack', 'CACHE_S3_DUAL_STACK', 'bool'),
  cache(['s3', 'PathStyle'], 'cache-s3-path-style', 'CACHE_S3_PATH_STYLE', 'bool'),
  cache(['s3', 'Accelerate'], 'cache-s3-accelerate', 'CACHE_S3_ACCELERATE', 'bool'),
  cache(['s3', 'RoleARN'], 'cache-s3-role-arn', 'CACHE_S3_ROLE_ARN', 'string'),
  cache(['s3', 'UploadRoleARN'], 'cache-s3-upload-role-arn', 'CACHE_S3_UPLOAD_ROLE_ARN', 'string'),
  cache(['gcs', 'CredentialsFile'], 'cache-gcs-credentials-file', 'GOOGLE_APPLICATION_CREDENTIALS', 'string'),
  cache(['gcs', 'AccessID'], 'cache-gcs-access-id', 'CACHE_GCS_ACCESS_ID', 'string'),
  cache(['gcs', 'PrivateKey'], 'cache-gcs-private-key', 'CACHE_GCS_PRIVATE_KEY', 'string'),
  cache(['gcs', 'BucketName'], 'cache-gcs-bucket-name', 'CACHE_GCS_BUCKET_NAME', 'string'),
  cache(['azure', 'AccountName'], 'cache-azure-account-name', 'CACHE_AZURE_ACCOUNT_NAME', 'string'),
  cache(['azure', 'AccountKey'], 'cache-azure-account-key', 'CACHE_AZURE_ACCOUNT_KEY', 'string'),
  cache(['azure', 'ContainerName'], 'cache-azure-container-name', 'CACHE_AZURE_CONTAINER_NAME', 'string'),
  cache(['azure', 'StorageDomain'], 'cache-azure-storage-domain', 'CACHE_AZURE_STORAGE_DOMAIN', 'string'),
];

export const entryFlags: FlagSpec[] = [...runnerFlags, ...kubernetesFlags, ...cacheFlags];

/** Parses one flag or env value; undefined with a message when it does not fit the kind. */
export function parseFlagValue(
  spec: FlagSpec,
  raw: string | boolean | string[],
): { value?: unknown; error?: string } {
  const text = Array.isArray(raw) ? raw : typeof raw === 'boolean' ? String(raw) : raw;
  switch (spec.kind) {
    case 'string':
      return { value: Array.isArray(text) ? text[text.length - 1] : text };
    case 'int': {
      const t = Array.isArray(text) ? text[text.length - 1]! : text;
      return /^-?\d+$/.test(t.trim())
        ? { value: Number(t) }
        : { error: `--${spec.flag} expects an integer, got ${JSON.stringify(t)}` };
    }
    case 'bool': {
      const t = (Array.isArray(text) ? text[text.length - 1]! : text).trim().toLowerCase();
      if (['true', '1', 't', 'yes', ''].includes(t)) return { value: true };
      if (['false', '0', 'f', 'no'].includes(t)) return { value: false };
      return { error: `--${spec.flag} expects true or false, got ${JSON.stringify(t)}` };
    }
    case 'list': {
      const items = (Array.isArray(text) ? text : [text]).flatMap((t) => t.split(','));
      return { value: items.map((s) => s.trim()).filter(Boolean) };
    }
    case 'multi':
      return { value: (Array.isArray(text) ? text : [text]).filter(Boolean) };
  }
}
