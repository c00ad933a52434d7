// Upstream's pod name scheme (kubernetes-executor.md §2.1):
// `runner-<short token>-project-<project id>-concurrent-<project slot>-<8 random [a-z0-9]>`.
import { RenderError } from './errors.ts';

const MAX_NAME = 63;
export const SUFFIX_LENGTH = 8;
const SUFFIX_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** gitlab-runner's MakeRFC1123Compatible: lower-case, drop what is not `[-a-z0-9]`, no leading `-`, ≤ 63. */
export function makeRfc1123Compatible(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^-a-z0-9]/g, '')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, MAX_NAME);
}

/** `runner-<short token>-project-<id>-concurrent-<slot>`: also the `pod` and `job.runner.gitlab.com/pod` labels. */
export function projectUniqueName(shortToken: string, projectId: number, projectSlot: number): string {
  return makeRfc1123Compatible(`runner-${shortToken}-project-${projectId}-concurrent-${projectSlot}`);
}

/** The unique name cut to leave room for `-<suffix>` within 63 characters. */
export function podName(uniqueName: string, suffix: string): string {
  if (!new RegExp(`^[a-z0-9]{${SUFFIX_LENGTH}}$`).test(suffix)) {
    throw new RenderError(
      'INVALID_INPUT',
      `the pod name suffix must be ${SUFFIX_LENGTH} characters of [a-z0-9], got ${JSON.stringify(suffix)}`,
    );
  }
  return `${uniqueName.slice(0, MAX_NAME - SUFFIX_LENGTH - 1)}-${suffix}`;
}

/** Maps random bytes (at least 8, e.g. from crypto.randomBytes) to a suffix; the caller owns the randomness. */
export function suffixFromBytes(bytes: Uint8Array): string {
  if (bytes.length < SUFFIX_LENGTH) throw new RangeError(`need ${SUFFIX_LENGTH} random bytes`);
  let out = '';
  for (let i = 0; i < SUFFIX_LENGTH; i++) out += SUFFIX_CHARS[bytes[i]! % SUFFIX_CHARS.length];
  return out;
}
