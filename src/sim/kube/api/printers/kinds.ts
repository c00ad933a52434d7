// Table printers for the kinds other than pods (printers.go: printSecret, printConfigMap, printEvent,
// printService, printNamespace, printNode, printServiceAccount, printLease).

import { ageSince } from '../time.ts';
import type { KubeObject } from '../types.ts';
import { ageColumn, column, nameColumn, type PrintedRow, type Printer } from './table.ts';

// Loose views of the fields each printer reads.
type Obj = KubeObject & Record<string, unknown>;

function rec(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function num(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}

function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function age(obj: Obj, now: number): string {
  return ageSince(obj.metadata.creationTimestamp, now);
}

export const secretPrinter: Printer<Obj> = {
  columns: [
    nameColumn,
    column('Type', 'Used to facilitate programmatic handling of secret data.'),
    column('Data', 'The total number of data items in the secret'),
    ageColumn,
  ],
  row: (obj, now) => ({
    cells: [obj.metadata.name ?? '', str(obj.type), Object.keys(rec(obj.data)).length, age(obj, now)],
  }),
};

export const configMapPrinter: Printer<Obj> = {
  columns: [nameColumn, column('Data', 'The total number of data items in the config map'), ageColumn],
  row: (obj, now) => ({
    cells: [
      obj.metadata.name ?? '',
      Object.keys(rec(obj.data)).length + Object.keys(rec(obj.binaryData)).length,
      age(obj, now),
    ],
  }),
};

export const serviceAccountPrinter: Printer<Obj> = {
  columns: [
    nameColumn,
    column(
      'Secrets',
      'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.',
    ),
    ageColumn,
  ],
  row: (obj, now) => ({ cells: [obj.metadata.name ?? '', arr(obj.secrets).length, age(obj, now)] }),
};

export const namespacePrinter: Printer<Obj> = {
  columns: [nameColumn, column('Status', 'The status of the namespace'), ageColumn],
  row: (obj, now) => ({ cells: [obj.metadata.name ?? '', str(rec(obj.status).phase), age(obj, now)] }),
};

export const leasePrinter: Printer<Obj> = {
  columns: [nameColumn, column('Holder', 'The holder of the lease'), ageColumn],
  row: (obj, now) => ({ cells: [obj.metadata.name ?? '', str(rec(obj.spec).holderIdentity), age(obj, now)] }),
};

function microAge(value: unknown, now: number): string {
  return typeof value === 'string' && value !== '' ? ageSince(value, now) : '<unknown>';
}

export const eventPrinter: Printer<Obj> = {
  columns: [
    column('Last Seen', 'The time at which the most recent occurrence of this event was recorded.'),
    column('Type', 'Type of this event (Normal, Warning), new types could be added in the future'),
    column(
      'Reason',
      "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
    ),
    column('Object', 'The object that this event is about.'),
    column(
      'Subobject',
      'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].',
      { priority: 1 },
    ),
    column('Source', 'The component reporting this event. Should be a short machine understandable string.', {
      priority: 1,
    }),
    column('Message', 'A human-readable description of the status of this operation.'),
    column(
      'First Seen',
      'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)',
      { priority: 1 },
    ),
    column('Count', 'The number of times this event has occurred.', { priority: 1 }),
    column('Name', nameColumn.description, { priority: 1, format: 'name' }),
  ],
  row: (obj, now): PrintedRow => {
    let firstSeen = obj.firstTimestamp
      ? ageSince(str(obj.firstTimestamp), now)
      : microAge(obj.eventTime, now);
    if (!obj.firstTimestamp && !obj.eventTime) firstSeen = '<unknown>';
    let lastSeen = obj.lastTimestamp ? ageSince(str(obj.lastTimestamp), now) : firstSeen;
    let count = num(obj.count);
    const series = rec(obj.series);
    if (obj.series) {
      lastSeen = microAge(series.lastObservedTime, now);
      count = num(series.count);
    } else if (count === 0) count = 1;
    const involved = rec(obj.involvedObject);
    const kind = str(involved.kind).toLowerCase();
    const target = str(involved.name) ? `${kind}/${str(involved.name)}` : kind;
    const source = rec(obj.source);
    const component = str(source.component) || str(obj.reportingComponent);
    const instance = str(source.host) || str(obj.reportingInstance);
    return {
      cells: [
        lastSeen,
        str(obj.type),
        str(obj.reason),
        target,
        str(involved.fieldPath),
        instance ? `${component}, ${instance}` : component,
        str(obj.message).trim(),
        firstSeen,
        count,
        obj.metadata.name ?? '',
      ],
    };
  },
};

function servicePorts(spec: Record<string, unknown>): string {
  const ports = arr(spec.ports).map(rec);
  if (ports.length === 0) return '<none>';
  return ports
    .map((p) => {
      const protocol = str(p.protocol) || 'TCP';
      return p.nodePort ? `${num(p.port)}:${num(p.nodePort)}/${protocol}` : `${num(p.port)}/${protocol}`;
    })
    .join(',');
}

function externalIPs(spec: Record<string, unknown>, status: Record<string, unknown>): string {
  const type = str(spec.type);
  const external = arr(spec.externalIPs).map(str);
  if (type === 'LoadBalancer') {
    const ingress = arr(rec(status.loadBalancer).ingress)
      .map(rec)
      .map((i) => str(i.ip) || str(i.hostname));
    const all = [...ingress, ...external].filter((x) => x !== '');
    return all.length > 0 ? all.join(',') : '<pending>';
  }
  if (type === 'ExternalName') return str(spec.externalName);
  return external.length > 0 ? external.join(',') : '<none>';
}

function selectorText(selector: unknown): string {
  const entries = Object.entries(rec(selector)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? '<none>' : entries.map(([k, v]) => `${k}=${str(v)}`).join(',');
}

export const servicePrinter: Printer<Obj> = {
  columns: [
    nameColumn,
    column('Type', 'The type of the service.'),
    column('Cluster-IP', 'The IP address of the service.'),
    column('External-IP', 'The external IP address of the service.'),
    column('Port(s)', 'The ports of the service.'),
    ageColumn,
    column('Selector', 'Route service traffic to pods with label keys and values matching this selector.', {
      priority: 1,
    }),
  ],
  row: (obj, now) => {
    const spec = rec(obj.spec);
    return {
      cells: [
        obj.metadata.name ?? '',
        str(spec.type) || 'ClusterIP',
        str(spec.clusterIP) || '<none>',
        externalIPs(spec, rec(obj.status)),
        servicePorts(spec),
        age(obj, now),
        selectorText(spec.selector),
      ],
    };
  },
};

export const nodePrinter: Printer<Obj> = {
  columns: [
    nameColumn,
    column('Status', 'The status of the node'),
    column('Roles', 'The roles of the node'),
    ageColumn,
    column('Version', 'Kubelet Version reported by the node.'),
    column(
      'Internal-IP',
      'List of addresses reachable to the node. Queried from cloud provider, if available.',
      { priority: 1 },
    ),
    column(
      'External-IP',
      'List of addresses reachable to the node. Queried from cloud provider, if available.',
      { priority: 1 },
    ),
    column(
      'OS-Image',
      'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).',
      { priority: 1 },
    ),
    column(
      'Kernel-Version',
      "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
      { priority: 1 },
    ),
    column(
      'Container-Runtime',
      'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).',
      { priority: 1 },
    ),
  ],
  row: (obj, now) => {
    const status = rec(obj.status);
    const ready = arr(status.conditions)
      .map(rec)
      .find((c) => c.type === 'Ready');
    const states = [ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown'];
    if (rec(obj.spec).unschedulable === true) states.push('SchedulingDisabled');
    const roles = Object.keys(obj.metadata.labels ?? {})
      .filter((k) => k.startsWith('node-role.kubernetes.io/'))
      .map((k) => k.slice('node-role.kubernetes.io/'.length))
      .filter((r) => r !== '')
      .sort();
    const addresses = arr(status.addresses).map(rec);
    const address = (type: string) => str(addresses.find((a) => a.type === type)?.address) || '<none>';
    const info = rec(status.nodeInfo);
    return {
      cells: [
        obj.metadata.name ?? '',
        states.join(','),
        roles.length > 0 ? roles.join(',') : '<none>',
        age(obj, now),
        str(info.kubeletVersion),
        address('InternalIP'),
        address('ExternalIP'),
        str(info.osImage) || '<unknown>',
        str(info.kernelVersion) || '<unknown>',
        str(info.containerRuntimeVersion) || '<unknown>',
      ],
    };
  },
};
