// A tiny `sh` for virtual containers: scripts made of echo, printf, sleep, exit, true/false, export,
// set -e and trap give the output, timing and exit code a real shell would; anything else prints one
// line and succeeds after a short default time. Every command's outcome is known in advance, so a
// script compiles to a straight list of actions.

export type Action =
  | { kind: 'write'; stream: 'stdout' | 'stderr'; data: string }
  | { kind: 'sleep'; ms: number }
  /** Never ends by itself (sleep infinity, tail -f, a server). */
  | { kind: 'forever' }
  | { kind: 'exit'; code: number }
  /** Text written to the container's termination message file. */
  | { kind: 'message'; text: string; append: boolean }
  /** What SIGTERM does from here on: run a handler, be ignored, or kill (default). */
  | { kind: 'trap'; handler: Action[] | 'ignore' | 'default' }
  /** Wait until another container of the pod has exited (podrunner's uploader waits for the build). */
  | { kind: 'waitFor'; container: string };

export interface Program {
  actions: Action[];
}

export interface ShellContext {
  env: Map<string, string>;
  terminationMessagePath: string;
  /** How long an unknown command takes. */
  unknownCommandMs: number;
}

const shells = new Set(['sh', 'bash', 'ash', 'dash', 'zsh', 'ksh', 'busybox']);

type Token = { kind: 'word'; text: string; quoted: boolean } | { kind: 'op'; text: string };

/** Splits a script into words (quotes and `$VAR` resolved) and operators. */
export function tokenize(script: string, env: Map<string, string>): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let word = '';
  let inWord = false;
  let quoted = false;
  const flush = (): void => {
    if (inWord) tokens.push({ kind: 'word', text: word, quoted });
    word = '';
    inWord = false;
    quoted = false;
  };
  const variable = (): string => {
    // at script[i] === '$'
    const rest = script.slice(i + 1);
    let m = /^\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/.exec(rest);
    if (m) {
      i += m[0].length + 1;
      const value = env.get(m[1] as string);
      return value === undefined || value === '' ? (m[2] ?? '') : value;
    }
    m = /^([A-Za-z_][A-Za-z0-9_]*|[0-9?$#@*!])/.exec(rest);
    if (m) {
      i += m[0].length + 1;
      const name = m[1] as string;
      if (name === '?') return env.get('?') ?? '0';
      if (name === '$') return '1';
      if (name === '#') return '0';
      return env.get(name) ?? '';
    }
    i++;
    return '$';
  };
  while (i < script.length) {
    const ch = script[i] as string;
    if (ch === '\\') {
      if (script[i + 1] === '\n') {
        i += 2;
        continue;
      }
      word += script[i + 1] ?? '';
      inWord = true;
      i += 2;
      continue;
    }
    if (ch === "'") {
      const end = script.indexOf("'", i + 1);
      const stop = end < 0 ? script.length : end;
      word += script.slice(i + 1, stop);
      inWord = true;
      quoted = true;
      i = stop + 1;
      continue;
    }
    if (ch === '"') {
      inWord = true;
      quoted = true;
      i++;
      while (i < script.length && script[i] !== '"') {
        const c = script[i] as string;
        if (c === '\\' && i + 1 < script.length && '"\\$`\n'.includes(script[i + 1] as string)) {
          if (script[i + 1] !== '\n') word += script[i + 1];
          i += 2;
        } else if (c === '$') {
          word += variable();
        } else {
          word += c;
          i++;
        }
      }
      i++;
      continue;
    }
    if (ch === '$') {
      word += variable();
      inWord = true;
      continue;
    }
    if (ch === '#' && !inWord) {
      while (i < script.length && script[i] !== '\n') i++;
      continue;
    }
    if (ch === ' ' || ch === '\t') {
      flush();
      i++;
      continue;
    }
    const op = /^(&&|\|\||;;|[0-9]?>>|[0-9]?>&[0-9]|[0-9]?>|<|\||&|;|\n|\(|\))/.exec(script.slice(i));
    if (op && !(inWord && /^[0-9]/.test(op[0]))) {
      flush();
      tokens.push({ kind: 'op', text: op[0] });
      i += op[0].length;
      continue;
    }
    word += ch;
    inWord = true;
    i++;
  }
  flush();
  return tokens;
}

interface Simple {
  words: string[];
  stdout: 'stdout' | 'stderr' | { file: string; append: boolean } | 'null';
}

function sleepMs(arg: string | undefined): number | 'forever' {
  if (arg === undefined) return 0;
  if (arg === 'infinity' || arg === 'inf') return 'forever';
  const m = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(arg);
  if (!m) return 0;
  const unit = { '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    m[2] as '' | 's' | 'm' | 'h' | 'd'
  ];
  return Number(m[1]) * unit;
}

function unescapeEcho(text: string): string {
  return text.replace(/\\(n|t|\\|r|e|033|0?[0-7]{1,3}|c)/g, (_, e: string) => {
    switch (e) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case '\\':
        return '\\';
      case 'e':
      case '033':
        return '\x1b';
      default:
        return String.fromCharCode(Number.parseInt(e, 8));
    }
  });
}

