// Request bodies in Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`), which
// kubectl's typed commands send (`kubectl create namespace|secret|configmap|serviceaccount|service`).
// The envelope is `k8s\0` + runtime.Unknown{typeMeta, raw}; `raw` is the object's generated.proto
// message. Only the kinds served here are described; the result is the object's JSON form.
import { child } from './kinds/strategy.ts';
import { badRequest, unsupportedMediaType } from './status.ts';
import { formatMicroTime, formatTime } from './time.ts';

type Kind =
  | 'string'
  | 'bytes'
  | 'int'
  | 'bool'
  | 'time'
  | 'microtime'
  | 'intOrString'
  | { message: Schema }
  | { map: 'string' | 'bytes' };

interface Field {
  name: string;
  kind: Kind;
  repeated?: boolean;
}

type Schema = Record<number, Field>;

const f = (name: string, kind: Kind, repeated = false): Field => ({ name, kind, repeated });

const ownerReference: Schema = {
  1: f('kind', 'string'),
  3: f('name', 'string'),
  4: f('uid', 'string'),
  5: f('apiVersion', 'string'),
  6: f('controller', 'bool'),
  7: f('blockOwnerDeletion', 'bool'),
};

const objectMeta: Schema = {
  1: f('name', 'string'),
  2: f('generateName', 'string'),
  3: f('namespace', 'string'),
  5: f('uid', 'string'),
  6: f('resourceVersion', 'string'),
  7: f('generation', 'int'),
  8: f('creationTimestamp', 'time'),
  10: f('deletionGracePeriodSeconds', 'int'),
  11: f('labels', { map: 'string' }),
  12: f('annotations', { map: 'string' }),
  13: f('ownerReferences', { message: ownerReference }, true),
  14: f('finalizers', 'string', true),
};

const objectReference: Schema = {
  1: f('kind', 'string'),
  2: f('namespace', 'string'),
  3: f('name', 'string'),
  4: f('uid', 'string'),
  5: f('apiVersion', 'string'),
  6: f('resourceVersion', 'string'),
  7: f('fieldPath', 'string'),
};

const servicePort: Schema = {
  1: f('name', 'string'),
  2: f('protocol', 'string'),
  3: f('port', 'int'),
  4: f('targetPort', 'intOrString'),
  5: f('nodePort', 'int'),
  6: f('appProtocol', 'string'),
};

const serviceSpec: Schema = {
  1: f('ports', { message: servicePort }, true),
  2: f('selector', { map: 'string' }),
  3: f('clusterIP', 'string'),
  4: f('type', 'string'),
  5: f('externalIPs', 'string', true),
  7: f('sessionAffinity', 'string'),
  8: f('loadBalancerIP', 'string'),
  9: f('loadBalancerSourceRanges', 'string', true),
  10: f('externalName', 'string'),
  11: f('externalTrafficPolicy', 'string'),
  12: f('healthCheckNodePort', 'int'),
  13: f('publishNotReadyAddresses', 'bool'),
  14: f('sessionAffinityConfig', {
    message: { 1: f('clientIP', { message: { 1: f('timeoutSeconds', 'int') } }) },
  }),
  17: f('ipFamilyPolicy', 'string'),
  18: f('clusterIPs', 'string', true),
  19: f('ipFamilies', 'string', true),
  20: f('allocateLoadBalancerNodePorts', 'bool'),
  21: f('loadBalancerClass', 'string'),
  22: f('internalTrafficPolicy', 'string'),
  23: f('trafficDistribution', 'string'),
};

const meta = f('metadata', { message: objectMeta });

const kinds: Record<string, Schema> = {
  Secret: {
    1: meta,
    2: f('data', { map: 'bytes' }),
    3: f('type', 'string'),
    4: f('stringData', { map: 'string' }),
    5: f('immutable', 'bool'),
  },
  ConfigMap: {
    1: meta,
    2: f('data', { map: 'string' }),
    3: f('binaryData', { map: 'bytes' }),
    4: f('immutable', 'bool'),
  },
  Namespace: { 1: meta, 2: f('spec', { message: { 1: f('finalizers', 'string', true) } }) },
  ServiceAccount: {
    1: meta,
    2: f('secrets', { message: objectReference }, true),
    3: f('imagePullSecrets', { message: { 1: f('name', 'string') } }, true),
    4: f('automountServiceAccountToken', 'bool'),
  },
  Service: { 1: meta, 2: f('spec', { message: serviceSpec }) },
  Lease: {
    1: meta,
    2: f('spec', {
      message: {
        1: f('holderIdentity', 'string'),
        2: f('leaseDurationSeconds', 'int'),
        3: f('acquireTime', 'microtime'),
        4: f('renewTime', 'microtime'),
        5: f('leaseTransitions', 'int'),
        6: f('strategy', 'string'),
        7: f('preferredHolder', 'string'),
      },
    }),
  },
};

