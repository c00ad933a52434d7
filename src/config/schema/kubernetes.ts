// `[runners.kubernetes]` (kubernetes-executor.md §1.4): key names and defaults as upstream. The pod renderer
// reads this typed value; keys stay snake_case so an error path is the documented key.
import { z } from 'zod';
import {
  affinitySchema,
  containerLifecycleSchema,
  containerSecurityContextSchema,
  dnsConfigSchema,
  hostAliasSchema,
  kubernetesServiceSchema,
  podSecurityContextSchema,
  podSpecPatchSchema,
} from './kubernetes-pod.ts';
import { kubernetesVolumesSchema } from './kubernetes-volumes.ts';
import { goDuration, int, pullPolicy, quantity, stringList, stringMap, stringOrArray } from './values.ts';

type ContainerClass = '' | 'helper_' | 'service_';
type Resource = 'cpu' | 'memory' | 'ephemeral_storage';
type Bound = 'request' | 'limit';
export type ResourceKey = `${ContainerClass}${Resource}_${Bound}` | `pod_${'cpu' | 'memory'}_${Bound}`;
export type ResourceCeilingKey = `${ResourceKey}_overwrite_max_allowed`;

/** The 22 resource keys (build, helper, service and pod), each with an `_overwrite_max_allowed` ceiling. */
export const resourceKeys: ResourceKey[] = [
  ...(['', 'helper_', 'service_'] as const).flatMap((c) =>
    (['cpu', 'memory', 'ephemeral_storage'] as const).flatMap((r) =>
      (['request', 'limit'] as const).map((b): ResourceKey => `${c}${r}_${b}`),
    ),
  ),
  ...(['cpu', 'memory'] as const).flatMap((r) =>
    (['request', 'limit'] as const).map((b): ResourceKey => `pod_${r}_${b}`),
  ),
];

const optionalQuantity = quantity.optional();
const resourceShape = Object.fromEntries(
  resourceKeys.flatMap((k) => [
    [k, optionalQuantity],
    [`${k}_overwrite_max_allowed`, optionalQuantity],
  ]),
) as Record<ResourceKey | ResourceCeilingKey, typeof optionalQuantity>;

export const kubernetesConfigSchema = z.object({
  // Connection to the API server.
  host: z.string().optional(),
  context: z.string().optional(),
  cert_file: z.string().optional(),
  key_file: z.string().optional(),
  ca_file: z.string().optional(),
  bearer_token: z.string().optional(),
  bearer_token_overwrite_allowed: z.boolean().default(false),
  retry_limit: int.min(0).default(5),
  /** Milliseconds; values below 500 are raised to 500 like upstream. */
  retry_backoff_max: int.default(2000).transform((v) => Math.max(v, 500)),
  retry_limits: z.record(z.string(), int).default({}),

  // Namespace.
  namespace: z.string().default(''),
  namespace_overwrite_allowed: z.string().default(''),
  namespace_per_job: z.boolean().default(false),

  // Images and pull policy.
  image: z.string().default(''),
  pull_policy: stringOrArray.pipe(z.array(pullPolicy)).default([]),
  allowed_pull_policies: z.array(pullPolicy).default([]),
  allowed_images: stringList.default([]),
  allowed_services: stringList.default([]),
  image_pull_secrets: stringList.default([]),
  use_service_account_image_pull_secrets: z.boolean().default(false),

  // Resources and their job-overwrite ceilings.
  ...resourceShape,

  // Services added to every job.
  services: z.array(kubernetesServiceSchema).default([]),

  // Helper image.
  helper_image: z.string().default(''),
  helper_image_flavor: z.string().default('alpine'),
  helper_image_autoset_arch_and_os: z.boolean().default(false),

  // Security.
  privileged: z.boolean().optional(),
  allow_privilege_escalation: z.boolean().optional(),
  cap_add: stringList.default([]),
  cap_drop: stringList.default([]),
  pod_security_context: podSecurityContextSchema.optional(),
  build_container_security_context: containerSecurityContextSchema.optional(),
  helper_container_security_context: containerSecurityContextSchema.optional(),
  service_container_security_context: containerSecurityContextSchema.optional(),
  init_permissions_container_security_context: containerSecurityContextSchema.optional(),
  allowed_users: stringList.default([]),
  allowed_groups: stringList.default([]),
  runtime_class_name: z.string().optional(),
  automount_service_account_token: z.boolean().optional(),

  // Scheduling.
  node_selector: stringMap.default({}),
  node_selector_overwrite_allowed: z.string().default(''),
  node_tolerations: stringMap.default({}),
  node_tolerations_overwrite_allowed: z.string().default(''),
  affinity: affinitySchema.optional(),
  scheduler_name: z.string().optional(),
  priority_class_name: z.string().optional(),

  // Volumes.
  volumes: kubernetesVolumesSchema.default({
    host_path: [],
    pvc: [],
    config_map: [],
    secret: [],
    empty_dir: [],
    csi: [],
    nfs: [],
  }),

  // Pod metadata and service account.
  pod_labels: stringMap.default({}),
  pod_labels_overwrite_allowed: z.string().default(''),
  pod_annotations: stringMap.default({}),
  pod_annotations_overwrite_allowed: z.string().default(''),
  service_account: z.string().default(''),
  service_account_overwrite_allowed: z.string().default(''),
  resource_availability_check_max_attempts: int.min(0).default(0),

  // DNS and hosts.
  dns_policy: z.enum(['', 'none', 'default', 'cluster-first', 'cluster-first-with-host-net']).default(''),
  dns_config: dnsConfigSchema.optional(),
  host_aliases: z.array(hostAliasSchema).default([]),

  // Polling, timeouts, cleanup, termination.
  /** Seconds; 0 or less means 3. */
  poll_interval: int.default(3).transform((v) => (v <= 0 ? 3 : v)),
  /** Seconds; 0 or less means 180. */
  poll_timeout: int.default(180).transform((v) => (v <= 0 ? 180 : v)),
  pod_termination_grace_period_seconds: int.min(0).optional(),
  cleanup_grace_period_seconds: int.min(0).optional(),
  /** Milliseconds (a Go duration in the file); default 5m. */
  cleanup_resources_timeout: goDuration.default(300_000),
  /** Old name of pod_termination_grace_period_seconds, still found in configs. */
  terminationGracePeriodSeconds: int.min(0).optional(),

  // Pod spec patches (FF_USE_ADVANCED_POD_SPEC_CONFIGURATION).
  pod_spec: z.array(podSpecPatchSchema).default([]),

  // Other.
  container_lifecycle: containerLifecycleSchema.optional(),
  logs_base_dir: z.string().default(''),
  scripts_base_dir: z.string().default(''),
  print_pod_warning_events: z.boolean().default(true),
  pod_disruption_budget: z.boolean().default(false),
  autoscaler: z
    .object({
      max_pause_pods: int.optional(),
      pause_pod_image: z.string().optional(),
      pause_pod_priority_class_name: z.string().optional(),
      pause_pod_image_pull_secrets: stringList.optional(),
      policy: z.array(z.record(z.string(), z.unknown())).optional(),
    })
    .optional(),
  suspend_pvc_size: z.string().default('20Gi'),
  suspend_pvc_storage_class: z.string().default(''),
});

export type KubernetesConfig = z.output<typeof kubernetesConfigSchema>;
export type KubernetesService = KubernetesConfig['services'][number];
