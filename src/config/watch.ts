// Reloads config.toml when it changes: fs.watch on its directory (editors and Kubernetes ConfigMap updates
// replace the file, which a watch on the file itself would miss), debounced, and only when the content
// really changed. SIGHUP reloads through `reload()` too.
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

export interface ConfigWatcher {
  /** Re-reads now (even if unchanged when `force`). */
  reload(force?: boolean): Promise<void>;
  close(): void;
}

export function watchConfigFile(
  path: string,
  onChange: (source: string | undefined, error?: Error) => void | Promise<void>,
  options: { debounceMs?: number; initialSource?: string } = {},
): ConfigWatcher {
  const debounceMs = options.debounceMs ?? 300;
  const name = basename(path);
  let last = options.initialSource;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const reload = (force = false): Promise<void> => {
    running = running.then(async () => {
      let source: string | undefined;
      let error: Error | undefined;
      try {
        source = await readFile(path, 'utf8');
      } catch (err) {
        error = err as Error;
      }
      if (!force && source !== undefined && source === last) return;
      if (source !== undefined) last = source;
      await onChange(source, error);
    });
    return running;
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      if (file !== null && file !== name && !file.startsWith(`${name}.`) && !file.startsWith('..')) return;
      clearTimeout(timer);
      timer = setTimeout(() => void reload(), debounceMs);
    });
    watcher.on('error', () => undefined);
  } catch {
    // No watch on this filesystem: SIGHUP still reloads.
  }

  return {
    reload,
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
