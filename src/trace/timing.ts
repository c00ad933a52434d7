// "Where the time went": one short line at the end of every job, from the durations of its phases.
import { plainLine } from './messages.ts';

export interface JobPhaseDurations {
  /** Waiting in GitLab's queue (job_info.time_in_queue_seconds). */
  queuedMs?: number;
  /** Pod created → scheduled on a node. */
  scheduledMs?: number;
  imagePullMs?: number;
  /** Helper init container: clone, cache restore, artifact download. */
  initMs?: number;
  /** The build container: script and after_script. */
  scriptMs?: number;
  /** Cache archive and artifact upload. */
  uploadMs?: number;
}

const PHASES: [keyof JobPhaseDurations, string][] = [
  ['queuedMs', 'queued'],
  ['scheduledMs', 'scheduled'],
  ['imagePullMs', 'image pull'],
  ['initMs', 'init/clone'],
  ['scriptMs', 'script'],
  ['uploadMs', 'upload'],
];

/** `850ms`, `4.2s`, `1m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  const v = Math.max(0, Math.round(ms));
  if (v < 1000) return `${v}ms`;
  const tenths = Math.round(v / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)}s`;
  const totalSeconds = Math.round(v / 1000);
  if (totalSeconds < 3600) {
    const m = Math.floor(totalSeconds / 60);
    return `${m}m${String(totalSeconds % 60).padStart(2, '0')}s`;
  }
  const totalMinutes = Math.floor(totalSeconds / 60);
  return `${Math.floor(totalMinutes / 60)}h${String(totalMinutes % 60).padStart(2, '0')}m`;
}

/** `Time: queued 2.1s, scheduled 300ms, image pull 4.0s, init/clone 1.2s, script 12.5s, upload 800ms (total 20.9s)`. */
export function formatTimeBreakdown(d: JobPhaseDurations): string {
  const parts: string[] = [];
  let total = 0;
  for (const [key, label] of PHASES) {
    const ms = d[key];
    if (ms === undefined || !Number.isFinite(ms) || ms < 0) continue;
    parts.push(`${label} ${formatDuration(ms)}`);
    total += ms;
  }
  if (parts.length === 0) return 'Time: no phase measured';
  return `Time: ${parts.join(', ')} (total ${formatDuration(total)})`;
}

/** The same as a plain runner line for the trace. */
export function timeBreakdownLine(d: JobPhaseDurations): string {
  return plainLine(formatTimeBreakdown(d));
}
