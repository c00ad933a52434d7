// Errors from the Kubernetes API, with a stable code derived from the Status reason / HTTP status.

export type KubeErrorCode =
  | 'not-found'
  | 'already-exists'
  | 'conflict'
  | 'invalid'
  | 'forbidden'
  | 'unauthorized'
  | 'gone'
  | 'too-many-requests'
  | 'server-error'
  | 'network'
  | 'bad-request';

export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  readonly code: KubeErrorCode;
  /** HTTP status; 0 for transport errors. */
  readonly status: number;
  readonly reason: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: KubeErrorCode,
    status: number,
    message: string,
    options: { reason?: string; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = status;
    this.reason = options.reason;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** Worth another try: transport errors, throttling and transient server errors. */
  get retryable(): boolean {
    return (
      this.code === 'network' ||
      this.code === 'too-many-requests' ||
      (this.code === 'server-error' && this.status !== 501)
    );
  }
}

export function codeForStatus(status: number): KubeErrorCode {
  switch (status) {
    case 400:
      return 'bad-request';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not-found';
    case 409:
      return 'conflict';
    case 410:
      return 'gone';
    case 422:
      return 'invalid';
    case 429:
      return 'too-many-requests';
    default:
      return status >= 500 ? 'server-error' : 'bad-request';
  }
}

/** Builds the error from a `Status` body (or whatever the server sent). */
export function errorFromResponse(status: number, body: unknown, retryAfter?: string): KubeApiError {
  const s = (typeof body === 'object' && body !== null ? body : {}) as {
    message?: unknown;
    reason?: unknown;
  };
  const reason = typeof s.reason === 'string' ? s.reason : undefined;
  const message = typeof s.message === 'string' ? s.message : `HTTP ${status}`;
  let code = codeForStatus(status);
  if (status === 409 && reason === 'AlreadyExists') code = 'already-exists';
  const retry = retryAfter === undefined ? undefined : Number.parseInt(retryAfter, 10);
  return new KubeApiError(code, status, message, {
    ...(reason ? { reason } : {}),
    ...(retry !== undefined && Number.isFinite(retry) ? { retryAfterSeconds: retry } : {}),
  });
}
