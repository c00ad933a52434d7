// `GET …/pods/NAME/log`: the API server's checks (pod, container, scheduling) and then the kubelet's
// (the container's state in the pod status decides between logs and the 400 `… is waiting to start: …`
// family), then the log itself: `tailLines`, `sinceTime`/`sinceSeconds`, `timestamps` (nine fraction
// digits), `limitBytes` (mid-line), `follow` until the run ends, and injected stream drops.
import type { ServerResponse } from 'node:http';
import type { V1ContainerStatus } from '@kubernetes/client-node';
import type { PodObject, Wire } from '../kubelet-store.ts';
import type { FaultInjector } from './faults.ts';
import type { OpenStreams } from './http/streams.ts';
import type { ContainerRun, LogPiece, LogStore } from './logs.ts';
import type { Registry } from './registry.ts';
import { pods } from './resources.ts';
import { badRequest, type FieldError, invalid, invalidField } from './status.ts';
import { formatNanoTime, parseTime } from './time.ts';

type ContainerStatus = Wire<V1ContainerStatus>;

interface LogOptions {
  container: string | undefined;
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  sinceMs: number | undefined;
  tailLines: number | undefined;
  limitBytes: number | undefined;
}

export function parseBool(value: string | null): boolean {
  return value !== null && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value);
}

function parseInteger(name: string, value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  if (!/^-?\d+$/.test(value))
    throw badRequest(`${name}: strconv.ParseInt: parsing "${value}": invalid syntax`);
  return Number(value);
}

function parseLogOptions(name: string, query: URLSearchParams, now: number): LogOptions {
  const tailLines = parseInteger('tailLines', query.get('tailLines'));
  const limitBytes = parseInteger('limitBytes', query.get('limitBytes'));
  const sinceSeconds = parseInteger('sinceSeconds', query.get('sinceSeconds'));
  const sinceTimeText = query.get('sinceTime');
  let sinceTime: number | undefined;
  if (sinceTimeText !== null && sinceTimeText !== '') {
    sinceTime = parseTime(sinceTimeText);
    if (sinceTime === undefined) {
      throw badRequest(
        `parsing time "${sinceTimeText}" as "2006-01-02T15:04:05Z07:00": cannot parse "${sinceTimeText}" as "2006"`,
      );
    }
    sinceTime = Math.floor(sinceTime / 1000) * 1000; // the API server passes it on with second precision
  }
  const errors: FieldError[] = [];
  if (tailLines !== undefined && tailLines < 0)
    errors.push(invalidField('tailLines', tailLines, 'must be greater than or equal to 0'));
  if (limitBytes !== undefined && limitBytes < 1)
    errors.push(invalidField('limitBytes', limitBytes, 'must be greater than 0'));
  if (sinceSeconds !== undefined && sinceSeconds < 1)
    errors.push(invalidField('sinceSeconds', sinceSeconds, 'must be greater than 0'));
  if (sinceSeconds !== undefined && sinceTime !== undefined) {
    errors.push({
      type: 'FieldValueForbidden',
      field: '',
      detail: 'Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified',
    });
  }
  if (errors.length > 0) throw invalid('PodLogOptions', name, errors);
  return {
    container: query.get('container') || undefined,
    follow: parseBool(query.get('follow')),
    previous: parseBool(query.get('previous')),
    timestamps: parseBool(query.get('timestamps')),
    sinceMs: sinceTime ?? (sinceSeconds !== undefined ? now - sinceSeconds * 1000 : undefined),
    tailLines,
    limitBytes,
  };
}

function containerNames(pod: PodObject): { init: string[]; regular: string[]; ephemeral: string[] } {
  return {
    init: (pod.spec?.initContainers ?? []).map((c) => c.name),
    regular: (pod.spec?.containers ?? []).map((c) => c.name),
    ephemeral: (pod.spec?.ephemeralContainers ?? []).map((c) => c.name),
  };
}

