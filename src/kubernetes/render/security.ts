// Pod and container security contexts (kubernetes-executor.md §1.4 "Security contexts and
// capabilities"), as upstream's GetPodSecurityContext / GetContainerSecurityContext: `cap_add`/`cap_drop`
// over a default drop of NET_RAW, a container's own `capabilities` replacing add or drop wholesale,
// `privileged` and `allow_privilege_escalation` falling back to the runner-wide keys, and the job's
// `image:kubernetes:user` only where neither the container nor the pod context sets an id.
import type {
  V1AppArmorProfile,
  V1Capabilities,
  V1PodSecurityContext,
  V1SeccompProfile,
  V1SecurityContext,
} from '@kubernetes/client-node';
import type { KubernetesConfig } from '../../config/schema/kubernetes.ts';
import { RenderError } from './errors.ts';
import type { JobUser } from './images.ts';

type ContainerContextConfig = NonNullable<KubernetesConfig['build_container_security_context']>;
type ProfileConfig = { type?: string | undefined; localhost_profile?: string | undefined } | undefined;

const PROFILE_TYPES = ['RuntimeDefault', 'Unconfined', 'Localhost'];

function profile(
  kind: 'seccomp' | 'apparmor',
  key: string,
  p: ProfileConfig,
): V1SeccompProfile | V1AppArmorProfile | undefined {
  if (!p?.type) return undefined;
  if (!PROFILE_TYPES.includes(p.type)) {
    throw new RenderError(
      'SECURITY_PROFILE_INVALID',
      `${key}: invalid ${kind} profile type ${JSON.stringify(p.type)} (use ${PROFILE_TYPES.join(', ')})`,
    );
  }
  if (p.type === 'Localhost') {
    if (!p.localhost_profile) {
      throw new RenderError(
        'SECURITY_PROFILE_INVALID',
        `${key}: a Localhost ${kind} profile needs localhost_profile`,
      );
    }
    return { type: p.type, localhostProfile: p.localhost_profile };
  }
  return { type: p.type };
}

const defined = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

export function podSecurityContext(config: KubernetesConfig): V1PodSecurityContext | undefined {
  const c = config.pod_security_context;
  if (!c) return undefined;
  const ctx = defined<V1PodSecurityContext>({
    fsGroup: c.fs_group,
    runAsGroup: c.run_as_group,
    runAsNonRoot: c.run_as_non_root,
    runAsUser: c.run_as_user,
    supplementalGroups: c.supplemental_groups?.length ? c.supplemental_groups : undefined,
    seLinuxOptions: c.selinux_type ? { type: c.selinux_type } : undefined,
    seccompProfile: profile('seccomp', 'pod_security_context.seccomp_profile', c.seccomp_profile),
    appArmorProfile: profile('apparmor', 'pod_security_context.app_armor_profile', c.app_armor_profile),
  });
  return Object.keys(ctx).length > 0 ? ctx : undefined;
}

/** Runner-wide capabilities: NET_RAW dropped unless added; `cap_drop` wins over `cap_add`. */
function runnerCapabilities(config: KubernetesConfig): V1Capabilities | undefined {
  const enabled = new Map<string, boolean>([['NET_RAW', false]]);
  for (const c of config.cap_add) enabled.set(c, true);
  for (const c of config.cap_drop) enabled.set(c, false);
  const add = [...enabled].filter(([, on]) => on).map(([c]) => c);
  const drop = [...enabled].filter(([, on]) => !on).map(([c]) => c);
  return defined({ add: add.length ? add : undefined, drop: drop.length ? drop : undefined });
}

function capabilities(
  config: KubernetesConfig,
  own: ContainerContextConfig['capabilities'],
): V1Capabilities | undefined {
  const merged: V1Capabilities = { ...runnerCapabilities(config) };
  if (own?.add) merged.add = own.add;
  if (own?.drop) merged.drop = own.drop;
  const result = defined(merged);
  return result.add || result.drop ? result : undefined;
}

function procMount(value: string | undefined): string | undefined {
  if (!value) return undefined;
  return value.charAt(0).toUpperCase() + value.slice(1).toLowerCase();
}

export type ContainerClass = 'build' | 'helper' | 'service';

const contextKey: Record<
  ContainerClass,
  | 'build_container_security_context'
  | 'helper_container_security_context'
  | 'service_container_security_context'
> = {
  build: 'build_container_security_context',
  helper: 'helper_container_security_context',
  service: 'service_container_security_context',
};

/**
 * A container's security context. `jobUser` (the job's or a service's `executor_opts.kubernetes.user`,
 * already checked against the allowlists) applies per id only when neither the container's nor the
 * pod's context sets that id; a refused override is noted in `log`.
 */
export function containerSecurityContext(
  config: KubernetesConfig,
  cls: ContainerClass,
  containerName: string,
  jobUser: JobUser,
  log: string[],
): V1SecurityContext {
  const key = contextKey[cls];
  const c: ContainerContextConfig = config[key] ?? {};
  const pod = config.pod_security_context;
  const pick = (
    kind: 'user' | 'group',
    own: number | undefined,
    podValue: number | undefined,
    job: number | undefined,
  ) => {
    if (own !== undefined || podValue !== undefined) {
      if (job !== undefined) {
        const source = own !== undefined ? 'container security context' : 'pod security context';
        log.push(
          `Overriding ${kind} for container "${containerName}" to "${job}" is not allowed: ${kind} is set to ${own ?? podValue} in ${source}`,
        );
      }
      return own;
    }
    return job;
  };
  return defined<V1SecurityContext>({
    capabilities: capabilities(config, c.capabilities),
    privileged: c.privileged ?? config.privileged,
    allowPrivilegeEscalation: c.allow_privilege_escalation ?? config.allow_privilege_escalation,
    runAsUser: pick('user', c.run_as_user, pod?.run_as_user, jobUser.uid),
    runAsGroup: pick('group', c.run_as_group, pod?.run_as_group, jobUser.gid),
    runAsNonRoot: c.run_as_non_root,
    readOnlyRootFilesystem: c.read_only_root_filesystem,
    procMount: procMount(c.proc_mount),
    seLinuxOptions: c.selinux_type ? { type: c.selinux_type } : undefined,
    seccompProfile: profile('seccomp', `${key}.seccomp_profile`, c.seccomp_profile),
    appArmorProfile: profile('apparmor', `${key}.app_armor_profile`, c.app_armor_profile),
  });
}
