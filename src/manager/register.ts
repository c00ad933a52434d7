// `podrunner register` (kubernetes-executor.md §1.7, §5.2): builds a `[[runners]]` entry from flags, then
// environment variables, then `--template-config`, checks the token with GitLab (a glrt- token is verified,
// a registration token registers a new runner) and appends the entry to config.toml.
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { stringify } from 'smol-toml';
import {
  type ConfigEditError,
  mergeUnder,
  newConfigDoc,
  readConfigDoc,
  runnersOf,
  type TomlDoc,
  writeConfigDoc,
} from '../config/edit.ts';
import { formatIssue, parseConfig } from '../config/load.ts';
import { loadOrCreateSystemId } from '../config/system-id.ts';
import type { GitLabClient, RunnerTokenResult } from '../gitlab/client.ts';
import { isCreatedRunnerToken, shortToken } from '../gitlab/tokens.ts';
import { type CommandIO, clientFor, connectionsForCli, processIO, prompt } from './cli-support.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';
import { type FlagSpec, parseFlagValue } from './register-flags.ts';

export interface RegisterOptions {
  config: string;
  url?: string | undefined;
  token?: string | undefined;
  registrationToken?: string | undefined;
  name?: string | undefined;
  description?: string | undefined;
  executor?: string | undefined;
  templateConfig?: string | undefined;
  nonInteractive?: boolean | string | undefined;
  leaveRunner?: boolean | string | undefined;
  tagList?: string | undefined;
  runUntagged?: boolean | string | undefined;
  locked?: boolean | string | undefined;
  accessLevel?: string | undefined;
  maximumTimeout?: string | undefined;
  paused?: boolean | string | undefined;
  maintenanceNote?: string | undefined;
}

const truthy = (v: boolean | string | undefined, fallback: boolean): boolean => {
  if (v === undefined) return fallback;
  if (typeof v === 'boolean') return v;
  return !['false', '0', 'f', 'no'].includes(v.trim().toLowerCase());
};

function setPath(doc: TomlDoc, path: readonly string[], value: unknown): void {
  let cur = doc;
  path.slice(0, -1).forEach((p) => {
    const next = cur[p];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[p] = {};
    cur = cur[p] as TomlDoc;
  });
  cur[path[path.length - 1]!] = value;
}

