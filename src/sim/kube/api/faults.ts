// Fault injection for the API server, from the `api:` section of `--faults FILE` or from annotations on
// a pod. Each fault answers the way a real cluster does when it happens there:
// - 429: max-inflight/APF overload, a plain-text body `Too many requests, please try again later.` and
//   `Retry-After`, not a Status;
// - 500: a Status `InternalError`, `Internal error occurred: …`;
// - 503: a Status `ServiceUnavailable` (e.g. etcd unreachable);
// - 504 / `timeout`: the request filter's deadline, a Status `Timeout` after the delay;
// - `hang`: no answer at all until the client gives up (or the delay passes and the connection drops);
// - watches ended by the server (a clean end of the response, as at its timeout), `410 Gone` for a
//   watch from an old resourceVersion (as after a compaction), and log streams dropped mid-way.
import { z } from 'zod';

const verbs = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'] as const;
export type Verb = (typeof verbs)[number];

const errorCode = z.union([
  z.literal(429),
  z.literal(500),
  z.literal(503),
  z.literal(504),
  z.literal('timeout'),
  z.literal('hang'),
]);
export type FaultCode = z.infer<typeof errorCode>;

const errorRule = z
  .object({
    code: errorCode,
    /** Fraction of matching requests that fail (0–1). */
    rate: z.number().min(0).max(1),
    verbs: z.array(z.enum(verbs)).optional(),
    /** Resource names, with a subresource as `pods/log`. */
    resources: z.array(z.string()).optional(),
    namespaces: z.array(z.string()).optional(),
    /** `timeout`/504: how long before the 504 (default 60 s, capped by the request's `timeout`); `hang`: before the connection drops. */
    delayMs: z.number().int().min(0).optional(),
    retryAfterSeconds: z.number().int().min(0).optional(),
    /**
     * 429 only: `text` (default) is max-inflight/APF overload, a plain-text body; `status` is a Status
     * `TooManyRequests` (`Too many requests: …`, details.retryAfterSeconds), as other throttles answer.
     */
    format: z.enum(['text', 'status']).optional(),
  })
  .strict();
export type ErrorRule = z.infer<typeof errorRule>;

export const apiFaultsSchema = z
  .object({
    /** Seed of the random choices, for reproducible runs. */
    seed: z.number().int().optional(),
    errors: z.array(errorRule).default([]),
    watch: z
      .object({
        /** The server ends every watch after a random time between min and max seconds. */
        minDurationSeconds: z.number().positive().optional(),
        maxDurationSeconds: z.number().positive().optional(),
        /** After each event sent, the probability that the server ends the watch. */
        dropRate: z.number().min(0).max(1).default(0),
        /** Probability that a watch from a given resourceVersion gets `410 Gone` at once. */
        expireRate: z.number().min(0).max(1).default(0),
        /** Changes kept per resource for resourceVersion replay; older versions get 410. */
        historySize: z.number().int().positive().optional(),
        /** How often watches with allowWatchBookmarks get a BOOKMARK. */
        bookmarkIntervalSeconds: z.number().positive().optional(),
      })
      .strict()
      .default({ dropRate: 0, expireRate: 0 }),
    logs: z
      .object({
        /** Probability that a log stream is dropped (after `dropAfterBytes`, or at a random point). */
        dropRate: z.number().min(0).max(1).default(0),
        dropAfterBytes: z.number().int().min(0).optional(),
        /** `end`: the response ends cleanly; `reset`: the connection is cut mid-body. */
        mode: z.enum(['end', 'reset']).default('end'),
      })
      .strict()
      .default({ dropRate: 0, mode: 'end' }),
  })
  .strict();

export type ApiFaults = z.infer<typeof apiFaultsSchema>;

export const noFaults: ApiFaults = apiFaultsSchema.parse({});

