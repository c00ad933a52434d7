// Transport-level retries for every GitLab request, composed once onto the shared dispatcher
// (gitlab-runner-api.md §0.3): 408, 429, 5xx answers and network errors are retried up to 5 attempts in
// all, waiting `RateLimit-ResetTime`, else `Retry-After`, else an exponential jittered backoff. After the
// last attempt the last answer goes to the caller, which interprets it (no exception for a status).
import type { Dispatcher } from 'undici';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** Waits longer than this are cut to it (a `Retry-After: 3600` must not stall a job request for an hour). */
  maxHeaderDelayMs: number;
  /** Called before each retry. */
  onRetry?: (info: RetryInfo) => void;
  /** Called when a request that was retried ends, with its number of attempts. */
  onRetriedRequestEnd?: (info: { method: string; path: string; attempts: number }) => void;
}

export interface RetryInfo {
  method: string;
  path: string;
  attempt: number;
  delayMs: number;
  status?: number;
  error?: string;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 5,
  minDelayMs: 100,
  maxDelayMs: 60_000,
  maxHeaderDelayMs: 5 * 60_000,
};

export function isRetryableStatus(status: number): boolean {
  return (
    status === 408 || status === 429 || status === 500 || (status >= 502 && status <= 504) || status >= 512
  );
}

const retryableErrorCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

export function isRetryableError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  const causeCode = (err as { cause?: NodeJS.ErrnoException }).cause?.code;
  return (
    (code !== undefined && retryableErrorCodes.has(code)) ||
    (causeCode !== undefined && retryableErrorCodes.has(causeCode))
  );
}

const header = (headers: Record<string, string | string[] | undefined>, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** The wait a 429/5xx answer asks for, or undefined when it names none. */
export function headerDelayMs(
  headers: Record<string, string | string[] | undefined>,
  now = Date.now(),
): number | undefined {
  const reset = header(headers, 'ratelimit-resettime');
  if (reset) {
    const at = Date.parse(reset);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const after = header(headers, 'retry-after');
  if (after) {
    if (/^\d+$/.test(after.trim())) return Number(after.trim()) * 1000;
    const at = Date.parse(after);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  return undefined;
}

export function backoffMs(attempt: number, policy: Pick<RetryPolicy, 'minDelayMs' | 'maxDelayMs'>): number {
  const base = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** (attempt - 1));
  // Full jitter in the upper half keeps retries of many jobs from arriving together.
  return Math.round(base / 2 + (Math.random() * base) / 2);
}

const replayable = (body: unknown): boolean =>
  body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;

class RetryingHandler implements Dispatcher.DispatchHandler {
  private attempt = 1;
  private current: Dispatcher.DispatchController | undefined;
  private startedDownstream = false;
  private passthrough = false;
  private discarding = false;
  private pendingDelayMs = 0;
  private pendingStatus: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private abortReason: Error | null = null;
  private readonly proxy: Dispatcher.DispatchController;
  private readonly dispatch: Dispatcher.Dispatch;
  private readonly opts: Dispatcher.DispatchOptions;
  private readonly handler: Dispatcher.DispatchHandler;
  private readonly policy: RetryPolicy;

  constructor(
    dispatch: Dispatcher.Dispatch,
    opts: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
    policy: RetryPolicy,
  ) {
    this.dispatch = dispatch;
    this.opts = opts;
    this.handler = handler;
    this.policy = policy;
    const self = this;
    this.proxy = {
      get aborted() {
        return self.abortReason !== null || (self.current?.aborted ?? false);
      },
      get paused() {
        return self.current?.paused ?? false;
      },
      get reason() {
        return self.abortReason ?? self.current?.reason ?? null;
      },
      abort(reason: Error) {
        self.abortReason = reason;
        if (self.timer) {
          clearTimeout(self.timer);
          self.timer = undefined;
          self.handler.onResponseError?.(self.proxy, reason);
        } else {
          self.current?.abort(reason);
        }
      },
      pause() {
        self.current?.pause();
      },
      resume() {
        self.current?.resume();
      },
    };
  }

  private get canRetry(): boolean {
    return this.attempt < this.policy.maxAttempts && replayable(this.opts.body) && this.abortReason === null;
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.current = controller;
    if (this.abortReason) {
      controller.abort(this.abortReason);
      return;
    }
    if (!this.startedDownstream) {
      this.startedDownstream = true;
      this.handler.onRequestStart?.(this.proxy, context);
    }
  }

  onRequestUpgrade(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    socket: import('node:stream').Duplex,
  ): void {
    this.handler.onRequestUpgrade?.(this.proxy, statusCode, headers, socket);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    if (isRetryableStatus(statusCode) && this.canRetry) {
      this.discarding = true;
      this.pendingStatus = statusCode;
      const asked = headerDelayMs(headers);
      this.pendingDelayMs =
        asked !== undefined
          ? Math.min(asked, this.policy.maxHeaderDelayMs)
          : backoffMs(this.attempt, this.policy);
      return;
    }
    this.passthrough = true;
    this.handler.onResponseStart?.(this.proxy, statusCode, headers, statusMessage);
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.discarding) return;
    this.handler.onResponseData?.(this.proxy, chunk);
  }

  onResponseEnd(
    _controller: Dispatcher.DispatchController,
    trailers: Record<string, string | string[] | undefined>,
  ): void {
    if (this.discarding) {
      this.discarding = false;
      this.schedule(this.pendingDelayMs, { status: this.pendingStatus });
      return;
    }
    this.reportEnd();
    this.handler.onResponseEnd?.(this.proxy, trailers);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.passthrough || this.abortReason) {
      this.reportEnd();
      this.handler.onResponseError?.(this.proxy, err);
      return;
    }
    if (this.discarding) {
      this.discarding = false;
      this.schedule(this.pendingDelayMs, { status: this.pendingStatus });
      return;
    }
    if (isRetryableError(err) && this.canRetry) {
      this.schedule(backoffMs(this.attempt, this.policy), {
        error: (err as NodeJS.ErrnoException).code ?? err.message,
      });
      return;
    }
    this.reportEnd();
    this.handler.onResponseError?.(this.proxy, err);
  }

  private reportEnd(): void {
    if (this.attempt > 1) {
      this.policy.onRetriedRequestEnd?.({
        method: this.opts.method,
        path: this.opts.path,
        attempts: this.attempt,
      });
    }
  }

  private schedule(delayMs: number, cause: { status?: number | undefined; error?: string }): void {
    this.policy.onRetry?.({
      method: this.opts.method,
      path: this.opts.path,
      attempt: this.attempt + 1,
      delayMs,
      ...(cause.status !== undefined ? { status: cause.status } : {}),
      ...(cause.error !== undefined ? { error: cause.error } : {}),
    });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.attempt++;
      try {
        this.dispatch(this.opts, this);
      } catch (err) {
        this.handler.onResponseError?.(this.proxy, err as Error);
      }
    }, delayMs);
  }
}

/** An undici interceptor applying `policy` to every request of the dispatcher it is composed onto. */
export function retryInterceptor(policy: Partial<RetryPolicy> = {}): Dispatcher.DispatcherComposeInterceptor {
  const full = { ...defaultRetryPolicy, ...policy };
  return (dispatch) => (opts, handler) => dispatch(opts, new RetryingHandler(dispatch, opts, handler, full));
}
