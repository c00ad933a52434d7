// Secrets and ConfigMaps: key rules, the 1 MiB limit, `stringData`, `immutable`.
import { configKeyErrors } from '../names.ts';
import {
  ApiError,
  type FieldError,
  forbiddenField,
  invalidField,
  requiredField,
  tooLongField,
} from '../status.ts';
import type { KubeObject } from '../types.ts';
import { genericStrategy, type KindStrategy, metadataFields, rec } from './strategy.ts';

const maxSize = 1024 * 1024;

function base64Error(value: string): number | undefined {
  // Go's StdEncoding: standard alphabet, padded. Returns the offset of the first bad byte.
  const clean = value;
  for (let i = 0; i < clean.length; i++) {
    const c = clean[i]!;
    if (!/[A-Za-z0-9+/=]/.test(c)) return i;
  }
  if (clean.length % 4 !== 0) return clean.length - (clean.length % 4);
  const pad = clean.indexOf('=');
  if (pad >= 0 && pad < clean.length - 2) return pad;
  return undefined;
}

function dataBytes(data: Record<string, unknown>): number {
  let size = 0;
  for (const [k, v] of Object.entries(data)) size += k.length + Buffer.from(String(v), 'base64').length;
  return size;
}

function keyErrors(field: string, data: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  for (const key of Object.keys(data)) {
    for (const msg of configKeyErrors(key)) errors.push(invalidField(`${field}[${key}]`, key, msg));
  }
  return errors;
}

function immutableErrors(obj: KubeObject, old: KubeObject, dataFields: string[]): FieldError[] {
  if (old.immutable !== true) return [];
  const errors: FieldError[] = [];
  if (obj.immutable !== true)
    errors.push(forbiddenField('immutable', 'field is immutable when `immutable` is set'));
  for (const field of dataFields) {
    if (JSON.stringify(obj[field] ?? {}) !== JSON.stringify(old[field] ?? {}))
      errors.push(forbiddenField(field, 'field is immutable when `immutable` is set'));
  }
  return errors;
}

const secretTypeKeys: Record<string, string[]> = {
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
};

function validateSecret(obj: KubeObject): FieldError[] {
  const data = rec(obj.data);
  const errors = keyErrors('data', data);
  if (dataBytes(data) > maxSize) errors.push(tooLongField('data', maxSize));
  for (const key of secretTypeKeys[String(obj.type)] ?? []) {
    if (!(key in data)) errors.push(requiredField(`data[${key}]`));
  }
  return errors;
}

/** Checks the base64 of `data` like the JSON decoder does, before anything else. */
export function checkSecretEncoding(obj: Record<string, unknown>): void {
  for (const value of Object.values(rec(obj.data))) {
    if (typeof value !== 'string') continue;
    const at = base64Error(value);
    if (at !== undefined) {
      throw new ApiError(
        400,
        'BadRequest',
        `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte ${at}`,
      );
    }
  }
}

function mergeStringData(obj: KubeObject): void {
  const stringData = rec(obj.stringData);
  if (obj.stringData !== undefined) {
    const data = { ...rec(obj.data) };
    for (const [k, v] of Object.entries(stringData))
      data[k] = Buffer.from(String(v), 'utf8').toString('base64');
    obj.data = data;
    delete obj.stringData;
  }
}

export const secretStrategy: KindStrategy = {
  ...genericStrategy,
  prepareForCreate(obj) {
    obj.type ??= 'Opaque';
    if (obj.type === '') obj.type = 'Opaque';
    mergeStringData(obj);
  },
  validate: validateSecret,
  prepareForUpdate(obj) {
    if (obj.type === undefined || obj.type === '') obj.type = 'Opaque';
    mergeStringData(obj);
  },
  validateUpdate(obj, old) {
    const errors = validateSecret(obj);
    if (obj.type !== old.type) errors.push(invalidField('type', obj.type, 'field is immutable'));
    errors.push(...immutableErrors(obj, old, ['data']));
    return errors;
  },
  fields: (obj) => ({ ...metadataFields(obj), type: String(obj.type ?? '') }),
};

function validateConfigMap(obj: KubeObject): FieldError[] {
  const data = rec(obj.data);
  const binary = rec(obj.binaryData);
  const errors = [...keyErrors('data', data), ...keyErrors('binaryData', binary)];
  for (const key of Object.keys(binary)) {
    if (key in data) errors.push(invalidField(`data[${key}]`, key, 'duplicate of key present in binaryData'));
  }
  let size = 0;
  for (const [k, v] of Object.entries(data)) size += k.length + Buffer.byteLength(String(v));
  size += dataBytes(binary);
  if (size > maxSize) errors.push(tooLongField('', maxSize));
  return errors;
}

export const configMapStrategy: KindStrategy = {
  ...genericStrategy,
  validate: validateConfigMap,
  validateUpdate(obj, old) {
    return [...validateConfigMap(obj), ...immutableErrors(obj, old, ['data', 'binaryData'])];
  },
};