export async function registerRunner(
  opts: RegisterOptions,
  values: { spec: FlagSpec; raw: string | boolean | string[] }[],
  io: CommandIO = processIO(),
): Promise<ExitCode> {
  const out = (line: string) => io.stdout.write(`${line}\n`);
  const err = (line: string) => io.stderr.write(`podrunner register: ${line}\n`);
  const configPath = resolve(opts.config);
  const interactive = !truthy(opts.nonInteractive, false) && io.stdin.isTTY === true;

  // The entry from flags and environment variables.
  const entry: TomlDoc = {};
  for (const { spec, raw } of values) {
    const parsed = parseFlagValue(spec, raw);
    if (parsed.error) {
      err(parsed.error);
      return EXIT.USAGE;
    }
    setPath(entry, spec.path, parsed.value);
  }

  // The template fills what flags and environment left empty.
  let template: TomlDoc = {};
  if (opts.templateConfig) {
    try {
      const doc = await readConfigDoc(opts.templateConfig);
      if (!doc) {
        err(`template ${opts.templateConfig}: no such file`);
        return EXIT.CONFIG;
      }
      const runners = runnersOf(doc);
      if (runners.length !== 1) {
        err(
          `template ${opts.templateConfig} must hold exactly one [[runners]] entry, it has ${runners.length}`,
        );
        return EXIT.CONFIG;
      }
      template = runners[0]!;
      out(`Merging configuration from template file "${opts.templateConfig}"`);
    } catch (e) {
      err((e as Error).message);
      return EXIT.CONFIG;
    }
  }

  let url = opts.url ?? (template.url as string | undefined);
  if (!url && interactive)
    url = await prompt(io, 'Enter the GitLab instance URL (for example, https://gitlab.com/):');
  if (!url) {
    err('the GitLab URL is missing: pass --url or set CI_SERVER_URL');
    return EXIT.USAGE;
  }
  const executor = opts.executor ?? (template.executor as string | undefined) ?? 'kubernetes';
  if (executor !== 'kubernetes') {
    err(`executor ${JSON.stringify(executor)} is not supported: podrunner runs the kubernetes executor`);
    return EXIT.USAGE;
  }

  const authToken = opts.token ?? io.env.CI_SERVER_TOKEN ?? io.env.RUNNER_TOKEN;
  let token = authToken && isCreatedRunnerToken(authToken) ? authToken : undefined;
  const legacyAuthToken = authToken && !isCreatedRunnerToken(authToken) ? authToken : undefined;
  let viaRegistrationFlag = false;
  if (!token && !legacyAuthToken) {
    token = opts.registrationToken;
    viaRegistrationFlag = true;
    if (!token && interactive)
      token = await prompt(io, 'Enter the runner authentication token (glrt-…) or a registration token:');
    if (!token) {
      err(
        'the token is missing: pass --token (or set CI_SERVER_TOKEN / RUNNER_TOKEN) with the glrt- token from GitLab',
      );
      return EXIT.USAGE;
    }
  }

  await mkdir(dirname(configPath), { recursive: true }).catch(() => undefined);
  const systemId = loadOrCreateSystemId(dirname(configPath));
  if (systemId.problem) err(`warning: ${systemId.problem}`);
  const connections = connectionsForCli((p) => err(`warning: ${p}`));
  const client = clientFor(
    connections,
    { ...(template as object), ...entry, url } as { url: string },
    configPath,
    systemId.id,
  );

  try {
    let result: RunnerTokenResult;
    let finalToken: string;
    let createdHere = false;
    if (legacyAuthToken) {
      out('Token specified trying to verify runner...');
      result = await client.verifyRunner(legacyAuthToken, systemId.id);
      finalToken = legacyAuthToken;
    } else if (isCreatedRunnerToken(token!)) {
      const serverArgs = {
        '--locked': truthy(opts.locked, true) === false,
        '--access-level': Boolean(opts.accessLevel),
        '--run-untagged': truthy(opts.runUntagged, false),
        '--maximum-timeout': Boolean(opts.maximumTimeout && Number(opts.maximumTimeout) !== 0),
        '--paused': truthy(opts.paused, false),
        '--tag-list': Boolean(opts.tagList),
        '--maintenance-note': Boolean(opts.maintenanceNote),
      };
      const given = Object.entries(serverArgs)
        .filter(([, v]) => v)
        .map(([k]) => k);
      if (given.length > 0) {
        if (!viaRegistrationFlag) {
          err(
            `${given.join(', ')} cannot be set when registering with a runner authentication token: these settings live in GitLab (the runner's settings page)`,
          );
          return EXIT.USAGE;
        }
        err(`warning: ${given.join(', ')} ignored: with a glrt- token these settings live in GitLab`);
      }
      result = await client.verifyRunner(token!, systemId.id);
      finalToken = token!;
    } else {
      const timeout = opts.maximumTimeout ? Number(opts.maximumTimeout) : 0;
      if (opts.accessLevel && !['not_protected', 'ref_protected'].includes(opts.accessLevel)) {
        err('--access-level must be not_protected or ref_protected');
        return EXIT.USAGE;
      }
      const name = opts.name ?? opts.description ?? (template.name as string | undefined) ?? hostname();
      result = await client.registerRunner({
        token: token!,
        ...(name ? { description: name } : {}),
        ...(opts.maintenanceNote ? { maintenance_note: opts.maintenanceNote } : {}),
        ...(opts.tagList ? { tag_list: opts.tagList } : {}),
        run_untagged: truthy(opts.runUntagged, !opts.tagList),
        locked: truthy(opts.locked, true),
        ...(opts.accessLevel ? { access_level: opts.accessLevel as 'not_protected' | 'ref_protected' } : {}),
        ...(timeout > 0 ? { maximum_timeout: timeout } : {}),
        paused: truthy(opts.paused, false),
      });
      finalToken = result.kind === 'ok' && result.token ? result.token : '';
      createdHere = true;
    }
    const code = reportTokenResult(result, err, createdHere);
    if (code !== EXIT.OK || result.kind !== 'ok') return code;

    let name = opts.name ?? opts.description ?? (template.name as string | undefined);
    if (!name && interactive)
      name = await prompt(io, 'Enter a name for the runner (stored only in config.toml):', hostname());
    const runner: TomlDoc = {
      name: name ?? hostname(),
      url,
      ...(result.id !== undefined ? { id: result.id } : {}),
      token: finalToken,
      token_obtained_at: new Date(Math.floor(Date.now() / 1000) * 1000),
      ...(result.tokenExpiresAt ? { token_expires_at: result.tokenExpiresAt } : {}),
      executor,
      ...entry,
    };
    const merged = mergeUnder(runner, template);
    const saved = await save(configPath, merged, err);
    if (saved !== EXIT.OK) {
      if (createdHere && !truthy(opts.leaveRunner, false)) await undo(client, finalToken, systemId.id, err);
      return saved;
    }
    out(
      'Runner registered successfully. Feel free to start it, but if it is running already the config should be automatically reloaded!',
    );
    out(`Configuration (with the authentication token) was saved in "${configPath}"`);
    return EXIT.OK;
  } finally {
    await connections.close();
  }
}

