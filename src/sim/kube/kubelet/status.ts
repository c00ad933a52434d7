// The kubelet's pod status, generated from what it knows about each container. Pure functions that
// follow the kubelet's own (`getPhase`, `generateAPIPodStatus`, the condition generators in
// pkg/kubelet/status/generate.go): see docs §1 of kubernetes-behaviour.md.
import type { V1ContainerStatus, V1PodCondition } from '@kubernetes/client-node';
import type { PodObject, PodStatusObject, Wire } from '../kubelet-store.ts';
import { qosClass } from './resources.ts';

export type ContainerKind = 'init' | 'sidecar' | 'regular';
export type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export interface TerminatedState {
  exitCode: number;
  reason: string;
  message?: string;
  startedAt: string;
  finishedAt: string;
  containerID?: string;
}

export type RunState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: string }
  | ({ kind: 'terminated' } & TerminatedState);

/** What the kubelet knows about one container (its current instance and the one before). */
export interface ContainerView {
  name: string;
  kind: ContainerKind;
  state: RunState;
  lastState?: TerminatedState;
  /** The startup probe passed (or there is none) for the running instance. */
  startupPassed: boolean;
  /** The readiness probe passes (or there is none) for the running instance. */
  readinessPassed: boolean;
  restartCount: number;
  /** The spec's image until the container exists, then the normalised name. */
  image: string;
  imageID: string;
  containerID?: string;
  volumeMounts: { name: string; mountPath: string; readOnly: boolean }[];
}

export interface PodView {
  /** The pod as last seen from the API (spec, metadata, API-owned status). */
  pod: PodObject;
  /** Containers: init containers in spec order, then regular containers in spec order. */
  containers: ContainerView[];
  startTime: string;
  hostIP: string;
  podIP?: string;
  sandboxReady: boolean;
  /** The kubelet is terminating the pod (deleted, evicted, past its deadline, or done). */
  podIsTerminal: boolean;
  /** The kubelet is done with the pod (TerminatePod): a phase still Pending or Running becomes Failed. */
  finalized: boolean;
  /** Eviction or deadline: phase Failed with this reason and message. */
  forced?: { reason: string; message: string };
  /** A DisruptionTarget condition set by the kubelet (eviction). */
  disruption?: { reason: string; message: string; at: string };
  /** The phase of the kubelet's previous write (terminal phases are sticky). */
  previousPhase?: Phase;
  previousReason?: string;
  previousMessage?: string;
  /** The kubelet's previous write, for condition transition times. */
  previous?: PodStatusObject;
  now: string;
}

type ConditionObject = Wire<V1PodCondition>;
type ContainerStatusObject = Wire<V1ContainerStatus>;

let cachedSecond = -1;
let cachedText = '';

/** RFC 3339 with whole seconds, UTC: the kubelet rounds every status time down. */
export function rfc3339Seconds(ms: number = Date.now()): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedText = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return cachedText;
}

/** Go's `%s` of a string slice: `[a b c]`. */
function goList(names: string[]): string {
  return `[${names.join(' ')}]`;
}

function isRunning(c: ContainerView): boolean {
  return c.state.kind === 'running';
}

export function isStarted(c: ContainerView): boolean {
  return isRunning(c) && c.startupPassed;
}

export function isReady(c: ContainerView): boolean {
  if (c.kind === 'init') return c.state.kind === 'terminated' && c.state.exitCode === 0;
  return isStarted(c) && c.readinessPassed;
}

function hasAnyRegularContainerStarted(containers: ContainerView[]): boolean {
  return containers.some(
    (c) => c.kind === 'regular' && (c.state.kind === 'running' || c.state.kind === 'terminated'),
  );
}

