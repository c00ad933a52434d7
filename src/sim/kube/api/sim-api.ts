// The embedded API server's parts put together: registry and store, log store, event recorder, garbage
// collector, fault injector, the cluster's initial objects, the KubeletStore, and the HTTP server.
import type { Server } from 'node:http';
import type { KubeletStore } from '../kubelet-store.ts';
import {
  createKubernetesService,
  createNamespace,
  createNode,
  createNodeLease,
  seedNamespaceObjects,
  systemNamespaces,
} from './cluster-objects.ts';
import { EventRecorder } from './events.ts';
import { type ApiFaults, FaultInjector, noFaults } from './faults.ts';
import { GarbageCollector } from './gc.ts';
import { OpenStreams } from './http/streams.ts';
import { createKubeletStore } from './kubelet-adapter.ts';
import { LogStore } from './logs.ts';
import { Registry } from './registry.ts';
import { type ApiRequestRecord, createApiServer } from './server.ts';
import { type Clock, systemClock } from './time.ts';

export interface SimKubeApiOptions {
  /** The node the simulator runs (its name, and what `--mode` it runs pods in). */
  nodeName?: string;
  runtimeMode?: string;
  /** Namespaces to create besides default, kube-system, kube-public and kube-node-lease. */
  namespaces?: string[];
  faults?: ApiFaults;
  clock?: Clock;
  /** Changes kept per resource for watch replay (default 10000; faults may set it). */
  historySize?: number;
  /** Delay before the garbage collector acts (default 100 ms). */
  gcDelayMs?: number;
  /** Event TTL (default 1 h). */
  eventTtlMs?: number;
  /** Per container run, before the log rotates (default 10 MiB). */
  logMaxBytes?: number;
  /** Mount the projected service account volume into pods that do not opt out (default true). */
  serviceAccountVolume?: boolean;
  /** BOOKMARK interval for watches that allow them (default 60 s). */
  bookmarkIntervalMs?: number;
  /** PEM served as `kube-root-ca.crt` (the TLS certificate when serving HTTPS). */
  caPem?: string;
  /** Unexpected errors (bugs) while serving a request or delivering a change. */
  onInternalError?: (err: unknown) => void;
}

export class SimKubeApi {
  readonly registry: Registry;
  readonly logs: LogStore;
  readonly events: EventRecorder;
  readonly gc: GarbageCollector;
  readonly faults: FaultInjector;
  readonly kubeletStore: KubeletStore;
  readonly nodeName: string;
  /** Watches and followed logs in progress (ended cleanly by `endStreams`). */
  readonly streams = new OpenStreams();
  private readonly options: SimKubeApiOptions;
  private readonly requestListeners = new Set<(request: ApiRequestRecord) => void>();

  constructor(options: SimKubeApiOptions = {}) {
    this.options = options;
    const clock = options.clock ?? systemClock;
    const faults = options.faults ?? noFaults;
    this.faults = new FaultInjector(faults);
    this.nodeName = options.nodeName ?? 'podrunner-sim';
    this.registry = new Registry({
      clock,
      historySize: faults.watch.historySize ?? options.historySize ?? 10_000,
      serviceAccountVolume: options.serviceAccountVolume ?? true,
      ...(options.onInternalError ? { onListenerError: options.onInternalError } : {}),
    });
    this.logs = new LogStore({ maxBytesPerRun: options.logMaxBytes ?? 10 * 1024 * 1024 });
    this.events = new EventRecorder(this.registry, { ttlMs: options.eventTtlMs ?? 3_600_000 });
    this.gc = new GarbageCollector(this.registry, { delayMs: options.gcDelayMs ?? 100 });
    this.registry.onRemoved((def, entry) => {
      if (def.resource === 'pods') this.logs.removePod(entry.uid);
    });
    seedNamespaceObjects(this.registry, options.caPem ?? '');
    for (const ns of [...systemNamespaces, ...(options.namespaces ?? [])]) createNamespace(this.registry, ns);
    createKubernetesService(this.registry);
    createNode(this.registry, this.nodeName, options.runtimeMode ?? 'virtual');
    createNodeLease(this.registry, this.nodeName);
    this.kubeletStore = createKubeletStore(this.registry, this.logs, this.events);
  }

  createServer(tls?: { cert: string | Buffer; key: string | Buffer }): Server {
    return createApiServer({
      registry: this.registry,
      logs: this.logs,
      faults: this.faults,
      watch: {
        bookmarkIntervalMs: this.bookmarkIntervalMs(),
        maxBufferedBytes: 64 * 1024 * 1024,
      },
      streams: this.streams,
      onRequest: (request) => {
        for (const listener of this.requestListeners) listener(request);
      },
      ...(tls ? { tls } : {}),
      ...(this.options.onInternalError ? { onInternalError: this.options.onInternalError } : {}),
    });
  }

  /** Every request the API server receives from now on (request accounting). Returns an unsubscribe. */
  onRequest(listener: (request: ApiRequestRecord) => void): () => void {
    this.requestListeners.add(listener);
    return () => this.requestListeners.delete(listener);
  }

  private bookmarkIntervalMs(): number {
    const fromFaults = this.faults.faults.watch.bookmarkIntervalSeconds;
    return fromFaults !== undefined ? fromFaults * 1000 : (this.options.bookmarkIntervalMs ?? 60_000);
  }

  /** Ends every open watch and log stream the way a server that stops does: a clean end of the body. */
  endStreams(): void {
    this.streams.endAll();
  }

  close(): void {
    this.endStreams();
    this.gc.stop();
    this.events.stop();
  }
}
