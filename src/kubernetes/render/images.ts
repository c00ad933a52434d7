// Which images run, and how they are pulled (kubernetes-executor.md §1.4 "Images and pull policy"):
// the job image or the configured default, `allowed_images`/`allowed_services` globs (doublestar
// semantics: `*` within one path segment, `**` across), pull policies within `allowed_pull_policies`,
// and the job's `image:kubernetes:user` against `allowed_users`/`allowed_groups`.
import picomatch from 'picomatch';
import type { KubernetesConfig } from '../../config/schema/kubernetes.ts';
import { RenderError } from './errors.ts';

export type PullPolicy = 'always' | 'if-not-present' | 'never';
export type KubernetesPullPolicy = 'Always' | 'IfNotPresent' | 'Never';

const kubernetesPolicy: Record<PullPolicy, KubernetesPullPolicy> = {
  always: 'Always',
  'if-not-present': 'IfNotPresent',
  never: 'Never',
};

/** Whether `image` matches one of the globs. */
export function imageMatches(image: string, globs: readonly string[]): boolean {
  return globs.some((glob) => picomatch.isMatch(image, glob, { dot: true }));
}

/**
 * Refuses an image outside a non-empty allowlist. `internal` images (the configured default image and
 * the helper image) are always allowed, like upstream.
 */
export function verifyAllowedImage(
  image: string,
  kind: 'images' | 'services',
  allowed: readonly string[],
  internal: readonly string[],
): void {
  if (allowed.length === 0 || imageMatches(image, allowed) || internal.includes(image)) return;
  throw new RenderError(
    kind === 'images' ? 'IMAGE_NOT_ALLOWED' : 'SERVICE_NOT_ALLOWED',
    `The "${image}" image is not present on list of allowed ${kind}: ${allowed.join(', ')}. ` +
      `Please check runner's allowed_${kind} configuration`,
  );
}

const show = (policies: readonly string[]) =>
  `[${policies.map((p) => kubernetesPolicy[p as PullPolicy] ?? p).join(' ')}]`;

/**
 * The pull policies to try in order for one container: the job's (`image:pull_policy`) if it set any,
 * else `pull_policy` from the config, limited to `allowed_pull_policies` (which defaults to
 * `pull_policy`). An empty result means "let Kubernetes decide" (no imagePullPolicy).
 *
 * One deliberate difference from upstream: when the config sets neither `pull_policy` nor
 * `allowed_pull_policies`, a job's own pull policy is accepted (upstream refuses every job-side
 * policy then, gitlab#479766).
 */
export function effectivePullPolicies(
  jobPolicies: readonly PullPolicy[],
  config: Pick<KubernetesConfig, 'pull_policy' | 'allowed_pull_policies'>,
): KubernetesPullPolicy[] {
  const requested = jobPolicies.length > 0 ? jobPolicies : config.pull_policy;
  const allowed = config.allowed_pull_policies.length > 0 ? config.allowed_pull_policies : config.pull_policy;
  if (requested.length === 0) return allowed.map((p) => kubernetesPolicy[p]);
  if (allowed.length === 0) return requested.map((p) => kubernetesPolicy[p]);
  const permitted = requested.filter((p) => allowed.includes(p));
  if (permitted.length === 0) {
    const source =
      jobPolicies.length > 0
        ? 'GitLab pipeline config'
        : config.pull_policy.length > 0
          ? 'Runner config'
          : 'Runner config (default)';
    throw new RenderError(
      'PULL_POLICY_NOT_ALLOWED',
      `pull_policy (${show(requested)}) defined in ${source} is not one of the allowed_pull_policies (${show(allowed)})`,
    );
  }
  return permitted.map((p) => kubernetesPolicy[p]);
}

export interface JobUser {
  uid?: number;
  gid?: number;
}

function checkId(kind: 'user' | 'group', text: string, allowed: readonly string[]): number {
  const label = kind === 'user' ? 'UID' : 'GID';
  if (!/^\d+$/.test(text)) {
    throw new RenderError(
      'USER_NOT_ALLOWED',
      `failed to parse ${label}: ${kind} ${JSON.stringify(text)} is not a number`,
    );
  }
  const id = Number(text);
  const listed = allowed.some((entry) => /^\d+$/.test(entry.trim()) && Number(entry.trim()) === id);
  // Root needs an explicit entry even when the list is empty; any other id passes an empty list.
  if (listed || (id !== 0 && allowed.length === 0)) return id;
  throw new RenderError(
    'USER_NOT_ALLOWED',
    `validating ${label}: ${kind} ${JSON.stringify(text)} is not in the allowed list: [${allowed.join(' ')}]`,
  );
}

/**
 * `image:kubernetes:user` (`uid` or `uid:gid`) checked against the allowlists. Upstream only warns and
 * runs the image's own user instead; podrunner refuses the job, so a job never runs as someone else
 * than it asked without noticing.
 */
export function parseJobUser(
  user: string | null | undefined,
  config: Pick<KubernetesConfig, 'allowed_users' | 'allowed_groups'>,
): JobUser {
  if (!user) return {};
  const colon = user.indexOf(':');
  const uid = colon < 0 ? user : user.slice(0, colon);
  const gid = colon < 0 ? undefined : user.slice(colon + 1);
  const result: JobUser = {};
  if (uid !== '') result.uid = checkId('user', uid, config.allowed_users);
  if (gid !== undefined && gid !== '') result.gid = checkId('group', gid, config.allowed_groups);
  return result;
}
