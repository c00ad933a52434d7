// The job's variables as the helper sees them: from job.json only (the helper container's own
// environment carries no job values). Later definitions win, as in upstream.
import type { JobVariable } from '../src/gitlab/payload.ts';

export class JobVariables {
  readonly #values = new Map<string, JobVariable>();

  constructor(variables: readonly JobVariable[]) {
    for (const v of variables) this.#values.set(v.key, v);
  }

  get(key: string): string {
    return this.#values.get(key)?.value ?? '';
  }

  has(key: string): boolean {
    return this.#values.has(key);
  }

  all(): JobVariable[] {
    return [...this.#values.values()];
  }

  /** Values that must never be printed: masked variables. */
  maskedValues(): string[] {
    return this.all()
      .filter((v) => v.masked)
      .map((v) => v.value);
  }

  /** `$VAR` / `${VAR}` expansion with Go's `os.Expand` rules (unknown names expand to ""). */
  expand(text: string): string {
    return expandVariables(text, (name) => this.get(name));
  }
}

const SPECIAL = '*#$@!?-0123456789';

/** Go's `os.Expand`: `${name}`, `$name` ([A-Za-z0-9_]+), one-character special names; a lone `$` stays. */
export function expandVariables(text: string, lookup: (name: string) => string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch !== '$' || i + 1 >= text.length) {
      out += ch;
      i++;
      continue;
    }
    const next = text[i + 1]!;
    if (next === '{') {
      const end = text.indexOf('}', i + 2);
      if (end < 0 || end === i + 2) {
        // Go: bad syntax eats the "${" — keep it simple and literal instead of dropping text.
        out += text.slice(i);
        break;
      }
      out += lookup(text.slice(i + 2, end));
      i = end + 1;
      continue;
    }
    if (SPECIAL.includes(next)) {
      out += lookup(next);
      i += 2;
      continue;
    }
    const match = /^[A-Za-z0-9_]+/.exec(text.slice(i + 1));
    if (!match) {
      out += ch;
      i++;
      continue;
    }
    out += lookup(match[0]);
    i += 1 + match[0].length;
  }
  return out;
}
