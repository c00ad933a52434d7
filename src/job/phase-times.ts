// "Where the time went", from the pod's own timestamps (deterministic on replay). Container statuses
// carry whole seconds, so a script of 300 ms would read "0ms" and the clone before it a second too
// long: where a container's last log record (the kubelet stamps each in nanoseconds) falls inside
// the second its status names as the end, that record's time is the end; the build's first record
// likewise its start (the script prints its first line at once; the helper may take a moment to
// start up, which belongs to init/clone, so its start stays the status's).
import { containerStatus } from '../kubernetes/pod-status.ts';
import type { PodObject } from '../kubernetes/wire.ts';
import type { JobPhaseDurations } from '../trace/timing.ts';
import { BUILD, HELPER, UPLOADER } from './pod-outcome.ts';

/** Epoch milliseconds of a container's first and last log records. */
export interface LogSpan {
  firstMs: number;
  lastMs: number;
}

export type LogSpans = Partial<Record<typeof HELPER | typeof BUILD | typeof UPLOADER, LogSpan>>;

const ms = (t: string | undefined) => (t ? Date.parse(t) : Number.NaN);
const span = (from: number, to: number) =>
  Number.isFinite(from) && Number.isFinite(to) && to >= from ? to - from : undefined;
/** The status time is whole seconds: the real instant lies in [t, t + 1 s). */
const withinSecond = (statusMs: number, t: number | undefined): t is number =>
  t !== undefined && Number.isFinite(statusMs) && t >= statusMs && t < statusMs + 1000;

/** A container's start: its first log record if that is within the status's second. */
function startOf(status: string | undefined, logs: LogSpan | undefined): number {
  const t = ms(status);
  return withinSecond(t, logs?.firstMs) ? logs.firstMs : t;
}

/** A container's end: its last log record if that is within the status's second. */
function endOf(status: string | undefined, logs: LogSpan | undefined): number {
  const t = ms(status);
  return withinSecond(t, logs?.lastMs) ? logs.lastMs : t;
}

export function phaseDurations(
  pod: PodObject,
  queuedSeconds: number | null | undefined,
  logs: LogSpans = {},
): JobPhaseDurations {
  const created = ms(pod.metadata?.creationTimestamp);
  const scheduledAt = ms(
    pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'True')?.lastTransitionTime,
  );
  const helper = containerStatus(pod, HELPER)?.state?.terminated;
  const build = containerStatus(pod, BUILD)?.state;
  const buildStart = startOf(build?.terminated?.startedAt ?? build?.running?.startedAt, logs[BUILD]);
  const buildEnd = endOf(build?.terminated?.finishedAt, logs[BUILD]);
  const uploaderEnd = endOf(containerStatus(pod, UPLOADER)?.state?.terminated?.finishedAt, logs[UPLOADER]);
  const helperStart = ms(helper?.startedAt);
  const out: JobPhaseDurations = {};
  if (queuedSeconds !== null && queuedSeconds !== undefined) out.queuedMs = queuedSeconds * 1000;
  const scheduled = span(created, scheduledAt);
  if (scheduled !== undefined) out.scheduledMs = scheduled;
  const pull = span(scheduledAt, helperStart);
  if (pull !== undefined) out.imagePullMs = pull;
  const init = span(helperStart, endOf(helper?.finishedAt, logs[HELPER]));
  if (init !== undefined) out.initMs = init;
  const script = span(buildStart, buildEnd);
  if (script !== undefined) out.scriptMs = script;
  const upload = span(buildEnd, uploaderEnd);
  if (upload !== undefined) out.uploadMs = upload;
  return out;
}
