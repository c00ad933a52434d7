// Image references as containerd shows them, and the kubelet's image-pull texts.
import { createHash } from 'node:crypto';

const component = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const referencePattern = new RegExp(
  `^(?:((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::\\d+)?)/)?` +
    `(${component}(?:/${component})*)(?::([\\w][\\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$`,
);

export interface ImageReference {
  /** `docker.io/library/alpine:3.19`: what containerd reports as the container's image. */
  normalized: string;
  /** `docker.io/library/alpine` */
  repository: string;
  tag?: string;
  digest?: string;
}

/** Parses and normalises an image reference the way containerd does; undefined when invalid. */
export function parseImage(image: string): ImageReference | undefined {
  const m = referencePattern.exec(image);
  if (!m) return undefined;
  let domain = m[1];
  let path = m[2] as string;
  // The first component is a registry only when it looks like a host (a dot, a port, or localhost).
  if (domain !== undefined && !/[.:]/.test(domain) && domain !== 'localhost') {
    path = `${domain}/${path}`;
    domain = undefined;
    if (!new RegExp(`^${component}(?:/${component})*$`).test(path)) return undefined;
  }
  domain ??= 'docker.io';
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  const repository = `${domain}/${path}`;
  const tag = m[3] ?? (m[4] ? undefined : 'latest');
  const digest = m[4];
  const normalized = `${repository}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
  return { normalized, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** The API server's default: `Always` for `:latest` or no tag (digest-only counts as tagged), else `IfNotPresent`. */
export function defaultPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  const lastSlash = image.lastIndexOf('/');
  const tail = image.slice(lastSlash + 1);
  if (tail.includes('@')) return 'IfNotPresent';
  const colon = tail.indexOf(':');
  if (colon < 0) return 'Always';
  return tail.slice(colon + 1) === 'latest' ? 'Always' : 'IfNotPresent';
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `docker.io/library/alpine@sha256:<64 hex>`: a stable synthetic repo digest. */
export function imageID(ref: ImageReference): string {
  return `${ref.repository}@${ref.digest ?? `sha256:${sha256(ref.normalized)}`}`;
}

/** A stable synthetic image size for the `Pulled` event (a few MB to a few hundred). */
export function imageSizeBytes(ref: ImageReference): number {
  return 2_000_000 + (Number.parseInt(sha256(`size:${ref.normalized}`).slice(0, 8), 16) % 400_000_000);
}

/** containerd's answer for an image that does not exist. */
export function notFoundPullError(ref: ImageReference): string {
  return (
    `rpc error: code = NotFound desc = failed to pull and unpack image "${ref.normalized}": ` +
    `failed to resolve reference "${ref.normalized}": ${ref.normalized}: not found`
  );
}

export const pullMessages = {
  pulling: (image: string) => `Pulling image "${image}"`,
  pulled: (image: string, pullMs: number, totalMs: number, size: number, fmt: (ms: number) => string) =>
    `Successfully pulled image "${image}" in ${fmt(pullMs)} (${fmt(totalMs)} including waiting). Image size: ${size} bytes.`,
  present: (image: string) => `Container image "${image}" already present on machine`,
  failed: (image: string, error: string) => `Failed to pull image "${image}": ${error}`,
  backOffEvent: (image: string) => `Back-off pulling image "${image}"`,
  backOffWaiting: (image: string, error: string) =>
    `Back-off pulling image "${image}": ErrImagePull: ${error}`,
  neverPull: (image: string) => `Container image "${image}" is not present with pull policy of Never`,
  invalidName: (image: string) =>
    `Failed to apply default image tag "${image}": couldn't parse image name "${image}": invalid reference format`,
};
