import { afterEach, describe, expect, it } from 'vitest';
import { EventRecorder } from '../../../src/sim/kube/api/events.ts';
import { Registry } from '../../../src/sim/kube/api/registry.ts';
import { namespaces } from '../../../src/sim/kube/api/resources.ts';
import type { KubeletEvent } from '../../../src/sim/kube/kubelet-store.ts';

let now = Date.parse('2025-03-01T10:00:00Z');
const recorders: EventRecorder[] = [];

function setup() {
  const registry = new Registry({ clock: () => now, historySize: 1000, serviceAccountVolume: false });
  registry.createInternal(namespaces, { metadata: { name: 'ci' } });
  const recorder = new EventRecorder(registry, { ttlMs: 3_600_000 });
  recorders.push(recorder);
  return {
    registry,
    recorder,
    events: () => registry.store.list('events', 'ci').map((e) => e.obj as Record<string, unknown>),
  };
}

afterEach(() => {
  for (const r of recorders.splice(0)) r.stop();
});

const event = (reason: string, message: string, fieldPath?: string): KubeletEvent => ({
  involvedObject: {
    apiVersion: 'v1',
    kind: 'Pod',
    namespace: 'ci',
    name: 'runner-x',
    uid: 'u-1',
    ...(fieldPath ? { fieldPath } : {}),
  },
  reason,
  message,
  type: 'Normal',
  source: { component: 'kubelet', host: 'node-1' },
});

describe('EventRecorder', () => {
  it('writes core/v1 events and folds identical ones into a count', () => {
    const { recorder, events } = setup();
    recorder.record(event('Pulling', 'Pulling image "alpine"', 'spec.containers{build}'));
    now += 5000;
    recorder.record(event('Pulling', 'Pulling image "alpine"', 'spec.containers{build}'));
    recorder.record(event('Pulling', 'Pulling image "alpine"', 'spec.containers{helper}'));
    const list = events();
    expect(list).toHaveLength(2);
    const folded = list.find(
      (e) => (e.involvedObject as { fieldPath: string }).fieldPath === 'spec.containers{build}',
    )!;
    expect(folded).toMatchObject({
      metadata: { name: expect.stringMatching(/^runner-x\.[0-9a-f]+$/), namespace: 'ci' },
      count: 2,
      firstTimestamp: '2025-03-01T10:00:00Z',
      lastTimestamp: '2025-03-01T10:00:05Z',
      source: { component: 'kubelet', host: 'node-1' },
      reportingComponent: 'kubelet',
      reportingInstance: 'node-1',
      eventTime: null,
    });
  });

  it('combines similar messages after ten, and drops a burst beyond 25 per object', () => {
    const { recorder, events } = setup();
    for (let i = 0; i < 12; i++) recorder.record(event('Unhealthy', `Readiness probe failed: ${i}`));
    const messages = events().map((e) => e.message as string);
    expect(messages.filter((m) => !m.startsWith('(combined'))).toHaveLength(9);
    const combined = events().find((e) =>
      (e.message as string).startsWith('(combined from similar events): '),
    )!;
    expect(combined).toMatchObject({
      message: '(combined from similar events): Readiness probe failed: 11',
      count: 3,
    });
    for (let i = 0; i < 20; i++) recorder.record(event('Other', `m${i}`));
    // 25 events per source/object/type get through (12 above + 13 here): 9 alone, 4 combined, 7 dropped
    const others = events().filter((e) => e.reason === 'Other');
    expect(others).toHaveLength(10);
    expect(others.find((e) => (e.message as string).startsWith('(combined'))).toMatchObject({
      count: 4,
      message: '(combined from similar events): m12',
    });
    now += 10 * 60_000;
    recorder.record(event('Late', 'after the refill'));
    expect(events().some((e) => e.reason === 'Late')).toBe(true);
  });

  it('expires events after the TTL', () => {
    const { recorder, events } = setup();
    recorder.record(event('Started', 'Started container build'));
    now += 3_600_001;
    recorder.expire();
    expect(events()).toEqual([]);
  });
});
