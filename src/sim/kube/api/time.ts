// Time formats of the Kubernetes API: metav1.Time (RFC 3339, whole seconds, UTC), MicroTime (six
// fraction digits) and the kubelet's log timestamps (nine fraction digits), plus kubectl's HumanDuration.

export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** metav1.Time: `2025-03-01T10:00:00Z`. */
export function formatTime(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/** metav1.MicroTime: `2025-03-01T10:00:00.123456Z` (milliseconds padded). */
export function formatMicroTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 23)}000Z`;
}

/** The kubelet's log line prefix format (RFC3339NanoFixed): always nine fraction digits. */
export function formatNanoTime(ms: number, nanosWithinMs = 0): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 23)}${String(nanosWithinMs).padStart(6, '0')}Z`;
}

/** Parses an RFC 3339 timestamp; undefined when it is not one. */
export function parseTime(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** apimachinery `duration.HumanDuration`. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(seconds / 3600);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.trunc(hours / 24) % 365;
    const y = Math.trunc(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** kubectl's `translateTimestampSince`: `<unknown>` for a missing time. */
export function ageSince(timestamp: string | null | undefined, now: number): string {
  if (!timestamp) return '<unknown>';
  const ms = Date.parse(timestamp);
  if (Number.isNaN(ms)) return '<unknown>';
  return humanDuration(now - ms);
}
