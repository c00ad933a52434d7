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

/** Variables that change how programs start (loader, shell startup), not what a container sees. */
const LOADER_OR_SHELL = /^(LD_.*|BASH_ENV|ENV|SHELLOPTS|BASHOPTS|IFS|POSIXLY_CORRECT)$/;

/** Splits the env into what the runtime's own launch chain may run with and what only the command gets. */
export function splitLaunchEnv(env: Record<string, string>): {
  launch: Record<string, string>;
  deferred: Record<string, string>;
} {
  const launch: Record<string, string> = {};
  const deferred: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (LOADER_OR_SHELL.test(name)) deferred[name] = value;
    else launch[name] = value;
  }
  return { launch, deferred };
}
