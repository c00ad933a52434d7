// Pods: the defaults the API server and its admission plugins fill in on create (pkg/apis/core/v1
// defaults, ServiceAccount and DefaultTolerationSeconds admission), validation of the fields a pod
// cannot do without, the update rules of pod specs, QoS class and the selectable fields.

import { parseQuantity } from '../../kubelet/resources.ts';
import { generateName, nameErrors } from '../names.ts';
import {
  duplicateField,
  type FieldError,
  forbiddenField,
  invalidField,
  requiredField,
  unsupportedField,
} from '../status.ts';
import { formatTime } from '../time.ts';
import { canonicalJson, type KubeObject } from '../types.ts';
import {
  child,
  type KindStrategy,
  keepStatus,
  list,
  metadataFields,
  rec,
  type StrategyContext,
} from './strategy.ts';

type Rec = Record<string, unknown>;

function imagePullPolicyFor(image: string): 'Always' | 'IfNotPresent' {
  const withoutDigest = image.split('@')[0]!;
  if (image.includes('@')) {
    // an image given by digest only counts as tagged
    const lastSlash = withoutDigest.lastIndexOf('/');
    const tag = withoutDigest.slice(lastSlash + 1).split(':')[1];
    return tag === 'latest' ? 'Always' : 'IfNotPresent';
  }
  const lastSlash = withoutDigest.lastIndexOf('/');
  const tag = withoutDigest.slice(lastSlash + 1).split(':')[1];
  return tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultProbe(probe: unknown): void {
  if (typeof probe !== 'object' || probe === null) return;
  const p = probe as Rec;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  const http = rec(p.httpGet);
  if (p.httpGet) http.scheme ??= 'HTTP';
}

function defaultContainer(c: Rec): void {
  if (typeof c.image === 'string' && c.image !== '') c.imagePullPolicy ??= imagePullPolicyFor(c.image);
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  const resources = child<Rec>(c, 'resources', () => ({}));
  // requests default to limits
  const limits = rec(resources.limits);
  if (Object.keys(limits).length > 0) {
    const requests = child<Rec>(resources, 'requests', () => ({}));
    for (const [k, v] of Object.entries(limits)) requests[k] ??= v;
  }
  for (const port of list(c.ports)) port.protocol ??= 'TCP';
  for (const env of list(c.env)) {
    const fieldRef = rec(rec(env.valueFrom).fieldRef);
    if (rec(env.valueFrom).fieldRef) fieldRef.apiVersion ??= 'v1';
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
}

function defaultVolume(v: Rec): void {
  for (const key of ['secret', 'configMap', 'downwardAPI', 'projected']) {
    if (typeof v[key] === 'object' && v[key] !== null) (v[key] as Rec).defaultMode ??= 420;
  }
  if (typeof v.hostPath === 'object' && v.hostPath !== null) (v.hostPath as Rec).type ??= '';
  for (const item of list(rec(v.downwardAPI).items)) {
    if (item.fieldRef) rec(item.fieldRef).apiVersion ??= 'v1';
  }
}

const serviceAccountMountPath = '/var/run/secrets/kubernetes.io/serviceaccount';

function addServiceAccountVolume(spec: Rec): void {
  const containers = [...list(spec.initContainers), ...list(spec.containers)];
  if (containers.some((c) => list(c.volumeMounts).some((m) => m.mountPath === serviceAccountMountPath)))
    return;
  const volumes = child<Rec[]>(spec, 'volumes', () => []);
  const name = generateName('kube-api-access-');
  volumes.push({
    name,
    projected: {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        {
          downwardAPI: {
            items: [{ fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' }, path: 'namespace' }],
          },
        },
      ],
    },
  });
  for (const c of containers) {
    const mounts = child<Rec[]>(c, 'volumeMounts', () => []);
    mounts.push({ name, readOnly: true, mountPath: serviceAccountMountPath });
  }
}

const defaultTolerations = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'];

function addDefaultTolerations(spec: Rec): void {
  const tolerations = child<Rec[]>(spec, 'tolerations', () => []);
  for (const key of defaultTolerations) {
    const has = tolerations.some(
      (t) =>
        (t.key === key || (t.operator === 'Exists' && (t.key === undefined || t.key === ''))) &&
        (t.effect === 'NoExecute' || !t.effect),
    );
    if (!has) tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  }
}

/** Guaranteed, Burstable or BestEffort (pkg/apis/core/helper/qos). */
export function qosClass(spec: Rec): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers = [...list(spec.initContainers), ...list(spec.containers)];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const resources = rec(c.resources);
    const requests = rec(resources.requests);
    const limits = rec(resources.limits);
    for (const r of ['cpu', 'memory']) {
      const req = parseQuantity(requests[r]);
      const lim = parseQuantity(limits[r]);
      if ((req !== undefined && req !== 0) || lim !== undefined) any = true;
      if (lim === undefined || (req !== undefined && req !== lim)) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export interface PodDefaultsOptions {
  /** Mount the projected service account volume (kube-api-access-…) like the ServiceAccount admission plugin. */
  serviceAccountVolume: boolean;
}

export function podStrategy(options: PodDefaultsOptions): KindStrategy {
  return {
    prepareForCreate(obj: KubeObject, ctx: StrategyContext) {
      const spec = child<Rec>(obj, 'spec', () => ({}));
      spec.restartPolicy ??= 'Always';
      spec.terminationGracePeriodSeconds ??= 30;
      spec.dnsPolicy ??= 'ClusterFirst';
      spec.schedulerName ??= 'default-scheduler';
      spec.securityContext ??= {};
      spec.enableServiceLinks ??= true;
      spec.priority ??= 0;
      spec.preemptionPolicy ??= 'PreemptLowerPriority';
      for (const c of [
        ...list(spec.initContainers),
        ...list(spec.containers),
        ...list(spec.ephemeralContainers),
      ])
        defaultContainer(c);
      for (const v of list(spec.volumes)) defaultVolume(v);
      spec.serviceAccountName ??= (spec.serviceAccount as string | undefined) ?? 'default';
      spec.serviceAccount = spec.serviceAccountName;
      addDefaultTolerations(spec);
      if (options.serviceAccountVolume && spec.automountServiceAccountToken !== false)
        addServiceAccountVolume(spec);
      const status: Rec = { phase: 'Pending', qosClass: qosClass(spec) };
      if (list(spec.schedulingGates).length > 0) {
        status.conditions = [
          {
            type: 'PodScheduled',
            status: 'False',
            lastProbeTime: null,
            lastTransitionTime: formatTime(ctx.now),
            reason: 'SchedulingGated',
            message: 'Scheduling is blocked due to non-empty scheduling gates',
          },
        ];
      }
      obj.status = status;
    },
    validate: validatePod,
    prepareForUpdate: keepStatus,
    validateUpdate(obj, old) {
      const errors = validatePod(obj);
      if (errors.length > 0) return errors;
      const mutable = (spec: unknown): string => {
        const s = structuredClone(rec(spec));
        for (const key of ['containers', 'initContainers']) for (const c of list(s[key])) delete c.image;
        delete s.activeDeadlineSeconds;
        delete s.tolerations;
        delete s.schedulingGates;
        delete s.terminationGracePeriodSeconds;
        return canonicalJson(s);
      };
      if (mutable(obj.spec) !== mutable(old.spec)) {
        return [
          forbiddenField(
            'spec',
            'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
          ),
        ];
      }
      const oldGates = list(rec(old.spec).schedulingGates).length;
      const newGates = list(rec(obj.spec).schedulingGates).length;
      if (newGates > oldGates)
        return [
          forbiddenField('spec.schedulingGates', 'only deletion is allowed, but found new scheduling gate'),
        ];
      return [];
    },
    prepareForStatusUpdate: (obj, old) => ({ ...old, status: obj.status }),
    fields(obj) {
      const spec = rec(obj.spec);
      const status = rec(obj.status);
      return {
        ...metadataFields(obj),
        'spec.nodeName': String(spec.nodeName ?? ''),
        'spec.restartPolicy': String(spec.restartPolicy ?? ''),
        'spec.schedulerName': String(spec.schedulerName ?? ''),
        'spec.serviceAccountName': String(spec.serviceAccountName ?? ''),
        'spec.hostNetwork': spec.hostNetwork === true ? 'true' : 'false',
        'status.phase': String(status.phase ?? ''),
        'status.podIP': String(status.podIP ?? ''),
        'status.podIPs': '',
        'status.nominatedNodeName': String(status.nominatedNodeName ?? ''),
      };
    },
  };
}

const restartPolicies = ['Always', 'OnFailure', 'Never'];

function validatePod(obj: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  const spec = rec(obj.spec);
  const containers = list(spec.containers);
  const initContainers = list(spec.initContainers);
  const volumes = list(spec.volumes);
  const volumeNames = new Set<string>();
  volumes.forEach((v, i) => {
    const name = typeof v.name === 'string' ? v.name : '';
    if (name === '') errors.push(requiredField(`spec.volumes[${i}].name`));
    else {
      for (const msg of nameErrors(name, 'label'))
        errors.push(invalidField(`spec.volumes[${i}].name`, name, msg));
      if (volumeNames.has(name)) errors.push(duplicateField(`spec.volumes[${i}].name`, name));
      volumeNames.add(name);
    }
  });
  const seen = new Set<string>();
  const checkContainer = (c: Rec, path: string, init: boolean) => {
    const name = typeof c.name === 'string' ? c.name : '';
    if (name === '') errors.push(requiredField(`${path}.name`));
    else {
      for (const msg of nameErrors(name, 'label')) errors.push(invalidField(`${path}.name`, name, msg));
      if (seen.has(name)) errors.push(duplicateField(`${path}.name`, name));
      seen.add(name);
    }
    if (typeof c.image !== 'string' || c.image.trim() === '') errors.push(requiredField(`${path}.image`));
    if (
      c.imagePullPolicy !== undefined &&
      !['Always', 'IfNotPresent', 'Never'].includes(String(c.imagePullPolicy))
    )
      errors.push(
        unsupportedField(`${path}.imagePullPolicy`, c.imagePullPolicy, ['Always', 'IfNotPresent', 'Never']),
      );
    if (c.restartPolicy !== undefined) {
      if (!init)
        errors.push(forbiddenField(`${path}.restartPolicy`, 'may not be set for non-init containers'));
      else if (c.restartPolicy !== 'Always')
        errors.push(unsupportedField(`${path}.restartPolicy`, c.restartPolicy, ['Always']));
    }
    list(c.volumeMounts).forEach((m, j) => {
      if (typeof m.name !== 'string' || m.name === '')
        errors.push(requiredField(`${path}.volumeMounts[${j}].name`));
      else if (!volumeNames.has(m.name))
        errors.push({
          type: 'FieldValueNotFound',
          field: `${path}.volumeMounts[${j}].name`,
          detail: `Not found: "${m.name}"`,
        });
      if (typeof m.mountPath !== 'string' || m.mountPath === '')
        errors.push(requiredField(`${path}.volumeMounts[${j}].mountPath`));
    });
  };
  for (const [i, c] of initContainers.entries()) checkContainer(c, `spec.initContainers[${i}]`, true);
  if (containers.length === 0) errors.push(requiredField('spec.containers'));
  for (const [i, c] of containers.entries()) checkContainer(c, `spec.containers[${i}]`, false);
  if (spec.restartPolicy !== undefined && !restartPolicies.includes(String(spec.restartPolicy)))
    errors.push(unsupportedField('spec.restartPolicy', spec.restartPolicy, restartPolicies));
  const deadline = spec.activeDeadlineSeconds;
  if (
    deadline !== undefined &&
    deadline !== null &&
    (typeof deadline !== 'number' || deadline < 1 || deadline > 2147483647)
  )
    errors.push(
      invalidField('spec.activeDeadlineSeconds', deadline, 'must be between 1 and 2147483647, inclusive'),
    );
  return errors;
}
