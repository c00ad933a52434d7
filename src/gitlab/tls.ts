// TLS material for one GitLab URL (gitlab-runner-api.md §0.2): the runner entry's `tls-ca-file`,
// `tls-cert-file`, `tls-key-file`, else `<host>.crt`, `<host>.auth.crt`, `<host>.auth.key` in the certs
// directory. Like upstream, an unreadable file is reported and skipped rather than failing the client.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TlsFiles {
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** The files used, for logs and the dispatcher cache key. */
  files: TlsFiles;
  problems: string[];
}

/** Fills the files the runner entry leaves empty from the certs directory, by the URL's host name. */
export function resolveTlsFiles(url: string, files: TlsFiles, certsDir?: string): TlsFiles {
  const out: TlsFiles = { ...files };
  if (!certsDir) return out;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  const find = (name: string) => {
    const path = join(certsDir, name);
    return existsSync(path) ? path : undefined;
  };
  out.caFile ??= find(`${host}.crt`);
  out.certFile ??= find(`${host}.auth.crt`);
  out.keyFile ??= find(`${host}.auth.key`);
  return out;
}

export function readTlsMaterial(files: TlsFiles): TlsMaterial {
  const material: TlsMaterial = { files, problems: [] };
  const read = (label: string, path: string | undefined): Buffer | undefined => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      material.problems.push(`cannot read ${label} ${path}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const ca = read('tls-ca-file', files.caFile);
  const cert = read('tls-cert-file', files.certFile);
  const key = read('tls-key-file', files.keyFile);
  if (ca) material.ca = ca;
  if (cert && key) {
    material.cert = cert;
    material.key = key;
  } else if (cert || key) {
    material.problems.push('a client certificate needs both tls-cert-file and tls-key-file; neither is used');
  }
  return material;
}
