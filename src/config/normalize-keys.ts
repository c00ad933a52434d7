// Walks a parsed TOML document along a zod schema before validation: a key that matches a schema key only
// when case is ignored is renamed (Go's TOML decoder matches case-insensitively, so `type` works for `Type`),
// and keys the schema does not know are removed and reported, so they warn instead of failing.
import type { z } from 'zod';
import type { KeyPath } from './toml-lines.ts';

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

const wrappers = new Set(['optional', 'nullable', 'default', 'prefault', 'catch', 'readonly', 'nonoptional']);

/** The schema under optional/default/pipe wrappers. */
function core(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let n = 0; n < 20; n++) {
    const def = defOf(s);
    if (wrappers.has(def.type) && def.innerType) s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else break;
  }
  return s;
}

const isTable = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

export interface NormalizedKeys {
  value: unknown;
  unknownKeys: KeyPath[];
}

export function normalizeKeys(raw: unknown, schema: z.ZodType): NormalizedKeys {
  const unknownKeys: KeyPath[] = [];

  const walk = (value: unknown, s: z.ZodType, path: (string | number)[]): unknown => {
    const c = core(s);
    const def = defOf(c);
    if (def.type === 'union' && def.options) {
      const match = def.options.find((o) => {
        const t = defOf(core(o)).type;
        return Array.isArray(value)
          ? t === 'array'
          : isTable(value)
            ? t === 'object' || t === 'record'
            : false;
      });
      return match ? walk(value, match, path) : value;
    }
    if (def.type === 'array' && def.element && Array.isArray(value)) {
      return value.map((v, i) => walk(v, def.element!, [...path, i]));
    }
    if (def.type === 'record' && def.valueType && isTable(value)) {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, walk(v, def.valueType!, [...path, k])]),
      );
    }
    if (def.type === 'object' && def.shape && isTable(value)) {
      const shape = def.shape;
      const known = Object.keys(shape);
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        const target = key in shape ? key : known.find((k) => k.toLowerCase() === key.toLowerCase());
        if (target === undefined || (target !== key && target in value)) {
          unknownKeys.push([...path, key]);
          continue;
        }
        out[target] = walk(v, shape[target]!, [...path, key]);
      }
      return out;
    }
    return value;
  };

  return { value: walk(raw, schema, []), unknownKeys };
}
