// Pod-side times of every job pod, from a watch (a client-node informer) on the namespace the manager
// runs pods in: when the bench first saw the pod, a container of it running, and its build container
// terminated. Works the same against the embedded Kubernetes and a real cluster.
import {
  CoreV1Api,
  type KubeConfig,
  makeInformer,
  type V1ContainerStatus,
  type V1Pod,
} from '@kubernetes/client-node';
import { clockNow, type PodTimes } from '../job-times.ts';
import { BENCH_USER_AGENT } from './request-tally.ts';

type RequestContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];

/** The job id: an annotation on job pods, as upstream sets it. */
export const JOB_ID_KEY = 'job.runner.gitlab.com/id';
/** A label every job pod has (upstream's), for the watch's selector. */
export const JOB_POD_LABEL = 'job.runner.gitlab.com/pod';

const runningOrDone = (s: V1ContainerStatus) =>
  s.state?.running !== undefined || s.state?.terminated !== undefined;

/** Updates `times` from one observation of `pod` at `now`; pure apart from that. */
export function observePod(pod: V1Pod, now: number, times: Map<number, PodTimes>): void {
  const id = Number(pod.metadata?.annotations?.[JOB_ID_KEY] ?? pod.metadata?.labels?.[JOB_ID_KEY]);
  if (!Number.isInteger(id) || id <= 0) return;
  let t = times.get(id);
  if (!t) {
    t = { podCreatedAt: now };
    times.set(id, t);
  }
  const init = pod.status?.initContainerStatuses ?? [];
  const main = pod.status?.containerStatuses ?? [];
  if (t.podStartedAt === undefined && [...init, ...main].some(runningOrDone)) t.podStartedAt = now;
  if (t.terminatedAt === undefined) {
    const build = main.find((s) => s.name === 'build');
    const phase = pod.status?.phase;
    const done = build
      ? build.state?.terminated !== undefined
      : (main.length > 0 && main.every((s) => s.state?.terminated !== undefined)) ||
        phase === 'Succeeded' ||
        phase === 'Failed';
    if (done) t.terminatedAt = now;
  }
}

export interface PodTimesWatch {
  times(jobId: number): PodTimes | undefined;
  close(): Promise<void>;
}

/**
 * Tags the bench's own requests so the embedded API server leaves them out of its counts. A subclass
 * would do, but client-node's KubeConfig is used by reference in generated code, so the method is
 * wrapped on the instance.
 */
export function tagBenchRequests(kc: KubeConfig): KubeConfig {
  const original = kc.applySecurityAuthentication.bind(kc);
  kc.applySecurityAuthentication = async (context: RequestContext) => {
    await original(context);
    context.setHeaderParam('User-Agent', BENCH_USER_AGENT);
  };
  return kc;
}

export async function watchPodTimes(kc: KubeConfig, namespace: string): Promise<PodTimesWatch> {
  tagBenchRequests(kc);
  const core = kc.makeApiClient(CoreV1Api);
  const times = new Map<number, PodTimes>();
  const informer = makeInformer<V1Pod>(
    kc,
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
    () => core.listNamespacedPod({ namespace, labelSelector: JOB_POD_LABEL }),
    JOB_POD_LABEL,
  );
  const seen = (pod: V1Pod) => observePod(pod, clockNow(), times);
  informer.on('add', seen);
  informer.on('update', seen);
  let closed = false;
  informer.on('error', () => {
    // a watch that ended with an error (410, a dropped connection): list and watch again
    if (!closed) setTimeout(() => void informer.start().catch(() => {}), 500).unref();
  });
  await informer.start();
  return {
    times: (id) => times.get(id),
    async close() {
      closed = true;
      await informer.stop();
    },
  };
}
