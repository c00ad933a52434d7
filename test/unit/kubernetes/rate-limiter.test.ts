import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../src/kubernetes/rate-limiter.ts';

describe('RateLimiter', () => {
  it('lets a burst through at once and spaces the rest at the sustained rate', async () => {
    let now = 0;
    const sleeps: number[] = [];
    const limiter = new RateLimiter({
      qps: 10,
      burst: 3,
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    for (let i = 0; i < 5; i++) await limiter.take();
    expect(sleeps).toEqual([100, 200]);
    now = 10_000; // a long pause refills up to the burst, not beyond
    sleeps.length = 0;
    for (let i = 0; i < 3; i++) await limiter.take();
    expect(sleeps).toEqual([]);
  });

  it('does nothing when disabled', async () => {
    const limiter = new RateLimiter({
      qps: 0,
      burst: 1,
      sleep: async () => {
        throw new Error('should not sleep');
      },
    });
    for (let i = 0; i < 100; i++) await limiter.take();
    expect(limiter.queued).toBe(0);
  });
});
