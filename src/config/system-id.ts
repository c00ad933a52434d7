// The runner manager's `system_id` (gitlab-runner-api.md §1.2): generated once and kept in
// `.runner_system_id` next to config.toml. `s_` + 12 hex of HMAC-SHA256(machine id, "gitlab-runner") where
// a machine id exists, else `r_` + 12 random alphanumerics. When the file cannot be written the id is used
// for this process only.
import { createHmac, randomInt } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SYSTEM_ID_FILE = '.runner_system_id';
const valid = /^[rs]_[0-9a-zA-Z]{12}$/;

function machineId(): string | undefined {
  for (const path of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(path, 'utf8').trim();
      if (id) return id;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

export function generateSystemId(inPod = Boolean(process.env.KUBERNETES_SERVICE_HOST)): string {
  // Containers of one image share /etc/machine-id, so replicas in a cluster get a random id each.
  const id = inPod ? undefined : machineId();
  if (id) return `s_${createHmac('sha256', id).update('gitlab-runner').digest('hex').slice(0, 12)}`;
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let out = 'r_';
  for (let i = 0; i < 12; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

export interface SystemId {
  id: string;
  /** Where it is stored; undefined when it could not be written. */
  file: string | undefined;
  problem?: string;
}

export function loadOrCreateSystemId(configDir: string): SystemId {
  const file = join(configDir, SYSTEM_ID_FILE);
  try {
    const stored = readFileSync(file, 'utf8').trim();
    if (valid.test(stored)) return { id: stored, file };
  } catch {
    // created below
  }
  const id = generateSystemId();
  try {
    writeFileSync(file, `${id}\n`, { mode: 0o600 });
    return { id, file };
  } catch (err) {
    return { id, file: undefined, problem: `cannot write ${file}: ${(err as Error).message}` };
  }
}
