// How the manager reaches the API server: the server URL, the auth headers and TLS of each request,
// and the namespace a kubeconfig context names. Resolved like gitlab-runner (config.toml `host` and
// credentials, else in-cluster, else a kubeconfig).
//
// The common forms (a `host` with token or client certificate, the in-cluster service account, a
// kubeconfig whose user is a token or a client certificate) are read here: client-node's entry point
// loads its ~3,000 generated modules, which cost ~85 MiB of resident memory, a third of a manager's
// budget at 1,000 jobs. Everything else (exec plugins, auth providers, proxies, merged KUBECONFIG
// lists, no kubeconfig at all) goes to client-node, imported only then.
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { Agent, type Dispatcher } from 'undici';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { clientNodeAccess } from './client-node-access.ts';
import { type HttpVerb, type QueryValues, requestUrl } from './request-url.ts';

export interface ClusterAccessConfig {
  /** `host`: API server URL; empty means in-cluster, then KUBECONFIG / ~/.kube/config. */
  host?: string;
  /** `context`: kubeconfig context, used only when `host` is empty. */
  context?: string;
  cert_file?: string;
  key_file?: string;
  ca_file?: string;
  bearer_token?: string;
  /** Path of a kubeconfig file to use instead of KUBECONFIG / ~/.kube/config. */
  kubeconfig?: string;
}

export interface RequestAccess {
  url: URL;
  headers: Record<string, string>;
  dispatcher: Dispatcher;
}

export interface ClusterAccess {
  /** The namespace of the kubeconfig context, if it names one. */
  readonly namespace: string | undefined;
  /** Where the access came from: `direct` (read here) or `client-node` (delegated). */
  readonly via: 'direct' | 'client-node';
  /** The URL, auth headers and the one shared dispatcher of a request. */
  prepare(method: HttpVerb, path: string, query?: QueryValues): Promise<RequestAccess>;
  close(): Promise<void>;
}

export interface AccessEnvironment {
  env: NodeJS.ProcessEnv;
  home: string;
  /** Where a pod's service account is mounted. */
  serviceAccountDir: string;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** A projected service-account token rotates; re-read it at most this often (client-go: 1 min). */
const TOKEN_REREAD_MS = 60_000;

export function loadClusterAccess(
  config: ClusterAccessConfig = {},
  environment: Partial<AccessEnvironment> = {},
): ClusterAccess {
  const env = environment.env ?? process.env;
  const home = environment.home ?? homedir();
  const saDir = environment.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (config.host) {
    return directAccess({
      server: config.host,
      namespace: undefined,
      ...(config.bearer_token ? { token: () => config.bearer_token as string } : {}),
      tls: {
        ...(config.ca_file ? { ca: readFileSync(config.ca_file) } : {}),
        ...(config.cert_file ? { cert: readFileSync(config.cert_file) } : {}),
        ...(config.key_file ? { key: readFileSync(config.key_file) } : {}),
      },
    });
  }
  if (config.kubeconfig) return fromKubeconfig([config.kubeconfig], config, home);
  if (env.KUBERNETES_SERVICE_HOST && !env.KUBECONFIG) return inCluster(env, saDir);
  const files = env.KUBECONFIG
    ? env.KUBECONFIG.split(delimiter).filter(Boolean)
    : [join(home, '.kube', 'config')].filter(exists);
  return fromKubeconfig(files, config, home);
}

function inCluster(env: NodeJS.ProcessEnv, saDir: string): ClusterAccess {
  const host = env.KUBERNETES_SERVICE_HOST as string;
  const port = env.KUBERNETES_SERVICE_PORT || '443';
  const tokenPath = join(saDir, 'token');
  return directAccess({
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    namespace: readOptional(join(saDir, 'namespace'))?.trim() || undefined,
    token: cachedFile(tokenPath),
    tls: { ca: readFileSync(join(saDir, 'ca.crt')) },
  });
}

const kubeconfigSchema = z.object({
  'current-context': z.string().optional(),
  clusters: z
    .array(z.object({ name: z.string(), cluster: z.record(z.string(), z.unknown()) }))
    .nullish()
    .transform((v) => v ?? []),
  users: z
    .array(z.object({ name: z.string(), user: z.record(z.string(), z.unknown()).nullish() }))
    .nullish()
    .transform((v) => v ?? []),
  contexts: z
    .array(
      z.object({
        name: z.string(),
        context: z.object({
          cluster: z.string(),
          user: z.string().optional(),
          namespace: z.string().optional(),
        }),
      }),
    )
    .nullish()
    .transform((v) => v ?? []),
});

/** The fields this reader understands; any other non-empty one sends the kubeconfig to client-node. */
const DIRECT_CLUSTER_FIELDS = new Set([
  'server',
  'certificate-authority',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
  'tls-server-name',
  'extensions',
]);
const DIRECT_USER_FIELDS = new Set([
  'token',
  'tokenFile',
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
  'extensions',
]);

interface Named<T> {
  name: string;
  value: T;
  /** The directory of the file that defined it (relative paths in it resolve there). */
  dir: string;
}

interface MergedKubeconfig {
  currentContext: string | undefined;
  clusters: Named<Record<string, unknown>>[];
  users: Named<Record<string, unknown>>[];
  contexts: Named<{ cluster: string; user?: string | undefined; namespace?: string | undefined }>[];
}

/** Reads and merges kubeconfig files like kubectl: the first file to set a name or the current context wins. */
function readKubeconfigs(files: string[]): MergedKubeconfig {
  const merged: MergedKubeconfig = { currentContext: undefined, clusters: [], users: [], contexts: [] };
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      // kubectl skips a missing file of a KUBECONFIG list; a file named alone must exist.
      if (files.length > 1 && (err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new Error(`kubeconfig ${file}: ${(err as Error).message}`);
    }
    let raw: unknown;
    try {
      raw = parseYaml(text);
    } catch (err) {
      throw new Error(`kubeconfig ${file}: not YAML: ${(err as Error).message}`);
    }
    const parsed = kubeconfigSchema.safeParse(raw ?? {});
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new Error(`kubeconfig ${file}: ${issues}`);
    }
    const kc = parsed.data;
    const dir = dirname(file);
    merged.currentContext ||= kc['current-context'] || undefined;
    for (const c of kc.clusters) merged.clusters.push({ name: c.name, value: c.cluster, dir });
    for (const u of kc.users) merged.users.push({ name: u.name, value: u.user ?? {}, dir });
    for (const c of kc.contexts) merged.contexts.push({ name: c.name, value: c.context, dir });
  }
  return merged;
}

