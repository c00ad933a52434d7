// The job-side overwrites of `[runners.kubernetes]` (kubernetes-executor.md §1.4, §1.5), with upstream's
// semantics (executors/kubernetes/overwrites.go): a `*_overwrite_allowed` regex or a
// `*_overwrite_max_allowed` ceiling that is unset makes the job variable inert; a value that fails the
// regex or exceeds the ceiling fails the job.
import type { KubernetesConfig, ResourceKey } from '../../config/schema/kubernetes.ts';
import { RenderError } from './errors.ts';
import { compareQuantities, parseQuantity, QUANTITY_SYNTAX } from './quantity.ts';
import type { VariableSet } from './variables.ts';

export type ResourceList = Partial<Record<'cpu' | 'memory' | 'ephemeral-storage', string>>;

export interface ResourceSettings {
  requests: ResourceList;
  limits: ResourceList;
}

export interface Overwrites {
  namespace: string;
  serviceAccount: string;
  podLabels: Record<string, string>;
  podAnnotations: Record<string, string>;
  nodeSelector: Record<string, string>;
  /** `key[=value]` → effect, like `node_tolerations`. */
  nodeTolerations: Record<string, string>;
  build: ResourceSettings;
  helper: ResourceSettings;
  service: ResourceSettings;
  pod: ResourceSettings;
}

/**
 * Go's regexp (RE2) text as a JavaScript RegExp: leading `(?flags)` become flags, `(?P<name>` becomes
 * `(?<name>`, `\z` becomes `$`. Matching is unanchored, like Go's MatchString.
 */
