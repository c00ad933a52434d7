// The kubelet's core/v1 event recorder (client-go `tools/record`), running against the store: event
// names `<object>.<hex nanoseconds>`, identical events folded into one with `count`/`lastTimestamp`
// (4096-entry LRU, no time window), similar messages combined after 10 within 10 minutes, a spam
// filter of 25 events then one per 5 minutes per source/object/type, and expiry after the event TTL.
import type { KubeletEvent } from '../kubelet-store.ts';
import type { Registry } from './registry.ts';
import { events as eventsDef } from './resources.ts';
import { formatTime } from './time.ts';
import type { KubeObject } from './types.ts';

const lruSize = 4096;
const aggregateMax = 10;
const aggregateWindowMs = 10 * 60 * 1000;
const spamBurst = 25;
const spamRefillMs = 5 * 60 * 1000;

interface AggregateRecord {
  messages: Set<string>;
  lastSeen: number;
}

interface SpamBucket {
  tokens: number;
  updated: number;
}

export interface EventRecorderOptions {
  /** Events older than this are deleted (`--event-ttl`, 1 h). */
  ttlMs: number;
}

export class EventRecorder {
  private readonly registry: Registry;
  private readonly options: EventRecorderOptions;
  /** fold key → event name, in LRU order */
  private readonly folded = new Map<string, { namespace: string; name: string }>();
  private readonly aggregates = new Map<string, AggregateRecord>();
  private readonly spam = new Map<string, SpamBucket>();
  private lastNanos = 0n;
  private readonly sweeper: NodeJS.Timeout;

  constructor(registry: Registry, options: EventRecorderOptions) {
    this.registry = registry;
    this.options = options;
    this.sweeper = setInterval(() => this.expire(), Math.min(60_000, Math.max(1000, options.ttlMs / 4)));
    this.sweeper.unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  record(event: KubeletEvent): void {
    const now = this.registry.now();
    const involved = event.involvedObject;
    const source = {
      component: event.source.component,
      ...(event.source.host ? { host: event.source.host } : {}),
    };
    const objectKey = [
      involved.kind,
      involved.namespace,
      involved.name,
      involved.uid,
      involved.apiVersion,
    ].join('\u0000');
    const sourceKey = `${source.component}\u0000${source.host ?? ''}`;

    const spamKey = `${sourceKey}\u0000${objectKey}\u0000${event.type}`;
    if (!this.allow(spamKey, now)) return;

    let message = event.message;
    let foldKey = [
      sourceKey,
      objectKey,
      involved.fieldPath ?? '',
      event.type,
      event.reason,
      event.message,
    ].join('\u0000');
    const aggregateKey = [sourceKey, objectKey, event.type, event.reason].join('\u0000');
    let record = this.aggregates.get(aggregateKey);
    if (!record || now - record.lastSeen > aggregateWindowMs) {
      record = { messages: new Set(), lastSeen: now };
      this.aggregates.set(aggregateKey, record);
    }
    record.lastSeen = now;
    record.messages.add(foldKey);
    if (record.messages.size >= aggregateMax) {
      record.messages.delete(record.messages.values().next().value!);
      message = `(combined from similar events): ${event.message}`;
      foldKey = aggregateKey;
    }

    const namespace = involved.namespace || 'default';
    const previous = this.folded.get(foldKey);
    if (previous) {
      this.folded.delete(foldKey);
      this.folded.set(foldKey, previous);
      const existing = this.registry.store.get('events', previous.namespace, previous.name);
      if (existing) {
        const obj = existing.clone();
        obj.count = ((obj.count as number | undefined) ?? 1) + 1;
        obj.lastTimestamp = formatTime(now);
        obj.message = message;
        this.registry.writeInternal(eventsDef, obj);
        return;
      }
    }
    const name = `${involved.name}.${this.nanos(now).toString(16)}`;
    const obj: KubeObject = {
      metadata: { name, namespace },
      involvedObject: {
        kind: involved.kind,
        namespace: involved.namespace,
        name: involved.name,
        uid: involved.uid,
        apiVersion: involved.apiVersion,
        ...(involved.resourceVersion ? { resourceVersion: involved.resourceVersion } : {}),
        ...(involved.fieldPath ? { fieldPath: involved.fieldPath } : {}),
      },
      reason: event.reason,
      message,
      source,
      firstTimestamp: formatTime(now),
      lastTimestamp: formatTime(now),
      count: 1,
      type: event.type,
      eventTime: null,
      reportingComponent: source.component,
      reportingInstance: source.host ?? '',
    };
    if (!this.registry.store.get('namespaces', '', namespace)) return;
    this.registry.createInternal(eventsDef, obj);
    this.folded.set(foldKey, { namespace, name });
    if (this.folded.size > lruSize) this.folded.delete(this.folded.keys().next().value!);
  }

  /** Token bucket: a burst of 25, then one event per 5 minutes. */
  private allow(key: string, now: number): boolean {
    let bucket = this.spam.get(key);
    if (!bucket) {
      bucket = { tokens: spamBurst, updated: now };
      this.spam.set(key, bucket);
      if (this.spam.size > lruSize) this.spam.delete(this.spam.keys().next().value!);
    }
    const refill = Math.floor((now - bucket.updated) / spamRefillMs);
    if (refill > 0) {
      bucket.tokens = Math.min(spamBurst, bucket.tokens + refill);
      bucket.updated += refill * spamRefillMs;
    }
    if (bucket.tokens <= 0) return false;
    bucket.tokens--;
    return true;
  }

  /** Unique, increasing Unix nanoseconds (the name suffix). */
  private nanos(now: number): bigint {
    let n = BigInt(now) * 1_000_000n + BigInt(Math.floor((performance.now() % 1) * 1_000_000));
    if (n <= this.lastNanos) n = this.lastNanos + 1n;
    this.lastNanos = n;
    return n;
  }

  /** Deletes events older than the TTL. */
  expire(): void {
    const cutoff = this.registry.now() - this.options.ttlMs;
    for (const entry of [...this.registry.store.list('events', '')]) {
      const obj = entry.obj as KubeObject & { lastTimestamp?: string; eventTime?: string | null };
      const last = Date.parse(
        obj.lastTimestamp ?? obj.eventTime ?? entry.obj.metadata.creationTimestamp ?? '',
      );
      if (!Number.isNaN(last) && last < cutoff)
        this.registry.removeNow(eventsDef, entry.namespace, entry.name);
    }
  }
}
