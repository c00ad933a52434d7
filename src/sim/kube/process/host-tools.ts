// The host programs process mode is built from (util-linux, iproute2, coreutils, bash), and how much
// isolation this host allows. Looked up once, synchronously, when the runtime is created.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { HostTools } from './container-init.ts';
import { ProcessRuntimeError } from './errors.ts';

export interface RuntimeTools extends HostTools {
  unshare: string;
  nsenter: string;
  ip: string;
  bash: string;
  /** The shell that runs containers' init scripts: dash if installed, else bash. */
  initShell: string;
  /** Not required: busybox/alpine images fall back to the host's /bin/sh. */
  busybox?: string;
}

export type Isolation = 'root' | 'user';

const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export function findExecutable(name: string, searchPath = process.env.PATH ?? ''): string | undefined {
  const dirs = [...searchPath.split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

const PACKAGES: Record<string, string> = {
  unshare: 'util-linux',
  nsenter: 'util-linux',
  setpriv: 'util-linux',
  mount: 'mount',
  umount: 'mount',
  ip: 'iproute2',
  bash: 'bash',
  mkdir: 'coreutils',
  ln: 'coreutils',
  chown: 'coreutils',
  env: 'coreutils',
};

export function findRuntimeTools(): RuntimeTools {
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of Object.keys(PACKAGES)) {
    const path = findExecutable(name);
    if (path) found[name] = path;
    else missing.push(`${name} (${PACKAGES[name]})`);
  }
  if (missing.length > 0) {
    throw new ProcessRuntimeError(
      'missing-tool',
      `process mode needs these programs, which are not installed: ${missing.join(', ')}`,
    );
  }
  const env = found.env as string;
  const envDefaultSignal = spawnSync(env, ['--default-signal', 'true'], { stdio: 'ignore' }).status === 0;
  const busybox = findExecutable('busybox');
  return {
    initShell: findExecutable('dash') ?? (found.bash as string),
    unshare: found.unshare as string,
    nsenter: found.nsenter as string,
    setpriv: found.setpriv as string,
    mount: found.mount as string,
    umount: found.umount as string,
    ip: found.ip as string,
    bash: found.bash as string,
    mkdir: found.mkdir as string,
    ln: found.ln as string,
    chown: found.chown as string,
    env,
    envDefaultSignal,
    ...(busybox ? { busybox } : {}),
  };
}

/**
 * `root`: real namespaces. `user`: the same inside an unprivileged user namespace (only root of that
 * namespace exists, so runAsUser is not honoured and mount points must already exist on the host).
 */
export function detectIsolation(tools: RuntimeTools, wanted: 'auto' | Isolation): Isolation {
  const isRoot = process.getuid?.() === 0;
  if (wanted === 'root' && !isRoot) {
    throw new ProcessRuntimeError(
      'isolation-unavailable',
      'process mode with isolation "root" must run as root',
    );
  }
  if (wanted === 'root' || (wanted === 'auto' && isRoot)) return 'root';
  const probe = spawnSync(
    tools.unshare,
    ['--user', '--map-root-user', '--net', '--uts', '--ipc', '--mount', '--pid', '--fork', 'true'],
    { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' },
  );
  if (probe.status === 0) return 'user';
  throw new ProcessRuntimeError(
    'isolation-unavailable',
    'process mode needs root or unprivileged user namespaces to give each pod its own /builds, localhost and ' +
      `hostname; this host allows neither (unshare --user: ${probe.stderr.trim() || `exit ${probe.status}`}). ` +
      'Run `podrunner sim kube` as root, enable user namespaces (sysctl kernel.unprivileged_userns_clone=1, ' +
      'user.max_user_namespaces > 0, kernel.apparmor_restrict_unprivileged_userns=0), or use virtual mode.',
  );
}
