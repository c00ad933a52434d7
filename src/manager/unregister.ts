// `podrunner unregister`: removes runners from GitLab and from config.toml. For a glrt- token only this
// manager (its system_id) is removed, so other managers of the same runner keep working; for legacy tokens
// the runner itself is deleted, as upstream does.
import { dirname, resolve } from 'node:path';
import {
  type ConfigEditError,
  readConfigDoc,
  runnersOf,
  type TomlDoc,
  writeConfigDoc,
} from '../config/edit.ts';
import { loadOrCreateSystemId } from '../config/system-id.ts';
import { isCreatedRunnerToken, shortToken } from '../gitlab/tokens.ts';
import { type CommandIO, clientFor, connectionsForCli, processIO } from './cli-support.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';

export interface UnregisterOptions {
  config: string;
  name?: string | boolean | undefined;
  url?: string | boolean | undefined;
  token?: string | boolean | undefined;
  allRunners?: string | boolean | undefined;
}

export async function unregisterRunners(
  opts: UnregisterOptions,
  io: CommandIO = processIO(),
): Promise<ExitCode> {
  const out = (line: string) => io.stdout.write(`${line}\n`);
  const err = (line: string) => io.stderr.write(`podrunner unregister: ${line}\n`);
  const configPath = resolve(opts.config);
  let doc: TomlDoc | undefined;
  try {
    doc = await readConfigDoc(configPath);
  } catch (e) {
    err((e as ConfigEditError).message);
    return EXIT.CONFIG;
  }
  const runners = doc ? runnersOf(doc) : [];
  const name = typeof opts.name === 'string' ? opts.name : '';
  const url = typeof opts.url === 'string' ? opts.url : '';
  const token = typeof opts.token === 'string' ? opts.token : '';

  let targets: TomlDoc[];
  if (opts.allRunners) targets = runners;
  else if (name) targets = runners.filter((r) => r.name === name);
  else if (url && token) {
    targets = runners.filter((r) => r.url === url && r.token === token);
    // A runner not in config.toml can still be removed from GitLab.
    if (targets.length === 0) targets = [{ url, token }];
  } else {
    err('say which runner: --all-runners, --name, or --url and --token');
    return EXIT.USAGE;
  }
  if (targets.length === 0) {
    if (opts.allRunners) {
      out('No runners to unregister');
      return EXIT.OK;
    }
    err(`no runner named ${JSON.stringify(name)} in ${configPath}`);
    return EXIT.FAILED;
  }

  const systemId = loadOrCreateSystemId(dirname(configPath));
  const connections = connectionsForCli((p) => err(`warning: ${p}`));
  const gone = new Set<TomlDoc>();
  let failed = 0;
  let unreachable = 0;
  try {
    for (const r of targets) {
      const t = String(r.token ?? '');
      const u = String(r.url ?? '');
      if (!t || !u) {
        err(`runner ${JSON.stringify(r.name ?? '')} has no url or token; removed from config.toml only`);
        gone.add(r);
        continue;
      }
      const client = clientFor(connections, r as { url: string }, configPath, systemId.id);
      const res = isCreatedRunnerToken(t)
        ? await client.unregisterManager(t, systemId.id)
        : await client.unregisterRunner(t);
      const label = `runner=${shortToken(t)} name=${String(r.name ?? '-')}`;
      if (res.kind === 'ok' || res.kind === 'forbidden' || res.kind === 'not-found') {
        // 403/404: GitLab no longer knows it; it goes from the config as well.
        out(
          `Unregistering runner from GitLab ${res.kind === 'ok' ? 'succeeded' : `: already gone (${res.status})`}  ${label}`,
        );
        gone.add(r);
      } else if (res.kind === 'unreachable') {
        unreachable++;
        err(`cannot reach GitLab for ${label}: ${res.error}`);
      } else {
        failed++;
        err(`GitLab answered ${res.status} for ${label}: ${res.message}`);
      }
    }
  } finally {
    await connections.close();
  }

  const remaining = runners.filter((r) => !gone.has(r));
  if (doc && remaining.length !== runners.length) {
    doc.runners = remaining;
    try {
      await writeConfigDoc(configPath, doc);
      out(`Updated ${configPath}`);
    } catch (e) {
      err((e as ConfigEditError).message);
      return EXIT.FAILED;
    }
  }
  if (failed > 0) return EXIT.FAILED;
  if (unreachable > 0) return EXIT.UNREACHABLE;
  return EXIT.OK;
}
