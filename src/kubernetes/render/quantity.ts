// Kubernetes resource quantities (`500m`, `1.5`, `2Gi`, `1e3`) parsed exactly, for the
// `*_overwrite_max_allowed` comparisons (upstream: resource.ParseQuantity and Quantity.Cmp).

/** An exact rational value: numerator / denominator, denominator > 0. */
export interface Quantity {
  num: bigint;
  den: bigint;
}

const pattern = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:([eE])([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;

const decimalExponents: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const binaryExponents: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

/** The exact value of a quantity, or undefined when the text is not one. */
export function parseQuantity(text: string): Quantity | undefined {
  const m = pattern.exec(text.trim());
  if (!m) return undefined;
  const [, sign, number, e, exponent, suffix = ''] = m;
  const [whole = '', fraction = ''] = number!.split('.');
  let num = BigInt(`${whole}${fraction}` || '0');
  let den = 10n ** BigInt(fraction.length);
  if (sign === '-') num = -num;
  let decimal = 0;
  if (e) {
    const exp = Number(exponent);
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > 1000) return undefined;
    decimal = exp;
  } else if (suffix in binaryExponents) {
    num *= 2n ** BigInt(binaryExponents[suffix]!);
  } else {
    decimal = decimalExponents[suffix]!;
  }
  if (decimal > 0) num *= 10n ** BigInt(decimal);
  else if (decimal < 0) den *= 10n ** BigInt(-decimal);
  return { num, den };
}

/** -1, 0 or 1 as `a` is below, equal to or above `b`. */
export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 {
  const left = a.num * b.den;
  const right = b.num * a.den;
  return left < right ? -1 : left > right ? 1 : 0;
}

export const QUANTITY_SYNTAX =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