/** The API server's `LogLocation` checks. */
function pickContainer(pod: PodObject, requested: string | undefined): string {
  const name = pod.metadata?.name ?? '';
  const names = containerNames(pod);
  if (requested === undefined) {
    if (names.regular.length === 1) return names.regular[0]!;
    const all = [...names.init, ...names.regular, ...names.ephemeral];
    throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${all.join(' ')}]`);
  }
  if (![...names.init, ...names.regular, ...names.ephemeral].includes(requested)) {
    throw badRequest(`container ${requested} is not valid for pod ${name}`);
  }
  return requested;
}

type Source = { instance: 'current' | 'last-terminated' };

/** The kubelet's `validateContainerLogStatus`. */
function logSource(pod: PodObject, container: string, previous: boolean): Source {
  const podName = pod.metadata?.name ?? '';
  const status = pod.status;
  const all: ContainerStatus[] = [
    ...(status?.containerStatuses ?? []),
    ...(status?.initContainerStatuses ?? []),
    ...(status?.ephemeralContainerStatuses ?? []),
  ];
  const cs = all.find((s) => s.name === container);
  if (!cs) throw badRequest(`container "${container}" in pod "${podName}" is not available`);
  const { running, terminated, waiting } = cs.state ?? {};
  const last = cs.lastState?.terminated;
  if (previous) {
    if (!last?.containerID)
      throw badRequest(`previous terminated container "${container}" in pod "${podName}" not found`);
    return { instance: 'last-terminated' };
  }
  if (running) return { instance: 'current' };
  if (terminated) {
    if (terminated.containerID) return { instance: 'current' };
    if (last?.containerID) return { instance: 'last-terminated' };
    throw badRequest(`container "${container}" in pod "${podName}" is terminated`);
  }
  if (last) {
    if (!last.containerID) throw badRequest(`container "${container}" in pod "${podName}" is terminated`);
    return { instance: 'last-terminated' };
  }
  if (waiting) {
    const reason = waiting.reason ?? '';
    if (reason === 'ErrImagePull')
      throw badRequest(
        `container "${container}" in pod "${podName}" is waiting to start: image can't be pulled`,
      );
    if (reason === 'ImagePullBackOff')
      throw badRequest(
        `container "${container}" in pod "${podName}" is waiting to start: trying and failing to pull image`,
      );
    throw badRequest(`container "${container}" in pod "${podName}" is waiting to start: ${reason}`);
  }
  throw badRequest(`container "${container}" in pod "${podName}" is waiting to start - no logs yet`);
}

function findRun(
  logs: LogStore,
  pod: PodObject,
  container: string,
  source: Source,
): ContainerRun | undefined {
  const uid = pod.metadata?.uid ?? '';
  const current = logs.current(uid, container);
  if (source.instance === 'current') return current;
  // the last terminated instance: the current run while no new one has started, else the one before
  const cs = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].find(
    (s) => s.name === container,
  );
  const newInstanceStarted =
    cs?.state?.running !== undefined || cs?.state?.terminated?.containerID !== undefined;
  if (!newInstanceStarted && current?.closed) return current;
  return logs.previous(uid, container);
}

export function serveLogs(
  registry: Registry,
  logs: LogStore,
  faults: FaultInjector,
  streams: OpenStreams,
  res: ServerResponse,
  namespace: string,
  name: string,
  query: URLSearchParams,
): void {
  const options = parseLogOptions(name, query, registry.now());
  const pod = registry.get(pods, namespace, name).obj as PodObject;
  const container = pickContainer(pod, options.container);
  if (!pod.spec?.nodeName) {
    res.statusCode = 204;
    res.end();
    return;
  }
  const source = logSource(pod, container, options.previous);
  const run = findRun(logs, pod, container, source);
  const drop = faults.logDrop(pod.metadata?.annotations);

  res.statusCode = 200;
  res.setHeader('Content-Type', 'text/plain');
  res.setHeader('Transfer-Encoding', 'chunked');
  res.flushHeaders();

  let written = 0;
  let finished = false;
  let unsubscribe: (() => void) | undefined;
  const finish = (reset = false) => {
    if (finished) return;
    finished = true;
    release();
    unsubscribe?.();
    if (reset) res.destroy();
    else if (!res.writableEnded) res.end();
  };
  const release = streams.add(() => finish());
  res.on('close', () => finish());

  const emit = (text: Buffer): boolean => {
    let chunk = text;
    if (options.limitBytes !== undefined && written + chunk.length > options.limitBytes) {
      chunk = chunk.subarray(0, options.limitBytes - written);
    }
    if (drop && written + chunk.length > drop.afterBytes)
      chunk = chunk.subarray(0, Math.max(0, drop.afterBytes - written));
    if (chunk.length > 0) res.write(chunk);
    written += chunk.length;
    if (drop && written >= drop.afterBytes) {
      finish(drop.mode === 'reset');
      return false;
    }
    if (options.limitBytes !== undefined && written >= options.limitBytes) {
      finish();
      return false;
    }
    return true;
  };

  if (!run) {
    finish();
    return;
  }
  let next = run.firstIndex;
  if (options.tailLines !== undefined) next = Math.max(run.firstIndex, run.endIndex - options.tailLines);
  let skippingLine = false;

  const pump = (): boolean => {
    if (next < run.firstIndex) next = run.firstIndex;
    while (next < run.endIndex) {
      const piece = run.piece(next++) as LogPiece;
      if (!piece.continuation) skippingLine = options.sinceMs !== undefined && piece.time < options.sinceMs;
      if (skippingLine) continue;
      const prefix =
        options.timestamps && !piece.continuation ? `${formatNanoTime(piece.time, piece.nanos)} ` : '';
      if (!emit(prefix ? Buffer.concat([Buffer.from(prefix), piece.data]) : piece.data)) return false;
    }
    return true;
  };

  if (!pump()) return;
  if (!options.follow || run.closed) {
    finish();
    return;
  }
  unsubscribe = run.subscribe(() => {
    if (finished) return;
    if (!pump()) return;
    if (run.closed) finish();
  });
}
