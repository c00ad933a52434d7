// Label selectors (apimachinery `labels.Parse`: `=`, `==`, `!=`, `in`, `notin`, `key`, `!key`, `>`, `<`)
// and field selectors (`fields.ParseSelector`: `=`, `==`, `!=` with backslash escapes).
import { labelValueErrors, qualifiedNameErrors } from './names.ts';
import { badRequest } from './status.ts';

type Operator = 'exists' | 'notexists' | 'in' | 'notin' | 'eq' | 'neq' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  op: Operator;
  values: string[];
}

export type LabelMatcher = (labels: Record<string, string> | undefined) => boolean;

const matchAll: LabelMatcher = () => true;

/** Parses a label selector; throws a 400 ApiError on bad syntax. */
export function parseLabelSelector(text: string | undefined): {
  requirements: LabelRequirement[];
  matches: LabelMatcher;
} {
  if (text === undefined || text.trim() === '') return { requirements: [], matches: matchAll };
  const requirements = new LabelSelectorParser(text).parse();
  return { requirements, matches: (labels) => requirements.every((r) => requirementMatches(r, labels)) };
}

function requirementMatches(r: LabelRequirement, labels: Record<string, string> | undefined): boolean {
  const has = labels !== undefined && Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.op) {
    case 'exists':
      return has;
    case 'notexists':
      return !has;
    case 'eq':
    case 'in':
      return has && r.values.includes(value!);
    case 'neq':
    case 'notin':
      return !has || !r.values.includes(value!);
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(value!)) return false;
      const n = Number(value);
      const bound = Number(r.values[0]);
      return r.op === 'gt' ? n > bound : n < bound;
    }
  }
}

type Token =
  | { kind: 'id'; text: string }
  | { kind: 'op'; text: '!' | '=' | '==' | '!=' | '>' | '<' | ',' | '(' | ')' }
  | { kind: 'end' };

class LabelSelectorParser {
  private readonly tokens: Token[];
  private pos = 0;

  constructor(text: string) {
    this.tokens = lex(text);
  }

  parse(): LabelRequirement[] {
    const out: LabelRequirement[] = [];
    for (;;) {
      out.push(this.requirement());
      const t = this.next();
      if (t.kind === 'end') return out;
      if (!(t.kind === 'op' && t.text === ','))
        throw parseError(`found '${tokenText(t)}', expected: ',' or 'end of string'`);
    }
  }

  private peek(): Token {
    return this.tokens[this.pos] ?? { kind: 'end' };
  }

  private next(): Token {
    const t = this.peek();
    this.pos++;
    return t;
  }

  private requirement(): LabelRequirement {
    let t = this.next();
    if (t.kind === 'op' && t.text === '!') {
      t = this.next();
      if (t.kind !== 'id') throw parseError(`found '${tokenText(t)}', expected: identifier after '!'`);
      validateKey(t.text);
      return { key: t.text, op: 'notexists', values: [] };
    }
    if (t.kind !== 'id')
      throw parseError(`found '${tokenText(t)}', expected: !, identifier, or 'end of string'`);
    const key = t.text;
    validateKey(key);
    const opTok = this.peek();
    if (opTok.kind === 'end' || (opTok.kind === 'op' && opTok.text === ','))
      return { key, op: 'exists', values: [] };
    this.pos++;
    let op: Operator;
    if (opTok.kind === 'id' && (opTok.text === 'in' || opTok.text === 'notin')) op = opTok.text;
    else if (opTok.kind === 'op' && (opTok.text === '=' || opTok.text === '==')) op = 'eq';
    else if (opTok.kind === 'op' && opTok.text === '!=') op = 'neq';
    else if (opTok.kind === 'op' && opTok.text === '>') op = 'gt';
    else if (opTok.kind === 'op' && opTok.text === '<') op = 'lt';
    else throw parseError(`found '${tokenText(opTok)}', expected: in, notin, =, ==, !=, gt, lt`);
    const values = op === 'in' || op === 'notin' ? this.valueSet() : [this.singleValue()];
    if (op === 'gt' || op === 'lt') {
      if (!/^-?\d+$/.test(values[0]!))
        throw parseError(`for 'Gt', 'Lt' operators, the value must be an integer`);
    } else for (const v of values) validateValue(key, v);
    return { key, op, values };
  }

