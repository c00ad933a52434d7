// Where each key of a TOML document is written. smol-toml gives positions only for syntax errors, so this
// small scanner walks table headers, keys, strings, arrays and inline tables, and records the line of every
// key path (`runners.0.kubernetes.volumes.host_path.1.mount_path`), resolving `[[…]]` array indices.

export type KeyPath = readonly (string | number)[];

export interface KeyLines {
  /** The line (1-based) of the key, or of its nearest written ancestor; undefined when none is written. */
  lineOf(path: KeyPath): number | undefined;
}

const bareKeyChar = /[A-Za-z0-9_-]/;

class Scanner {
  readonly lines = new Map<string, number>();
  private readonly arrayCounts = new Map<string, number>();
  private i = 0;
  private line = 1;
  private readonly s: string;

  constructor(source: string) {
    this.s = source;
  }

  run(): void {
    let table: string[] = [];
    while (this.i < this.s.length) {
      this.skipBlank(true);
      if (this.i >= this.s.length) break;
      const c = this.s[this.i];
      if (c === '[') {
        const isArray = this.s[this.i + 1] === '[';
        this.i += isArray ? 2 : 1;
        const keys = this.readKey();
        this.i = this.skipTo(isArray ? ']]' : ']');
        table = this.resolve(keys, isArray);
        this.record(table);
      } else {
        const keys = this.readKey();
        if (keys.length === 0) {
          this.skipLine();
          continue;
        }
        const path = [...table, ...keys];
        this.record(path);
        this.skipBlank(false);
        if (this.s[this.i] === '=') this.i++;
        this.skipBlank(false);
        this.value(path);
      }
      this.skipLine();
    }
  }

  private record(path: string[]): void {
    const key = path.join('.').toLowerCase();
    if (!this.lines.has(key)) this.lines.set(key, this.line);
  }

  /** Maps a header's keys to a concrete path, appending the current index of every array of tables. */
  private resolve(keys: string[], isArray: boolean): string[] {
    const out: string[] = [];
    keys.forEach((k, n) => {
      out.push(k);
      const key = out.join('.').toLowerCase();
      if (isArray && n === keys.length - 1) {
        const next = (this.arrayCounts.get(key) ?? -1) + 1;
        this.arrayCounts.set(key, next);
        this.record(out);
        out.push(String(next));
      } else if (this.arrayCounts.has(key)) {
        out.push(String(this.arrayCounts.get(key)));
      }
    });
    return out;
  }

  private readKey(): string[] {
    const keys: string[] = [];
    for (;;) {
      this.skipBlank(false);
      const c = this.s[this.i];
      if (c === '"' || c === "'") {
        keys.push(this.readString());
      } else {
        const start = this.i;
        while (this.i < this.s.length && bareKeyChar.test(this.s[this.i]!)) this.i++;
        if (this.i === start) break;
        keys.push(this.s.slice(start, this.i));
      }
      this.skipBlank(false);
      if (this.s[this.i] !== '.') break;
      this.i++;
    }
    return keys;
  }

  private readString(): string {
    const q = this.s[this.i]!;
    const multi = this.s.startsWith(q.repeat(3), this.i);
    const close = multi ? q.repeat(3) : q;
    this.i += close.length;
    const start = this.i;
    while (this.i < this.s.length && !this.s.startsWith(close, this.i)) {
      if (this.s[this.i] === '\n') {
        if (!multi) return this.s.slice(start, this.i);
        this.line++;
      } else if (this.s[this.i] === '\\' && q === '"' && this.s[this.i + 1] !== '\n') this.i++;
      this.i++;
    }
    const text = this.s.slice(start, this.i);
    this.i += close.length;
    // A multi-line string may end with up to two extra quotes that belong to its content.
    while (multi && this.s[this.i] === q) this.i++;
    return text;
  }

  /** Skips one value; records the keys of inline tables (and inline tables inside arrays) under `path`. */
  private value(path: string[]): void {
    const c = this.s[this.i];
    if (c === '"' || c === "'") {
      this.readString();
    } else if (c === '[') {
      this.i++;
      let index = 0;
      for (;;) {
        this.skipBlank(true);
        const d = this.s[this.i];
        if (d === undefined) return;
        if (d === ']') {
          this.i++;
          return;
        }
        if (d === ',') {
          this.i++;
          index++;
          continue;
        }
        const before = this.i;
        this.value([...path, String(index)]);
        if (this.i === before) this.i++;
      }
    } else if (c === '{') {
      this.i++;
      for (;;) {
        this.skipBlank(true);
        const d = this.s[this.i];
        if (d === undefined) return;
        if (d === '}') {
          this.i++;
          return;
        }
        if (d === ',') {
          this.i++;
          continue;
        }
        const keys = this.readKey();
        if (keys.length === 0) {
          this.i++;
          continue;
        }
        const sub = [...path, ...keys];
        this.record(sub);
        this.skipBlank(false);
        if (this.s[this.i] === '=') this.i++;
        this.skipBlank(false);
        const before = this.i;
        this.value(sub);
        if (this.i === before) this.i++;
      }
    } else {
      while (this.i < this.s.length && !/[\n#,\]}]/.test(this.s[this.i]!)) this.i++;
    }
  }

  /** Skips spaces and tabs, and with `newlines` also newlines and comments. */
  private skipBlank(newlines: boolean): void {
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c === ' ' || c === '\t' || c === '\r') this.i++;
      else if (newlines && c === '\n') {
        this.line++;
        this.i++;
      } else if (newlines && c === '#') {
        while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++;
      } else break;
    }
  }

  private skipLine(): void {
    while (this.i < this.s.length && this.s[this.i] !== '\n') {
      const c = this.s[this.i];
      if (c === '#') {
        while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++;
      } else if (c === '"' || c === "'") this.readString();
      else this.i++;
    }
  }

  private skipTo(token: string): number {
    const at = this.s.indexOf(token, this.i);
    const nl = this.s.indexOf('\n', this.i);
    if (at === -1 || (nl !== -1 && nl < at)) return nl === -1 ? this.s.length : nl;
    return at + token.length;
  }
}

export function locateKeys(source: string): KeyLines {
  const scanner = new Scanner(source);
  try {
    scanner.run();
  } catch {
    // Positions are a courtesy for messages; a scanner problem must never hide the real error.
  }
  return {
    lineOf(path) {
      for (let n = path.length; n > 0; n--) {
        const line = scanner.lines.get(path.slice(0, n).join('.').toLowerCase());
        if (line !== undefined) return line;
      }
      return undefined;
    },
  };
}

/** `runners[0].kubernetes.volumes.host_path[1].mount_path`: how messages show a key path. */
export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? p : `.${p}`;
  }
  return out || '(root)';
}
