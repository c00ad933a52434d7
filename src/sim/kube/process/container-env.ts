// A container's environment and user, as containerd and runc compute them: HOSTNAME, then the image's
// Env, then the container's env (the container wins); PATH defaults to the standard one and HOME to
// the user's home directory from /etc/passwd ("/" for an unknown user).
import { readFileSync } from 'node:fs';
import type { ResolvedEnvVar } from '../runtime.ts';
import { type ImageConfig, STANDARD_PATH } from './image-table.ts';

export interface PasswdEntry {
  uid: number;
  gid: number;
  home: string;
}

export function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 7) continue;
    const uid = Number(fields[2]);
    const gid = Number(fields[3]);
    if (Number.isInteger(uid) && Number.isInteger(gid)) entries.push({ uid, gid, home: fields[5] ?? '/' });
  }
  return entries;
}

export function readHostPasswd(): PasswdEntry[] {
  try {
    return parsePasswd(readFileSync('/etc/passwd', 'utf8'));
  } catch {
    return [];
  }
}

export interface ContainerUser {
  uid: number;
  gid: number;
  /** The uid has an /etc/passwd entry (its supplementary groups come from /etc/group). */
  known: boolean;
  home: string;
}

export function containerUser(
  image: ImageConfig,
  runAsUser: number | undefined,
  runAsGroup: number | undefined,
  passwd: PasswdEntry[],
): ContainerUser {
  const uid = runAsUser ?? image.user?.uid ?? 0;
  const entry = passwd.find((p) => p.uid === uid);
  const imageGid = runAsUser === undefined ? image.user?.gid : undefined;
  const gid = runAsGroup ?? imageGid ?? entry?.gid ?? 0;
  return { uid, gid, known: entry !== undefined, home: entry?.home || '/' };
}

export function containerEnv(
  image: ImageConfig,
  hostname: string,
  env: ResolvedEnvVar[],
  user: ContainerUser,
): Record<string, string> {
  const out: Record<string, string> = { PATH: STANDARD_PATH, HOSTNAME: hostname, ...image.env };
  for (const { name, value } of env) out[name] = value;
  out.HOME ??= user.home;
  return out;
}