function printf(format: string, args: string[]): string {
  const specifiers = /%[sdibq]/.test(format);
  const rest = [...args];
  let out = '';
  do {
    out += unescapeEcho(format).replace(/%([sdibq%])/g, (_, f: string) => {
      if (f === '%') return '%';
      const value = rest.shift() ?? '';
      return f === 'd' || f === 'i' ? String(Number.parseInt(value, 10) || 0) : value;
    });
  } while (specifiers && rest.length > 0);
  return out;
}

/** Compiles a script into actions; the status of every command is known, so control flow is resolved now. */
export class ShellCompiler {
  private readonly ctx: ShellContext;
  private readonly actions: Action[] = [];
  private status = 0;
  private errexit = false;
  private ended = false;

  constructor(ctx: ShellContext) {
    this.ctx = ctx;
  }

  compileScript(script: string): Program {
    this.run(script);
    if (!this.ended) this.actions.push({ kind: 'exit', code: this.status });
    return { actions: this.actions };
  }

  /** An argv run directly (no shell): `["sleep","5"]`, `["echo","hi"]`, `["sh","-c","…"]`. */
  compileArgv(argv: string[]): Program {
    this.command({ words: argv, stdout: 'stdout' });
    if (!this.ended) this.actions.push({ kind: 'exit', code: this.status });
    return { actions: this.actions };
  }

  private run(script: string): void {
    // Tokenize lazily per statement so `export` affects the expansion of later lines.
    let rest = script;
    while (rest.length > 0 && !this.ended) {
      const { statement, remainder } = splitStatement(rest);
      rest = remainder;
      this.statement(statement);
    }
  }

  private statement(text: string): void {
    const tokens = tokenize(text, this.ctx.env);
    // An and-or list (`a && b || c`); pipelines and `&` run their parts one after another.
    const items: { connector?: string; tokens: Token[] }[] = [{ tokens: [] }];
    for (const t of tokens) {
      const last = items[items.length - 1] as { connector?: string; tokens: Token[] };
      if (t.kind === 'op' && (t.text === '&&' || t.text === '||'))
        items.push({ connector: t.text, tokens: [] });
      else if (t.kind === 'op' && (t.text === '|' || t.text === '&')) items.push({ tokens: [] });
      else last.tokens.push(t);
    }
    for (const item of items) {
      if (this.ended) return;
      if (item.tokens.length === 0) continue;
      const skip =
        (item.connector === '&&' && this.status !== 0) || (item.connector === '||' && this.status === 0);
      if (!skip) this.command(parseSimple(item.tokens));
    }
    if (this.errexit && this.status !== 0 && !this.ended) this.exit(this.status);
  }

