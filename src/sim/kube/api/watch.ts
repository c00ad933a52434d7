// `?watch=true`: newline-delimited events, flushed one by one. Synthetic ADDEDs for a watch without a
// resourceVersion (or "0"), replay after a given resourceVersion, 410 Expired (as an ERROR event on a
// 200 stream) when that version is older than the history, selector transitions as ADDED/DELETED,
// BOOKMARKs when allowed, Tables for `kubectl get -w`, and a server-side end at the deadline (the
// client's `timeoutSeconds`, else 30–60 minutes, or sooner when faults say so).
import type { ServerResponse } from 'node:http';
import type { FaultInjector } from './faults.ts';
import type { Representation } from './http/negotiate.ts';
import type { OpenStreams } from './http/streams.ts';
import type { Registry, Selection } from './registry.ts';
import { type IncludeObject, objectJson, tableJson } from './render.ts';
import type { ResourceDef } from './resources.ts';
import { ApiError } from './status.ts';
import { eventLine, type StoreEvent } from './store.ts';
import type { KubeObject } from './types.ts';

export interface WatchSettings {
  /** How often a watch with allowWatchBookmarks gets a BOOKMARK. */
  bookmarkIntervalMs: number;
  /** A watcher whose unsent output grows beyond this is dropped, like a slow watcher on a real server. */
  maxBufferedBytes: number;
}

export interface WatchRequest {
  def: ResourceDef;
  namespace: string;
  selection: Selection;
  /** undefined: start with synthetic ADDED events for what exists now. */
  sinceRv: number | undefined;
  timeoutSeconds: number | undefined;
  allowBookmarks: boolean;
  sendInitialEvents: boolean;
  representation: Representation;
  includeObject: IncludeObject;
}

type OutType = 'ADDED' | 'MODIFIED' | 'DELETED';

export function serveWatch(
  registry: Registry,
  faults: FaultInjector,
  settings: WatchSettings,
  streams: OpenStreams,
  res: ServerResponse,
  request: WatchRequest,
): void {
  const { def, selection, representation } = request;
  const table = representation.kind === 'table' ? representation : undefined;
  let sentColumns = false;
  let ended = false;
  const timers: NodeJS.Timeout[] = [];
  let unsubscribe: (() => void) | undefined;

  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Transfer-Encoding', 'chunked');
  res.flushHeaders();

  const finish = () => {
    if (ended) return;
    ended = true;
    release();
    for (const t of timers) clearTimeout(t);
    unsubscribe?.();
    if (!res.writableEnded) res.end();
  };
  const release = streams.add(finish);
  res.on('close', finish);

  const write = (line: string) => {
    if (ended || res.writableEnded) return;
    res.write(line);
    if (res.writableLength > settings.maxBufferedBytes) {
      ended = true;
      for (const t of timers) clearTimeout(t);
      unsubscribe?.();
      res.destroy();
    }
  };

  const objectText = (obj: KubeObject, fullJson: string | undefined): string => {
    if (table) {
      const text = tableJson(
        def,
        [{ obj, ...(fullJson ? { fullJson } : {}) }],
        undefined,
        {
          version: table.version,
          includeObject: request.includeObject,
          withColumns: !sentColumns,
        },
        registry.now(),
      );
      sentColumns = true;
      return text;
    }
    return fullJson ?? objectJson(def, obj);
  };

  const send = (type: OutType, obj: KubeObject, fullJson: string | undefined) => {
    write(`{"type":"${type}","object":${objectText(obj, fullJson)}}\n`);
    if (faults.dropWatchAfterEvent()) finish();
  };

  const sendError = (err: ApiError) => {
    write(`{"type":"ERROR","object":${JSON.stringify(err.toStatus())}}\n`);
  };

  const bookmark = (annotations?: Record<string, string>) => {
    const rv = String(registry.store.currentRv());
    const metadata = {
      resourceVersion: rv,
      creationTimestamp: null,
      ...(annotations ? { annotations } : {}),
    };
    const object = table
      ? {
          kind: 'Table',
          apiVersion: `meta.k8s.io/${table.version}`,
          metadata: { resourceVersion: rv },
          columnDefinitions: null,
          rows: null,
        }
      : { kind: def.kind, apiVersion: def.apiVersion, metadata };
    write(`{"type":"BOOKMARK","object":${JSON.stringify(object)}}\n`);
  };

  const deliver = (event: StoreEvent) => {
    if (ended) return;
    if (request.sinceRv !== undefined && event.entry.rv <= request.sinceRv) return;
    const now = registry.matches(def, selection, event.entry.obj);
    const before =
      event.prev !== undefined &&
      event.type !== 'DELETED' &&
      registry.matches(def, selection, event.prev.obj);
    const plain = !table;
    if (event.type === 'ADDED') {
      if (now) plain ? write(eventLine(event)) : send('ADDED', event.entry.obj, event.entry.fullJson);
      else return;
    } else if (event.type === 'DELETED') {
      if (now) plain ? write(eventLine(event)) : send('DELETED', event.entry.obj, event.entry.fullJson);
      else return;
    } else if (now && before) {
      plain ? write(eventLine(event)) : send('MODIFIED', event.entry.obj, event.entry.fullJson);
    } else if (now) {
      send('ADDED', event.entry.obj, event.entry.fullJson);
    } else if (before) {
      // stopped matching: DELETED with the last matching state and this change's resourceVersion
      const prev = event.prev!.obj;
      send(
        'DELETED',
        { ...prev, metadata: { ...prev.metadata, resourceVersion: String(event.entry.rv) } },
        undefined,
      );
    } else return;
    if (plain && faults.dropWatchAfterEvent()) finish();
  };

  // deadline: the client's timeoutSeconds, else min-request-timeout × (1 + rand); faults may cut it short
  let lifetimeMs =
    request.timeoutSeconds !== undefined && request.timeoutSeconds > 0
      ? request.timeoutSeconds * 1000
      : (1800 + Math.random() * 1800) * 1000;
  const faultLifetime = faults.watchLifetimeMs();
  if (faultLifetime !== undefined) lifetimeMs = Math.min(lifetimeMs, faultLifetime);
  const deadline = setTimeout(finish, lifetimeMs);
  deadline.unref();
  timers.push(deadline);
  if (request.allowBookmarks) {
    const interval = setInterval(() => bookmark(), settings.bookmarkIntervalMs);
    interval.unref();
    timers.push(interval);
    if (lifetimeMs > 3000) {
      const beforeDeadline = setTimeout(() => bookmark(), lifetimeMs - 2000);
      beforeDeadline.unref();
      timers.push(beforeDeadline);
    }
  }

  if (request.sinceRv !== undefined && faults.expireWatch()) {
    sendError(
      new ApiError(
        410,
        'Expired',
        `too old resource version: ${request.sinceRv} (${registry.store.currentRv()})`,
      ),
    );
    finish();
    return;
  }

  try {
    if (request.sinceRv === undefined) {
      for (const entry of registry.list(def, request.namespace, selection).items) {
        if (!table) write(`{"type":"ADDED","object":${entry.fullJson}}\n`);
        else send('ADDED', entry.obj, entry.fullJson);
        if (ended) return;
      }
      if (request.sendInitialEvents) bookmark({ 'k8s.io/initial-events-end': 'true' });
    }
    unsubscribe = registry.store.watch(def.resource, request.sinceRv, {
      namespace: def.namespaced ? request.namespace : '',
      deliver,
    });
    if (ended) unsubscribe();
  } catch (err) {
    if (err instanceof ApiError) {
      sendError(err);
      finish();
      return;
    }
    throw err;
  }
}
