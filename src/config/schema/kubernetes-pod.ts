// Sub-tables of `[runners.kubernetes]` that mirror Kubernetes pod structures in snake_case: security
// contexts, affinity, DNS, host aliases, container lifecycle hooks, pod spec patches (kubernetes-executor.md §1.4).
import { z } from 'zod';
import { int, stringList, stringMap } from './values.ts';

const profile = z.object({
  type: z.string().optional(),
  localhost_profile: z.string().optional(),
});

export const podSecurityContextSchema = z.object({
  fs_group: int.optional(),
  run_as_group: int.optional(),
  run_as_non_root: z.boolean().optional(),
  run_as_user: int.optional(),
  supplemental_groups: z.array(int).optional(),
  selinux_type: z.string().optional(),
  seccomp_profile: profile.optional(),
  app_armor_profile: profile.optional(),
});

export const containerSecurityContextSchema = z.object({
  capabilities: z.object({ add: stringList.optional(), drop: stringList.optional() }).optional(),
  privileged: z.boolean().optional(),
  run_as_user: int.optional(),
  run_as_group: int.optional(),
  run_as_non_root: z.boolean().optional(),
  read_only_root_filesystem: z.boolean().optional(),
  allow_privilege_escalation: z.boolean().optional(),
  selinux_type: z.string().optional(),
  proc_mount: z.enum(['default', 'unmasked', 'Default', 'Unmasked']).optional(),
  seccomp_profile: profile.optional(),
  app_armor_profile: profile.optional(),
});

const selectorRequirement = z.object({
  key: z.string().optional(),
  operator: z.string().optional(),
  values: stringList.optional(),
});

const nodeSelectorTerm = z.object({
  match_expressions: z.array(selectorRequirement).optional(),
  match_fields: z.array(selectorRequirement).optional(),
});

const labelSelector = z.object({
  match_labels: stringMap.optional(),
  match_expressions: z.array(selectorRequirement).optional(),
});

const podAffinityTerm = z.object({
  label_selector: labelSelector.optional(),
  namespaces: stringList.optional(),
  topology_key: z.string().optional(),
  namespace_selector: labelSelector.optional(),
  match_label_keys: stringList.optional(),
  mismatch_label_keys: stringList.optional(),
});

const weightedPodAffinityTerm = z.object({ weight: int, pod_affinity_term: podAffinityTerm });

const podAffinity = z.object({
  required_during_scheduling_ignored_during_execution: z.array(podAffinityTerm).optional(),
  preferred_during_scheduling_ignored_during_execution: z.array(weightedPodAffinityTerm).optional(),
});

export const affinitySchema = z.object({
  node_affinity: z
    .object({
      required_during_scheduling_ignored_during_execution: z
        .object({ node_selector_terms: z.array(nodeSelectorTerm).default([]) })
        .optional(),
      preferred_during_scheduling_ignored_during_execution: z
        .array(z.object({ weight: int, preference: nodeSelectorTerm }))
        .optional(),
    })
    .optional(),
  pod_affinity: podAffinity.optional(),
  pod_anti_affinity: podAffinity.optional(),
});

export const dnsConfigSchema = z.object({
  nameservers: stringList.optional(),
  searches: stringList.optional(),
  options: z.array(z.object({ name: z.string(), value: z.string().optional() })).optional(),
});

export const hostAliasSchema = z.object({ ip: z.string().min(1), hostnames: stringList.default([]) });

const lifecycleHandler = z.object({
  exec: z.object({ command: stringList.default([]) }).optional(),
  http_get: z
    .object({
      host: z.string().optional(),
      port: int,
      path: z.string().optional(),
      scheme: z.string().optional(),
      http_headers: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
    })
    .optional(),
  tcp_socket: z.object({ host: z.string().optional(), port: int }).optional(),
});

export const containerLifecycleSchema = z.object({
  post_start: lifecycleHandler.optional(),
  pre_stop: lifecycleHandler.optional(),
});

export const podSpecPatchSchema = z
  .object({
    name: z.string().optional(),
    patch: z.string().optional(),
    patch_path: z.string().optional(),
    patch_type: z.enum(['strategic', 'merge', 'json']).default('strategic'),
  })
  .refine((p) => !(p.patch && p.patch_path), { message: 'set either patch or patch_path, not both' });

export const kubernetesServiceSchema = z.object({
  name: z.string().min(1),
  /** One or more aliases separated by spaces or commas. */
  alias: z.string().optional(),
  entrypoint: stringList.optional(),
  command: stringList.optional(),
  environment: stringList.optional(),
  suspend_data_path: z.string().optional(),
});
