// Value types of config.toml as gitlab-runner types them: Go durations, Kubernetes quantities,
// "string or list" fields, string maps. Every schema here accepts what upstream's TOML decoder accepts.
import { z } from 'zod';

const durationUnitsMs: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses a Go duration (`"15m"`, `"1h30m"`, `"1.5s"`, `"-2h"`, `"0"`) into milliseconds; null when invalid. */
export function parseGoDuration(text: string): number | null {
  const s = text.trim();
  if (s === '0' || s === '+0' || s === '-0') return 0;
  const match = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.exec(s);
  if (!match) return null;
  const sign = match[1] === '-' ? -1 : 1;
  let total = 0;
  for (const part of s.slice(match[1]!.length).matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * durationUnitsMs[part[2]!]!;
  }
  return sign * total;
}

/** Formats milliseconds the way Go prints a duration (`1h0m0s`, `15m0s`, `500ms`). */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${rest}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = rest / 1000;
  if (h > 0) return `${sign}${h}h${m}m${s}s`;
  if (m > 0) return `${sign}${m}m${s}s`;
  return `${sign}${s}s`;
}

/**
 * A `time.Duration` field: a Go duration string, or an integer read as nanoseconds (what Go's TOML decoder
 * does with a bare number). The typed value is milliseconds.
 */
export const goDuration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  if (typeof v === 'number') return v / 1e6;
  const ms = parseGoDuration(v);
  if (ms === null) {
    ctx.addIssue({
      code: 'custom',
      message: `"${v}" is not a duration (write it like "30s", "15m" or "1h30m")`,
    });
    return z.NEVER;
  }
  return ms;
});

const quantityPattern = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+|[numkMGTPE]|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/** A Kubernetes resource quantity (`500m`, `1.5`, `256Mi`, `2Gi`); a bare number is taken as its decimal form. */
export const quantity = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const s = typeof v === 'number' ? String(v) : v.trim();
  if (s === '') return s;
  if (!quantityPattern.test(s)) {
    ctx.addIssue({
      code: 'custom',
      message: `"${s}" is not a Kubernetes quantity (write it like "500m", "2", "256Mi" or "1Gi")`,
    });
    return z.NEVER;
  }
  return s;
});

/** Go's `StringOrArray`: `"always"` or `["always", "if-not-present"]`. */
export const stringOrArray = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (typeof v === 'string' ? (v === '' ? [] : [v]) : v));

export const stringMap = z.record(z.string(), z.string());
export const stringList = z.array(z.string());
export const int = z.number().int();

/** An int whose zero or negative value means "use the default", like upstream's `<= 0` checks. */
export const positiveIntOr = (fallback: number) =>
  int.optional().transform((v) => (v === undefined || v <= 0 ? fallback : v));

/** A TOML date-time (smol-toml gives a Date subclass) or an RFC 3339 string, as upstream's `time.Time`. */
export const timestamp = z.union([z.date(), z.string()]).transform((v, ctx) => {
  const d = typeof v === 'string' ? new Date(v) : v;
  if (Number.isNaN(d.getTime())) {
    ctx.addIssue({ code: 'custom', message: `"${String(v)}" is not a date-time` });
    return z.NEVER;
  }
  return new Date(d.getTime());
});

export const pullPolicy = z.enum(['always', 'if-not-present', 'never']);