  private exit(code: number): void {
    this.actions.push({ kind: 'exit', code });
    this.ended = true;
  }

  private write(simple: Simple, data: string): void {
    if (simple.stdout === 'null') return;
    if (typeof simple.stdout === 'object') {
      if (simple.stdout.file === this.ctx.terminationMessagePath) {
        this.actions.push({ kind: 'message', text: data, append: simple.stdout.append });
      }
      return;
    }
    this.actions.push({ kind: 'write', stream: simple.stdout, data });
  }

  private command(simple: Simple): void {
    const words = [...simple.words];
    // Leading assignments: `A=b cmd` or a bare `A=b`.
    while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0] as string)) {
      const w = words.shift() as string;
      const eq = w.indexOf('=');
      this.ctx.env.set(w.slice(0, eq), w.slice(eq + 1));
    }
    if (words.length === 0) {
      this.status = 0;
      return;
    }
    let name = words[0] as string;
    const base = name.slice(name.lastIndexOf('/') + 1);
    const args = words.slice(1);
    if (base === 'exec' || base === 'command' || base === 'nohup' || base === 'env') {
      if (args.length > 0) this.command({ words: args, stdout: simple.stdout });
      else this.status = 0;
      return;
    }
    if (shells.has(base)) {
      const options =
        base === 'busybox' && args[0] !== undefined && shells.has(args[0]) ? args.slice(1) : args;
      let script: string | undefined;
      let wantsScript = false;
      let errexit = false;
      for (let i = 0; i < options.length; i++) {
        const a = options[i] as string;
        if (wantsScript) {
          script = a;
          break;
        }
        if (a === '-o' || a === '+o') {
          if (options[i + 1] === 'errexit') errexit = a === '-o';
          i++;
        } else if (/^-[a-zA-Z]+$/.test(a)) {
          if (a.includes('c')) wantsScript = true;
          if (a.includes('e')) errexit = true;
        } else break;
      }
      if (script !== undefined) {
        const saved = this.errexit;
        this.errexit = errexit || saved;
        this.run(script);
        this.errexit = saved;
        return;
      }
      if (options.length === 0) {
        // An interactive shell with no input: exits at once.
        this.status = 0;
        return;
      }
    }
    name = base;
    switch (name) {
      case 'echo': {
        let newline = true;
        let escapes = false;
        let i = 0;
        while (i < args.length && /^-[neE]+$/.test(args[i] as string)) {
          const flags = args[i] as string;
          if (flags.includes('n')) newline = false;
          if (flags.includes('e')) escapes = true;
          i++;
        }
        const text = args.slice(i).join(' ');
        this.write(simple, (escapes ? unescapeEcho(text) : text) + (newline ? '\n' : ''));
        this.status = 0;
        return;
      }
      case 'printf':
        this.write(simple, printf(args[0] ?? '', args.slice(1)));
        this.status = 0;
        return;
      case 'sleep': {
        const ms = sleepMs(args[0]);
        if (ms === 'forever') {
          this.actions.push({ kind: 'forever' });
          this.ended = true;
          return;
        }
        if (ms > 0) this.actions.push({ kind: 'sleep', ms });
        this.status = 0;
        return;
      }
      case 'exit':
        this.exit(args[0] === undefined ? this.status : Number.parseInt(args[0], 10) & 0xff);
        return;
      case 'true':
      case ':':
        this.status = 0;
        return;
      case 'false':
        this.status = 1;
        return;
      case 'set':
        for (const a of args) {
          if (/^-[a-z]*e/.test(a)) this.errexit = true;
          if (/^\+[a-z]*e/.test(a)) this.errexit = false;
        }
        this.status = 0;
        return;
      case 'export':
      case 'readonly':
      case 'local':
        for (const a of args) {
          const eq = a.indexOf('=');
          if (eq > 0) this.ctx.env.set(a.slice(0, eq), a.slice(eq + 1));
        }
        this.status = 0;
        return;
      case 'unset':
        for (const a of args) this.ctx.env.delete(a);
        this.status = 0;
        return;
      case 'cd':
      case 'umask':
      case 'ulimit':
      case 'shift':
      case 'wait':
      case 'mkdir':
      case 'touch':
      case 'rm':
      case 'cp':
      case 'mv':
      case 'chmod':
      case 'chown':
      case 'ln':
        this.status = 0;
        return;
      case 'trap': {
        const [handler, ...signals] = args;
        if (!signals.some((s) => /^(SIG)?TERM$|^15$/.test(s))) {
          this.status = 0;
          return;
        }
        if (handler === '-' || handler === undefined) this.actions.push({ kind: 'trap', handler: 'default' });
        else if (handler === '') this.actions.push({ kind: 'trap', handler: 'ignore' });
        else {
          const sub = new ShellCompiler({ ...this.ctx, env: new Map(this.ctx.env) });
          const compiled = sub.compileScript(handler).actions;
          // A handler that does not exit continues the script: drop the implicit exit.
          const last = compiled[compiled.length - 1];
          const explicit = sub.ended;
          this.actions.push({
            kind: 'trap',
            handler: explicit ? compiled : last?.kind === 'exit' ? compiled.slice(0, -1) : compiled,
          });
        }
        this.status = 0;
        return;
      }
      case 'tail':
        if (args.includes('-f') || args.includes('-F')) {
          this.actions.push({ kind: 'forever' });
          this.ended = true;
          return;
        }
        break;
      case 'nc':
      case 'ncat':
      case 'socat':
        if (args.some((a) => /^-[a-z]*l/.test(a))) {
          this.actions.push({ kind: 'forever' });
          this.ended = true;
          return;
        }
        break;
      default:
        break;
    }
    this.write(simple, `[virtual] ${words.join(' ')}\n`);
    if (this.ctx.unknownCommandMs > 0) this.actions.push({ kind: 'sleep', ms: this.ctx.unknownCommandMs });
    this.status = 0;
  }
}

