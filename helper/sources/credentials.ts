// How the job token reaches git without appearing in any argv, environment or output: a private
// directory (mode 0700) holds the token in a 0600 file and a git config used as git's *global* config
// (GIT_CONFIG_GLOBAL). That config installs a credential helper, scoped to the repository's host,
// which `cat`s the token file when git asks. Nothing is written into the repository's .git/config,
// and the directory is removed when the stage ends.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const GIT_USERNAME = 'gitlab-ci-token';

export interface GitAccessOptions {
  /** The remote URL without credentials. */
  remoteUrl: string;
  token: string;
  /** PEM of an extra CA for the repository host. */
  caPem?: string;
  /** Or a CA bundle that exists in the container. */
  caFile?: string;
  userAgent: string;
  /** Where the private directory is created (default: the OS temp dir of this container). */
  tmpRoot?: string;
}

export class GitAccess {
  readonly dir: string;
  readonly configFile: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.configFile = path.join(dir, 'gitconfig');
  }

  static async create(options: GitAccessOptions): Promise<GitAccess> {
    const dir = await mkdtemp(path.join(options.tmpRoot ?? tmpdir(), 'podrunner-git-'));
    await chmod(dir, 0o700);
    const access = new GitAccess(dir);
    const tokenFile = path.join(dir, 'token');
    await writeFile(tokenFile, options.token, { mode: 0o600 });
    const origin = originOf(options.remoteUrl);
    let caFile = options.caFile;
    if (options.caPem) {
      caFile = path.join(dir, 'ca.pem');
      await writeFile(caFile, options.caPem, { mode: 0o600 });
    }
    // The helper prints nothing for other operations (store/erase) and never reads the environment.
    const helper = `!f() { test "$1" = get || exit 0; echo username=${GIT_USERNAME}; printf password=; cat ${shellQuote(tokenFile)}; echo; }; f`;
    const lines = [
      `[credential ${configQuote(origin)}]`,
      `\thelper = ""`,
      `\thelper = ${configQuote(helper)}`,
      `\tusername = ${GIT_USERNAME}`,
      '[credential]',
      '\tinteractive = never',
      '[safe]',
      '\tdirectory = *',
      '[init]',
      '\tdefaultBranch = none',
      '[fetch]',
      '\trecurseSubmodules = false',
      '[gc]',
      '\tautoDetach = false',
      '[http]',
      `\tuserAgent = ${configQuote(options.userAgent)}`,
    ];
    if (caFile) lines.push(`[http ${configQuote(`${origin}/`)}]`, `\tsslCAInfo = ${configQuote(caFile)}`);
    await writeFile(access.configFile, `${lines.join('\n')}\n`, { mode: 0o600 });
    return access;
  }

  /** The GIT_* environment every git process of the stage gets: no secret values in it. */
  gitEnv(extra: Record<string, string> = {}): Record<string, string> {
    return {
      GIT_CONFIG_GLOBAL: this.configFile,
      GIT_TERMINAL_PROMPT: '0',
      GCM_INTERACTIVE: 'Never',
      ...extra,
    };
  }

  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** `scheme://host[:port]` of a URL. */
export function originOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

function configQuote(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/**
 * The URL git fetches from: the payload's `repo_url` without its credentials, with `clone_url`'s
 * scheme, host, port (and path prefix) when the runner sets one; and the token it carried.
 */
export function remoteFromPayload(repoUrl: string, cloneUrl?: string): { url: string; tokenInUrl?: string } {
  const u = new URL(repoUrl);
  const tokenInUrl = u.password ? decodeURIComponent(u.password) : undefined;
  u.username = '';
  u.password = '';
  if (cloneUrl) {
    const c = new URL(cloneUrl);
    const prefix = c.pathname.replace(/\/+$/, '');
    return { url: `${c.protocol}//${c.host}${prefix}${u.pathname}${u.search}`, tokenInUrl };
  }
  return { url: u.toString(), tokenInUrl };
}
