import { describe, expect, it } from 'vitest';
import {
  parseStatCpuTicks,
  parseStatusRss,
  readProcSample,
  startProcSampler,
} from '../../../src/bench/proc-sampler.ts';

describe('/proc sampling', () => {
  it('reads utime + stime after the command name, even one with spaces and parentheses', () => {
    const stat =
      '4242 (node (podrunner) x) S 1 4242 4242 0 -1 4194560 5000 0 0 0 1234 567 0 0 20 0 11 0 100 1000000 25000 18446744073709551615';
    expect(parseStatCpuTicks(stat)).toBe(1234 + 567);
    expect(parseStatCpuTicks('garbage')).toBeUndefined();
  });

  it('reads VmRSS in bytes', () => {
    expect(parseStatusRss('Name:\tnode\nVmPeak:\t  999 kB\nVmRSS:\t  131072 kB\nThreads:\t11\n')).toBe(
      131_072 * 1024,
    );
    expect(parseStatusRss('Name:\tkthreadd\n')).toBeUndefined();
  });

  it('samples a live process and nothing for one that is gone', async () => {
    const s = await readProcSample(process.pid);
    expect(s?.rssBytes).toBeGreaterThan(1024 * 1024);
    expect(s?.cpuSeconds).toBeGreaterThan(0);
    expect(await readProcSample(2 ** 22 + 1)).toBeUndefined();

    const sampler = startProcSampler(process.pid, 10);
    await sampler.sample();
    await sampler.sample();
    sampler.stop();
    expect(sampler.samples.length).toBeGreaterThanOrEqual(2);
    const [a, b] = sampler.samples;
    expect((b?.cpuSeconds ?? 0) >= (a?.cpuSeconds ?? 0)).toBe(true);
  });
});
