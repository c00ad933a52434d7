// Reading and rewriting config.toml as a TOML document (for register, unregister and verify --delete).
// Like upstream, rewriting re-encodes the file: comments are not kept. Writes are atomic (temp file +
// rename) and private (0600), since the file holds tokens.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parse, stringify, TomlError } from 'smol-toml';

export type TomlDoc = Record<string, unknown>;

/** What `register` writes into a new config.toml, as upstream does. */
export function newConfigDoc(): TomlDoc {
  return { concurrent: 1, check_interval: 0, shutdown_timeout: 0, session_server: { session_timeout: 1800 } };
}

export class ConfigEditError extends Error {
  readonly code: 'CONFIG_SYNTAX' | 'CONFIG_UNREADABLE' | 'CONFIG_UNWRITABLE';
  constructor(code: ConfigEditError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

/** The document, or undefined when the file does not exist. */
export async function readConfigDoc(path: string): Promise<TomlDoc | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigEditError('CONFIG_UNREADABLE', `cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return parse(text) as TomlDoc;
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = err.message.replace(/^Invalid TOML document: /, '').split('\n\n')[0];
      throw new ConfigEditError(
        'CONFIG_SYNTAX',
        `${path}:${err.line}:${err.column}: invalid TOML: ${reason}`,
      );
    }
    throw err;
  }
}

export async function writeConfigDoc(path: string, doc: TomlDoc): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(tmp, stringify(doc), { mode: 0o600 });
    await rename(tmp, path);
  } catch (err) {
    throw new ConfigEditError('CONFIG_UNWRITABLE', `cannot write ${path}: ${(err as Error).message}`);
  }
}

export function runnersOf(doc: TomlDoc): TomlDoc[] {
  const r = doc.runners;
  return Array.isArray(r) ? (r.filter((x) => typeof x === 'object' && x !== null) as TomlDoc[]) : [];
}

/** Fills every key `base` lacks from `template`, recursively (register --template-config). */
export function mergeUnder(base: TomlDoc, template: TomlDoc): TomlDoc {
  const out: TomlDoc = { ...base };
  for (const [k, v] of Object.entries(template)) {
    const cur = out[k];
    if (cur === undefined) out[k] = v;
    else if (isTable(cur) && isTable(v)) out[k] = mergeUnder(cur, v);
  }
  return out;
}

const isTable = (v: unknown): v is TomlDoc =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
