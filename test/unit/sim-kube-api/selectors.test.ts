import { describe, expect, it } from 'vitest';
import {
  compileFieldSelector,
  parseFieldSelector,
  parseLabelSelector,
} from '../../../src/sim/kube/api/selectors.ts';
import { ApiError } from '../../../src/sim/kube/api/status.ts';

describe('label selectors', () => {
  const labels = { app: 'job', tier: 'ci', n: '5' };
  const matches = (text: string, l: Record<string, string> | undefined = labels) =>
    parseLabelSelector(text).matches(l);

  it('supports every operator', () => {
    expect(matches('app=job')).toBe(true);
    expect(matches('app==job,tier=ci')).toBe(true);
    expect(matches('app!=job')).toBe(false);
    expect(matches('missing!=x')).toBe(true);
    expect(matches('app in (job, other)')).toBe(true);
    expect(matches('app notin (job)')).toBe(false);
    expect(matches('missing notin (job)')).toBe(true);
    expect(matches('tier')).toBe(true);
    expect(matches('!tier')).toBe(false);
    expect(matches('!missing')).toBe(true);
    expect(matches('n>4,n<6')).toBe(true);
    expect(matches('n>5')).toBe(false);
    expect(matches('')).toBe(true);
    expect(parseLabelSelector('app=job').matches(undefined)).toBe(false);
  });

  it('rejects bad syntax with a 400', () => {
    for (const bad of ['app in (job', 'app=(x)', '=x', 'a b', 'app=job,', 'n>x', 'bad key!=1'])
      expect(() => parseLabelSelector(bad), bad).toThrowError(ApiError);
    try {
      parseLabelSelector('app in (job');
    } catch (err) {
      expect((err as ApiError).code).toBe(400);
      expect((err as ApiError).message).toMatch(/^unable to parse requirement: /);
    }
  });
});

describe('field selectors', () => {
  const supported = new Set(['metadata.name', 'status.phase', 'spec.nodeName']);
  it('matches =, == and != with escapes and aliases', () => {
    const m = compileFieldSelector(
      parseFieldSelector('status.phase==Running,spec.host=node\\,1,metadata.name!=x'),
      supported,
      { 'spec.host': 'spec.nodeName' },
      false,
    );
    expect(m({ 'status.phase': 'Running', 'spec.nodeName': 'node,1', 'metadata.name': 'y' })).toBe(true);
    expect(m({ 'status.phase': 'Running', 'spec.nodeName': 'node,1', 'metadata.name': 'x' })).toBe(false);
  });

  it('names unsupported fields', () => {
    expect(() => compileFieldSelector(parseFieldSelector('spec.other=1'), supported, {}, false)).toThrowError(
      'field label not supported: spec.other',
    );
    expect(() => compileFieldSelector(parseFieldSelector('data=1'), supported, {}, true)).toThrowError(
      '"data" is not a known field selector: only "metadata.name", "metadata.namespace"',
    );
    expect(() => parseFieldSelector('novalue')).toThrowError(ApiError);
  });
});