export function goRegExp(source: string): RegExp {
  let text = source;
  let flags = '';
  const leading = /^\(\?([imsU]+)\)/.exec(text);
  if (leading) {
    text = text.slice(leading[0].length);
    for (const f of leading[1]!) if (f !== 'U' && !flags.includes(f)) flags += f;
  }
  text = text.replace(/\(\?P</g, '(?<').replace(/\\z/g, '$');
  try {
    return new RegExp(text, flags);
  } catch (error) {
    throw new RenderError(
      'OVERWRITE_REGEX_INVALID',
      `error parsing regexp ${JSON.stringify(source)}: ${(error as Error).message}`,
    );
  }
}

function regexCheck(regex: string, value: string): void {
  if (!goRegExp(regex).test(value)) {
    throw new RenderError(
      'OVERWRITE_NOT_ALLOWED',
      `provided value ${JSON.stringify(value)} does not match ${JSON.stringify(regex)}`,
    );
  }
}

function evaluateOverwrite(
  field: string,
  value: string,
  regex: string,
  overwrite: string,
  log: string[],
): string {
  if (regex === '' || overwrite === '') return value;
  regexCheck(regex, overwrite);
  log.push(`"${field}" overwritten with "${overwrite}"`);
  return overwrite;
}

type Split = (value: string) => [string, string];

const splitKeyValue: Split = (value) => {
  const i = value.indexOf('=');
  if (i < 0) {
    throw new RenderError(
      'OVERWRITE_MALFORMED',
      `provided value ${JSON.stringify(value)} does not match "k=v"`,
    );
  }
  return [value.slice(0, i), value.slice(i + 1)];
};

/** `key[=value]:effect` → [`key[=value]`, effect]; an empty text tolerates every taint. */
const splitToleration: Split = (value) => {
  const i = value.indexOf(':');
  return i < 0 ? [value, ''] : [value.slice(0, i), value.slice(i + 1)];
};

function evaluateMapOverwrite(
  field: string,
  values: Readonly<Record<string, string>>,
  regex: string,
  variables: VariableSet,
  prefix: string,
  split: Split,
  log: string[],
): Record<string, string> {
  const result = { ...values };
  if (regex === '') return result;
  for (const v of variables.list) {
    if (!v.key.startsWith(prefix)) continue;
    const value = variables.resolve(v);
    regexCheck(regex, value);
    const [key, val] = split(value);
    result[key] = val;
    log.push(`"${field}" "${key}" overwritten with "${val}"`);
  }
  return result;
}

const RESOURCE_NAMES = { cpu: 'cpu', memory: 'memory', ephemeral_storage: 'ephemeral-storage' } as const;
type ResourceKind = keyof typeof RESOURCE_NAMES;
type ContainerClass = 'build' | 'helper' | 'service' | 'pod';

const fieldPrefix: Record<ContainerClass, string> = {
  build: '',
  helper: 'Helper',
  service: 'Service',
  pod: 'Pod',
};
const configPrefix: Record<ContainerClass, string> = {
  build: '',
  helper: 'helper_',
  service: 'service_',
  pod: 'pod_',
};
const variablePrefix: Record<ContainerClass, string> = {
  build: 'KUBERNETES_',
  helper: 'KUBERNETES_HELPER_',
  service: 'KUBERNETES_SERVICE_',
  pod: 'KUBERNETES_POD_',
};
const fieldKind: Record<ResourceKind, string> = {
  cpu: 'CPU',
  memory: 'Memory',
  ephemeral_storage: 'EphemeralStorage',
};

function evaluateMaxResourceOverwrite(
  field: string,
  value: string,
  max: string,
  overwrite: string,
  log: string[],
): string {
  if (max === '' || overwrite === '') return value;
  const maxQuantity = parseQuantity(max);
  const requested = parseQuantity(overwrite);
  if (!maxQuantity || !requested) {
    throw new RenderError('QUANTITY_INVALID', `parsing resource limit: "${QUANTITY_SYNTAX}"`);
  }
  if (compareQuantities(requested, maxQuantity) > 0) {
    throw new RenderError(
      'OVERWRITE_TOO_HIGH',
      `the resource "${field}" requested "${overwrite}" is higher than limit allowed "${max}"`,
    );
  }
  log.push(`"${field}" overwritten with "${overwrite}"`);
  return overwrite;
}

function toResourceList(values: Partial<Record<ResourceKind, string>>): ResourceList {
  const list: ResourceList = {};
  for (const [kind, value] of Object.entries(values) as [ResourceKind, string][]) {
    if (!value) continue;
    if (!parseQuantity(value)) {
      throw new RenderError(
        'QUANTITY_INVALID',
        `invalid ${RESOURCE_NAMES[kind]} quantity ${JSON.stringify(value)}: ${QUANTITY_SYNTAX}`,
      );
    }
    list[RESOURCE_NAMES[kind]] = value;
  }
  return list;
}

/**
 * One class's requests or limits: the configured values, each replaced by the job's value when the
 * ceiling allows. `current` (defaults to the config's values) and `source` let service variables
 * overwrite the already evaluated service resources, as upstream does per service.
 */
function evaluateResourceList(
  cls: ContainerClass,
  bound: 'request' | 'limit',
  config: KubernetesConfig,
  overwrite: (name: string) => string,
  log: string[],
  current?: ResourceList,
): ResourceList {
  const kinds: ResourceKind[] = cls === 'pod' ? ['cpu', 'memory'] : ['cpu', 'memory', 'ephemeral_storage'];
  const values: Partial<Record<ResourceKind, string>> = {};
  const context = `invalid ${cls === 'pod' ? 'Pod' : cls} ${bound === 'request' ? 'requests' : 'limits'} specified`;
  for (const kind of kinds) {
    const key = `${configPrefix[cls]}${kind}_${bound}` as ResourceKey;
    const configured = current ? (current[RESOURCE_NAMES[kind]] ?? '') : (config[key] ?? '');
    const max = config[`${key}_overwrite_max_allowed`] ?? '';
    const variable = `${variablePrefix[cls]}${kind.toUpperCase()}_${bound.toUpperCase()}`;
    const field = `${fieldPrefix[cls]}${fieldKind[kind]}${bound === 'request' ? 'Request' : 'Limit'}`;
    try {
      values[kind] = evaluateMaxResourceOverwrite(field, configured, max, overwrite(variable), log);
    } catch (error) {
      if (error instanceof RenderError) throw new RenderError(error.code, `${context}: ${error.message}`);
      throw error;
    }
  }
  try {
    return toResourceList(values);
  } catch (error) {
    if (error instanceof RenderError) throw new RenderError(error.code, `${context}: ${error.message}`);
    throw error;
  }
}

function evaluateResources(
  cls: ContainerClass,
  config: KubernetesConfig,
  overwrite: (name: string) => string,
  log: string[],
  current?: ResourceSettings,
): ResourceSettings {
  return {
    requests: evaluateResourceList(cls, 'request', config, overwrite, log, current?.requests),
    limits: evaluateResourceList(cls, 'limit', config, overwrite, log, current?.limits),
  };
}

/**
 * Every overwrite of one job. `defaultNamespace` is where jobs go without an overwrite. Messages for the
 * job log (`"CPULimit" overwritten with "2"`) are appended to `log`. Throws RenderError.
 */
export function computeOverwrites(
  config: KubernetesConfig,
  variables: VariableSet,
  defaultNamespace: string,
  log: string[],
): Overwrites {
  const get = (name: string) => variables.value(name) ?? '';
  const namespace = evaluateOverwrite(
    'Namespace',
    defaultNamespace,
    config.namespace_overwrite_allowed,
    get('KUBERNETES_NAMESPACE_OVERWRITE'),
    log,
  );
  const serviceAccount = evaluateOverwrite(
    'ServiceAccount',
    config.service_account,
    config.service_account_overwrite_allowed,
    get('KUBERNETES_SERVICE_ACCOUNT_OVERWRITE'),
    log,
  );
  const map = (
    field: string,
    values: Record<string, string>,
    regex: string,
    prefix: string,
    split = splitKeyValue,
  ) => evaluateMapOverwrite(field, values, regex, variables, prefix, split, log);
  return {
    namespace,
    serviceAccount,
    podLabels: map(
      'PodLabels',
      config.pod_labels,
      config.pod_labels_overwrite_allowed,
      'KUBERNETES_POD_LABELS_',
    ),
    podAnnotations: map(
      'PodAnnotations',
      config.pod_annotations,
      config.pod_annotations_overwrite_allowed,
      'KUBERNETES_POD_ANNOTATIONS_',
    ),
    nodeSelector: map(
      'NodeSelector',
      config.node_selector,
      config.node_selector_overwrite_allowed,
      'KUBERNETES_NODE_SELECTOR_',
    ),
    nodeTolerations: map(
      'NodeTolerations',
      config.node_tolerations,
      config.node_tolerations_overwrite_allowed,
      'KUBERNETES_NODE_TOLERATIONS_',
      splitToleration,
    ),
    build: evaluateResources('build', config, get, log),
    service: evaluateResources('service', config, get, log),
    helper: evaluateResources('helper', config, get, log),
    pod: evaluateResources('pod', config, get, log),
  };
}

/**
 * A service's own `KUBERNETES_SERVICE_*` variables (from `services:[].variables`) applied over the
 * job-wide service resources, within the same ceilings.
 */
export function serviceResources(
  config: KubernetesConfig,
  base: ResourceSettings,
  serviceVariables: readonly { key: string; value: string }[],
  log: string[],
): ResourceSettings {
  const own = (name: string) => {
    for (let i = serviceVariables.length - 1; i >= 0; i--) {
      if (serviceVariables[i]!.key === name) return serviceVariables[i]!.value;
    }
    return '';
  };
  return evaluateResources('service', config, own, log, base);
}
