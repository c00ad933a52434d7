// `podrunner verify`: validates config.toml (an error names file, line and key), then asks GitLab about
// every runner token and prints upstream's words: "is valid" (glrt- tokens) / "is alive" (legacy tokens),
// "is not valid" / "is removed" when GitLab refuses it. The Helm chart's liveness probe greps for them.
import { dirname, resolve } from 'node:path';
import { type ConfigEditError, readConfigDoc, runnersOf, writeConfigDoc } from '../config/edit.ts';
import { formatIssue, loadConfig } from '../config/load.ts';
import { loadOrCreateSystemId } from '../config/system-id.ts';
import { isCreatedRunnerToken, shortToken } from '../gitlab/tokens.ts';
import { type CommandIO, clientFor, connectionsForCli, processIO } from './cli-support.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';

export interface VerifyOptions {
  config: string;
  name?: string | boolean | undefined;
  url?: string | boolean | undefined;
  token?: string | boolean | undefined;
  delete?: string | boolean | undefined;
}

export async function verifyRunners(opts: VerifyOptions, io: CommandIO = processIO()): Promise<ExitCode> {
  const out = (line: string) => io.stdout.write(`${line}\n`);
  const err = (line: string) => io.stderr.write(`${line}\n`);
  const configPath = resolve(opts.config);
  const loaded = await loadConfig(configPath);
  if (!loaded.ok) {
    for (const e of loaded.errors) err(`ERROR: ${formatIssue(e)}`);
    return EXIT.CONFIG;
  }
  for (const w of loaded.warnings) err(`WARNING: ${formatIssue(w)}`);
  // Not "… is valid": the Helm chart's liveness probe greps for that phrase, which belongs to the tokens.
  out(`Configuration loaded from ${configPath}`);

  const name = typeof opts.name === 'string' ? opts.name : '';
  const url = typeof opts.url === 'string' ? opts.url.replace(/\/+$/, '') : '';
  const token = typeof opts.token === 'string' ? opts.token : '';
  const selecting = Boolean(name || url || token);
  const selected = loaded.config.runners.filter(
    (r) =>
      !selecting ||
      (name !== '' && r.name === name) ||
      ((url !== '' || token !== '') &&
        (url === '' || r.url.replace(/\/+$/, '') === url) &&
        (token === '' || r.token === token)),
  );
  if (selecting && selected.length === 0) {
    err('ERROR: no runner matches the filtering parameters');
    return EXIT.FAILED;
  }

  const systemId = loadOrCreateSystemId(dirname(configPath));
  const connections = connectionsForCli((p) => err(`WARNING: ${p}`));
  let invalid = 0;
  let unreachable = 0;
  const removed = new Set<string>();
  try {
    for (const r of selected) {
      const fields = `runner=${shortToken(r.token)} name=${r.name || '-'} url=${r.url}`;
      const res = await clientFor(connections, r, configPath, systemId.id).verifyRunner(r.token, systemId.id);
      const created = isCreatedRunnerToken(r.token);
      switch (res.kind) {
        case 'ok':
          out(`Verifying runner... ${created ? 'is valid' : 'is alive'}  ${fields}`);
          break;
        case 'forbidden':
          invalid++;
          removed.add(r.token);
          out(`Verifying runner... ${created ? 'is not valid' : 'is removed'}  ${fields}`);
          break;
        case 'unreachable':
          unreachable++;
          out(`Verifying runner... failed  ${fields} error=${JSON.stringify(res.error)}`);
          break;
        default:
          if (res.status >= 500) unreachable++;
          else invalid++;
          out(
            `Verifying runner... ${res.status < 500 ? 'client error' : 'failed'}  ${fields} status=${res.status}`,
          );
      }
    }
  } finally {
    await connections.close();
  }

  if (opts.delete && removed.size > 0) {
    try {
      const doc = await readConfigDoc(configPath);
      if (doc) {
        doc.runners = runnersOf(doc).filter((r) => !removed.has(String(r.token)));
        await writeConfigDoc(configPath, doc);
        out(`Updated ${configPath}: removed ${removed.size} runner(s) GitLab no longer knows`);
      }
    } catch (e) {
      err(`ERROR: ${(e as ConfigEditError).message}`);
      return EXIT.FAILED;
    }
    return unreachable > 0 ? EXIT.UNREACHABLE : EXIT.OK;
  }
  if (invalid > 0) return EXIT.FAILED;
  if (unreachable > 0) return EXIT.UNREACHABLE;
  return EXIT.OK;
}