/** Like client-node, proxies come from the kubeconfig's `proxy-url` only, not from HTTPS_PROXY. */
function fromKubeconfig(files: string[], config: ClusterAccessConfig, home: string): ClusterAccess {
  const paths = files.map((f) => resolve(home, f));
  // No kubeconfig at all: client-node's defaults (in-cluster, else localhost:8080).
  if (paths.length === 0) return clientNodeAccess(config, {});
  const kc = readKubeconfigs(paths);
  const where = paths.length === 1 ? `kubeconfig ${paths[0]}` : `KUBECONFIG ${paths.join(delimiter)}`;
  const contextName = config.context || kc.currentContext;
  const context = kc.contexts.find((c) => c.name === contextName)?.value;
  if (!context) throw new Error(`${where}: no context named "${contextName ?? ''}"`);
  const clusterEntry = kc.clusters.find((c) => c.name === context.cluster);
  const cluster = clusterEntry?.value;
  if (!clusterEntry || !cluster || typeof cluster.server !== 'string' || !cluster.server) {
    throw new Error(
      `${where}: context "${contextName}" names cluster "${context.cluster}", which has no server`,
    );
  }
  const userEntry = context.user ? kc.users.find((u) => u.name === context.user) : undefined;
  const user = userEntry?.value ?? {};
  const simple =
    Object.entries(cluster).every(([k, v]) => DIRECT_CLUSTER_FIELDS.has(k) || isEmpty(v)) &&
    Object.entries(user).every(([k, v]) => DIRECT_USER_FIELDS.has(k) || isEmpty(v));
  if (!simple) {
    return clientNodeAccess(
      { ...config, ...(paths.length === 1 ? { kubeconfig: paths[0] } : {}) },
      {
        namespace: context.namespace,
      },
    );
  }
  const fileOrData = (fields: Record<string, unknown>, dir: string, pathKey: string, dataKey: string) => {
    const data = fields[dataKey];
    if (typeof data === 'string' && data) return Buffer.from(data, 'base64');
    const path = fields[pathKey];
    if (typeof path === 'string' && path) return readFileSync(isAbsolute(path) ? path : join(dir, path));
    return undefined;
  };
  const userDir = userEntry?.dir ?? clusterEntry.dir;
  const ca = fileOrData(cluster, clusterEntry.dir, 'certificate-authority', 'certificate-authority-data');
  const cert = fileOrData(user, userDir, 'client-certificate', 'client-certificate-data');
  const key = fileOrData(user, userDir, 'client-key', 'client-key-data');
  const tokenFile = typeof user.tokenFile === 'string' && user.tokenFile ? user.tokenFile : undefined;
  const token =
    typeof user.token === 'string' && user.token
      ? () => user.token as string
      : tokenFile
        ? cachedFile(isAbsolute(tokenFile) ? tokenFile : join(userDir, tokenFile))
        : undefined;
  return directAccess({
    server: cluster.server,
    namespace: context.namespace,
    ...(token ? { token } : {}),
    tls: {
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(cluster['insecure-skip-tls-verify'] === true ? { rejectUnauthorized: false } : {}),
      ...(typeof cluster['tls-server-name'] === 'string' ? { servername: cluster['tls-server-name'] } : {}),
    },
  });
}

interface DirectOptions {
  server: string;
  namespace: string | undefined;
  token?: () => string;
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean; servername?: string };
}

function directAccess(o: DirectOptions): ClusterAccess {
  let server: URL;
  try {
    server = new URL(o.server);
  } catch {
    throw new Error(`Kubernetes API server URL "${o.server}" is not a URL`);
  }
  if (server.protocol !== 'https:' && server.protocol !== 'http:') {
    throw new Error(`Kubernetes API server URL "${o.server}" must be http:// or https://`);
  }
  const dispatcher = new Agent({
    connect: { keepAlive: true, keepAliveInitialDelay: 30_000, ...o.tls },
    keepAliveTimeout: 30_000,
    pipelining: 1,
  });
  const base = o.server.replace(/\/+$/, '');
  return {
    namespace: o.namespace,
    via: 'direct',
    async prepare(_method, path, query) {
      const token = o.token?.().trim();
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      return { url: requestUrl(base, path, query), headers, dispatcher };
    },
    close: () => dispatcher.close(),
  };
}

/** A file's text, re-read when older than TOKEN_REREAD_MS (the last good read survives a failed one). */
function cachedFile(path: string): () => string {
  let value = readFileSync(path, 'utf8');
  let readAt = Date.now();
  return () => {
    if (Date.now() - readAt >= TOKEN_REREAD_MS) {
      readAt = Date.now();
      value = readOptional(path) ?? value;
    }
    return value;
  };
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function exists(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}
