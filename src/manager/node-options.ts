// How the manager's Node runtime is tuned for memory. Measured at 1,000 running jobs on the
// embedded stand-ins (`podrunner bench --concurrency 1000 --job-duration 40s`): live heap ~125 MiB,
// but V8 lets the old generation grow up to 4x its live size between full collections, and its
// 16 MiB semi-spaces add 25 MiB more. Peak RSS: 404 MiB as V8 ships, 290 MiB with both settings
// below, for ~10% more manager CPU per job (more, shorter collections).
import v8 from 'node:v8';

/**
 * Flags the manager image sets as NODE_OPTIONS (images/manager/Dockerfile); `podrunner bench` gives
 * its manager process the same by default.
 */
export const MANAGER_NODE_OPTIONS = '--max-semi-space-size=4';

/** Old-generation growth per full collection, percent (V8 picks up to 300 for a large heap). */
export const DEFAULT_HEAP_GROWING_PERCENT = 30;

/**
 * Sets V8's heap growing factor for this process. NODE_OPTIONS does not accept the flag; V8 reads
 * it at each full collection, so setting it at start works. `PODRUNNER_HEAP_GROWING_PERCENT=0`
 * leaves V8's own choice. Returns the percent set, or undefined.
 */
export function tuneManagerHeap(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.PODRUNNER_HEAP_GROWING_PERCENT;
  const percent = raw === undefined || raw === '' ? DEFAULT_HEAP_GROWING_PERCENT : Number(raw);
  if (!Number.isInteger(percent) || percent < 0) {
    throw new Error(`PODRUNNER_HEAP_GROWING_PERCENT: expected a whole number of percent, got "${raw}"`);
  }
  if (percent === 0) return undefined;
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent;
}
