// Fault injection for the simulated kubelet and scheduler. Two sources, both optional:
// - the `kubelet:` section of a `--faults` file, validated by `kubeletFaultsSchema`;
// - per-pod annotations with the `sim.podrunner.dev/` prefix (documented in src/sim/kube/README.md).
// Each fault produces what a real cluster shows for the same failure (statuses, reasons, events).
import picomatch from 'picomatch';
import { z } from 'zod';
import type { PodObject } from '../kubelet-store.ts';
import { parseDuration } from './duration.ts';

export const annotationPrefix = 'sim.podrunner.dev/';

const duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `not a duration: ${JSON.stringify(value)} (e.g. 500ms, 2s, 1m30s)`,
    });
    return z.NEVER;
  }
  return ms;
});

const podSelector = {
  /** Glob on the namespace (picomatch); every namespace when absent. */
  namespace: z.string().optional(),
  /** Glob on the pod name; every pod when absent. */
  pod: z.string().optional(),
  /** Labels the pod must carry (exact values). */
  labels: z.record(z.string(), z.string()).optional(),
  /** Chance that a matching pod (or container) gets the fault, decided once per pod. */
  probability: z.number().min(0).max(1).default(1),
};

export const kubeletFaultsSchema = z.strictObject({
  /** Every pod waits this long before the scheduler looks at it. */
  schedulingDelay: duration.optional(),
  /** Extra scheduling delay for matching pods (slow scheduler). */
  slowScheduling: z.array(z.strictObject({ ...podSelector, delay: duration })).default([]),
  /** Images that cannot be pulled: ErrImagePull → ImagePullBackOff with Failed/BackOff events. */
  imagePullErrors: z
    .array(
      z.strictObject({
        ...podSelector,
        /** Glob on the image as written in the spec or as normalised (`docker.io/library/x:1`). */
        image: z.string().default('**'),
        /** Glob on the container name. */
        container: z.string().default('*'),
        /** The runtime's error text; containerd's "not found" answer when absent. */
        message: z.string().optional(),
      }),
    )
    .default([]),
  /** The kernel's OOM killer ends a container this long after it started (OOMKilled, 137). */
  oomKills: z
    .array(z.strictObject({ ...podSelector, container: z.string().default('*'), after: duration }))
    .default([]),
  /** Node-pressure eviction this long after the pod started (phase Failed, reason Evicted, DisruptionTarget). */
  evictions: z
    .array(
      z.strictObject({
        ...podSelector,
        after: duration,
        message: z.string().optional(),
        /** The kubelet's grace override for the kill (hard thresholds: 1). */
        gracePeriodSeconds: z.number().int().min(0).default(1),
      }),
    )
    .default([]),
});

export type KubeletFaultsInput = z.input<typeof kubeletFaultsSchema>;
export type KubeletFaults = z.output<typeof kubeletFaultsSchema>;

export class KubeletConfigError extends Error {
  override readonly name = 'KubeletConfigError';
  readonly code = 'invalid_kubelet_faults';
}

/** Validates the `kubelet:` section of a faults file; the error names each bad path. */
export function parseKubeletFaults(input: unknown): KubeletFaults {
  const parsed = kubeletFaultsSchema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `kubelet.${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new KubeletConfigError(`invalid kubelet faults: ${problems.join('; ')}`);
}

/** A pod annotation for one container (`<prefix><name>.<container>`) or, failing that, the whole pod. */
export function simAnnotation(
  annotations: Record<string, string> | undefined,
  name: string,
  container?: string,
): string | undefined {
  if (!annotations) return undefined;
  if (container !== undefined) {
    const specific = annotations[`${annotationPrefix}${name}.${container}`];
    if (specific !== undefined) return specific;
  }
  return annotations[`${annotationPrefix}${name}`];
}

function glob(pattern: string | undefined, value: string): boolean {
  if (pattern === undefined) return true;
  return picomatch.isMatch(value, pattern, { dot: true });
}

type Selector = { namespace?: string; pod?: string; labels?: Record<string, string>; probability: number };

function selects(rule: Selector, pod: PodObject, random: () => number): boolean {
  const meta = pod.metadata ?? {};
  if (!glob(rule.namespace, meta.namespace ?? 'default')) return false;
  if (!glob(rule.pod, meta.name ?? '')) return false;
  for (const [k, v] of Object.entries(rule.labels ?? {})) if (meta.labels?.[k] !== v) return false;
  return rule.probability >= 1 || random() < rule.probability;
}

export interface EvictionPlan {
  afterMs: number;
  message?: string;
  graceSeconds: number;
}

/** The faults that apply to one pod, decided once when the pod is first seen. */
export interface PodFaultPlan {
  schedulingDelayMs: number;
  /** The pull error text for this container's image, or undefined when the pull works. */
  pullError(container: string, image: string, normalizedImage: string | undefined): string | undefined;
  oomKillAfterMs(container: string): number | undefined;
  eviction?: EvictionPlan;
}

export function planPodFaults(
  faults: KubeletFaults,
  pod: PodObject,
  random: () => number = Math.random,
): PodFaultPlan {
  const annotations = pod.metadata?.annotations;
  let schedulingDelayMs = faults.schedulingDelay ?? 0;
  for (const rule of faults.slowScheduling) if (selects(rule, pod, random)) schedulingDelayMs += rule.delay;
  const annotated = parseDuration(simAnnotation(annotations, 'scheduling-delay') ?? '');
  if (annotated !== undefined) schedulingDelayMs += annotated;

  const pullRules = faults.imagePullErrors.filter((r) => selects(r, pod, random));
  const oomRules = faults.oomKills.filter((r) => selects(r, pod, random));

  let eviction: EvictionPlan | undefined;
  const rule = faults.evictions.find((r) => selects(r, pod, random));
  if (rule) eviction = { afterMs: rule.after, graceSeconds: rule.gracePeriodSeconds, message: rule.message };
  const evictAfter = parseDuration(simAnnotation(annotations, 'evict-after') ?? '');
  if (evictAfter !== undefined) {
    eviction = {
      afterMs: evictAfter,
      graceSeconds: eviction?.graceSeconds ?? 1,
      message: simAnnotation(annotations, 'eviction-message') ?? eviction?.message,
    };
  }

  return {
    schedulingDelayMs,
    pullError(container, image, normalizedImage) {
      const annotated = simAnnotation(annotations, 'image-pull-error', container);
      if (annotated !== undefined && annotated !== 'false')
        return annotated === 'true' || annotated === '' ? '' : annotated;
      for (const r of pullRules) {
        if (!glob(r.container, container)) continue;
        if (glob(r.image, image) || (normalizedImage !== undefined && glob(r.image, normalizedImage))) {
          return r.message ?? '';
        }
      }
      return undefined;
    },
    oomKillAfterMs(container) {
      const annotated = parseDuration(simAnnotation(annotations, 'oom-kill-after', container) ?? '');
      if (annotated !== undefined) return annotated;
      return oomRules.find((r) => glob(r.container, container))?.after;
    },
    ...(eviction ? { eviction } : {}),
  };
}