function reportTokenResult(
  result: RunnerTokenResult,
  err: (l: string) => void,
  registering: boolean,
): ExitCode {
  switch (result.kind) {
    case 'ok':
      return EXIT.OK;
    case 'unreachable':
      err(`cannot reach GitLab: ${result.error}`);
      return EXIT.UNREACHABLE;
    case 'forbidden':
      err(
        registering
          ? `GitLab refused the registration token (403 ${result.message})`
          : `the runner token is not valid (403 ${result.message})`,
      );
      return EXIT.FAILED;
    case 'gone':
      err(
        `GitLab does not accept registration tokens (410 ${result.message}): create the runner in GitLab and use its glrt- token with --token`,
      );
      return EXIT.FAILED;
    default:
      err(`GitLab answered ${result.status}: ${result.message}`);
      return result.status >= 500 ? EXIT.UNREACHABLE : EXIT.FAILED;
  }
}

async function save(configPath: string, runner: TomlDoc, err: (l: string) => void): Promise<ExitCode> {
  let doc: TomlDoc;
  try {
    doc = (await readConfigDoc(configPath)) ?? newConfigDoc();
  } catch (e) {
    err((e as Error).message);
    return EXIT.CONFIG;
  }
  const runners = runnersOf(doc);
  doc.runners = [...runners, runner];
  const check = parseConfig(stringify(doc), { file: configPath });
  if (!check.ok) {
    for (const e of check.errors) err(formatIssue(e));
    return EXIT.CONFIG;
  }
  for (const w of check.warnings) if (w.code !== 'CONFIG_NOT_ACTED_ON') err(`warning: ${formatIssue(w)}`);
  const limit = Number(runner.limit ?? 0);
  if (limit > check.config.concurrent) {
    err(
      `warning: limit (${limit}) is larger than concurrent (${check.config.concurrent}); concurrent takes precedence`,
    );
  }
  try {
    await writeConfigDoc(configPath, doc);
  } catch (e) {
    err((e as ConfigEditError).message);
    return EXIT.FAILED;
  }
  return EXIT.OK;
}

async function undo(
  client: GitLabClient,
  token: string,
  systemId: string,
  err: (l: string) => void,
): Promise<void> {
  const res = isCreatedRunnerToken(token)
    ? await client.unregisterManager(token, systemId)
    : await client.unregisterRunner(token);
  if (res.kind !== 'ok') err(`warning: could not remove the runner ${shortToken(token)} from GitLab again`);
}