/** The kubelet's `getPhase` (~1.31). */
export function getPhase(containers: ContainerView[], restartPolicy: string, podIsTerminal: boolean): Phase {
  let pendingRegularInit = 0;
  let pendingSidecars = 0;
  let failedInit = 0;
  const unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of containers) {
    const s = c.state;
    if (c.kind === 'init') {
      if (s.kind === 'running') pendingRegularInit++;
      else if (s.kind === 'terminated') {
        if (s.exitCode !== 0) failedInit++;
      } else if (c.lastState) {
        if (c.lastState.exitCode !== 0) failedInit++;
      } else pendingRegularInit++;
    } else if (c.kind === 'sidecar') {
      if (s.kind === 'running') {
        if (!c.startupPassed) pendingSidecars++;
        running++;
      } else if (s.kind === 'waiting' && !c.lastState) {
        pendingSidecars++;
        waiting++;
      }
    } else if (s.kind === 'running') running++;
    else if (s.kind === 'terminated') {
      stopped++;
      if (s.exitCode === 0) succeeded++;
    } else if (c.lastState) stopped++;
    else waiting++;
  }
  if (failedInit > 0 && restartPolicy === 'Never') return 'Failed';
  if (pendingRegularInit > 0 || (pendingSidecars > 0 && !hasAnyRegularContainerStarted(containers)))
    return 'Pending';
  if (waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (podIsTerminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (restartPolicy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function condition(
  type: string,
  status: boolean,
  previous: PodStatusObject | undefined,
  now: string,
  reason?: string,
  message?: string,
): ConditionObject {
  const s = status ? 'True' : 'False';
  const before = previous?.conditions?.find((c) => c.type === type);
  const lastTransitionTime =
    before && before.status === s && before.lastTransitionTime ? before.lastTransitionTime : now;
  return {
    type,
    status: s,
    lastProbeTime: null as unknown as string,
    lastTransitionTime,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
}

function initializedCondition(view: PodView, phase: Phase): ConditionObject {
  const incomplete: string[] = [];
  for (const c of view.containers) {
    if (c.kind === 'sidecar' && !isStarted(c)) incomplete.push(c.name);
    if (c.kind === 'init' && !isReady(c)) incomplete.push(c.name);
  }
  if (phase === 'Succeeded') return condition('Initialized', true, view.previous, view.now, 'PodCompleted');
  if (hasAnyRegularContainerStarted(view.containers) || incomplete.length === 0) {
    return condition('Initialized', true, view.previous, view.now);
  }
  return condition(
    'Initialized',
    false,
    view.previous,
    view.now,
    'ContainersNotInitialized',
    `containers with incomplete status: ${goList(incomplete)}`,
  );
}

function containersReady(view: PodView, phase: Phase): { ok: boolean; reason?: string; message?: string } {
  if (phase === 'Succeeded') return { ok: false, reason: 'PodCompleted' };
  if (phase === 'Failed') return { ok: false, reason: 'PodFailed' };
  const unready = [
    ...view.containers.filter((c) => c.kind === 'sidecar'),
    ...view.containers.filter((c) => c.kind === 'regular'),
  ]
    .filter((c) => !isReady(c))
    .map((c) => c.name);
  if (unready.length > 0) {
    return {
      ok: false,
      reason: 'ContainersNotReady',
      message: `containers with unready status: ${goList(unready)}`,
    };
  }
  return { ok: true };
}

function readinessGates(view: PodView): string[] {
  const problems: string[] = [];
  for (const gate of view.pod.spec?.readinessGates ?? []) {
    const c = view.pod.status?.conditions?.find((x) => x.type === gate.conditionType);
    if (!c)
      problems.push(`corresponding condition of pod readiness gate "${gate.conditionType}" does not exist.`);
    else if (c.status !== 'True') {
      problems.push(
        `the status of pod readiness gate "${gate.conditionType}" is not "True", but ${c.status}`,
      );
    }
  }
  return problems;
}

function terminatedObject(t: TerminatedState) {
  return {
    exitCode: t.exitCode,
    reason: t.reason,
    ...(t.message ? { message: t.message } : {}),
    startedAt: t.startedAt,
    finishedAt: t.finishedAt,
    ...(t.containerID ? { containerID: t.containerID } : {}),
  };
}

function containerStatus(c: ContainerView): ContainerStatusObject {
  const s = c.state;
  const state =
    s.kind === 'waiting'
      ? { waiting: { reason: s.reason, ...(s.message ? { message: s.message } : {}) } }
      : s.kind === 'running'
        ? { running: { startedAt: s.startedAt } }
        : { terminated: terminatedObject(s) };
  return {
    name: c.name,
    state,
    lastState: c.lastState ? { terminated: terminatedObject(c.lastState) } : {},
    ready: isReady(c),
    restartCount: c.restartCount,
    image: c.image,
    imageID: c.imageID,
    ...(c.containerID ? { containerID: c.containerID } : {}),
    started: c.kind === 'init' ? s.kind === 'running' : isStarted(c),
    ...(c.volumeMounts.length > 0
      ? {
          volumeMounts: c.volumeMounts.map((m) => ({
            name: m.name,
            mountPath: m.mountPath,
            ...(m.readOnly ? { readOnly: true } : {}),
            recursiveReadOnly: 'Disabled',
          })),
        }
      : {}),
  } as ContainerStatusObject;
}

const kubeletConditions = new Set([
  'PodScheduled',
  'Ready',
  'Initialized',
  'ContainersReady',
  'PodReadyToStartContainers',
]);

/** The whole status the kubelet writes, and the phase in it. */
export function generatePodStatus(view: PodView): { status: PodStatusObject; phase: Phase } {
  const pod = view.pod;
  const restartPolicy = pod.spec?.restartPolicy ?? 'Always';
  let phase = getPhase(view.containers, restartPolicy, view.podIsTerminal);
  const apiPhase = pod.status?.phase;
  const terminal = (p: string | undefined): p is 'Succeeded' | 'Failed' =>
    p === 'Succeeded' || p === 'Failed';
  if (!terminal(phase)) {
    if (terminal(view.previousPhase)) phase = view.previousPhase;
    else if (terminal(apiPhase)) phase = apiPhase;
  }
  let reason: string | undefined;
  let message: string | undefined;
  if (phase === view.previousPhase) {
    reason = view.previousReason;
    message = view.previousMessage;
  }
  if (view.forced) {
    phase = 'Failed';
    reason = view.forced.reason;
    message = view.forced.message;
  }
  if (terminal(apiPhase) && phase !== apiPhase) phase = apiPhase;
  if (view.finalized && !terminal(phase)) phase = 'Failed';

  const conditions: ConditionObject[] = [];
  for (const c of pod.status?.conditions ?? []) {
    if (!kubeletConditions.has(c.type) && !(view.disruption && c.type === 'DisruptionTarget'))
      conditions.push(c);
  }
  if (view.disruption) {
    const before = view.previous?.conditions?.find((c) => c.type === 'DisruptionTarget');
    conditions.push({
      type: 'DisruptionTarget',
      status: 'True',
      lastProbeTime: null as unknown as string,
      lastTransitionTime: before?.lastTransitionTime ?? view.disruption.at,
      reason: view.disruption.reason,
      message: view.disruption.message,
    });
  }
  conditions.push(condition('PodReadyToStartContainers', view.sandboxReady, view.previous, view.now));
  conditions.push(initializedCondition(view, phase));
  const cr = containersReady(view, phase);
  const gateProblems = cr.ok ? readinessGates(view) : [];
  if (cr.ok && gateProblems.length > 0) {
    conditions.push(
      condition('Ready', false, view.previous, view.now, 'ReadinessGatesNotReady', gateProblems.join(', ')),
    );
  } else {
    conditions.push(condition('Ready', cr.ok, view.previous, view.now, cr.reason, cr.message));
  }
  conditions.push(condition('ContainersReady', cr.ok, view.previous, view.now, cr.reason, cr.message));
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'True');
  conditions.push(
    scheduled
      ? { ...scheduled, lastProbeTime: null as unknown as string }
      : condition('PodScheduled', true, view.previous, view.now),
  );

  const init = view.containers.filter((c) => c.kind !== 'regular');
  const regular = view.containers
    .filter((c) => c.kind === 'regular')
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const status: PodStatusObject = {
    phase,
    conditions,
    ...(message ? { message } : {}),
    ...(reason ? { reason } : {}),
    hostIP: view.hostIP,
    hostIPs: [{ ip: view.hostIP }],
    ...(view.podIP ? { podIP: view.podIP, podIPs: [{ ip: view.podIP }] } : {}),
    startTime: view.startTime,
    ...(init.length > 0 ? { initContainerStatuses: init.map(containerStatus) } : {}),
    containerStatuses: regular.map(containerStatus),
    qosClass: pod.status?.qosClass ?? qosClass(pod),
  };
  return { status, phase };
}
