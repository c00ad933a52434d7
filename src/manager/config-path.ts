// Where config.toml lives when --config is not given: $CONFIG_FILE, else gitlab-runner's defaults
// (/etc/gitlab-runner/config.toml for root, ~/.gitlab-runner/config.toml otherwise), so an existing
// installation is found as it is.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CONFIG_FILE) return env.CONFIG_FILE;
  if (process.getuid?.() === 0) return '/etc/gitlab-runner/config.toml';
  return join(homedir(), '.gitlab-runner', 'config.toml');
}
