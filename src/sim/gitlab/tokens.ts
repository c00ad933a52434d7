// Token and id generation. Tokens use GitLab's prefixes but are opaque random strings.
import { randomBytes, randomUUID } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomToken(length = 20): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}

export const runnerToken = () => `glrt-${randomToken(20)}`;
export const legacyRunnerToken = () => `glrtr-${randomToken(20)}`;
export const registrationToken = () => `GR1348941${randomToken(20)}`;
export const jobToken = () => `glcbt-${randomToken(20)}`;
export const personalAccessToken = () => `glpat-${randomToken(20)}`;
export const queueValue = () => randomBytes(16).toString('hex');
export const instanceUuid = () => randomUUID();
