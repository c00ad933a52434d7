// SIGTERM bookkeeping for the uploader, installed before anything else loads (bin/podrunner-helper.js):
// a cancel deletes the pod with a grace period, and the uploader must live through that first
// SIGTERM to upload on_failure/always artifacts; it only gives up waiting on a second one.
let count = 0;
const listeners = new Set<(count: number) => void>();
let installed = false;

export function installSigtermCounter(): void {
  if (installed) return;
  installed = true;
  process.on('SIGTERM', () => {
    count++;
    for (const listener of listeners) listener(count);
  });
}

/** Calls `listener` with the running count on every SIGTERM; returns the count so far and an unsubscribe. */
export function onSigterm(listener: (count: number) => void): { count: number; off: () => void } {
  installSigtermCounter();
  listeners.add(listener);
  return { count, off: () => listeners.delete(listener) };
}
