// Errors as the API server reports them: a `Status` object whose `code` matches the HTTP status.
// Messages and reasons follow apimachinery's `errors.go` so clients that branch on them behave as on a
// real cluster.

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'Invalid'
  | 'Timeout'
  | 'TooManyRequests'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'InternalError'
  | 'ServiceUnavailable'
  | '';

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface StatusObject {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, string>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code?: number;
}

/** An API error; `code` is the HTTP status, `reason` the stable machine-readable cause. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;
  /** Extra response headers (e.g. `Retry-After`). */
  readonly headers: Record<string, string>;

  constructor(
    code: number,
    reason: StatusReason,
    message: string,
    details?: StatusDetails,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
    this.headers = headers;
  }

  toStatus(): StatusObject {
    // Key order as a real server writes it.
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      ...(this.reason !== '' ? { reason: this.reason } : {}),
      ...(this.details !== undefined ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** `group` of a resource as written in messages: `pods`, `leases.coordination.k8s.io`. */
function qualified(resource: string, group: string): string {
  return group === '' ? resource : `${resource}.${group}`;
}

function resourceDetails(resource: string, group: string, name: string): StatusDetails {
  return group === '' ? { name, kind: resource } : { name, group, kind: resource };
}

export function notFound(resource: string, name: string, group = ''): ApiError {
  return new ApiError(
    404,
    'NotFound',
    `${qualified(resource, group)} "${name}" not found`,
    resourceDetails(resource, group, name),
  );
}

export function alreadyExists(resource: string, name: string, group = ''): ApiError {
  return new ApiError(
    409,
    'AlreadyExists',
    `${qualified(resource, group)} "${name}" already exists`,
    resourceDetails(resource, group, name),
  );
}

export function generateNameConflict(resource: string, name: string, group = ''): ApiError {
  return new ApiError(
    409,
    'AlreadyExists',
    `${qualified(resource, group)} "${name}" already exists, the server was not able to generate a unique name for the object`,
    { ...resourceDetails(resource, group, name), retryAfterSeconds: 1 },
  );
}

/** 409 for a stale `resourceVersion` on update (apiserver's `OptimisticLockErrorMsg`). */
export function conflict(resource: string, name: string, group = '', message?: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": ${
      message ?? 'the object has been modified; please apply your changes to the latest version and try again'
    }`,
    resourceDetails(resource, group, name),
  );
}

export interface FieldError {
  type:
    | 'FieldValueRequired'
    | 'FieldValueInvalid'
    | 'FieldValueNotSupported'
    | 'FieldValueDuplicate'
    | 'FieldValueForbidden'
    | 'FieldValueTooLong'
    | 'FieldValueTooMany'
    | 'FieldValueNotFound';
  field: string;
  /** The part after `field: `, e.g. `Required value` or `Invalid value: "x": detail`. */
  detail: string;
}

export function requiredField(field: string, detail?: string): FieldError {
  return {
    type: 'FieldValueRequired',
    field,
    detail: detail ? `Required value: ${detail}` : 'Required value',
  };
}

export function invalidField(field: string, value: unknown, detail: string): FieldError {
  return {
    type: 'FieldValueInvalid',
    field,
    detail: `Invalid value: ${goValue(value)}${detail ? `: ${detail}` : ''}`,
  };
}

export function unsupportedField(field: string, value: unknown, supported: string[]): FieldError {
  return {
    type: 'FieldValueNotSupported',
    field,
    detail: `Unsupported value: ${goValue(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
  };
}

export function duplicateField(field: string, value: unknown): FieldError {
  return { type: 'FieldValueDuplicate', field, detail: `Duplicate value: ${goValue(value)}` };
}

export function forbiddenField(field: string, detail: string): FieldError {
  return { type: 'FieldValueForbidden', field, detail: `Forbidden: ${detail}` };
}

export function tooLongField(field: string, max: number): FieldError {
  return { type: 'FieldValueTooLong', field, detail: `Too long: may not be more than ${max} bytes` };
}

/** How apimachinery's field errors print a value: strings quoted, numbers bare. */
function goValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'null';
  return JSON.stringify(value);
}

function fieldErrorText(e: FieldError): string {
  return `${e.field}: ${e.detail}`;
}

/** 422 Invalid: `Pod "x" is invalid: <errors>` (several errors in `[…]`, joined with `, `). */
export function invalid(kind: string, name: string, errors: FieldError[], group = ''): ApiError {
  const texts = errors.map(fieldErrorText);
  const joined = texts.length === 1 ? texts[0]! : `[${texts.join(', ')}]`;
  const details: StatusDetails = {
    name,
    ...(group ? { group } : {}),
    kind,
    causes: errors.map((e) => ({
      reason: e.type,
      message: e.detail,
      ...(e.field ? { field: e.field } : {}),
    })),
  };
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  return new ApiError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${joined}`, details);
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function forbidden(resource: string, name: string, message: string, group = ''): ApiError {
  const subject = name ? `${qualified(resource, group)} "${name}"` : qualified(resource, group);
  return new ApiError(
    403,
    'Forbidden',
    `${subject} is forbidden: ${message}`,
    resourceDetails(resource, group, name),
  );
}

export function methodNotAllowed(): ApiError {
  return new ApiError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
    {},
  );
}

export function notFoundGeneric(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function expired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

export function internalError(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, {
    causes: [{ message }],
  });
}

export function serverTimeout(message: string): ApiError {
  return new ApiError(504, 'Timeout', `Timeout: ${message}`, {});
}

export function serviceUnavailable(message: string): ApiError {
  return new ApiError(503, 'ServiceUnavailable', message);
}

export function unsupportedMediaType(accepted: string[]): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  );
}

export function entityTooLarge(limit: number): ApiError {
  return new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);
}

export function successStatus(details: StatusDetails): StatusObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
}

/** The reply of pods/binding and pods/eviction. */
export function createdStatus(): StatusObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
}