export const faultAnnotation = {
  errorCode: 'sim.podrunner.dev/api-error-code',
  errorRate: 'sim.podrunner.dev/api-error-rate',
  errorVerbs: 'sim.podrunner.dev/api-error-verbs',
  logDropAfterBytes: 'sim.podrunner.dev/log-drop-after-bytes',
  logDropMode: 'sim.podrunner.dev/log-drop-mode',
} as const;

export interface RequestFacts {
  verb: Verb;
  /** `pods` or `pods/log` */
  resource: string;
  namespace: string;
}

export interface ErrorFault {
  code: FaultCode;
  delayMs: number | undefined;
  retryAfterSeconds: number;
  format: 'text' | 'status';
}

export interface LogDrop {
  afterBytes: number;
  mode: 'end' | 'reset';
}

/** mulberry32: small, seedable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  readonly faults: ApiFaults;
  private readonly random: () => number;

  constructor(faults: ApiFaults) {
    this.faults = faults;
    this.random = faults.seed !== undefined ? seededRandom(faults.seed) : Math.random;
  }

  /** The configured error for this request, if its dice say so. */
  errorFor(request: RequestFacts): ErrorFault | undefined {
    for (const rule of this.faults.errors) {
      if (rule.verbs && !rule.verbs.includes(request.verb)) continue;
      if (rule.resources && !rule.resources.includes(request.resource)) continue;
      if (rule.namespaces && !rule.namespaces.includes(request.namespace)) continue;
      if (this.random() < rule.rate)
        return {
          code: rule.code,
          delayMs: rule.delayMs,
          retryAfterSeconds: rule.retryAfterSeconds ?? 1,
          format: rule.format ?? 'text',
        };
    }
    return undefined;
  }

  /** The error a pod's annotations ask for on a request about that pod. */
  errorFromAnnotations(annotations: Record<string, string> | undefined, verb: Verb): ErrorFault | undefined {
    const raw = annotations?.[faultAnnotation.errorCode];
    if (!raw) return undefined;
    const parsed = errorCode.safeParse(/^\d+$/.test(raw) ? Number(raw) : raw);
    if (!parsed.success) return undefined;
    const verbsText = annotations[faultAnnotation.errorVerbs];
    if (
      verbsText &&
      !verbsText
        .split(',')
        .map((v) => v.trim())
        .includes(verb)
    )
      return undefined;
    const rate = Number(annotations[faultAnnotation.errorRate] ?? '1');
    if (!(this.random() < (Number.isFinite(rate) ? rate : 1))) return undefined;
    return { code: parsed.data, delayMs: undefined, retryAfterSeconds: 1, format: 'text' };
  }

  /** When a watch should be ended by the server (ms from now), if configured. */
  watchLifetimeMs(): number | undefined {
    const { minDurationSeconds, maxDurationSeconds } = this.faults.watch;
    if (maxDurationSeconds === undefined && minDurationSeconds === undefined) return undefined;
    const max = maxDurationSeconds ?? minDurationSeconds!;
    const min = Math.min(minDurationSeconds ?? max, max);
    return (min + this.random() * (max - min)) * 1000;
  }

  dropWatchAfterEvent(): boolean {
    return this.faults.watch.dropRate > 0 && this.random() < this.faults.watch.dropRate;
  }

  expireWatch(): boolean {
    return this.faults.watch.expireRate > 0 && this.random() < this.faults.watch.expireRate;
  }

  /** Whether and where to cut this log stream. */
  logDrop(annotations: Record<string, string> | undefined): LogDrop | undefined {
    const annotated = annotations?.[faultAnnotation.logDropAfterBytes];
    if (annotated !== undefined && /^\d+$/.test(annotated)) {
      const mode = annotations?.[faultAnnotation.logDropMode] === 'reset' ? 'reset' : 'end';
      return { afterBytes: Number(annotated), mode };
    }
    const logs = this.faults.logs;
    if (logs.dropRate > 0 && this.random() < logs.dropRate) {
      return { afterBytes: logs.dropAfterBytes ?? Math.floor(this.random() * 4096), mode: logs.mode };
    }
    return undefined;
  }
}