const timeSchema: Schema = { 1: f('seconds', 'int'), 2: f('nanos', 'int') };

class Reader {
  private pos = 0;
  private readonly buf: Buffer;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.buf.length) throw badRequest('protobuf: unexpected end of input');
      const byte = this.buf[this.pos++]!;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) break;
      shift += 7;
      if (shift > 63) throw badRequest('protobuf: varint overflow');
    }
    return result;
  }

  bytes(): Buffer {
    const length = this.varint();
    if (this.pos + length > this.buf.length) throw badRequest('protobuf: unexpected end of input');
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw badRequest(`protobuf: unsupported wire type ${wireType}`);
  }
}

function toSigned(n: number): number {
  // int32/int64 negatives are 10-byte varints of their two's complement
  return n >= 2 ** 63 ? n - 2 ** 64 : n;
}

function decodeMessage(buf: Buffer, schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const r = new Reader(buf);
  while (!r.done) {
    const key = r.varint();
    const number = Math.floor(key / 8);
    const wireType = key & 7;
    const field = schema[number];
    if (!field) {
      r.skip(wireType);
      continue;
    }
    const value = decodeValue(r, wireType, field.kind);
    if (typeof field.kind === 'object' && 'map' in field.kind) {
      const entry = value as { key: string; value: unknown };
      const map = child<Record<string, unknown>>(out, field.name, () => ({}));
      map[entry.key] = entry.value;
    } else if (field.repeated) {
      child<unknown[]>(out, field.name, () => []).push(value);
    } else if (value !== '' && value !== 0) {
      // gogo-protobuf writes zero values of non-pointer fields; JSON's omitempty leaves them out
      out[field.name] = value;
    }
  }
  return out;
}

function decodeValue(r: Reader, wireType: number, kind: Kind): unknown {
  if (kind === 'int') return toSigned(r.varint());
  if (kind === 'bool') return r.varint() !== 0;
  if (wireType !== 2) throw badRequest('protobuf: unexpected wire type');
  const data = r.bytes();
  switch (kind) {
    case 'string':
      return data.toString('utf8');
    case 'bytes':
      return data.toString('base64');
    case 'time':
    case 'microtime': {
      const t = decodeMessage(data, timeSchema) as { seconds?: number; nanos?: number };
      const ms = (t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
      return kind === 'time' ? formatTime(ms) : formatMicroTime(ms);
    }
    case 'intOrString': {
      const v = decodeMessage(data, { 1: f('type', 'int'), 2: f('intVal', 'int'), 3: f('strVal', 'string') });
      return v.type === 1 ? (v.strVal ?? '') : (v.intVal ?? 0);
    }
  }
  if ('message' in kind) return decodeMessage(data, kind.message);
  const entry = decodeMessage(data, { 1: f('key', 'string'), 2: f('value', kind.map) });
  return { key: entry.key ?? '', value: entry.value ?? '' };
}

const magic = Buffer.from('k8s\u0000', 'latin1');

/** Decodes a protobuf request body into the object's JSON form. */
export function decodeProtobufBody(raw: Buffer): Record<string, unknown> {
  if (raw.length < 4 || !raw.subarray(0, 4).equals(magic))
    throw badRequest(
      'provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]',
    );
  const unknown = decodeMessage(raw.subarray(4), {
    1: f('typeMeta', { message: { 1: f('apiVersion', 'string'), 2: f('kind', 'string') } }),
    2: f('raw', 'bytes'),
  }) as { typeMeta?: { apiVersion?: string; kind?: string }; raw?: string };
  const kind = unknown.typeMeta?.kind ?? '';
  const schema = kinds[kind];
  if (!schema) throw unsupportedMediaType(['application/json', 'application/yaml']);
  const obj = decodeMessage(Buffer.from(unknown.raw ?? '', 'base64'), schema);
  return { kind, apiVersion: unknown.typeMeta?.apiVersion ?? '', ...obj };
}
