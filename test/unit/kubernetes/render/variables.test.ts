// Strings here hold Go's `${NAME}` syntax on purpose.
/* biome-ignore-all lint/suspicious/noTemplateCurlyInString: Go's ${NAME} expansion syntax under test */
import { describe, expect, it } from 'vitest';
import {
  expandValue,
  featureFlag,
  parseGoBool,
  VariableSet,
} from '../../../../src/kubernetes/render/variables.ts';

describe('variable expansion (Go os.Expand)', () => {
  const lookup = (name: string) => ({ A: 'a', LONG_NAME: 'long', $: '$' })[name] ?? '';

  it('expands $NAME and ${NAME}, unknown names to nothing', () => {
    expect(expandValue('x-$A-${LONG_NAME}-$NOPE.', lookup)).toBe('x-a-long-.');
  });

  it('keeps a lone or trailing $, turns $$ into $, drops malformed ${', () => {
    expect(expandValue('cost: 5$', lookup)).toBe('cost: 5$');
    expect(expandValue('a $ b', lookup)).toBe('a $ b');
    expect(expandValue('$$A', lookup)).toBe('$A');
    expect(expandValue('x${}y', lookup)).toBe('xy');
  });
});

describe('VariableSet', () => {
  const set = new VariableSet([
    { key: 'CI_PROJECT_DIR', value: '/builds/g/p', public: true },
    { key: 'NAME', value: 'first', public: true },
    { key: 'NAME', value: 'second', public: true },
    { key: 'REF', value: 'x-$NAME', public: true },
    { key: 'RAW', value: 'x-$NAME', public: true, raw: true },
    { key: 'CERT', value: '-----BEGIN-----', public: true, file: true },
    { key: 'SECRET', value: 's3cr3t', public: false, masked: true },
  ]);

  it('reads the last definition, expanded; raw values as they are; file variables as their path', () => {
    expect(set.value('NAME')).toBe('second');
    expect(set.value('REF')).toBe('x-second');
    expect(set.value('RAW')).toBe('x-$NAME');
    expect(set.value('CERT')).toBe('/builds/g/p.tmp/CERT');
    expect(set.value('MISSING')).toBeUndefined();
  });

  it('expands text for the Pod object with public variables only, and says which it left out', () => {
    expect(set.expandPublic('$NAME/$SECRET')).toBe('second/');
    expect(set.hiddenReferences('$NAME/$SECRET/${SECRET}')).toEqual(['SECRET']);
  });
});

describe('feature flags', () => {
  const set = new VariableSet([{ key: 'FF_X', value: 'true', public: true }]);

  it('take [runners.feature_flags] first, then the job variable, then the default', () => {
    expect(featureFlag('FF_X', { FF_X: false }, set, false)).toBe(false);
    expect(featureFlag('FF_X', {}, set, false)).toBe(true);
    expect(featureFlag('FF_Y', {}, set, true)).toBe(true);
  });

  it("parse booleans like Go's strconv.ParseBool", () => {
    expect(['1', 't', 'TRUE', 'True'].map(parseGoBool)).toEqual([true, true, true, true]);
    expect(['0', 'f', 'false'].map(parseGoBool)).toEqual([false, false, false]);
    expect(parseGoBool('yes')).toBeUndefined();
  });
});
