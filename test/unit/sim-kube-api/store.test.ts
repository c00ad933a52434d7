import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/sim/kube/api/status.ts';
import { ObjectStore, type StoreEvent } from '../../../src/sim/kube/api/store.ts';

function makeStore(historySize = 100) {
  const store = new ObjectStore({ historySize });
  store.register('pods', 'Pod', 'v1');
  store.register('secrets', 'Secret', 'v1');
  return store;
}

const pod = (name: string, extra: Record<string, unknown> = {}) => ({
  metadata: { name, namespace: 'ns', uid: `uid-${name}` },
  ...extra,
});

describe('ObjectStore', () => {
  it('gives every write the next cluster-wide resourceVersion; a no-op update writes nothing', () => {
    const store = makeStore();
    const start = store.currentRv();
    const a = store.create('pods', pod('a'));
    const s = store.create('secrets', pod('s'));
    expect([a.rv, s.rv]).toEqual([start + 1, start + 2]);
    expect(a.obj.metadata.resourceVersion).toBe(String(a.rv));
    expect(Object.isFrozen(a.obj.metadata)).toBe(true);
    const events: StoreEvent[] = [];
    store.watch('pods', undefined, { namespace: '', deliver: (e) => events.push(e) });
    const same = store.update('pods', { ...a.clone(), metadata: { ...a.obj.metadata } });
    expect(same).toBe(a);
    expect(events).toEqual([]);
    const changed = store.update('pods', { ...a.clone(), spec: { x: 1 } });
    expect(changed.rv).toBe(start + 3);
    expect(changed.itemJson).toBe(JSON.stringify(changed.obj));
    expect(events.map((e) => `${e.type} ${e.entry.rv} ${e.prev?.rv}`)).toEqual([
      `MODIFIED ${start + 3} ${start + 1}`,
    ]);
    const removed = store.remove('pods', 'ns', 'a')!;
    expect(removed.rv).toBe(start + 4);
    expect(removed.obj.spec).toEqual({ x: 1 });
    expect(events.at(-1)?.type).toBe('DELETED');
  });

  it('lists in namespace/name order, with kind only on standalone JSON', () => {
    const store = makeStore();
    store.create('pods', pod('b'));
    store.create('pods', { metadata: { name: 'a', namespace: 'zz', uid: 'u1' } });
    store.create('pods', pod('a'));
    expect(store.list('pods', '').map((e) => `${e.namespace}/${e.name}`)).toEqual(['ns/a', 'ns/b', 'zz/a']);
    expect(store.list('pods', 'ns').map((e) => e.name)).toEqual(['a', 'b']);
    const entry = store.get('pods', 'ns', 'a')!;
    expect(JSON.parse(entry.itemJson)).not.toHaveProperty('kind');
    expect(entry.fullJson.startsWith('{"kind":"Pod","apiVersion":"v1","metadata"')).toBe(true);
    expect(entry.clone(true)).toMatchObject({ kind: 'Pod', apiVersion: 'v1', metadata: { name: 'a' } });
  });

  it('replays history after a resourceVersion and answers 410 beyond it', () => {
    const store = makeStore(3);
    const first = store.create('pods', pod('a'));
    for (let i = 0; i < 5; i++) store.update('pods', { ...first.clone(), spec: { i } });
    const seen: number[] = [];
    expect(() => store.watch('pods', first.rv, { namespace: '', deliver: () => {} })).toThrowError(ApiError);
    try {
      store.watch('pods', first.rv, { namespace: '', deliver: () => {} });
    } catch (err) {
      expect((err as ApiError).code).toBe(410);
      expect((err as ApiError).message).toMatch(
        new RegExp(`^too old resource version: ${first.rv} \\(\\d+\\)$`),
      );
    }
    store.watch('pods', store.currentRv() - 2, { namespace: '', deliver: (e) => seen.push(e.entry.rv) });
    expect(seen).toEqual([store.currentRv() - 1, store.currentRv()]);
  });

  it('delivers writes made by a listener after the current event, in resourceVersion order, once', () => {
    const store = makeStore();
    const a = store.create('pods', pod('a'));
    const order: string[] = [];
    store.watch('pods', undefined, {
      namespace: '',
      deliver: (e) => {
        order.push(`first ${e.entry.rv}`);
        if (e.entry.obj.spec === undefined)
          store.update('pods', { ...e.entry.clone(), spec: { reacted: true } });
      },
    });
    store.watch('pods', undefined, { namespace: '', deliver: (e) => order.push(`second ${e.entry.rv}`) });
    store.update('pods', { ...a.clone(), metadata: { ...a.obj.metadata, labels: { x: 'y' } } });
    const rv = store.currentRv();
    expect(order).toEqual([`first ${rv - 1}`, `second ${rv - 1}`, `first ${rv}`, `second ${rv}`]);
  });

  it('filters watchers by namespace and reports listener errors without stopping', () => {
    const errors: unknown[] = [];
    const store = new ObjectStore({ historySize: 10, onListenerError: (e) => errors.push(e) });
    store.register('pods', 'Pod', 'v1');
    const seen: string[] = [];
    store.onChange(() => {
      throw new Error('listener bug');
    });
    store.watch('pods', undefined, { namespace: 'other', deliver: (e) => seen.push(e.entry.name) });
    store.create('pods', pod('a'));
    store.create('pods', { metadata: { name: 'b', namespace: 'other', uid: 'ub' } });
    expect(seen).toEqual(['b']);
    expect(errors).toHaveLength(2);
  });
});
