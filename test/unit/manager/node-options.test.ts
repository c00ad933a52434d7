import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_HEAP_GROWING_PERCENT,
  MANAGER_NODE_OPTIONS,
  tuneManagerHeap,
} from '../../../src/manager/node-options.ts';

describe('the manager’s Node flags', () => {
  it('are the ones the manager image sets, so podrunner bench measures what is deployed', () => {
    const dockerfile = readFileSync(join(import.meta.dirname, '../../../images/manager/Dockerfile'), 'utf8');
    const set = /NODE_OPTIONS=(\S+)/.exec(dockerfile)?.[1];
    expect(set).toBe(MANAGER_NODE_OPTIONS);
  });
});

describe('tuneManagerHeap', () => {
  it('sets V8’s heap growth to 30% unless PODRUNNER_HEAP_GROWING_PERCENT says otherwise', () => {
    expect(tuneManagerHeap({})).toBe(DEFAULT_HEAP_GROWING_PERCENT);
    expect(tuneManagerHeap({ PODRUNNER_HEAP_GROWING_PERCENT: '50' })).toBe(50);
    expect(tuneManagerHeap({ PODRUNNER_HEAP_GROWING_PERCENT: '0' })).toBeUndefined();
  });

  it('names a bad value', () => {
    expect(() => tuneManagerHeap({ PODRUNNER_HEAP_GROWING_PERCENT: 'lots' })).toThrow(
      /PODRUNNER_HEAP_GROWING_PERCENT: expected a whole number of percent, got "lots"/,
    );
  });
});
