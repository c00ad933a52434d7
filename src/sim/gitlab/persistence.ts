// `--state FILE`: the whole state as JSON, written at most every `delayMs` after a change (never per
// request) and once more on close; atomically (temporary file, then rename).
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { SerializedState, SimStore } from './store.ts';

export async function loadState(path: string): Promise<SerializedState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const state = JSON.parse(text) as SerializedState;
  if (state.version !== 1) throw new Error(`${path}: unsupported state version ${String(state.version)}`);
  return state;
}

export class StateWriter {
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private readonly store: SimStore;
  private readonly path: string;
  private readonly delayMs: number;
  private closed = false;

  constructor(store: SimStore, path: string, delayMs = 1000) {
    this.store = store;
    this.path = path;
    this.delayMs = delayMs;
  }

  /** A write is due. */
  get pending(): boolean {
    return this.timer !== null;
  }

  schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.delayMs);
    this.timer.unref();
  }

  /**
   * The last write: later changes (a request still finishing on a closed server) are not written, so a
   * stopped instance never overwrites the file a restarted one now owns.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const data = JSON.stringify(this.store.serialize());
    this.writing = this.writing.then(async () => {
      const tmp = `${this.path}.tmp-${process.pid}`;
      await writeFile(tmp, data);
      await rename(tmp, this.path);
    });
    await this.writing;
  }
}