  private singleValue(): string {
    const t = this.peek();
    if (t.kind === 'id') {
      this.pos++;
      return t.text;
    }
    if (t.kind === 'end' || (t.kind === 'op' && t.text === ',')) return '';
    throw parseError(`found '${tokenText(t)}', expected: identifier`);
  }

  private valueSet(): string[] {
    const open = this.next();
    if (!(open.kind === 'op' && open.text === '('))
      throw parseError(`found '${tokenText(open)}', expected: '('`);
    const values: string[] = [];
    for (;;) {
      const t = this.next();
      if (t.kind === 'id') {
        values.push(t.text);
        const sep = this.next();
        if (sep.kind === 'op' && sep.text === ')') return values;
        if (!(sep.kind === 'op' && sep.text === ','))
          throw parseError(`found '${tokenText(sep)}', expected: ',' or ')'`);
      } else if (t.kind === 'op' && t.text === ')') {
        values.push('');
        return values;
      } else if (t.kind === 'op' && t.text === ',') {
        values.push('');
      } else throw parseError(`found '${tokenText(t)}', expected: ',', ')' or identifier`);
    }
  }
}

function tokenText(t: Token): string {
  return t.kind === 'end' ? '' : t.text;
}

function parseError(message: string) {
  return badRequest(`unable to parse requirement: ${message}`);
}

function validateKey(key: string): void {
  const errors = qualifiedNameErrors(key);
  if (errors.length > 0)
    throw badRequest(`unable to parse requirement: key: Invalid value: "${key}": ${errors.join('; ')}`);
}

function validateValue(key: string, value: string): void {
  const errors = labelValueErrors(value);
  if (errors.length > 0)
    throw badRequest(
      `unable to parse requirement: values[0][${key}]: Invalid value: "${value}": ${errors.join('; ')}`,
    );
}

const idStop = new Set([' ', '\t', '\n', '\r', ',', '(', ')', '=', '!', '<', '>']);

function lex(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === '==' || two === '!=') {
      out.push({ kind: 'op', text: two });
      i += 2;
      continue;
    }
    if (c === '=' || c === '!' || c === ',' || c === '(' || c === ')' || c === '>' || c === '<') {
      out.push({ kind: 'op', text: c });
      i++;
      continue;
    }
    let j = i;
    while (j < text.length && !idStop.has(text[j]!)) j++;
    out.push({ kind: 'id', text: text.slice(i, j) });
    i = j;
  }
  return out;
}

export interface FieldRequirement {
  field: string;
  op: 'eq' | 'neq';
  value: string;
}

/** Parses a field selector into requirements (field names are checked by the caller). */
export function parseFieldSelector(text: string | undefined): FieldRequirement[] {
  if (text === undefined || text.trim() === '') return [];
  const out: FieldRequirement[] = [];
  for (const part of splitUnescaped(text, ',')) {
    if (part.trim() === '') continue;
    const m = findOperator(part);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    const field = part.slice(0, m.index).trim();
    const value = unescapeFieldValue(part.slice(m.index + m.op.length));
    out.push({ field, op: m.op === '!=' ? 'neq' : 'eq', value });
  }
  return out;
}

function splitUnescaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[i + 1]!;
      i++;
    } else if (c === sep) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts;
}

function findOperator(part: string): { index: number; op: '=' | '==' | '!=' } | undefined {
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '!' && part[i + 1] === '=') return { index: i, op: '!=' };
    if (c === '=') return part[i + 1] === '=' ? { index: i, op: '==' } : { index: i, op: '=' };
  }
  return undefined;
}

function unescapeFieldValue(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

export type FieldSet = Record<string, string>;
export type FieldMatcher = (fields: FieldSet) => boolean;

/** Compiles field requirements against the fields a kind supports; unknown fields are a 400. */
export function compileFieldSelector(
  requirements: FieldRequirement[],
  supported: ReadonlySet<string>,
  aliases: Readonly<Record<string, string>>,
  generic: boolean,
): FieldMatcher {
  const compiled = requirements.map((r) => {
    const field = aliases[r.field] ?? r.field;
    if (!supported.has(field)) {
      throw badRequest(
        generic
          ? `"${r.field}" is not a known field selector: only "metadata.name", "metadata.namespace"`
          : `field label not supported: ${r.field}`,
      );
    }
    return { ...r, field };
  });
  if (compiled.length === 0) return () => true;
  return (fields) =>
    compiled.every((r) => {
      const actual = fields[r.field] ?? '';
      return r.op === 'eq' ? actual === r.value : actual !== r.value;
    });
}
