// config.toml → a validated, typed config plus warnings. Never throws: a syntax error, a wrong type or an
// unreadable file comes back as errors that name the file, line and key path, so a running manager can keep
// its old config and `verify` can print them.
import { readFile } from 'node:fs/promises';
import { parse, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { normalizeKeys } from './normalize-keys.ts';
import { findNotActedOn } from './not-acted-on.ts';
import { configSchema, type PodrunnerConfig } from './schema/config.ts';
import { formatKeyPath, type KeyPath, locateKeys } from './toml-lines.ts';

export type ConfigIssueCode =
  | 'CONFIG_UNREADABLE'
  | 'CONFIG_SYNTAX'
  | 'CONFIG_INVALID'
  | 'CONFIG_UNKNOWN_KEY'
  | 'CONFIG_NOT_ACTED_ON'
  | 'CONFIG_RUNNER_SKIPPED';

export interface ConfigIssue {
  code: ConfigIssueCode;
  message: string;
  file?: string;
  line?: number;
  column?: number;
  /** The key path as messages show it, e.g. `runners[0].kubernetes.poll_timeout`. */
  path?: string;
}

export type ConfigLoad =
  | { ok: true; config: PodrunnerConfig; warnings: ConfigIssue[]; source: string }
  | { ok: false; errors: ConfigIssue[]; warnings: ConfigIssue[] };

export interface ParseOptions {
  /** Shown in messages; defaults to `config.toml`. */
  file?: string;
  /** For `$VAR` expansion in runner URLs; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

/** `config.toml:12: runners[0].limit: expected an integer, got "ten"`. */
export function formatIssue(issue: ConfigIssue): string {
  const where = [issue.file, issue.line, issue.column].filter((x) => x !== undefined).join(':');
  return [where, issue.path, issue.message].filter(Boolean).join(': ');
}

const describe = (v: unknown): string => {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (v instanceof Date) return 'a date-time';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object' && v !== null) return 'a table';
  if (typeof v === 'number' && !Number.isInteger(v)) return `the float ${v}`;
  return `${typeof v === 'number' ? 'the integer' : `the ${typeof v}`} ${String(v)}`;
};

const expectedName: Record<string, string> = {
  number: 'a number',
  nan: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  array: 'an array',
  object: 'a table',
  record: 'a table',
  date: 'a date-time',
};

function valueAt(doc: unknown, path: KeyPath): unknown {
  let v = doc;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

function issueMessage(issue: z.core.$ZodIssue, doc: unknown): string {
  const value = valueAt(doc, issue.path as KeyPath);
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return 'is required';
      return `expected ${expectedName[issue.expected] ?? issue.expected}, got ${describe(value)}`;
    case 'invalid_union':
      return `${issue.message.replace(/^Invalid input$/, 'has the wrong type')}, got ${describe(value)}`;
    case 'invalid_value':
      return `${describe(value)} is not one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'number' && issue.message.startsWith('Too small'))
        return `must be at least ${issue.minimum}, got ${describe(value)}`;
      return issue.message;
    case 'too_big':
      if (issue.origin === 'number' && issue.message.startsWith('Too big'))
        return `must be at most ${issue.maximum}, got ${describe(value)}`;
      return issue.message;
    case 'invalid_format':
    case 'custom':
      return issue.message;
    default:
      return issue.message;
  }
}

function expandEnv(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_m, a, b) => env[a ?? b] ?? '',
  );
}

export function parseConfig(source: string, options: ParseOptions = {}): ConfigLoad {
  const file = options.file ?? 'config.toml';
  const env = options.env ?? process.env;
  let doc: unknown;
  try {
    doc = parse(source);
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = err.message.replace(/^Invalid TOML document: /, '').split('\n\n')[0];
      return {
        ok: false,
        errors: [
          {
            code: 'CONFIG_SYNTAX',
            file,
            line: err.line,
            column: err.column,
            message: `invalid TOML: ${reason}`,
          },
        ],
        warnings: [],
      };
    }
    return { ok: false, errors: [{ code: 'CONFIG_SYNTAX', file, message: String(err) }], warnings: [] };
  }

  const lines = locateKeys(source);
  const at = (path: KeyPath) => ({ file, line: lines.lineOf(path), path: formatKeyPath(path) });
  const { value: normalized, unknownKeys } = normalizeKeys(doc, configSchema);
  const warnings: ConfigIssue[] = unknownKeys.map((path) => ({
    code: 'CONFIG_UNKNOWN_KEY',
    ...at(path),
    message: 'unknown key, ignored',
  }));

  const result = configSchema.safeParse(normalized);
  if (!result.success) {
    const errors = result.error.issues.map(
      (issue): ConfigIssue => ({
        code: 'CONFIG_INVALID',
        ...at(issue.path as KeyPath),
        message: issueMessage(issue, normalized),
      }),
    );
    return { ok: false, errors, warnings };
  }

  const config = result.data;
  const errors: ConfigIssue[] = [];
  config.runners.forEach((runner, i) => {
    runner.url = expandEnv(runner.url, env);
    let url: URL | undefined;
    try {
      url = new URL(runner.url);
    } catch {
      // reported below
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      errors.push({
        code: 'CONFIG_INVALID',
        ...at(['runners', i, 'url']),
        message: `${JSON.stringify(runner.url)} is not an http(s) URL`,
      });
    }
    if (runner.executor !== 'kubernetes') {
      warnings.push({
        code: 'CONFIG_RUNNER_SKIPPED',
        ...at(['runners', i, 'executor']),
        message: `executor ${JSON.stringify(runner.executor)} is not supported (podrunner runs "kubernetes"); this runner is skipped`,
      });
    }
    const twin = config.runners.findIndex(
      (r, j) => j < i && r.token === runner.token && r.url === runner.url,
    );
    if (twin !== -1) {
      errors.push({
        code: 'CONFIG_INVALID',
        ...at(['runners', i, 'token']),
        message: `the same url and token as runners[${twin}]`,
      });
    }
  });
  if (errors.length > 0) return { ok: false, errors, warnings };

  for (const key of findNotActedOn(normalized)) {
    warnings.push({
      code: 'CONFIG_NOT_ACTED_ON',
      ...at(key.path),
      message: `accepted but not acted on yet: ${key.reason}`,
    });
  }
  return { ok: true, config, warnings, source };
}

export async function loadConfig(
  path: string,
  options: Omit<ParseOptions, 'file'> = {},
): Promise<ConfigLoad> {
  let source: string;
  try {
    source = await readFile(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    return {
      ok: false,
      errors: [{ code: 'CONFIG_UNREADABLE', file: path, message: `cannot read the config: ${reason}` }],
      warnings: [],
    };
  }
  return parseConfig(source, { ...options, file: path });
}

/** The runner entries podrunner feeds: those with the Kubernetes executor. */
export function activeRunners(config: PodrunnerConfig): PodrunnerConfig['runners'] {
  return config.runners.filter((r) => r.executor === 'kubernetes');
}

export type { PodrunnerConfig };
