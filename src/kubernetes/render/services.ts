// Services of a job (config-defined first, then the job's): their container names, the hostnames they
// answer to, and the TCP port a startup probe waits on (kubernetes-executor.md §1.4, §2.3, §2.6).
import type { KubernetesConfig } from '../../config/schema/kubernetes.ts';
import type { JobPayload } from '../../gitlab/payload.ts';
import { RESERVED_CONTAINER_NAMES } from './contract.ts';
import { RenderError } from './errors.ts';
import type { PullPolicy } from './images.ts';
import { expandValue, type VariableSet } from './variables.ts';

export interface ServiceDefinition {
  /** The image, `$VARIABLES` expanded. */
  image: string;
  /** The `alias` text split on spaces and commas. */
  aliases: string[];
  entrypoint: string[];
  command: string[];
  /** The service's own variables (`services:[].variables`, or `environment` of a config service). */
  variables: { key: string; value: string }[];
  ports: number[];
  pullPolicies: PullPolicy[];
  /** `executor_opts.kubernetes.user` of the service. */
  user?: string;
  fromConfig: boolean;
}

/** Upstream's Image.Aliases: the alias text split on spaces and commas. */
export function splitAliases(alias: string | null | undefined): string[] {
  return (alias ?? '').replace(/,/g, ' ').split(/\s+/).filter(Boolean);
}

/**
 * Config services then job services, names and aliases expanded with public variables (they end up in
 * the Pod object). Services without a name are skipped like upstream.
 */
