// Decoding request bodies the way the API server's JSON serializer does: a body that is not JSON (or
// YAML) is a 400; a field of the wrong type is a 400 naming the Go-style type; unknown fields are
// rejected with `fieldValidation=Strict`, reported in a `Warning` header by default (Warn) and ignored
// with `Ignore`. The schema comes from the client-node models, the field's own generated types.
import * as models from '@kubernetes/client-node/dist/gen/models/all.js';
import { parse as parseYaml } from 'yaml';
import { decodeProtobufBody } from './protobuf.ts';
import { ApiError, badRequest, unsupportedMediaType } from './status.ts';
import { isPlainObject } from './types.ts';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

interface Attribute {
  baseName: string;
  type: string;
}

interface ModelClass {
  getAttributeTypeMap(): Attribute[];
}

const modelTable = models as unknown as Record<string, ModelClass | undefined>;

/** Fields typed `Quantity` on the server; the generated models call them strings but numbers are valid. */
const quantityMaps = new Set([
  'limits',
  'requests',
  'capacity',
  'allocatable',
  'hard',
  'used',
  'allocatedResources',
]);
const quantityFields = new Set(['sizeLimit', 'storage']);

/** Parses a request body as JSON, or YAML when the content type says so. */
export function parseBody(raw: Buffer, contentType: string | undefined, expectedKind: string): unknown {
  const type = (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  const text = raw.toString('utf8');
  if (type === 'application/yaml' || type === 'application/apply-patch+yaml') {
    try {
      return parseYaml(text);
    } catch (err) {
      throw badRequest(
        `the object provided is unrecognized (must be of type ${expectedKind}): ${(err as Error).message}`,
      );
    }
  }
  if (type === 'application/vnd.kubernetes.protobuf') return decodeProtobufBody(raw);
  if (type !== 'application/json' && type !== '' && !type.endsWith('+json')) {
    throw unsupportedMediaType([
      'application/json',
      'application/yaml',
      'application/vnd.kubernetes.protobuf',
    ]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw badRequest(
      `the object provided is unrecognized (must be of type ${expectedKind}): couldn't get version/kind; json parse error: ${jsonErrorText(err, text)}`,
    );
  }
}

function jsonErrorText(err: unknown, text: string): string {
  if (text.trim() === '') return 'unexpected end of JSON input';
  return (err as Error).message;
}

export interface DecodeResult {
  object: Record<string, unknown>;
  /** Unknown fields as `unknown field "spec.foo"`, for Strict errors or Warn headers. */
  unknownFields: string[];
}

/**
 * Checks an object against the model of `kind`: types (always) and unknown fields (reported).
 * Throws the API server's 400 for a type mismatch, and for unknown fields under Strict.
 */
export function decodeObject(
  value: unknown,
  model: string,
  kind: string,
  apiVersion: string,
  validation: FieldValidation,
): DecodeResult {
  const prefix = `${kind} in version "${apiVersion.split('/').pop()}" cannot be handled as a ${kind}`;
  if (!isPlainObject(value)) {
    throw badRequest(
      `${prefix}: json: cannot unmarshal ${jsonType(value)} into Go value of type ${goTypeOf(model)}`,
    );
  }
  const unknown: string[] = [];
  const typeError = walk(value, model, '', '', model, unknown);
  if (typeError) throw badRequest(`${prefix}: ${typeError}`);
  if (validation === 'Strict' && unknown.length > 0) {
    throw badRequest(
      `${prefix}: strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`,
    );
  }
  return { object: value, unknownFields: validation === 'Ignore' ? [] : unknown };
}

/** Validates the `fieldValidation` query parameter. */
export function fieldValidationOf(value: string | null): FieldValidation {
  if (value === null || value === '') return 'Warn';
  if (value === 'Strict' || value === 'Warn' || value === 'Ignore') return value;
  throw badRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", got "${value}"`);
}

type Descriptor =
  | { kind: 'string' | 'number' | 'boolean' | 'Date' | 'any' | 'IntOrString' | 'unknownModel' }
  | { kind: 'array'; element: string }
  | { kind: 'map'; element: string }
  | { kind: 'model'; attributes: Map<string, string> };

const descriptors = new Map<string, Descriptor>();

/** What a generated type name means, worked out once per type. */
function describe(type: string): Descriptor {
  let d = descriptors.get(type);
  if (d) return d;
  const arrayOf = /^Array<(.+)>$/.exec(type);
  const mapOf = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (['string', 'number', 'boolean', 'Date', 'any', 'IntOrString'].includes(type))
    d = { kind: type as 'string' };
  else if (arrayOf) d = { kind: 'array', element: arrayOf[1]! };
  else if (mapOf) d = { kind: 'map', element: mapOf[1]! };
  else {
    const model = modelTable[type];
    d =
      model && typeof model.getAttributeTypeMap === 'function'
        ? { kind: 'model', attributes: new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type])) }
        : { kind: 'unknownModel' };
  }
  descriptors.set(type, d);
  return d;
}

