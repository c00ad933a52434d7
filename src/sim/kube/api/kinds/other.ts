// Services (ClusterIP allocation and defaults), Events (involvedObject rules, field selectors),
// Namespaces (phase, finalizer, name label) and the read-only Node.
import { type FieldError, invalidField, requiredField, unsupportedField } from '../status.ts';
import { formatMicroTime } from '../time.ts';
import type { KubeObject } from '../types.ts';
import {
  child,
  genericStrategy,
  type KindStrategy,
  keepStatus,
  list,
  metadataFields,
  rec,
  type StrategyContext,
} from './strategy.ts';

type Rec = Record<string, unknown>;

const serviceTypes = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];

function allocateClusterIP(ctx: StrategyContext): string {
  const used = new Set(ctx.store.list('services', '').map((e) => String(rec(e.obj.spec).clusterIP ?? '')));
  // 10.96.0.0/12, skipping .0.0 and the kubernetes service's .0.1
  for (let n = 2; n < 1 << 20; n++) {
    const ip = `10.${96 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
    if (!used.has(ip)) return ip;
  }
  throw new Error('service IP range exhausted');
}

function allocateNodePort(ctx: StrategyContext, taken: Set<number>): number {
  for (const e of ctx.store.list('services', '')) {
    for (const p of list(rec(e.obj.spec).ports)) if (typeof p.nodePort === 'number') taken.add(p.nodePort);
  }
  for (let port = 30000; port <= 32767; port++) if (!taken.has(port)) return port;
  throw new Error('node port range exhausted');
}

export const serviceStrategy: KindStrategy = {
  prepareForCreate(obj, ctx) {
    const spec = child<Rec>(obj, 'spec', () => ({}));
    spec.type ??= 'ClusterIP';
    if (spec.type !== 'ExternalName') {
      if (spec.clusterIP === undefined || spec.clusterIP === '') spec.clusterIP = allocateClusterIP(ctx);
      spec.clusterIPs ??= [spec.clusterIP];
      spec.ipFamilies ??= ['IPv4'];
      spec.ipFamilyPolicy ??= 'SingleStack';
      spec.internalTrafficPolicy ??= 'Cluster';
    }
    spec.sessionAffinity ??= 'None';
    const taken = new Set<number>();
    for (const port of list(spec.ports)) {
      port.protocol ??= 'TCP';
      port.targetPort ??= port.port;
      if ((spec.type === 'NodePort' || spec.type === 'LoadBalancer') && port.nodePort === undefined) {
        port.nodePort = allocateNodePort(ctx, taken);
        taken.add(port.nodePort as number);
      }
    }
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
    obj.status = { loadBalancer: {} };
  },
  validate(obj) {
    const errors: FieldError[] = [];
    const spec = rec(obj.spec);
    if (!serviceTypes.includes(String(spec.type)))
      errors.push(unsupportedField('spec.type', spec.type, serviceTypes));
    if (spec.type !== 'ExternalName' && spec.clusterIP !== 'None' && list(spec.ports).length === 0)
      errors.push(requiredField('spec.ports'));
    list(spec.ports).forEach((p, i) => {
      if (typeof p.port !== 'number' || p.port < 1 || p.port > 65535)
        errors.push(
          invalidField(`spec.ports[${i}].port`, p.port ?? 0, 'must be between 1 and 65535, inclusive'),
        );
    });
    return errors;
  },
  prepareForUpdate: keepStatus,
  validateUpdate(obj, old) {
    const errors = serviceStrategy.validate(obj);
    const oldIP = rec(old.spec).clusterIP;
    const newIP = rec(obj.spec).clusterIP;
    if (newIP !== undefined && newIP !== '' && newIP !== oldIP)
      errors.push(invalidField('spec.clusterIPs[0]', newIP, 'may not change once set'));
    if (newIP === undefined || newIP === '') (obj.spec as Rec).clusterIP = oldIP;
    return errors;
  },
  prepareForStatusUpdate: (obj, old) => ({ ...old, status: obj.status }),
  fields: (obj) => ({
    ...metadataFields(obj),
    'spec.clusterIP': String(rec(obj.spec).clusterIP ?? ''),
    'spec.type': String(rec(obj.spec).type ?? ''),
  }),
};

function validateEvent(obj: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  const involved = rec(obj.involvedObject);
  const namespace = obj.metadata.namespace ?? '';
  if (involved.namespace !== undefined && involved.namespace !== '' && involved.namespace !== namespace)
    errors.push(
      invalidField('involvedObject.namespace', involved.namespace, 'does not match event.namespace'),
    );
  if (obj.type !== undefined && obj.type !== '' && obj.type !== 'Normal' && obj.type !== 'Warning')
    errors.push(unsupportedField('type', obj.type, ['Normal', 'Warning']));
  return errors;
}

export const eventStrategy: KindStrategy = {
  ...genericStrategy,
  validate: validateEvent,
  validateUpdate: (obj) => validateEvent(obj),
  fields(obj) {
    const involved = rec(obj.involvedObject);
    const source = rec(obj.source);
    const s = (v: unknown) => (typeof v === 'string' ? v : '');
    return {
      ...metadataFields(obj),
      'involvedObject.kind': s(involved.kind),
      'involvedObject.namespace': s(involved.namespace),
      'involvedObject.name': s(involved.name),
      'involvedObject.uid': s(involved.uid),
      'involvedObject.apiVersion': s(involved.apiVersion),
      'involvedObject.resourceVersion': s(involved.resourceVersion),
      'involvedObject.fieldPath': s(involved.fieldPath),
      reason: s(obj.reason),
      reportingComponent: s(obj.reportingComponent),
      source: s(source.component) || s(obj.reportingComponent),
      type: s(obj.type),
    };
  },
};

export const namespaceStrategy: KindStrategy = {
  prepareForCreate(obj) {
    const name = obj.metadata.name ?? '';
    obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name };
    obj.spec = { finalizers: ['kubernetes'] };
    obj.status = { phase: 'Active' };
  },
  validate: () => [],
  prepareForUpdate(obj, old) {
    keepStatus(obj, old);
    obj.spec = old.spec;
    obj.metadata.labels = {
      ...(obj.metadata.labels ?? {}),
      'kubernetes.io/metadata.name': old.metadata.name ?? '',
    };
  },
  validateUpdate: () => [],
  prepareForStatusUpdate: (obj, old) => ({ ...old, status: obj.status }),
  fields: (obj) => ({
    'metadata.name': obj.metadata.name ?? '',
    'status.phase': String(rec(obj.status).phase ?? ''),
  }),
};

export const nodeStrategy: KindStrategy = {
  ...genericStrategy,
  prepareForUpdate: keepStatus,
  fields: (obj) => ({
    'metadata.name': obj.metadata.name ?? '',
    'spec.unschedulable': rec(obj.spec).unschedulable === true ? 'true' : 'false',
  }),
};

/** MicroTime fields come back with six fraction digits whatever precision the client sent. */
function normalizeLeaseTimes(obj: KubeObject): void {
  const spec = rec(obj.spec);
  for (const key of ['acquireTime', 'renewTime']) {
    const value = spec[key];
    if (typeof value !== 'string') continue;
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) spec[key] = formatMicroTime(ms);
  }
}

export const leaseStrategy: KindStrategy = {
  ...genericStrategy,
  prepareForCreate: normalizeLeaseTimes,
  prepareForUpdate: normalizeLeaseTimes,
};
