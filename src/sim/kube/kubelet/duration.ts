// Durations as people write them in fault files and annotations: Go's `time.ParseDuration` syntax
// (`1m30s`, `500ms`, `1.5s`) or a bare number of milliseconds.

const unitMs: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Milliseconds, or undefined when `text` is not a duration. */
export function parseDuration(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text : undefined;
  const s = text.trim();
  if (s === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const part = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let index = 0;
  while (index < s.length) {
    part.lastIndex = index;
    const m = part.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * (unitMs[m[2] as string] ?? 0);
    index = part.lastIndex;
  }
  return total;
}

/** Go's `time.Duration.String()` cut to milliseconds, as the kubelet prints pull times: `812ms`, `1.234s`, `1m2.345s`. */
export function formatGoDuration(ms: number): string {
  const rounded = Math.max(0, Math.round(ms));
  if (rounded === 0) return '0s';
  if (rounded < 1000) return `${rounded}ms`;
  const hours = Math.floor(rounded / 3_600_000);
  const minutes = Math.floor((rounded % 3_600_000) / 60_000);
  const seconds = (rounded % 60_000) / 1000;
  const secText = `${Number(seconds.toFixed(3))}s`;
  if (hours > 0) return `${hours}h${minutes}m${secText}`;
  if (minutes > 0) return `${minutes}m${secText}`;
  return secText;
}

/** Go's `time.Duration.String()` for whole seconds, as in `back-off 10s` and `5m0s`. */
export function formatBackOff(ms: number): string {
  const total = Math.round(ms / 1000);
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
}
