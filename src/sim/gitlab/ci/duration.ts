// Human durations as GitLab accepts them in `timeout`, `expire_in` and `start_in` (ChronicDuration):
// "3600", "90 minutes", "1h 30m", "2 days", "1 week". Returns seconds, or null when unparsable.

const UNIT_SECONDS: ReadonlyArray<[RegExp, number]> = [
  [/^(s|secs?|seconds?)$/, 1],
  [/^(m|mins?|minutes?)$/, 60],
  [/^(h|hrs?|hours?)$/, 3600],
  [/^(d|days?)$/, 86_400],
  [/^(w|wks?|weeks?)$/, 604_800],
  [/^(mo|mos|months?)$/, 2_592_000],
  [/^(y|yrs?|years?)$/, 31_536_000],
];

export function parseDuration(input: string | number): number | null {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? Math.floor(input) : null;
  const text = input.trim().toLowerCase();
  if (text === '') return null;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.floor(Number(text));
  const parts = text.replace(/\band\b/g, ' ').replace(/,/g, ' ');
  const re = /(\d+(?:\.\d+)?)\s*([a-z]+)/g;
  let total = 0;
  let consumed = '';
  for (let m = re.exec(parts); m !== null; m = re.exec(parts)) {
    const unit = m[2] ?? '';
    const factor = UNIT_SECONDS.find(([pattern]) => pattern.test(unit))?.[1];
    if (factor === undefined) return null;
    total += Number(m[1]) * factor;
    consumed += m[0];
  }
  if (consumed.replace(/\s+/g, '') !== parts.replace(/\s+/g, '')) return null;
  return Math.floor(total);
}

/** `expire_in`: a duration, or `never` (→ null expiry). Unparsable → undefined. */
export function parseExpireIn(input: string): { never: true } | { seconds: number } | undefined {
  if (/^\s*never\s*$/i.test(input)) return { never: true };
  const seconds = parseDuration(input);
  return seconds === null ? undefined : { seconds };
}
