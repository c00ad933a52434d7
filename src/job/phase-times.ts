// "Where the time went", from the pod's own timestamps (deterministic on replay).
import { containerStatus } from '../kubernetes/pod-status.ts';
import type { PodObject } from '../kubernetes/wire.ts';
import type { JobPhaseDurations } from '../trace/timing.ts';
import { BUILD, HELPER, UPLOADER } from './pod-outcome.ts';

const ms = (t: string | undefined) => (t ? Date.parse(t) : Number.NaN);
const span = (from: number, to: number) =>
  Number.isFinite(from) && Number.isFinite(to) && to >= from ? to - from : undefined;

export function phaseDurations(pod: PodObject, queuedSeconds: number | null | undefined): JobPhaseDurations {
  const created = ms(pod.metadata?.creationTimestamp);
  const scheduledAt = ms(
    pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'True')?.lastTransitionTime,
  );
  const helper = containerStatus(pod, HELPER)?.state?.terminated;
  const build = containerStatus(pod, BUILD)?.state;
  const buildStart = ms(build?.terminated?.startedAt ?? build?.running?.startedAt);
  const buildEnd = ms(build?.terminated?.finishedAt);
  const uploaderEnd = ms(containerStatus(pod, UPLOADER)?.state?.terminated?.finishedAt);
  const helperStart = ms(helper?.startedAt);
  const out: JobPhaseDurations = {};
  if (queuedSeconds !== null && queuedSeconds !== undefined) out.queuedMs = queuedSeconds * 1000;
  const scheduled = span(created, scheduledAt);
  if (scheduled !== undefined) out.scheduledMs = scheduled;
  const pull = span(scheduledAt, helperStart);
  if (pull !== undefined) out.imagePullMs = pull;
  const init = span(helperStart, ms(helper?.finishedAt));
  if (init !== undefined) out.initMs = init;
  const script = span(buildStart, buildEnd);
  if (script !== undefined) out.scriptMs = script;
  const upload = span(buildEnd, uploaderEnd);
  if (upload !== undefined) out.uploadMs = upload;
  return out;
}
