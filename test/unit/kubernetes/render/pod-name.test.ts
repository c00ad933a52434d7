import { describe, expect, it } from 'vitest';
import {
  makeRfc1123Compatible,
  podName,
  projectUniqueName,
  suffixFromBytes,
} from '../../../../src/kubernetes/render/pod-name.ts';
import { baseInput, refused, rendered } from './support.ts';

describe('pod name', () => {
  it("follows upstream's scheme: runner-<short token>-project-<id>-concurrent-<slot>-<suffix>", () => {
    const unique = projectUniqueName('abcdefghi', 812, 3);
    expect(unique).toBe('runner-abcdefghi-project-812-concurrent-3');
    expect(podName(unique, 'x7k2m9qa')).toBe('runner-abcdefghi-project-812-concurrent-3-x7k2m9qa');
  });

  it('sanitises to RFC 1123: lower case, drops other characters and leading punctuation', () => {
    expect(makeRfc1123Compatible('Runner_AB.c-1')).toBe('runnerabc-1');
    expect(makeRfc1123Compatible('--x')).toBe('x');
    expect(projectUniqueName('AbC_dEf', 1, 0)).toBe('runner-abcdef-project-1-concurrent-0');
  });

  it('cuts the prefix at 54 characters so the name stays within 63', () => {
    const unique = projectUniqueName('abcdefghi', 1234567890123, 99999999);
    const name = podName(unique, 'abcdefgh');
    expect(unique.length).toBeGreaterThan(54);
    expect(name).toHaveLength(63);
    expect(name).toBe(`${unique.slice(0, 54)}-abcdefgh`);
  });

  it('takes the random suffix from the caller and checks it', () => {
    expect(() => podName('runner-x', 'ABC')).toThrow(/8 characters of \[a-z0-9\]/);
    expect(suffixFromBytes(new Uint8Array([0, 1, 25, 26, 35, 36, 255, 71]))).toBe('abz09ad9');
    expect(refused(baseInput({ randomSuffix: 'short' })).code).toBe('INVALID_INPUT');
  });

  it('names the pod, its job Secret and the pod label alike', () => {
    const r = rendered(baseInput({ projectSlot: 2 }));
    expect(r.pod.metadata?.name).toBe('runner-abcdefghi-project-731-concurrent-2-x7k2m9qa');
    expect(r.secret.metadata?.name).toBe(r.pod.metadata?.name);
    expect(r.pod.metadata?.labels?.pod).toBe('runner-abcdefghi-project-731-concurrent-2');
  });
});
