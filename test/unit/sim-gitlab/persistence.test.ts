// `--state` writes: debounced, atomic, and none after close (a stopped instance must not overwrite the file
// that a restarted instance on the same state now owns).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StateWriter } from '../../../src/sim/gitlab/persistence.ts';
import type { SimStore } from '../../../src/sim/gitlab/store.ts';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

function storeWith(state: { n: number }): SimStore {
  return { serialize: () => ({ version: 1, ...state }) } as unknown as SimStore;
}

describe('StateWriter', () => {
  it('writes on flush and at close, and schedules nothing after close', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sim-state-'));
    const path = join(dir, 'state.json');
    const state = { n: 1 };
    const writer = new StateWriter(storeWith(state), path, 60_000);
    writer.schedule();
    expect(writer.pending).toBe(true);
    await writer.flush();
    expect(writer.pending).toBe(false);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ version: 1, n: 1 });
    state.n = 2;
    writer.schedule();
    await writer.close();
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ version: 1, n: 2 });
    state.n = 3;
    writer.schedule();
    expect(writer.pending).toBe(false);
  });
});