/** Returns the Go-style type error, or undefined. Collects unknown field paths. */
function walk(
  value: unknown,
  type: string,
  path: string,
  fieldName: string,
  parentModel: string,
  unknown: string[],
): string | undefined {
  if (value === null || value === undefined) return undefined;
  const d = describe(type);
  switch (d.kind) {
    case 'string':
      if (typeof value === 'string') return undefined;
      if (typeof value === 'number' && quantityFields.has(fieldName)) return undefined;
      return mismatch(value, parentModel, path, 'string');
    case 'number':
      return typeof value === 'number' ? undefined : mismatch(value, parentModel, path, 'int32');
    case 'boolean':
      return typeof value === 'boolean' ? undefined : mismatch(value, parentModel, path, 'bool');
    case 'Date':
      if (typeof value !== 'string') return mismatch(value, parentModel, path, 'Time');
      if (Number.isNaN(Date.parse(value)))
        return `parsing time "${value}" as "2006-01-02T15:04:05Z07:00": cannot parse "${value}" as "2006"`;
      return undefined;
    case 'any':
    case 'unknownModel':
      return undefined;
    case 'IntOrString':
      return typeof value === 'number' || typeof value === 'string'
        ? undefined
        : mismatch(value, parentModel, path, 'intstr.IntOrString');
    case 'array': {
      if (!Array.isArray(value)) return mismatch(value, parentModel, path, `[]${goTypeOf(d.element)}`);
      for (let i = 0; i < value.length; i++) {
        const err = walk(value[i], d.element, `${path}[${i}]`, fieldName, parentModel, unknown);
        if (err) return err;
      }
      return undefined;
    }
    case 'map': {
      if (!isPlainObject(value))
        return mismatch(value, parentModel, path, `map[string]${goTypeOf(d.element)}`);
      if (d.element === 'string') {
        const quantities = quantityMaps.has(fieldName);
        for (const [key, child] of Object.entries(value)) {
          if (typeof child === 'string' || child === null) continue;
          if (quantities) {
            if (typeof child === 'number') continue;
            return `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`;
          }
          return mismatch(child, parentModel, `${path}.${key}`, 'string');
        }
        return undefined;
      }
      for (const [key, child] of Object.entries(value)) {
        const err = walk(child, d.element, `${path}.${key}`, key, parentModel, unknown);
        if (err) return err;
      }
      return undefined;
    }
    case 'model': {
      if (!isPlainObject(value)) return mismatch(value, parentModel, path, goTypeOf(type));
      for (const key in value) {
        const attributeType = d.attributes.get(key);
        const childPath = path === '' ? key : `${path}.${key}`;
        if (attributeType === undefined) {
          if (!(path === '' && (key === 'kind' || key === 'apiVersion'))) unknown.push(childPath);
          continue;
        }
        const err = walk(value[key], attributeType, childPath, key, type, unknown);
        if (err) return err;
      }
      return undefined;
    }
  }
}

function mismatch(value: unknown, parentModel: string, path: string, goType: string): string {
  return `json: cannot unmarshal ${jsonType(value)} into Go struct field ${goStructName(parentModel)}.${path.replace(/\[\d+\]/g, '')} of type ${goType}`;
}

function jsonType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'object';
  return typeof value;
}

function goStructName(model: string): string {
  return model.replace(/^(Core)?V\d+((alpha|beta)\d+)?/, '');
}

function goTypeOf(type: string): string {
  if (type === 'string') return 'string';
  if (type === 'number') return 'int32';
  if (type === 'boolean') return 'bool';
  return `v1.${goStructName(type)}`;
}

/** Rejects a body whose apiVersion/kind does not fit the endpoint. */
export function checkTypeMeta(body: Record<string, unknown>, kind: string, apiVersion: string): void {
  const bodyVersion = body.apiVersion;
  const bodyKind = body.kind;
  if (typeof bodyVersion === 'string' && bodyVersion !== '' && bodyVersion !== apiVersion) {
    throw badRequest(
      `the API version in the data (${bodyVersion}) does not match the expected API version (${apiVersion})`,
    );
  }
  if (typeof bodyKind === 'string' && bodyKind !== '' && bodyKind !== kind) {
    throw new ApiError(
      400,
      'BadRequest',
      `${bodyKind} in version "${apiVersion.split('/').pop()}" cannot be handled as a ${kind}: no kind "${bodyKind}" is registered for the endpoint of ${kind}`,
    );
  }
}
