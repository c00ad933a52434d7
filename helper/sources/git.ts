// Runs git through simple-git with the helper's private configuration and streams git's own output
// (progress, "Initialized empty Git repository…", fatal errors) into the masked trace.
import { type SimpleGit, simpleGit } from 'simple-git';
import { HelperError } from '../errors.ts';
import type { Trace } from '../output/trace.ts';

/** Environment keys simple-git guards (and git would obey): never inherited from our own environment. */
const GUARDED = /^(git|editor$|pager$|prefix$|ssh_askpass$|visual$)/i;

export interface GitRunOptions {
  /** Relay git's stdout/stderr to the trace (default true). */
  echo?: boolean;
}

export class GitRunner {
  readonly #trace: Trace;
  readonly #env: Record<string, string>;
  readonly #debug: boolean;

  /** `gitEnv`: the GIT_* variables the helper sets itself (private global config, no prompts). */
  constructor(trace: Trace, gitEnv: Record<string, string>, options: { debug?: boolean } = {}) {
    this.#trace = trace;
    this.#debug = options.debug ?? false;
    const base: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined && !GUARDED.test(key)) base[key] = value;
    }
    this.#env = { ...base, ...gitEnv };
  }

  get env(): Record<string, string> {
    return { ...this.#env };
  }

  #client(cwd: string, echo: boolean): SimpleGit {
    const git = simpleGit({
      baseDir: cwd,
      allowEnvironment: Object.keys(this.#env).filter((k) => GUARDED.test(k)),
      unsafe: { allowUnsafeConfigPaths: true },
    }).env(this.#env);
    if (echo) {
      git.outputHandler((_command, stdout, stderr) => {
        const out = this.#trace.lineStream();
        const err = this.#trace.lineStream();
        stdout.on('data', (d: Buffer) => out.write(d));
        stderr.on('data', (d: Buffer) => err.write(d));
        stdout.on('end', () => out.end());
        stderr.on('end', () => err.end());
      });
    }
    return git;
  }

  /** Runs `git <args>` in `cwd`; throws HelperError(GIT_FAILED) with git's message on failure. */
  async run(cwd: string, args: string[], options: GitRunOptions = {}): Promise<string> {
    if (this.#debug) this.#trace.printf(`+ git ${args.join(' ')}`);
    try {
      return await this.#client(cwd, options.echo ?? true).raw(args);
    } catch (error) {
      const message = error instanceof Error ? error.message.trim() : String(error);
      throw new HelperError('GIT_FAILED', `git ${args.find((a) => !a.startsWith('-')) ?? ''}: ${message}`, {
        cause: error,
      });
    }
  }

  /** Like `run` but resolves false instead of throwing. */
  async try(cwd: string, args: string[], options: GitRunOptions = {}): Promise<boolean> {
    try {
      await this.run(cwd, args, options);
      return true;
    } catch {
      return false;
    }
  }
}

/** git's messages when the server refused the credentials. */
export function isAuthFailure(message: string): boolean {
  return /Authentication failed|HTTP Basic: Access denied|could not read (Username|Password)|The requested URL returned error: 40[13]|terminal prompts disabled/i.test(
    message,
  );
}
