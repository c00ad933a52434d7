// Every refusal of the renderer: a stable `code` the caller branches on (it reports all of them as a
// configuration failure of the job) and an upstream-like message for the job log.

export type RenderErrorCode =
  /** Neither the job nor `[runners.kubernetes] image` names an image. */
  | 'NO_IMAGE'
  /** The job image is not matched by `allowed_images`. */
  | 'IMAGE_NOT_ALLOWED'
  /** A service image is not matched by `allowed_services`. */
  | 'SERVICE_NOT_ALLOWED'
  /** A pull policy outside `allowed_pull_policies`. */
  | 'PULL_POLICY_NOT_ALLOWED'
  /** `image:kubernetes:user` is malformed or not in `allowed_users`/`allowed_groups`. */
  | 'USER_NOT_ALLOWED'
  /** A `KUBERNETES_*_OVERWRITE`-style variable does not match its `*_overwrite_allowed` regex. */
  | 'OVERWRITE_NOT_ALLOWED'
  /** A map overwrite variable is not `key=value`. */
  | 'OVERWRITE_MALFORMED'
  /** A `*_overwrite_allowed` regex does not compile. */
  | 'OVERWRITE_REGEX_INVALID'
  /** A resource overwrite above its `*_overwrite_max_allowed` ceiling. */
  | 'OVERWRITE_TOO_HIGH'
  /** A resource value that is not a Kubernetes quantity. */
  | 'QUANTITY_INVALID'
  /** A service alias that is not a valid DNS-1123 subdomain. */
  | 'INVALID_SERVICE_ALIAS'
  /** A pod label or annotation key the API server would refuse. */
  | 'INVALID_METADATA_KEY'
  /** A `pod_spec` patch that cannot be read, parsed or applied. */
  | 'POD_SPEC_PATCH_INVALID'
  /** `dns_policy = "none"` without a nameserver in `dns_config`. */
  | 'DNS_CONFIG_REQUIRED'
  /** A seccomp/AppArmor profile type Kubernetes does not know, or Localhost without a profile. */
  | 'SECURITY_PROFILE_INVALID'
  /** `DOCKER_AUTH_CONFIG` is not a Docker config JSON document. */
  | 'DOCKER_AUTH_CONFIG_INVALID'
  /** A configured volume uses a name the job pod reserves. */
  | 'VOLUME_NAME_CONFLICT'
  /** A generated Secret key collides with another (a script file named like a reserved key). */
  | 'SECRET_KEY_CONFLICT'
  /** An input the caller computes is out of range (random suffix, project slot, short token). */
  | 'INVALID_INPUT';

export class RenderError extends Error {
  readonly code: RenderErrorCode;

  constructor(code: RenderErrorCode, message: string) {
    super(message);
    this.name = 'RenderError';
    this.code = code;
  }
}

export const isRenderError = (value: unknown): value is RenderError => value instanceof RenderError;
