import { describe, expect, it } from 'vitest';
import { Capacity, RunnerPool, type Slot } from '../../../src/manager/capacity.ts';
import { RunnerHealth } from '../../../src/manager/runner-health.ts';

describe('Capacity', () => {
  it('grants up to concurrent, then queues waiters in order', async () => {
    const cap = new Capacity(2);
    const pool = new RunnerPool(0);
    const a = await cap.acquire(pool);
    await cap.acquire(pool);
    const order: string[] = [];
    const record = (name: string) => (s: Slot) => {
      order.push(name);
      return s;
    };
    const c = cap.acquire(pool).then(record('c'));
    const d = cap.acquire(pool).then(record('d'));
    expect(cap.inUse).toBe(2);
    a.release();
    a.release();
    await c;
    expect(order).toEqual(['c']);
    expect(cap.inUse).toBe(2);
    (await c).release();
    await d;
    expect(order).toEqual(['c', 'd']);
  });

  it('respects each runner limit without blocking other runners', async () => {
    const cap = new Capacity(10);
    const limited = new RunnerPool(1);
    const free = new RunnerPool(0);
    const first = await cap.acquire(limited);
    let second = false;
    const pending = cap.acquire(limited).then((s) => {
      second = true;
      return s;
    });
    await cap.acquire(free);
    await cap.acquire(free);
    expect(second).toBe(false);
    expect(limited.used).toBe(1);
    first.release();
    await pending;
    expect(limited.used).toBe(1);
    expect(cap.inUse).toBe(3);
  });

  it('applies a new concurrent and a raised limit to waiters', async () => {
    const cap = new Capacity(1);
    const pool = new RunnerPool(1);
    await cap.acquire(pool);
    const waiting = cap.acquire(pool);
    cap.setConcurrent(2);
    pool.limit = 2;
    cap.poolChanged();
    await waiting;
    expect(cap.inUse).toBe(2);
  });

  it('an aborted wait leaves the queue', async () => {
    const cap = new Capacity(1);
    const pool = new RunnerPool(0);
    const held = await cap.acquire(pool);
    const controller = new AbortController();
    const waiting = cap.acquire(pool, controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    held.release();
    expect(cap.inUse).toBe(0);
    await expect(cap.acquire(pool, controller.signal)).rejects.toThrow('stop');
  });

  it('force takes a slot beyond the caps (adopted jobs)', () => {
    const cap = new Capacity(1);
    const pool = new RunnerPool(1);
    cap.force(pool);
    cap.force(pool);
    expect(cap.inUse).toBe(2);
    expect(pool.hasRoom).toBe(false);
  });
});

describe('RunnerHealth', () => {
  it('pauses after the limit of consecutive failures until the interval since the last healthy answer', () => {
    let now = 1000;
    const h = new RunnerHealth(3, 60_000, () => now);
    expect(h.unhealthy()).toBe(false);
    h.healthy();
    expect(h.unhealthy()).toBe(false);
    expect(h.unhealthy()).toBe(false);
    expect(h.pausedForMs()).toBe(0);
    expect(h.unhealthy()).toBe(true);
    now += 10_000;
    expect(h.pausedForMs()).toBe(50_000);
    now += 50_000;
    expect(h.pausedForMs()).toBe(0);
    expect(h.unhealthy()).toBe(false);
    expect(h.unhealthy()).toBe(false);
    expect(h.unhealthy()).toBe(true);
    expect(h.pausedForMs()).toBe(60_000);
  });
});
