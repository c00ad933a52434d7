import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MANAGER_NODE_OPTIONS } from '../../../src/manager/node-options.ts';

describe('the manager’s Node flags', () => {
  it('are the ones the manager image sets, so podrunner bench measures what is deployed', () => {
    const dockerfile = readFileSync(join(import.meta.dirname, '../../../images/manager/Dockerfile'), 'utf8');
    const set = /NODE_OPTIONS=(\S+)/.exec(dockerfile)?.[1];
    expect(set).toBe(MANAGER_NODE_OPTIONS);
  });
});