/** Cuts the next top-level statement (up to `;` or a newline outside quotes). */
function splitStatement(script: string): { statement: string; remainder: string } {
  let quote: string | undefined;
  for (let i = 0; i < script.length; i++) {
    const ch = script[i];
    if (quote) {
      if (ch === '\\' && quote === '"') i++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '\\') {
      i++;
      continue;
    }
    if (ch === '#' && (i === 0 || /\s/.test(script[i - 1] as string))) {
      while (i + 1 < script.length && script[i + 1] !== '\n') i++;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if ((ch === ';' && script[i + 1] !== ';') || ch === '\n') {
      return { statement: script.slice(0, i), remainder: script.slice(i + 1) };
    }
  }
  return { statement: script, remainder: '' };
}

function parseSimple(tokens: Token[]): Simple {
  const words: string[] = [];
  let stdout: Simple['stdout'] = 'stdout';
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.kind === 'word') {
      words.push(t.text);
      continue;
    }
    const target = tokens[i + 1];
    const file = target?.kind === 'word' ? target.text : '';
    switch (t.text) {
      case '>&2':
      case '1>&2':
        stdout = 'stderr';
        break;
      case '2>&1':
      case '>&1':
        break;
      case '>':
      case '1>':
      case '>>':
      case '1>>':
        stdout =
          file === '/dev/null'
            ? 'null'
            : file === '/dev/stderr'
              ? 'stderr'
              : { file, append: t.text.endsWith('>>') };
        i++;
        break;
      case '2>':
      case '2>>':
      case '<':
        i++;
        break;
      default:
        break;
    }
  }
  return { words, stdout };
}

/** True when argv is `sh -c SCRIPT` (or bash, busybox sh…). */
export function isShell(argv: string[]): boolean {
  const base = (argv[0] ?? '').slice((argv[0] ?? '').lastIndexOf('/') + 1);
  return shells.has(base);
}