export function collectServices(
  config: KubernetesConfig,
  job: JobPayload,
  variables: VariableSet,
): ServiceDefinition[] {
  const services: ServiceDefinition[] = [];
  for (const s of config.services) {
    const image = variables.expandPublic(s.name);
    if (!image) continue;
    services.push({
      image,
      aliases: splitAliases(variables.expandPublic(s.alias ?? '')),
      entrypoint: s.entrypoint ?? [],
      command: s.command ?? [],
      variables: (s.environment ?? []).flatMap((entry) => {
        const i = entry.indexOf('=');
        return i > 0 ? [{ key: entry.slice(0, i), value: entry.slice(i + 1) }] : [];
      }),
      ports: [],
      pullPolicies: [],
      fromConfig: true,
    });
  }
  for (const s of job.services) {
    const image = variables.expandPublic(s.name);
    if (!image) continue;
    services.push({
      image,
      aliases: splitAliases(variables.expandPublic(s.alias ?? '')),
      entrypoint: s.entrypoint,
      command: s.command,
      variables: s.variables,
      ports: s.ports.map((p) => p.number),
      pullPolicies: s.pull_policy,
      ...(s.executor_opts.kubernetes?.user ? { user: s.executor_opts.kubernetes.user } : {}),
      fromConfig: false,
    });
  }
  return services;
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomainLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isDns1123Label(name: string): boolean {
  return name.length <= 63 && dnsLabel.test(name);
}

/** Why `name` is not a DNS-1123 subdomain (undefined when it is one), in the API server's words. */
export function dns1123SubdomainProblem(name: string): string | undefined {
  if (name.length > 253) return 'must be no more than 253 characters';
  if (name.length === 0 || !name.split('.').every((part) => dnsSubdomainLabel.test(part))) {
    return (
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', " +
      "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is " +
      "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    );
  }
  return undefined;
}

/**
 * Container names: the first alias that is a valid DNS-1123 label and not used yet (nor one of the
 * pod's own containers), else `svc-<n>` counting only the unnamed services.
 */
export function serviceContainerNames(services: readonly ServiceDefinition[]): string[] {
  const used = new Set<string>(RESERVED_CONTAINER_NAMES);
  let index = 0;
  const names: string[] = [];
  for (const s of services) {
    let name = s.aliases.find((a) => !used.has(a) && isDns1123Label(a));
    for (const a of s.aliases) used.add(a);
    if (!name) {
      do name = `svc-${index++}`;
      while (used.has(name));
    }
    used.add(name);
    names.push(name);
  }
  return names;
}

// distribution/reference's grammar, for the image-derived hostnames.
const pathComponent = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domain = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const referencePattern = new RegExp(
  `^((?:${domain}/)?${pathComponent}(?:/${pathComponent})*)(?::([\\w][\\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}))?$`,
);

/**
 * Upstream's SplitNameAndVersion aliases: registry (without port) and path without tag, once with `/`
 * replaced by `__` and once by `-`. `docker:dind` → [`docker`]; `registry.example.com/team/pg:15` →
 * [`registry.example.com__team__pg`, `registry.example.com-team-pg`].
 */
export function imageDerivedNames(image: string): string[] {
  const match = referencePattern.exec(image);
  if (!match) return [];
  const name = match[1]!;
  const noPort = /^(.*?)(|:[0-9]+)(|\/.*)$/.exec(name)!;
  const service = `${noPort[1]}${noPort[3]}`;
  const underscored = service.replace(/\//g, '__');
  const dashed = service.replace(/\//g, '-');
  return underscored === dashed ? [underscored] : [underscored, dashed];
}

/**
 * The hostnames that resolve to 127.0.0.1 in the pod: per service, the image-derived names that are
 * valid DNS-1123 subdomains, then every alias (an invalid alias fails the job). A service with `ports`
 * (Web IDE services, whose aliases GitLab does not validate) contributes only its valid names;
 * upstream leaves such services out entirely.
 */
export function serviceHostnames(services: readonly ServiceDefinition[]): string[] {
  const names: string[] = [];
  const add = (n: string) => {
    if (!names.includes(n)) names.push(n);
  };
  for (const s of services) {
    for (const n of imageDerivedNames(s.image)) if (!dns1123SubdomainProblem(n)) add(n);
    for (const alias of s.aliases) {
      const problem = dns1123SubdomainProblem(alias);
      if (!problem) add(alias);
      else if (s.ports.length === 0) {
        throw new RenderError(
          'INVALID_SERVICE_ALIAS',
          `provided host alias ${alias} for service ${s.image} is invalid DNS. ${problem}`,
        );
      }
    }
  }
  return names;
}

/** The image's repository without registry and tag, e.g. `postgres` for `docker.io/library/postgres:16`. */
function repositoryName(image: string): { last: string; tag: string } {
  const at = image.indexOf('@');
  const noDigest = at >= 0 ? image.slice(0, at) : image;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  const tag = colon > slash ? noDigest.slice(colon + 1) : '';
  const path = colon > slash ? noDigest.slice(0, colon) : noDigest;
  return { last: path.slice(path.lastIndexOf('/') + 1).toLowerCase(), tag: tag.toLowerCase() };
}

/** Ports of well-known service images, by the last path component of the repository. */
export const WELL_KNOWN_PORTS: Readonly<Record<string, number>> = {
  postgres: 5432,
  postgresql: 5432,
  postgis: 5432,
  mysql: 3306,
  mariadb: 3306,
  percona: 3306,
  redis: 6379,
  valkey: 6379,
  mongo: 27017,
  mongodb: 27017,
  rabbitmq: 5672,
  elasticsearch: 9200,
  opensearch: 9200,
  memcached: 11211,
};

export interface ServiceEnvEntry {
  name: string;
  value: string;
  /** From the service's own variables (else a public job variable). */
  own: boolean;
}

/**
 * What a service container's environment holds, as upstream's GetServiceVariables + buildVariables:
 * the job's public variables (expanded as the job sees them; file variables as their path), then the
 * service's own variables expanded against all job variables and its own; one entry per name at the
 * position of its first occurrence, holding the last value.
 */
export function serviceEnvironment(service: ServiceDefinition, variables: VariableSet): ServiceEnvEntry[] {
  const own = new Map<string, string>();
  for (const v of service.variables) own.set(v.key, v.value);
  const ownLookup = (name: string) => (own.has(name) ? own.get(name)! : variables.lookup(name));
  const entries: ServiceEnvEntry[] = [];
  const index = new Map<string, number>();
  const put = (entry: ServiceEnvEntry) => {
    const at = index.get(entry.name);
    if (at === undefined) {
      index.set(entry.name, entries.length);
      entries.push(entry);
    } else {
      entries[at] = entry;
    }
  };
  for (const v of variables.list) if (v.public) put({ name: v.key, value: variables.resolve(v), own: false });
  for (const v of service.variables) put({ name: v.key, value: expandValue(v.value, ownLookup), own: true });
  return entries;
}

/**
 * The TCP port a service's startup probe waits on: the payload's `ports`, else a non-empty
 * `HEALTHCHECK_TCP_PORT` service variable, else a well-known image's port. `HEALTHCHECK_TCP_PORT`
 * set to "" opts a service out of the probe. `docker:*dind*` listens on 2375 when TLS is off
 * (`DOCKER_TLS_CERTDIR` empty in its environment, or `--tls=false`) and 2376 otherwise.
 */
export function probePort(service: ServiceDefinition, env: readonly ServiceEnvEntry[]): number | undefined {
  if (service.ports.length > 0) return service.ports[0];
  const find = (name: string, ownOnly: boolean) =>
    env.find((e) => e.name === name && (e.own || !ownOnly))?.value;
  const healthcheck = find('HEALTHCHECK_TCP_PORT', true);
  if (healthcheck !== undefined) {
    const text = healthcheck.trim();
    const port = Number(text);
    return /^\d+$/.test(text) && port >= 1 && port <= 65535 ? port : undefined;
  }
  const { last, tag } = repositoryName(service.image);
  if (last === 'docker' && tag.includes('dind')) {
    const tlsOff = find('DOCKER_TLS_CERTDIR', false) === '' || service.command.includes('--tls=false');
    return tlsOff ? 2375 : 2376;
  }
  return WELL_KNOWN_PORTS[last];
}
