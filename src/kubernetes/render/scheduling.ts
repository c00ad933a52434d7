// Where and how the pod is placed (kubernetes-executor.md §1.4 "Node selection / scheduling", "DNS and
// hosts"): node selector, tolerations, affinity (config snake_case → API camelCase), DNS policy and
// config, host aliases.
import type {
  V1Affinity,
  V1HostAlias,
  V1LabelSelector,
  V1NodeSelectorRequirement,
  V1NodeSelectorTerm,
  V1PodAffinityTerm,
  V1PodDNSConfig,
  V1Toleration,
  V1WeightedPodAffinityTerm,
} from '@kubernetes/client-node';
import type { KubernetesConfig } from '../../config/schema/kubernetes.ts';
import { RenderError } from './errors.ts';

/**
 * `node_tolerations` (and `KUBERNETES_NODE_TOLERATIONS_*`): `"key=value" = "Effect"` gives operator Equal,
 * a bare key Exists, an empty key tolerates every taint. Sorted by key so the output is stable.
 */
export function tolerations(map: Readonly<Record<string, string>>): V1Toleration[] | undefined {
  const keys = Object.keys(map).sort();
  if (keys.length === 0) return undefined;
  return keys.map((keyValue) => {
    const effect = map[keyValue]!;
    const t: V1Toleration = {};
    const eq = keyValue.indexOf('=');
    if (eq >= 0) {
      t.key = keyValue.slice(0, eq);
      t.operator = 'Equal';
      t.value = keyValue.slice(eq + 1);
    } else {
      if (keyValue) t.key = keyValue;
      t.operator = 'Exists';
    }
    if (effect) t.effect = effect;
    return t;
  });
}

type AffinityConfig = NonNullable<KubernetesConfig['affinity']>;
type Requirement = { key?: string | undefined; operator?: string | undefined; values?: string[] | undefined };
type TermConfig = { match_expressions?: Requirement[] | undefined; match_fields?: Requirement[] | undefined };
type LabelSelectorConfig = {
  match_labels?: Record<string, string> | undefined;
  match_expressions?: Requirement[] | undefined;
};
type PodTermConfig = NonNullable<
  NonNullable<AffinityConfig['pod_affinity']>['required_during_scheduling_ignored_during_execution']
>[number];
type PodAffinityConfig = NonNullable<AffinityConfig['pod_affinity']>;

const requirement = (r: Requirement): V1NodeSelectorRequirement => ({
  key: r.key ?? '',
  operator: r.operator ?? '',
  ...(r.values ? { values: r.values } : {}),
});

const nodeSelectorTerm = (t: TermConfig): V1NodeSelectorTerm => ({
  ...(t.match_expressions ? { matchExpressions: t.match_expressions.map(requirement) } : {}),
  ...(t.match_fields ? { matchFields: t.match_fields.map(requirement) } : {}),
});

const labelSelector = (s: LabelSelectorConfig): V1LabelSelector => ({
  ...(s.match_labels ? { matchLabels: { ...s.match_labels } } : {}),
  ...(s.match_expressions ? { matchExpressions: s.match_expressions.map(requirement) } : {}),
});

const podAffinityTerm = (t: PodTermConfig): V1PodAffinityTerm => ({
  topologyKey: t.topology_key ?? '',
  ...(t.label_selector ? { labelSelector: labelSelector(t.label_selector) } : {}),
  ...(t.namespaces ? { namespaces: t.namespaces } : {}),
  ...(t.namespace_selector ? { namespaceSelector: labelSelector(t.namespace_selector) } : {}),
  ...(t.match_label_keys ? { matchLabelKeys: t.match_label_keys } : {}),
  ...(t.mismatch_label_keys ? { mismatchLabelKeys: t.mismatch_label_keys } : {}),
});

function podAffinity(c: PodAffinityConfig) {
  const required = c.required_during_scheduling_ignored_during_execution;
  const preferred = c.preferred_during_scheduling_ignored_during_execution;
  return {
    ...(required?.length
      ? { requiredDuringSchedulingIgnoredDuringExecution: required.map(podAffinityTerm) }
      : {}),
    ...(preferred?.length
      ? {
          preferredDuringSchedulingIgnoredDuringExecution: preferred.map(
            (p): V1WeightedPodAffinityTerm => ({
              weight: p.weight,
              podAffinityTerm: podAffinityTerm(p.pod_affinity_term),
            }),
          ),
        }
      : {}),
  };
}

export function affinity(config: KubernetesConfig['affinity']): V1Affinity | undefined {
  if (!config) return undefined;
  const result: V1Affinity = {};
  const node = config.node_affinity;
  if (node) {
    const required = node.required_during_scheduling_ignored_during_execution;
    const preferred = node.preferred_during_scheduling_ignored_during_execution;
    result.nodeAffinity = {
      ...(required
        ? {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: required.node_selector_terms.map(nodeSelectorTerm),
            },
          }
        : {}),
      ...(preferred?.length
        ? {
            preferredDuringSchedulingIgnoredDuringExecution: preferred.map((p) => ({
              weight: p.weight,
              preference: nodeSelectorTerm(p.preference),
            })),
          }
        : {}),
    };
  }
  if (config.pod_affinity) result.podAffinity = podAffinity(config.pod_affinity);
  if (config.pod_anti_affinity) result.podAntiAffinity = podAffinity(config.pod_anti_affinity);
  return Object.keys(result).length > 0 ? result : undefined;
}

const dnsPolicies: Record<string, string> = {
  none: 'None',
  default: 'Default',
  'cluster-first': 'ClusterFirst',
  'cluster-first-with-host-net': 'ClusterFirstWithHostNet',
};

/** `dns_policy` and `dns_config`; policy "none" needs a nameserver (the API server refuses it otherwise). */
export function dns(config: KubernetesConfig): { dnsPolicy?: string; dnsConfig?: V1PodDNSConfig } {
  const result: { dnsPolicy?: string; dnsConfig?: V1PodDNSConfig } = {};
  if (config.dns_policy) result.dnsPolicy = dnsPolicies[config.dns_policy]!;
  const c = config.dns_config;
  if (c && (c.nameservers?.length || c.searches?.length || c.options?.length)) {
    result.dnsConfig = {
      ...(c.nameservers?.length ? { nameservers: c.nameservers } : {}),
      ...(c.searches?.length ? { searches: c.searches } : {}),
      ...(c.options?.length
        ? {
            options: c.options.map((o) => ({
              name: o.name,
              ...(o.value !== undefined ? { value: o.value } : {}),
            })),
          }
        : {}),
    };
  }
  if (config.dns_policy === 'none' && !result.dnsConfig?.nameservers?.length) {
    throw new RenderError(
      'DNS_CONFIG_REQUIRED',
      'dns_policy "none" needs at least one nameserver in [runners.kubernetes.dns_config]',
    );
  }
  return result;
}

/** 127.0.0.1 → the services' hostnames first (the hosts file resolves first come first served), then `host_aliases`. */
export function hostAliases(
  serviceHostnames: readonly string[],
  config: KubernetesConfig,
): V1HostAlias[] | undefined {
  const aliases: V1HostAlias[] = [];
  if (serviceHostnames.length > 0) aliases.push({ ip: '127.0.0.1', hostnames: [...serviceHostnames] });
  for (const a of config.host_aliases) aliases.push({ ip: a.ip, hostnames: [...a.hostnames] });
  return aliases.length > 0 ? aliases : undefined;
}
